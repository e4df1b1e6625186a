"""The array codec: numpy arrays as compact, self-describing, content-addressed bytes.

The evidence behind a metric (labels, scores, predictions, weights, segment codes) is kept as
bytes, never as JSON and never pickled, so reading a store cannot run code:

    b"NBMA" | version (1 byte) | header length (uint32 LE) | header (JSON) | blocks

Numbers (bool, int, uint, float16/32/64) are their raw little-endian bytes. Strings (a `str`
array, or an object array holding only `str`) are their sorted distinct values (`levels`, in
the header) and one small integer code per element; they read back as a `str` array. The bytes
of the numbers (or codes) are grouped by significance into planes (byte 0 of every element,
then byte 1, ...): the high bytes of floats and the zero bytes of small integers then compress
well. The planes, one after the other, are stored in blocks, each zlib-compressed or as it is:
a small array in one block; a large one a block per plane, and a plane that would not shrink
(a float's random low bytes) is stored unsqueezed, so compressing never costs more than it
saves.

An array's hash (xxh3_128 of its dtype, shape and values, independent of the compression)
names it in the store: the same array written by many runs is kept once.
"""

from __future__ import annotations

import json
import struct
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import xxhash

from nbmodelbook.errors import StoreCorrupted, UsageError

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "MAX_ARRAY_BYTES",
    "ArrayNotEncodable",
    "PreparedArray",
    "array_hash",
    "decode_array",
    "encode_array",
    "prepare_array",
]

MAGIC: Final = b"NBMA"
FORMAT_VERSION: Final = 1
# SQLite refuses values above 1e9 bytes; an evaluation this large was not sampled.
MAX_ARRAY_BYTES: Final = 512 * 2**20
LABELS: Final = "labels"  # the header's kind for strings kept as levels + codes

_PREFIX = struct.Struct("<4sBI")  # magic, version, header length
_NUMERIC_KINDS: Final = frozenset("biuf")
_FLOAT_SIZES: Final = frozenset({2, 4, 8})  # float128 has no portable layout
_SAMPLE_BYTES: Final = 64 * 1024  # how much of a plane is tried before compressing it all
_WORTH_IT: Final = 0.9  # a plane is compressed only when its sample shrinks below this
_ONE_BLOCK: Final = 64 * 1024  # arrays up to this size are compressed in one go


class ArrayNotEncodable(UsageError):
    """An array the store cannot keep (its type, its elements or its size); nothing of the
    run it belongs to was written."""


@dataclass(frozen=True, slots=True)
class PreparedArray:
    """An array in its canonical form, hashed; `encode()` makes its stored bytes."""

    hash: str
    dtype: str  # the dtype it reads back as: "<f8", "|b1", "<U7"
    shape: tuple[int, ...]
    nbytes: int  # its values' (or codes') raw size, before compression
    payload: Any  # 1-D contiguous little-endian numbers: the values, or the labels' codes
    levels: tuple[str, ...] | None = None  # strings: the distinct values codes index

    def encode(self) -> bytes:
        """The stored bytes: self-describing, so `decode_array` needs nothing else."""
        blocks, layout = _blocks(self.payload)
        header: dict[str, Any] = {
            "dtype": LABELS if self.levels is not None else self.dtype,
            "shape": list(self.shape),
            "blocks": layout,
        }
        if self.levels is not None:
            header["str_dtype"] = self.dtype
            header["codes"] = self.payload.dtype.str
            header["levels"] = list(self.levels)
        text = json.dumps(header, ensure_ascii=True, separators=(",", ":")).encode("ascii")
        return b"".join((_PREFIX.pack(MAGIC, FORMAT_VERSION, len(text)), text, *blocks))


