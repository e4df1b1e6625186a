"""The record's shared helpers: the code hash and strict JSON values."""

from __future__ import annotations

import math

import xxhash

from nbmodelbook.record import code_hash, json_safe


def test_code_hash() -> None:
    assert code_hash("x = 1\n") == xxhash.xxh3_128_hexdigest(b"x = 1\n")
    assert len(code_hash("")) == 32
    assert code_hash("x = 1\n") != code_hash("x = 2\n")
    assert code_hash("\ud800") == code_hash("\ud800")  # lone surrogates hash, not raise


def test_json_safe_names_non_finite_numbers_at_any_depth() -> None:
    value = {"a": [1.0, math.nan, {"b": math.inf}], "c": (-math.inf, "x")}
    assert json_safe(value) == {"a": [1.0, "NaN", {"b": "Infinity"}], "c": ["-Infinity", "x"]}
