"""Content fingerprints for DataFrames, Series and ndarrays read by tracked cells.

A fingerprint is a small JSON-serialisable dict: structural fields (kind, shape,
dtypes, ...) plus an xxh3-128 ``hash`` over the full content. Numeric buffers are
hashed in place (no whole-object copies); object/string data is encoded in
bounded chunks. Equal content, dtypes, labels and index give equal hashes in any
process, whatever the storage (numpy, python or Arrow strings, chunking, views).
Numeric buffers are compared bit for bit, so ``-0.0`` differs from ``0.0``.

This module must stay cheap to import: numpy and pandas are only imported once
a data object has actually been passed in (which means they are loaded anyway).
"""

from __future__ import annotations

import operator
import re
import sys
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from itertools import repeat
from typing import TYPE_CHECKING, Any

import xxhash

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = ["FingerprintCache", "fingerprint", "is_data"]

# Bumped whenever the byte stream fed to the hasher changes, so hashes from
# different encodings can never be mistaken for each other.
_FORMAT = b"nbmodelbook.fingerprint/1"

# Copies (strided columns, masked zeroing) are made at most this big, so peak
# memory stays flat however large the frame is.
_CHUNK_BYTES = 1 << 22
# Object/string data is encoded this many elements at a time for the same reason.
_OBJ_CHUNK = 1 << 15
# Kinds whose raw bytes are a canonical encoding of the values.
_RAW_KINDS = frozenset("biufcmMSU")
# A repr like "<Foo object at 0x7f..>" embeds an address and differs per process.
_ADDRESS_RE = re.compile(r" at 0x[0-9a-fA-F]+")
_MAX_DEPTH = 32

_PANDAS_NDARRAY_BACKED = frozenset(
    {"NumpyExtensionArray", "DatetimeArray", "TimedeltaArray", "PeriodArray", "StringArray"}
)
_PANDAS_MASKED = frozenset({"IntegerArray", "FloatingArray", "BooleanArray"})


class FingerprintError(Exception):
    """Raised internally when some content has no deterministic encoding."""


class _NotCacheable(Exception):
    """Raised internally when an object cannot be tracked safely by the cache."""


# ---------------------------------------------------------------------------
# Type detection (never imports numpy/pandas)


def _data_kind(obj: object) -> str | None:
    # A module that was never imported cannot have produced obj, so looking it up
    # in sys.modules is both exact and free of import cost.
    np_mod = sys.modules.get("numpy")
    if np_mod is not None:
        nd_type = getattr(np_mod, "ndarray", None)
        if isinstance(nd_type, type) and isinstance(obj, nd_type):
            return "ndarray"
    pd_mod = sys.modules.get("pandas")
    if pd_mod is not None:
        df_type = getattr(pd_mod, "DataFrame", None)
        if isinstance(df_type, type) and isinstance(obj, df_type):
            return "DataFrame"
        s_type = getattr(pd_mod, "Series", None)
        if isinstance(s_type, type) and isinstance(obj, s_type):
            return "Series"
    return None


def is_data(obj: object) -> bool:
    """Return True for pandas DataFrame/Series and numpy ndarray (subclasses included)."""
    return _data_kind(obj) is not None


def _qualname(tp: type) -> str:
    return f"{tp.__module__}.{tp.__qualname__}"


# ---------------------------------------------------------------------------
# Framing: every item is length-prefixed so concatenations are unambiguous.


def _u64(n: int) -> bytes:
    return n.to_bytes(8, "little", signed=True)


def _text(s: str) -> bytes:
    # surrogatepass: lone surrogates are legal in Python str and must not raise.
    return s.encode("utf-8", "surrogatepass")


def _put(h: xxhash.xxh3_128, *parts: bytes) -> None:
    for p in parts:
        h.update(_u64(len(p)))
        h.update(p)


def _update(h: xxhash.xxh3_128, arr: NDArray[Any]) -> None:
    """Feed a C-contiguous array's bytes (``.data`` is a zero-copy memoryview)."""
    h.update(arr.data)


def _put_shape(h: xxhash.xxh3_128, shape: tuple[int, ...]) -> None:
    _put(h, b"".join(_u64(int(d)) for d in shape))


# numpy dtypes are few and tiny; memoising their names matters for wide frames.
_NP_DTYPE_BYTES: dict[Any, bytes] = {}


def _dtype_bytes(dtype: Any) -> bytes:
    if _is_np_dtype(dtype):
        cached = _NP_DTYPE_BYTES.get(dtype)
        if cached is None:
            # str() is the user-visible name; .str adds byte order and itemsize.
            cached = _text(f"{dtype}|{dtype.str}")
            if len(_NP_DTYPE_BYTES) < 1024:
                _NP_DTYPE_BYTES[dtype] = cached
        return cached
    return _text(f"{dtype}|")


def _is_np_dtype(dtype: object) -> bool:
    np_mod = sys.modules.get("numpy")
    return np_mod is not None and isinstance(dtype, np_mod.dtype)


# ---------------------------------------------------------------------------
# Scalar encoding for object data (deterministic across processes)


class _MaskedMarker:
    """Stands in for a masked numpy.ma element in the generic path."""


