from __future__ import annotations

import math
import socket

import numpy as np

from nbmodelbook.capture.values import MAX_STRING, numeric_value, to_json_safe


def test_numbers_keep_nan_and_infinities() -> None:
    assert numeric_value(3) == 3.0
    assert numeric_value(np.float32(0.5)) == 0.5
    assert numeric_value(np.int64(7)) == 7.0
    assert math.isnan(numeric_value(float("nan")))  # type: ignore[arg-type]
    assert numeric_value(np.float64("-inf")) == -math.inf
    assert numeric_value(10**400) == math.inf


def test_non_numbers_are_not_metrics() -> None:
    for value in (True, np.bool_(False), "1.0", [1], np.array([1.0, 2.0]), None):
        assert numeric_value(value) is None


def test_odd_values_become_type_and_bounded_repr() -> None:
    def generator():  # type: ignore[no-untyped-def]
        yield 1

    with socket.socket() as sock:
        for value in (lambda x: x, generator(), sock, object()):
            safe = to_json_safe(value)
            assert set(safe) == {"type", "repr"}
            assert len(safe["repr"]) <= 300


def test_circular_and_huge_values_are_bounded() -> None:
    loop: list[object] = [1]
    loop.append(loop)
    assert to_json_safe(loop) == [1, {"type": "list", "repr": "<circular reference>"}]
    assert len(to_json_safe("x" * 10_000_000)) == MAX_STRING
    assert len(to_json_safe(list(range(10_000)))) == 100
    assert to_json_safe(10**100)[:5] == "10000"


def test_containers_and_numpy_scalars() -> None:
    assert to_json_safe({"a": (1, 2), 3: {4.5}}) == {"a": [1, 2], "3": [4.5]}
    assert to_json_safe(np.int32(4)) == 4 and isinstance(to_json_safe(np.int32(4)), int)
    assert to_json_safe(np.bool_(True)) is True