def prepare_array(array: object, what: str = "the array") -> PreparedArray:
    """`array` canonicalised and hashed; ArrayNotEncodable (naming it as `what`) for what
    the codec cannot keep: not a numpy array, complex, dates, bytes, objects that are not
    all strings, or larger than MAX_ARRAY_BYTES."""
    import numpy as np

    if not isinstance(array, np.ndarray):
        raise ArrayNotEncodable(
            f"{what} is a {type(array).__qualname__}, not a numpy array: pass np.asarray(...)"
        )
    dtype = array.dtype
    if dtype.kind in _NUMERIC_KINDS and (dtype.kind != "f" or dtype.itemsize in _FLOAT_SIZES):
        _check_size(array.nbytes, what)
        values = np.ascontiguousarray(array).reshape(-1)
        if values.dtype.byteorder == ">":
            values = values.astype(values.dtype.newbyteorder("<"))
        return _prepared(values.dtype.str, array.shape, values, None)
    if dtype.kind == "U":
        return _prepared_labels(array, array, what)
    if dtype.kind == "O":
        for position, item in enumerate(array.flat):
            if not isinstance(item, str):
                raise ArrayNotEncodable(
                    f"{what} is an object array holding a value of type "
                    f"{type(item).__qualname__} (at position {position}): only strings can be "
                    "kept as labels; convert it with .astype(str) or to numbers first"
                )
        strings = array.astype(str) if array.size else np.empty(array.shape, dtype="<U1")
        return _prepared_labels(strings, array, what)
    raise ArrayNotEncodable(
        f"{what} has dtype {dtype}, which the store cannot keep: it keeps booleans, integers, "
        "floats (16, 32 or 64 bits) and strings"
    )


def encode_array(array: object, what: str = "the array") -> bytes:
    return prepare_array(array, what).encode()


def array_hash(array: object) -> str:
    """The name an array has in the store (equal arrays, equal hashes)."""
    return prepare_array(array).hash


def decode_array(data: bytes, what: str = "an array") -> np.ndarray[Any, Any]:
    """The array `encode` wrote, read-only. StoreCorrupted when the bytes are not that."""
    try:
        return _decode(memoryview(data))
    except (ValueError, TypeError, KeyError, IndexError, struct.error, zlib.error) as exc:
        raise StoreCorrupted(f"{what} in the store is damaged and cannot be read ({exc})") from exc


# --- encoding ------------------------------------------------------------------------------------


def _check_size(nbytes: int, what: str) -> None:
    if nbytes > MAX_ARRAY_BYTES:
        raise ArrayNotEncodable(
            f"{what} holds {nbytes / 2**20:.0f} MiB: the store keeps arrays of at most "
            f"{MAX_ARRAY_BYTES // 2**20} MiB (keep a sample of the rows)"
        )


def _prepared(
    dtype: str, shape: tuple[int, ...], payload: Any, levels: tuple[str, ...] | None
) -> PreparedArray:
    digest = xxhash.xxh3_128()
    header: dict[str, Any] = {"dtype": dtype, "shape": list(shape)}
    if levels is not None:
        header["levels"] = list(levels)
    digest.update(json.dumps(header, ensure_ascii=True, separators=(",", ":")).encode("ascii"))
    digest.update(payload.view("u1").data)
    return PreparedArray(digest.hexdigest(), dtype, tuple(shape), payload.nbytes, payload, levels)


def _prepared_labels(strings: Any, original: Any, what: str) -> PreparedArray:
    import numpy as np

    _check_size(strings.nbytes, what)
    levels, codes = np.unique(strings.reshape(-1), return_inverse=True)
    code_type = np.int8 if len(levels) <= 127 else np.int16 if len(levels) <= 32767 else np.int32
    payload = np.ascontiguousarray(codes.reshape(-1), dtype=np.dtype(code_type).newbyteorder("<"))
    dtype = f"<U{max(strings.dtype.itemsize // 4, 1)}"
    return _prepared(dtype, original.shape, payload, tuple(str(level) for level in levels))