_MASKED = _MaskedMarker()


def _encode_obj(x: object, depth: int = 0) -> bytes:
    """Encode one Python object canonically; raise FingerprintError if impossible."""
    import numpy as np

    if depth > _MAX_DEPTH:
        raise FingerprintError("object nesting too deep")
    if x is None:
        return b"N"
    if type(x) is float:
        # Every NaN encodes the same; repr(float) round-trips all other values.
        return b"Fnan" if x != x else b"F" + repr(x).encode()
    if x is _MASKED:
        return b"M"
    if isinstance(x, str):
        return b"S" + _text(x)
    if isinstance(x, bool | np.bool_):
        return b"?1" if x else b"?0"
    if isinstance(x, int | np.integer):
        return b"I" + str(int(x)).encode()
    if isinstance(x, float):  # float subclasses, including np.float64
        return b"Fnan" if x != x else b"F" + repr(float(x)).encode()
    if isinstance(x, np.floating):
        # float32/float16/longdouble: repr keeps their own precision and type.
        return b"G" + (b"nan" if x != x else _text(repr(x)))
    if isinstance(x, complex | np.complexfloating):
        c = complex(x)
        return b"C" + _encode_obj(c.real, depth + 1) + b"," + _encode_obj(c.imag, depth + 1)
    if isinstance(x, bytes | bytearray | memoryview):
        return b"Y" + bytes(x)
    tp = type(x)
    if tp.__module__.startswith("pandas") and tp.__name__ in ("NAType", "NaTType"):
        return b"<" + tp.__name__.encode() + b">"
    if isinstance(x, tuple | list):
        h = xxhash.xxh3_128(b"T" if isinstance(x, tuple) else b"L")
        for item in x:
            _put(h, _encode_obj(item, depth + 1))
        return b"T" + h.digest()
    if isinstance(x, set | frozenset):
        # Set iteration order depends on salted hashes; sort the encodings instead.
        h = xxhash.xxh3_128(b"E")
        for enc in sorted(_encode_obj(item, depth + 1) for item in x):
            _put(h, enc)
        return b"E" + h.digest()
    if isinstance(x, dict):
        h = xxhash.xxh3_128(b"D")
        pairs = sorted((_encode_obj(k, depth + 1), _encode_obj(v, depth + 1)) for k, v in x.items())
        for k_enc, v_enc in pairs:
            _put(h, k_enc, v_enc)
        return b"D" + h.digest()
    if isinstance(x, np.ndarray):
        return b"A" + _ndarray_digest(x, _Ctx(), generic=False)
    # Remaining scalars (Timestamp, datetime, Decimal, Interval, np.datetime64, ...)
    # have value reprs; a default repr would carry a per-process address.
    r = repr(x)
    if _ADDRESS_RE.search(r):
        raise FingerprintError(f"no deterministic encoding for {_qualname(tp)} values")
    return b"R" + _text(_qualname(tp)) + b"\0" + _text(r)


