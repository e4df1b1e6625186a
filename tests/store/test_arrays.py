"""The array codec: every kind of evidence array reads back exactly, compactly, never pickled."""

from __future__ import annotations

import json
import struct
import zlib
from typing import Any

import numpy as np
import pytest

from nbmodelbook.errors import StoreCorrupted
from nbmodelbook.store.arrays import (
    MAGIC,
    MAX_ARRAY_BYTES,
    ArrayNotEncodable,
    array_hash,
    decode_array,
    encode_array,
    prepare_array,
)

RNG = np.random.default_rng(20)

ROUND_TRIPS: dict[str, Any] = {
    "float64 scores": RNG.random(150),
    "float32 scores": RNG.random(150).astype(np.float32),
    "float16": np.array([0.5, -2.0, 65504.0], dtype=np.float16),
    "int64 labels": RNG.integers(0, 2, 150),
    "int8 segment codes": RNG.integers(-1, 4, 150).astype(np.int8),
    "uint16": np.arange(0, 60_000, 7, dtype=np.uint16),
    "bool": RNG.random(150) < 0.3,
    "str labels": np.array(["approved", "declined", "approved", "review"]),
    "wide str dtype": np.array(["a", "bb"], dtype="<U12"),
    "unicode labels": np.array(["café", "日本", "", "naïve \U0001f600"]),
    "2-D class probabilities": RNG.dirichlet(np.ones(3), size=150),
    "NaN and infinities": np.array([0.1, np.nan, np.inf, -np.inf, -0.0, 5e-324]),
    "empty float": np.array([], dtype=np.float64),
    "empty str": np.array([], dtype="<U3"),
    "0-d": np.array(2.5),
    "2-D str": np.array([["a", "b"], ["c", "a"]]),
}


def same(read: Any, original: Any) -> bool:
    """Same dtype, shape and values, NaN where NaN was (bit for bit for floats)."""
    if read.dtype != original.dtype or read.shape != original.shape:
        return False
    if original.dtype.kind == "f":
        bits = f"u{original.itemsize}"
        return bool(np.array_equal(read.view(bits), original.view(bits)))
    return bool(np.array_equal(read, original))


@pytest.mark.parametrize("name", list(ROUND_TRIPS))
def test_every_kind_reads_back_exactly(name: str) -> None:
    original = ROUND_TRIPS[name]
    read = decode_array(encode_array(original))
    assert same(read, original)
    assert not read.flags.writeable  # shared between evaluations: nobody may change it


def test_object_labels_read_back_as_strings_and_share_their_hash() -> None:
    labels = np.array(["good", "bad", "good", "fraud"], dtype=object)
    read = decode_array(encode_array(labels))
    assert read.dtype == np.dtype("<U5") and read.tolist() == labels.tolist()
    assert array_hash(labels) == array_hash(np.array(["good", "bad", "good", "fraud"]))


def test_byte_order_and_layout_do_not_change_values_or_hash() -> None:
    values = RNG.random((20, 3))
    big_endian = values.astype(">f8")
    fortran = np.asfortranarray(values)
    strided = np.arange(40, dtype=np.int32)[::2]
    assert same(decode_array(encode_array(big_endian)), values)
    assert array_hash(big_endian) == array_hash(fortran) == array_hash(values)
    assert same(decode_array(encode_array(strided)), strided.copy())


def test_the_hash_names_dtype_shape_and_values() -> None:
    values = np.arange(6, dtype=np.int64)
    assert array_hash(values) == array_hash(values.copy())
    assert len(array_hash(values)) == 32
    others = [values.astype(np.int32), values.reshape(2, 3), values + 1, values.astype(float)]
    assert len({array_hash(values), *(array_hash(other) for other in others)}) == 5
    assert array_hash(np.array(["a", "b"])) != array_hash(np.array(["a", "c"]))


def test_bytes_are_binary_and_compact_not_json_or_pickle() -> None:
    labels = RNG.integers(0, 2, 100_000)
    encoded = encode_array(labels)
    assert encoded.startswith(MAGIC) and b"\x80\x04" not in encoded[:2]  # no pickle header
    assert len(encoded) < labels.nbytes / 20  # 0/1 labels in int64: mostly zero bytes
    words = np.array(["approved", "declined"] * 5_000)
    stored = encode_array(words)
    assert stored.count(b"approved") == 1  # once, as a level; each row is a small code
    assert len(stored) < 2_000
    scores = RNG.random(100_000)
    assert len(encode_array(scores)) < scores.nbytes  # the exponent bytes compress


def test_a_large_array_is_fast_enough_to_keep() -> None:
    import time

    scores = RNG.random(1_000_000)
    start = time.perf_counter()
    encoded = encode_array(scores)
    elapsed = time.perf_counter() - start
    assert same(decode_array(encoded), scores)
    assert elapsed < 2.0  # incompressible low bytes are stored, not squeezed in vain


@pytest.mark.parametrize(
    ("value", "says"),
    [
        (np.array([1 + 2j]), "complex128"),
        (np.array(["2024-01-01"], dtype="datetime64[D]"), "datetime64"),
        (np.array([b"raw"]), "|S3"),
        (np.array([1.0], dtype=np.longdouble), "float128"),
        (np.array(["a", 1], dtype=object), "value of type int (at position 1)"),
        (np.array(["a", None], dtype=object), "value of type NoneType"),
        ([0, 1, 1], "is a list, not a numpy array"),
        (np.zeros(2, dtype=[("a", "f8")]), "cannot keep"),
    ],
)
def test_what_cannot_be_kept_is_refused_with_a_reason(value: Any, says: str) -> None:
    with pytest.raises(ArrayNotEncodable, match="y_score") as raised:
        encode_array(value, "y_score")
    assert says in str(raised.value)


def test_an_array_too_large_is_refused_before_it_is_copied() -> None:
    huge = np.broadcast_to(np.zeros(1), (MAX_ARRAY_BYTES // 8 + 1,))  # no memory behind it
    with pytest.raises(ArrayNotEncodable, match="at most 512 MiB"):
        prepare_array(huge, "y_true")


def _forged(header: dict[str, Any], body: bytes) -> bytes:
    text = json.dumps(header).encode("ascii")
    return struct.pack("<4sBI", MAGIC, 1, len(text)) + text + body


@pytest.mark.parametrize(
    "damaged",
    [
        b"",
        b"PK\x03\x04 not an array",
        encode_array(np.arange(10))[:-3],
        encode_array(np.arange(10)) + b"x",
        # An object dtype would need pickle: the reader refuses it rather than unpickle.
        _forged({"dtype": "|O", "shape": [1], "blocks": [[8, 0]]}, b"\x00" * 8),
        _forged({"dtype": "|u1", "shape": [4], "blocks": [[0, 1]]}, b""),
        # A plane that inflates beyond what the header promised (a decompression bomb).
        _forged(
            {"dtype": "|u1", "shape": [4], "blocks": [[len(zlib.compress(b"\x00" * 10**6)), 1]]},
            zlib.compress(b"\x00" * 10**6),
        ),
        _forged(
            {
                "dtype": "labels",
                "str_dtype": "<U1",
                "codes": "|i1",
                "levels": ["a"],
                "shape": [1],
                "blocks": [[1, 0]],
            },
            b"\x05",  # a code with no level
        ),
    ],
    ids=["empty", "other", "truncated", "trailing", "object", "empty-block", "bomb", "code"],
)
def test_damaged_bytes_are_refused_as_damaged(damaged: bytes) -> None:
    with pytest.raises(StoreCorrupted, match="damaged"):
        decode_array(damaged)