def _blocks(payload: Any) -> tuple[list[bytes], list[list[int]]]:
    """The payload's byte planes in blocks, each compressed when that pays; with their layout
    as [stored length, compressed (1) or not (0)] per block."""
    import numpy as np

    width = payload.dtype.itemsize
    planes = payload.view(np.uint8).reshape(-1, width).T  # (width, count): plane by plane
    if payload.nbytes <= _ONE_BLOCK:
        pieces = [np.ascontiguousarray(planes).tobytes()]
    else:
        pieces = [np.ascontiguousarray(plane).tobytes() for plane in planes]
    blocks: list[bytes] = []
    layout: list[list[int]] = []
    for piece in pieces:
        squeezed = _squeezed(piece)
        blocks.append(squeezed if squeezed is not None else piece)
        layout.append([len(blocks[-1]), int(squeezed is not None)])
    return blocks, layout


def _squeezed(piece: bytes) -> bytes | None:
    """The bytes compressed, or None when compressing them would not pay."""
    if not piece:
        return None
    level = 6 if len(piece) <= _ONE_BLOCK else 1  # large: the fastest level, time matters more
    sample = piece[:_SAMPLE_BYTES]
    if len(sample) < len(piece) and len(zlib.compress(sample, level)) > _WORTH_IT * len(sample):
        return None
    squeezed = zlib.compress(piece, level)
    return squeezed if len(squeezed) < _WORTH_IT * len(piece) else None


# --- decoding ------------------------------------------------------------------------------------


def _decode(data: memoryview) -> np.ndarray[Any, Any]:
    import numpy as np

    magic, version, header_length = _PREFIX.unpack_from(data)
    if magic != MAGIC:
        raise ValueError("not an nbmodelbook array")
    if version != FORMAT_VERSION:
        raise ValueError(f"array format {version}: a newer nbmodelbook wrote it")
    start = _PREFIX.size
    header = json.loads(bytes(data[start : start + header_length]).decode("ascii"))
    shape = tuple(int(size) for size in header["shape"])
    count = 1
    for size in shape:
        count *= size
    labels = header["dtype"] == LABELS
    payload_type = np.dtype(header["codes"] if labels else header["dtype"])
    if payload_type.kind not in _NUMERIC_KINDS or payload_type.byteorder == ">":
        raise ValueError(f"unexpected dtype {payload_type}")
    width = payload_type.itemsize
    expected = width * count
    pieces: list[bytes | memoryview] = []
    filled = 0
    offset = start + header_length
    for length, compressed in header["blocks"]:
        stored = data[offset : offset + length]
        if len(stored) != length:
            raise ValueError("a block is cut short")
        offset += length
        piece = _expanded(stored, expected - filled) if compressed else stored
        filled += len(piece)
        pieces.append(piece)
    if filled != expected:
        raise ValueError(f"{filled} bytes of values where {expected} were expected")
    if offset != len(data):
        raise ValueError("trailing bytes")
    planes = np.frombuffer(b"".join(pieces), dtype=np.uint8).reshape(width, count)
    values = np.ascontiguousarray(planes.T).view(payload_type).reshape(-1)
    if labels:
        str_dtype = np.dtype(header["str_dtype"])
        if str_dtype.kind != "U":
            raise ValueError(f"unexpected dtype {str_dtype} for labels")
        levels = np.array(header["levels"], dtype=str_dtype)
        if count and (values.min() < 0 or values.max() >= len(levels)):
            raise ValueError("a code outside the levels")
        result = levels[values] if count else np.empty(0, dtype=str_dtype)
    else:
        result = values
    result = result.reshape(shape)
    result.flags.writeable = False  # shared by every evaluation that used the same data
    return result


def _expanded(stored: memoryview, room: int) -> bytes:
    inflater = zlib.decompressobj()
    piece = inflater.decompress(stored, room)  # never more than the header promised
    if inflater.unconsumed_tail or not inflater.eof:
        raise ValueError("a compressed block holds more than its array")
    return piece