class _ObjectStream:
    """Hash a sequence of Python objects fed in chunks, independent of chunking.

    Plain strings (str without NUL) go to one stream as UTF-8, each terminated
    by NUL. Every other element is "special": its global position, encoding
    length and canonical encoding go to three more streams. Together they decode
    back to the sequence, so distinct sequences give distinct digests.
    """

    def __init__(self) -> None:
        self.count = 0
        self._txt = xxhash.xxh3_128()
        self._spos = xxhash.xxh3_128()
        self._slen = xxhash.xxh3_128()
        self._sblob = xxhash.xxh3_128()

    def feed(self, chunk: NDArray[Any]) -> None:
        """Feed a 1-D object array."""
        import numpy as np

        n = len(chunk)
        if n == 0:
            return
        offset = self.count
        self.count += n
        try:
            # Fast path, all plain strings: join/count/encode run in C, roughly
            # 20x faster than a per-element Python loop.
            joined = "\0".join(chunk.tolist())  # join reads a list ~2x faster
        except TypeError:
            joined = None
        if joined is not None and joined.count("\0") == n - 1:
            self._txt.update(_text(joined))
            self._txt.update(b"\0")
            return
        plain = np.fromiter(map(isinstance, chunk, repeat(str)), dtype=bool, count=n)
        strings = chunk[plain]
        joined = "\0".join(strings.tolist())
        if joined.count("\0") != max(0, len(strings) - 1):
            # Some strings contain NUL, which would be ambiguous as a terminator.
            has_nul = np.fromiter(
                map(operator.contains, strings, repeat("\0")), dtype=bool, count=len(strings)
            )
            plain[np.flatnonzero(plain)[has_nul]] = False
            strings = chunk[plain]
            joined = "\0".join(strings.tolist())
        if len(strings):
            self._txt.update(_text(joined))
            self._txt.update(b"\0")
        special = np.flatnonzero(~plain)
        encoded = [_encode_obj(x) for x in chunk[special]]
        _update(self._spos, (special + offset).astype("<i8"))
        _update(self._slen, np.fromiter(map(len, encoded), dtype="<i8", count=len(encoded)))
        self._sblob.update(b"".join(encoded))

    def feed_arrow_strings(self, chunk: Any, na_encoding: bytes) -> None:
        """Feed an Arrow string array, matching what ``feed`` gives for its values.

        Works on Arrow buffers: no Python str objects are created (except for
        the rare strings containing NUL).
        """
        import numpy as np
        import pyarrow as pa
        import pyarrow.compute as pc

        n = len(chunk)
        if n == 0:
            return
        offset = self.count
        self.count += n
        if not pa.types.is_large_string(chunk.type):
            chunk = chunk.cast(pa.large_string())  # string / string_view: one layout
        start, stop = _arrow_string_span(chunk)
        data = chunk.buffers()[2]
        # memchr-speed scan of the bytes in range; null slots may hold bytes too,
        # so a hit only means "check precisely".
        maybe_nul = stop > start and not np.frombuffer(data, np.uint8, stop - start, start).all()
        if chunk.null_count == 0 and not maybe_nul:
            plain_arr = chunk
        else:
            plain = chunk.is_valid()
            if maybe_nul:
                no_nul = pc.invert(pc.match_substring(chunk, "\0"))
                plain = pc.fill_null(pc.and_kleene(plain, no_nul), False)
            plain_np = np.asarray(plain.to_numpy(zero_copy_only=False), dtype=bool)
            special = np.flatnonzero(~plain_np)
            if maybe_nul:
                # Rare: strings holding NUL are encoded one by one, nulls as NA.
                encoded = [
                    _encode_obj(chunk[i].as_py()) if chunk[i].is_valid else na_encoding
                    for i in special.tolist()
                ]
            else:
                encoded = [na_encoding] * len(special)
            _update(self._spos, (special + offset).astype("<i8"))
            _update(self._slen, np.fromiter(map(len, encoded), dtype="<i8", count=len(encoded)))
            self._sblob.update(b"".join(encoded))
            plain_arr = chunk.filter(plain)
        if len(plain_arr) == 0:
            return
        # Append the NUL terminator to every string in C, like "\0".join + "\0".
        empty, nul = pa.scalar("", pa.large_string()), pa.scalar("\0", pa.large_string())
        terminated = pc.binary_join_element_wise(plain_arr, empty, nul)
        t_start, t_stop = _arrow_string_span(terminated)
        self._txt.update(memoryview(terminated.buffers()[2])[t_start:t_stop])

    def digest(self) -> bytes:
        h = xxhash.xxh3_128(b"objects")
        _put(h, _u64(self.count))
        for part in (self._txt, self._spos, self._slen, self._sblob):
            _put(h, part.digest())
        return h.digest()


# ---------------------------------------------------------------------------
# Array hashing


class _Ctx:
    """Per-call state: records whether any part needed the generic path."""

    def __init__(self) -> None:
        self.generic_used = False


def _iter_chunks(arr: NDArray[Any], max_items: int) -> Iterator[NDArray[Any]]:
    """Yield C-contiguous 1-D pieces covering arr in C order, each bounded in size.

    Only depends on shape and max_items, so two same-shaped arrays chunk alike.
    """
    import numpy as np

    if arr.ndim == 0:
        yield arr.reshape(1)
        return
    if arr.size == 0:
        return
    if arr.ndim == 1:
        for start in range(0, arr.shape[0], max_items):
            yield np.ascontiguousarray(arr[start : start + max_items])
        return
    row = arr[0].size
    if row <= max_items:
        rows = max(1, max_items // row)
        for start in range(0, arr.shape[0], rows):
            yield np.ascontiguousarray(arr[start : start + rows]).reshape(-1)
    else:
        for i in range(arr.shape[0]):
            yield from _iter_chunks(arr[i], max_items)


def _raw_header(h: xxhash.xxh3_128, dtype: Any, shape: tuple[int, ...]) -> None:
    _put(h, b"raw", _dtype_bytes(dtype))
    _put_shape(h, shape)


def _feed_raw(h: xxhash.xxh3_128, arr: NDArray[Any]) -> None:
    import numpy as np

    if arr.size == 0:
        return
    if arr.flags.c_contiguous:
        # View as bytes: datetime64 etc. refuse to export a typed buffer.
        _update(h, arr.reshape(-1).view(np.uint8))
        return
    max_items = max(1, _CHUNK_BYTES // max(1, arr.dtype.itemsize))
    for chunk in _iter_chunks(arr, max_items):
        _update(h, chunk.view(np.uint8))


def _feed_masked_raw(h: xxhash.xxh3_128, data: NDArray[Any], mask: NDArray[Any]) -> None:
    """Hash data with masked slots zeroed: their stored values are arbitrary."""
    import numpy as np

    if not mask.any():
        _feed_raw(h, data)
        return
    zero = np.zeros((), dtype=data.dtype)
    max_items = max(1, _CHUNK_BYTES // max(1, data.dtype.itemsize))
    for d, m in zip(_iter_chunks(data, max_items), _iter_chunks(mask, max_items), strict=True):
        _update(h, np.where(m, zero, d).view(np.uint8))


def _objects_digest(arr: NDArray[Any]) -> bytes:
    stream = _ObjectStream()
    for chunk in _iter_chunks(arr, _OBJ_CHUNK):
        stream.feed(chunk if chunk.dtype == object else chunk.astype(object))
    return stream.digest()


def _ndarray_digest(arr: NDArray[Any], ctx: _Ctx, *, generic: bool) -> bytes:
    """Digest of a numpy array's dtype, shape and full content."""
    import numpy as np

    h = xxhash.xxh3_128()
    if _is_masked_array(arr):
        mask: Any = getattr(arr, "mask", None)
        data = arr.view(np.ndarray)
        if not isinstance(mask, np.ndarray) or not mask.any():
            # An unmasked MaskedArray holds the same content as its data.
            return _ndarray_digest(data, ctx, generic=generic)
        _put(h, b"masked", _dtype_bytes(arr.dtype))
        _put_shape(h, arr.shape)
        if generic or data.dtype.kind not in _RAW_KINDS:
            ctx.generic_used = True
            stream = _ObjectStream()
            for d, m in zip(
                _iter_chunks(data, _OBJ_CHUNK), _iter_chunks(mask, _OBJ_CHUNK), strict=True
            ):
                objs = d.astype(object)
                objs[m] = _MASKED
                stream.feed(objs)
            _put(h, stream.digest())
        else:
            mh = xxhash.xxh3_128()
            _feed_raw(mh, mask)
            dh = xxhash.xxh3_128()
            _feed_masked_raw(dh, data, mask)
            _put(h, mh.digest(), dh.digest())
        return h.digest()

    if type(arr) is not np.ndarray:
        # Subclasses (memmap, matrix, ...) share the base buffer; skip their hooks.
        arr = arr.view(np.ndarray)
    dtype = arr.dtype
    if generic:
        ctx.generic_used = True
        _put(h, b"generic", _dtype_bytes(dtype))
        _put_shape(h, arr.shape)
        _put(h, _objects_digest(arr))
    elif dtype.kind in _RAW_KINDS or (dtype.kind == "V" and dtype.names is None):
        _raw_header(h, dtype, arr.shape)
        _feed_raw(h, arr)
    elif dtype.names is not None:
        # Structured: hash field by field; padding bytes between fields are garbage.
        _put(h, b"struct", _dtype_bytes(dtype))
        _put_shape(h, arr.shape)
        for name in dtype.names:
            _put(h, _text(str(name)), _ndarray_digest(arr[name], ctx, generic=False))
    else:
        # object, numpy StringDType ('T': raw bytes are pointers) and anything new.
        _put(h, b"objects", _dtype_bytes(dtype))
        _put_shape(h, arr.shape)
        _put(h, _objects_digest(arr))
    return h.digest()


def _is_masked_array(arr: object) -> bool:
    # numpy.ma is a lazy submodule; if nobody imported it, arr cannot be masked.
    ma = sys.modules.get("numpy.ma")
    return ma is not None and isinstance(arr, ma.MaskedArray)


def _ea_kind(arr: object) -> str:
    tp = type(arr)
    # pandas 3 reports public classes as living in the top-level "pandas" module.
    if tp.__module__ != "pandas" and not tp.__module__.startswith("pandas."):
        return "other"
    if tp.__name__ == "Categorical":
        return "categorical"
    if tp.__name__ in _PANDAS_NDARRAY_BACKED:
        return "ndarray_backed"
    if tp.__name__ in _PANDAS_MASKED:
        return "masked"
    return "other"


def _ea_generic_digest(arr: Any) -> bytes:
    """Full-content digest of any array-like with len/slicing, via object chunks."""
    import numpy as np

    stream = _ObjectStream()
    n = len(arr)
    for start in range(0, n, _OBJ_CHUNK):
        stream.feed(np.asarray(arr[start : start + _OBJ_CHUNK], dtype=object).reshape(-1))
    return stream.digest()


def _arrow_string_span(arr: Any) -> tuple[int, int]:
    """Byte range of a large_string array's values inside its data buffer."""
    import numpy as np

    offsets = np.frombuffer(arr.buffers()[1], dtype="<i8")
    return int(offsets[arr.offset]), int(offsets[arr.offset + len(arr)])


def _arrow_chunks(values: Any) -> list[Any] | None:
    """The pyarrow chunks behind a pandas Arrow-backed array, or None."""
    pa = sys.modules.get("pyarrow")
    chunked = getattr(values, "_pa_array", None)
    if pa is None or not isinstance(chunked, pa.ChunkedArray):
        return None
    return list(chunked.chunks)


def _arrow_strings_digest(values: Any, chunks: list[Any]) -> bytes:
    """Same digest the python-storage StringArray path gives for equal content."""
    import numpy as np

    stream = _ObjectStream()
    na_encoding = _encode_obj(values.dtype.na_value)
    for chunk in chunks:
        for start in range(0, len(chunk), _OBJ_CHUNK):
            stream.feed_arrow_strings(chunk.slice(start, _OBJ_CHUNK), na_encoding)
    h = xxhash.xxh3_128()
    _put(h, b"objects", _dtype_bytes(np.dtype(object)))
    _put_shape(h, (len(values),))
    _put(h, stream.digest())
    return h.digest()


def _arrow_fixed_digest(chunks: list[Any], type_name: str, n: int) -> bytes:
    """Fixed-width Arrow data: null positions plus values with null slots zeroed."""
    import numpy as np

    h = xxhash.xxh3_128()
    _put(h, b"arrow-fixed", _text(type_name), _u64(n))
    null_pos = xxhash.xxh3_128()
    data_h = xxhash.xxh3_128()
    seen = 0
    for chunk in chunks:
        width = chunk.type.bit_width // 8
        step = max(1, _CHUNK_BYTES // width)
        for start in range(0, len(chunk), step):
            part = chunk.slice(start, step)
            k = len(part)
            lo = part.offset * width
            raw = np.frombuffer(part.buffers()[1], np.uint8, k * width, lo).reshape(k, width)
            if part.null_count:
                valid = np.asarray(part.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
                nulls = np.flatnonzero(~valid)
                _update(null_pos, (nulls + seen).astype("<i8"))
                raw = raw.copy()  # bounded by the slice size
                raw[nulls] = 0  # bytes under a null are arbitrary
            _update(data_h, raw.reshape(-1))
            seen += k
    _put(h, null_pos.digest(), data_h.digest())
    return h.digest()


def _arrow_digest(values: Any, chunks: list[Any]) -> bytes | None:
    """Fast digest for Arrow-backed pandas arrays, or None for unsupported types."""
    import pyarrow as pa

    typ = values._pa_array.type
    if pa.types.is_string(typ) or pa.types.is_large_string(typ) or pa.types.is_string_view(typ):
        return _arrow_strings_digest(values, chunks)
    is_fixed = (
        pa.types.is_integer(typ)
        or pa.types.is_floating(typ)
        or pa.types.is_temporal(typ)
        or pa.types.is_decimal(typ)
    )
    if is_fixed and typ.bit_width % 8 == 0 and all(c.type == typ for c in chunks):
        return _arrow_fixed_digest(chunks, str(typ), len(values))
    return None


def _values_digest(values: Any, ctx: _Ctx, *, generic: bool) -> bytes:
    """Digest of a 1-D pandas array (ExtensionArray or ndarray) including its dtype."""
    import numpy as np

    if not generic:
        try:
            return _values_digest_fast(values, ctx)
        except Exception:
            # Exotic arrays: fall back per column rather than failing the frame.
            pass
    ctx.generic_used = True
    h = xxhash.xxh3_128(b"generic-values")
    _put(h, _dtype_bytes(values.dtype), _u64(len(values)))
    if isinstance(values, np.ndarray):
        _put(h, _ndarray_digest(values, ctx, generic=True))
    else:
        _put(h, _ea_generic_digest(values))
    return h.digest()


def _values_digest_fast(values: Any, ctx: _Ctx) -> bytes:
    import numpy as np

    if isinstance(values, np.ndarray):
        return _ndarray_digest(values, ctx, generic=False)
    kind = _ea_kind(values)
    if type(values).__name__ == "NumpyExtensionArray" and kind == "ndarray_backed":
        # A thin wrapper: hash exactly like the ndarray it wraps.
        return _ndarray_digest(values._ndarray, ctx, generic=False)
    h = xxhash.xxh3_128()
    _put(h, b"ea", _dtype_bytes(values.dtype), _u64(len(values)))
    if kind == "ndarray_backed":
        # The dtype string carries the rest (tz, period freq, string storage NA).
        _put(h, _ndarray_digest(values._ndarray, ctx, generic=False))
    elif kind == "categorical":
        _put(
            h,
            b"ordered" if values.ordered else b"unordered",
            _index_digest(values.categories, ctx, generic=False),
            _ndarray_digest(values.codes, ctx, generic=False),
        )
    elif kind == "masked":
        data, mask = values._data, values._mask
        if not (isinstance(data, np.ndarray) and isinstance(mask, np.ndarray)):
            raise FingerprintError("unexpected masked array layout")
        mh = xxhash.xxh3_128()
        _feed_raw(mh, mask)
        dh = xxhash.xxh3_128()
        _raw_header(dh, data.dtype, data.shape)
        _feed_masked_raw(dh, data, mask)
        _put(h, mh.digest(), dh.digest())
    else:
        chunks = _arrow_chunks(values)
        arrow = _arrow_digest(values, chunks) if chunks is not None else None
        if arrow is not None:
            _put(h, arrow)
        else:
            # Sparse, interval, nested Arrow, third-party: correct but slower.
            ctx.generic_used = True
            _put(h, b"objects", _ea_generic_digest(values))
    return h.digest()


def _range_digest(rng: range) -> bytes:
    """Digest a RangeIndex exactly like the equal materialised int64 Index."""
    import numpy as np

    n = len(rng)
    h = xxhash.xxh3_128()
    _raw_header(h, np.dtype("<i8"), (n,))
    per_chunk = _CHUNK_BYTES // 8
    for start in range(0, n, per_chunk):
        stop = min(n, start + per_chunk)
        chunk = np.arange(
            rng.start + start * rng.step, rng.start + stop * rng.step, rng.step, dtype="<i8"
        )
        _update(h, chunk.view(np.uint8))
    return h.digest()


def _index_digest(idx: Any, ctx: _Ctx, *, generic: bool) -> bytes:
    """Digest of an Index: names, dtype and all labels (MultiIndex level by level)."""
    import pandas as pd

    h = xxhash.xxh3_128(b"index")
    _put(h, *(_encode_obj(name) for name in idx.names))
    _put(h, _u64(len(idx)))
    if isinstance(idx, pd.MultiIndex):
        _put(h, b"multi", _u64(idx.nlevels))
        for level in range(idx.nlevels):
            # Slice first: get_level_values on the whole index would materialise it.
            lh = xxhash.xxh3_128()
            _put(lh, _dtype_bytes(idx.levels[level].dtype))
            for start in range(0, len(idx), _OBJ_CHUNK):
                part = idx[start : start + _OBJ_CHUNK].get_level_values(level)
                _put(lh, _values_digest(part.array, ctx, generic=generic))
            _put(h, lh.digest())
    elif isinstance(idx, pd.RangeIndex) and not generic:
        _put(h, _range_digest(range(idx.start, idx.stop, idx.step)))
    else:
        _put(h, _values_digest(idx.array, ctx, generic=generic))
    return h.digest()


# ---------------------------------------------------------------------------
# Public entry point


def _json_label(label: object) -> object:
    if label is None or type(label) in (str, bool, int):
        return label
    return str(label)


def _column_arrays(df: Any) -> list[Any]:
    """The frame's column arrays in order (ndarray or ExtensionArray), uncopied."""
    import numpy as np

    try:
        # Skips building a Series per column (~30 us each: wide frames add up).
        mgr = df._mgr
        arrays = [mgr.iget_values(i) for i in range(df.shape[1])]
    except Exception:
        arrays = []
    if len(arrays) != df.shape[1] or not all(
        isinstance(a, np.ndarray) or hasattr(a, "dtype") for a in arrays
    ):
        arrays = [col.array for _, col in df.items()]
    # The public route wraps numpy data; unwrap so both routes hash alike.
    return [a._ndarray if type(a).__name__ == "NumpyExtensionArray" else a for a in arrays]


def _structure(obj: Any, kind: str) -> dict[str, Any]:
    fp: dict[str, Any] = {"kind": kind, "type": _qualname(type(obj))}
    fp["shape"] = [int(d) for d in obj.shape]
    if kind == "DataFrame":
        labels = [str(c) for c in obj.columns]
        fp["columns"] = labels
        fp["dtypes"] = {label: str(dt) for label, dt in zip(labels, obj.dtypes, strict=True)}
        fp["nbytes"] = int(sum(int(values.nbytes) for values in _column_arrays(obj)))
    elif kind == "Series":
        fp["name"] = _json_label(obj.name)
        fp["dtype"] = str(obj.dtype)
        fp["nbytes"] = int(obj.nbytes)
    else:
        fp["dtype"] = str(obj.dtype)
        fp["nbytes"] = int(obj.nbytes)
    return fp


def _digest(obj: Any, kind: str, *, generic: bool) -> dict[str, Any]:
    ctx = _Ctx()
    h = xxhash.xxh3_128(_FORMAT)
    _put(h, kind.encode())
    _put_shape(h, tuple(int(d) for d in obj.shape))
    out: dict[str, Any] = {}
    if kind == "ndarray":
        _put(h, _ndarray_digest(obj, ctx, generic=generic))
    elif kind == "Series":
        index_digest = _index_digest(obj.index, ctx, generic=generic)
        _put(h, _encode_obj(obj.name), _dtype_bytes(obj.dtype), index_digest)
        _put(h, _values_digest(obj.array, ctx, generic=generic))
        out["index_hash"] = index_digest.hex()
    else:
        index_digest = _index_digest(obj.index, ctx, generic=generic)
        _put(h, _index_digest(obj.columns, ctx, generic=generic), index_digest)
        column_hashes = []
        for values in _column_arrays(obj):
            col_digest = _values_digest(values, ctx, generic=generic)
            _put(h, _dtype_bytes(values.dtype), col_digest)
            column_hashes.append(col_digest.hex())
        out["index_hash"] = index_digest.hex()
        out["column_hashes"] = column_hashes
    out["hash"] = h.hexdigest()
    out["method"] = "generic" if ctx.generic_used else "buffers"
    return out


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:500]


def fingerprint(obj: object) -> dict[str, Any]:
    """Fingerprint a DataFrame, Series or ndarray as a JSON-serialisable dict.

    Keys: kind, type, shape, nbytes, dtype(s), columns/name, hash (hex xxh3-128 of
    the full content, or None with an ``error`` if it cannot be computed),
    index_hash, column_hashes (DataFrame) and method ("buffers" or "generic").
    Raises TypeError only when ``obj`` is not a data object (see ``is_data``).
    """
    kind = _data_kind(obj)
    if kind is None:
        raise TypeError(f"not a DataFrame, Series or ndarray: {_qualname(type(obj))}")
    errors: list[str] = []
    try:
        fp = _structure(obj, kind)
    except Exception as exc:
        fp = {"kind": kind, "type": _qualname(type(obj))}
        errors.append("structure: " + _error_text(exc))
    try:
        fp.update(_digest(obj, kind, generic=False))
    except Exception as fast_exc:
        try:
            # Everything through plain objects: slower, still the full content.
            fp.update(_digest(obj, kind, generic=True))
        except Exception as exc:
            fp["hash"] = None
            first, second = _error_text(fast_exc), _error_text(exc)
            errors.extend([first] if first == second else [first, second])
    if errors:
        fp["error"] = "; ".join(errors)
    return fp


# ---------------------------------------------------------------------------
# Cache


class _Ident:
    """Compares equal only to an _Ident of the very same, still-live object.

    Holds a weakref so cache signatures never keep column arrays alive, and a
    dead referent never matches, so a recycled id/address cannot be mistaken.
    """

    __slots__ = ("_ref", "obj_id")

    def __init__(self, obj: object) -> None:
        try:
            self._ref = weakref.ref(obj)
        except TypeError as exc:
            raise _NotCacheable(_qualname(type(obj))) from exc
        self.obj_id = id(obj)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, _Ident):
            return NotImplemented
        target = self._ref()
        return target is not None and target is other._ref()

    __hash__ = None  # type: ignore[assignment]


class _Related:
    """Buffer owner ids and byte span of an array; ignored when comparing signatures."""

    __slots__ = ("_layout", "ids")

    def __init__(
        self, ids: Iterable[int], layout: tuple[int, tuple[int, ...], tuple[int, ...], int]
    ) -> None:
        self.ids = frozenset(ids)
        # (pointer, shape, strides, itemsize): the span is needed only when the signature is
        # cached, not each time it is compared.
        self._layout = layout

    @property
    def span(self) -> tuple[int, int]:
        return _byte_span(*self._layout)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Related)

    __hash__ = None  # type: ignore[assignment]


def _byte_span(
    ptr: int, shape: tuple[int, ...], strides: tuple[int, ...], itemsize: int
) -> tuple[int, int]:
    if 0 in shape:
        return (ptr, ptr)
    lo = hi = ptr
    for dim, stride in zip(shape, strides, strict=True):
        extent = (dim - 1) * stride
        if extent < 0:
            lo += extent
        else:
            hi += extent
    return (lo, hi + itemsize)


def _array_key(arr: NDArray[Any]) -> tuple[object, ...]:
    import numpy as np

    owner: Any = arr
    chain = []
    while isinstance(owner.base, np.ndarray):
        owner = owner.base
        chain.append(id(owner))
    ptr = arr.__array_interface__["data"][0]
    shape, strides, dtype = arr.shape, arr.strides, arr.dtype
    # The owning ndarray object pins the allocation: while it is alive the address
    # cannot be reused by another array.
    return (
        ptr,
        shape,
        strides,
        dtype.str,
        _Ident(owner),
        _Related(chain, (ptr, shape, strides, dtype.itemsize)),
    )


def _values_key(values: Any) -> tuple[object, ...]:
    import numpy as np

    if isinstance(values, np.ndarray):
        return ("nd", _array_key(values))
    kind = _ea_kind(values)
    dtype = str(values.dtype)
    if kind == "ndarray_backed":
        return (dtype, _array_key(values._ndarray))
    if kind == "categorical":
        return (dtype, values.ordered, _Ident(values.categories), _array_key(values._ndarray))
    if kind == "masked":
        return (dtype, _array_key(values._data), _array_key(values._mask))
    pa_array = getattr(values, "_pa_array", None)
    if pa_array is not None:
        # Arrow arrays are immutable; pandas setitem swaps in a new ChunkedArray.
        return (dtype, _Ident(values), _Ident(pa_array))
    return (dtype, _Ident(values))


def _index_key(idx: Any) -> tuple[object, ...]:
    # Index objects are immutable except for their names.
    return (_Ident(idx), tuple(idx.names))


def _dtype_key(dtype: Any) -> object:
    """A dtype as a signature holds it: a numpy dtype itself (hashable, compared exactly, and
    far cheaper than its text, which numpy builds in Python), anything else as text."""
    import numpy as np

    return dtype if isinstance(dtype, np.dtype) else str(dtype)


def _frame_columns_key(df: Any) -> tuple[object, ...]:
    try:
        # Block-level key: O(blocks) instead of building a Series per column.
        blocks = df._mgr.blocks
        parts: list[object] = []
        for blk in blocks:
            loc = blk.mgr_locs.indexer
            loc_key = (loc.start, loc.stop, loc.step) if isinstance(loc, slice) else loc.tobytes()
            parts.append((loc_key, _dtype_key(blk.dtype), _values_key(blk.values)))
        return ("blocks", *parts)
    except _NotCacheable:
        raise
    except Exception:
        return ("columns", *(_values_key(col.array) for _, col in df.items()))


def _signature(obj: Any, kind: str) -> tuple[object, ...]:
    """Structural signature: changes when shape, dtypes, labels or buffers change."""
    import numpy as np

    if kind == "ndarray":
        mask = obj.mask if _is_masked_array(obj) else None
        mask_key = _array_key(mask) if isinstance(mask, np.ndarray) else None
        return (kind, type(obj), _array_key(obj), mask_key)
    if kind == "Series":
        # A numpy-backed Series' own ndarray: `.array` wraps it in a new extension array at
        # every call, which costs more than the rest of the signature.
        values = getattr(obj, "_values", None)
        return (
            kind,
            type(obj),
            obj.shape,
            obj.name,
            _dtype_key(obj.dtype),
            ("nd", _array_key(values)) if type(values) is np.ndarray else _values_key(obj.array),
            _index_key(obj.index),
        )
    return (
        kind,
        type(obj),
        obj.shape,
        _index_key(obj.columns),
        _index_key(obj.index),
        _frame_columns_key(obj),
    )


def _related(signature: object) -> tuple[frozenset[int], tuple[tuple[int, int], ...]]:
    """Ids of every object a signature tracks, and the byte spans of its buffers."""
    ids: set[int] = set()
    spans: list[tuple[int, int]] = []
    stack = [signature]
    while stack:
        item = stack.pop()
        if isinstance(item, _Ident):
            ids.add(item.obj_id)
        elif isinstance(item, _Related):
            ids.update(item.ids)
            if item.span[1] > item.span[0]:
                spans.append(item.span)
        elif isinstance(item, tuple):
            stack.extend(item)
    return frozenset(ids), tuple(spans)


def _same_signature(a: tuple[object, ...], b: tuple[object, ...]) -> bool:
    try:
        return bool(a == b)
    except Exception:
        # Labels with odd __eq__ (array-like names): treat as changed.
        return False


class _Entry:
    __slots__ = ("fp", "ref", "related", "signature", "spans")

    def __init__(
        self, ref: weakref.ref[Any], signature: tuple[object, ...], fp: dict[str, Any]
    ) -> None:
        self.ref = ref
        self.signature = signature
        self.related, self.spans = _related(signature)
        self.fp = fp


def _copy_fp(fp: dict[str, Any]) -> dict[str, Any]:
    # Callers may mutate the dict they get; the cached one must stay intact.
    return {k: v.copy() if isinstance(v, dict | list) else v for k, v in fp.items()}


class FingerprintCache:
    """LRU cache of fingerprints keyed by object identity, holding only weakrefs.

    An entry is reused while the same live object keeps the same structural
    signature (shape, dtypes, labels, buffer addresses). In-place writes into
    existing buffers are invisible to the signature: call ``invalidate`` with the
    ids of objects a cell may have mutated. Invalidating an array also drops
    cached views and frames built on its memory (e.g. ``a[::2]``,
    ``DataFrame(a, copy=False)``) when the array owns that memory or is itself
    cached.
    """

    def __init__(self, maxsize: int = 256) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be >= 1")
        self.maxsize = maxsize
        self._entries: OrderedDict[int, _Entry] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, obj: object) -> dict[str, Any]:
        """Return the fingerprint of obj, reusing a cached one when still valid."""
        kind = _data_kind(obj)
        if kind is None:
            return fingerprint(obj)  # raises TypeError with the usual message
        key = id(obj)
        try:
            signature = _signature(obj, kind)
        except Exception:
            # Unknown layout or not weak-referenceable: never serve it from cache.
            self._entries.pop(key, None)
            return fingerprint(obj)
        entry = self._entries.get(key)
        if entry is not None and entry.ref() is obj and _same_signature(entry.signature, signature):
            self._entries.move_to_end(key)
            return _copy_fp(entry.fp)
        fp = fingerprint(obj)
        if fp.get("hash") is None:
            # Failures are retried next time instead of being remembered.
            self._entries.pop(key, None)
            return fp
        try:
            ref = weakref.ref(obj, self._make_reaper(key))
        except TypeError:
            self._entries.pop(key, None)
            return fp
        self._entries[key] = _Entry(ref, signature, fp)
        self._entries.move_to_end(key)
        while len(self._entries) > self.maxsize:
            self._entries.popitem(last=False)
        return _copy_fp(fp)

    def _make_reaper(self, key: int) -> Callable[[weakref.ref[Any]], None]:
        # Weak back-reference: a dying data object must not keep the cache alive.
        cache_ref = weakref.ref(self)

        def reap(dead: weakref.ref[Any]) -> None:
            cache = cache_ref()
            if cache is None:
                return
            entry = cache._entries.get(key)
            if entry is not None and entry.ref is dead:
                del cache._entries[key]

        return reap

    def invalidate(self, obj_ids: Iterable[int]) -> None:
        """Drop cached fingerprints for these ids and for objects sharing their memory.

        Sharing is detected through numpy's buffer owner and, for objects that
        are themselves cached, through overlapping buffer byte ranges.
        """
        ids = set(obj_ids)
        if not ids:
            return
        # Memory of the invalidated objects we know about (their cached entries).
        spans = [span for key in ids if key in self._entries for span in self._entries[key].spans]
        stale = [
            key
            for key, entry in self._entries.items()
            if key in ids
            or not ids.isdisjoint(entry.related)
            or any(lo < b_hi and b_lo < hi for lo, hi in entry.spans for b_lo, b_hi in spans)
        ]
        for key in stale:
            del self._entries[key]

    def clear(self) -> None:
        """Drop every cached fingerprint."""
        self._entries.clear()
