"""Evidence arrays: what a metric call received, copied on the notebook's thread and turned into
segment labels, row fingerprints and samples on the writer's."""

from __future__ import annotations

import array
import decimal
import itertools
import os
import subprocess
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import scipy.sparse as sp

from nbmodelbook.capture.evidence_arrays import (
    CLASS_STRATA_MAX,
    DECLARED_MAX_LEVELS,
    REGRESSION_BINS,
    as_vector,
    label_segments,
    rows_fingerprint,
    stratified_sample,
    take_segment_columns,
)
from nbmodelbook.errors import InvalidArgument, UnusableEvidence, UsageError

REPO = Path(__file__).resolve().parents[2]


def _same(got: np.ndarray[Any, Any], expected: list[Any]) -> bool:
    """Element-wise equality where NaN equals NaN and None equals None."""
    if len(got) != len(expected):
        return False
    for left, right in zip(got.tolist(), expected, strict=True):
        if isinstance(right, float) and right != right:
            if not (isinstance(left, float) and left != left):
                return False
        elif left != right or type(left) is not type(right):
            return False
    return True


# --- as_vector: what is accepted -----------------------------------------------------------

ACCEPTED: list[tuple[str, Callable[[], object], list[Any], str]] = [
    ("ndarray int", lambda: np.array([0, 1, 1]), [0, 1, 1], "i"),
    ("ndarray float", lambda: np.array([0.1, 0.9]), [0.1, 0.9], "f"),
    ("ndarray bool", lambda: np.array([True, False]), [True, False], "b"),
    ("ndarray text", lambda: np.array(["no", "yes"]), ["no", "yes"], "U"),
    ("ndarray strided view", lambda: np.arange(6)[::2], [0, 2, 4], "i"),
    ("list", lambda: [1, 0, 1], [1, 0, 1], "i"),
    ("list with None", lambda: ["a", None], ["a", None], "O"),
    ("tuple", lambda: (0.25, 0.75), [0.25, 0.75], "f"),
    ("range", lambda: range(3), [0, 1, 2], "i"),
    ("object labels", lambda: np.array([1, "a", None], dtype=object), [1, "a", None], "O"),
    ("decimals", lambda: [decimal.Decimal("0.5")], [decimal.Decimal("0.5")], "O"),
    ("Series", lambda: pd.Series([0.2, 0.8], index=[10, 11]), [0.2, 0.8], "f"),
    ("Series Int64 with NA", lambda: pd.Series([1, None], dtype="Int64"), [1.0, np.nan], "f"),
    ("Series Int64 complete", lambda: pd.Series([1, 2], dtype="Int64"), [1, 2], "i"),
    ("Series Float64", lambda: pd.Series([0.5, None], dtype="Float64"), [0.5, np.nan], "f"),
    ("boolean array with NA", lambda: pd.array([True, None], dtype="boolean"), [1.0, np.nan], "f"),
    ("Series boolean", lambda: pd.Series([True, False], dtype="boolean"), [True, False], "b"),
    ("Series str", lambda: pd.Series(["no", None, "yes"], dtype="str"), ["no", None, "yes"], "O"),
    ("Series string", lambda: pd.Series(["a", None], dtype="string"), ["a", None], "O"),
    (
        "Series arrow int",
        lambda: pd.Series(pd.array([1, None], "int64[pyarrow]")),
        [1.0, np.nan],
        "f",
    ),
    (
        "Series sparse",
        lambda: pd.Series(pd.arrays.SparseArray([0.0, 0.0, 1.0])),
        [0.0, 0.0, 1.0],
        "f",
    ),
    (
        "categorical text",
        lambda: pd.Series(pd.Categorical(["b", None, "a"], categories=["b", "a"])),
        ["b", None, "a"],
        "O",
    ),
    ("categorical numbers", lambda: pd.Categorical([2, None, 1]), [2.0, np.nan, 1.0], "f"),
    ("categorical complete", lambda: pd.Categorical([2, 1, 2]), [2, 1, 2], "i"),
    ("Index", lambda: pd.Index(["x", "y"]), ["x", "y"], "O"),
    ("RangeIndex", lambda: pd.RangeIndex(3), [0, 1, 2], "i"),
    ("1-column DataFrame", lambda: pd.DataFrame({"y": [1, 0]}), [1, 0], "i"),
    ("(n, 1) column", lambda: np.array([[1.5], [2.5]]), [1.5, 2.5], "f"),
    ("sparse row", lambda: sp.csr_matrix([[1, 0, 2]]), [1, 0, 2], "i"),
    ("sparse column", lambda: sp.csc_matrix([[0.5], [0.0]]), [0.5, 0.0], "f"),
    ("sparse array", lambda: sp.coo_array([[3, 0]]), [3, 0], "i"),
    (
        "masked",
        lambda: np.ma.masked_array([1, 2, 3], mask=[False, True, False]),
        [1.0, np.nan, 3.0],
        "f",
    ),
    ("masked text", lambda: np.ma.masked_array(["a", "b"], mask=[True, False]), [None, "b"], "O"),
    ("masked, none masked", lambda: np.ma.masked_array([1, 2]), [1, 2], "i"),
    ("memoryview", lambda: np.array([4, 5]).data, [4, 5], "i"),
    ("stdlib array", lambda: array.array("d", [0.5, 1.5]), [0.5, 1.5], "f"),
    ("pyarrow array", lambda: pa.array([0.5, None]), [0.5, np.nan], "f"),
    ("pyarrow strings", lambda: pa.chunked_array([["a"], ["b"]]), ["a", "b"], "O"),
]


@pytest.mark.parametrize(
    ("make", "expected", "kind"),
    [case[1:] for case in ACCEPTED],
    ids=[case[0] for case in ACCEPTED],
)
def test_accepted_values_become_one_dimensional_arrays(
    make: Callable[[], object], expected: list[Any], kind: str
) -> None:
    vector = as_vector(make())
    assert isinstance(vector, np.ndarray) and type(vector) is np.ndarray
    assert vector.ndim == 1
    assert vector.dtype.kind == kind
    assert _same(vector, expected), vector


def test_a_categorical_gives_its_values_whatever_the_order_of_its_categories() -> None:
    categorical = pd.Categorical(["lo", "hi", "mid", "lo"], categories=["lo", "mid", "hi"])
    assert as_vector(categorical).tolist() == ["lo", "hi", "mid", "lo"]


# --- as_vector: copies -----------------------------------------------------------------------


def _mutators() -> list[tuple[str, Callable[[], tuple[object, Callable[[], None]]]]]:
    def ndarray() -> tuple[object, Callable[[], None]]:
        source = np.array([1.0, 2.0, 3.0])
        return source, lambda: source.fill(9.0)

    def column_view() -> tuple[object, Callable[[], None]]:
        matrix = np.array([[0.1, 0.9], [0.4, 0.6], [0.7, 0.3]])
        view = matrix[:, 1]
        return view, lambda: matrix.fill(9.0)

    def n_by_1() -> tuple[object, Callable[[], None]]:
        source = np.array([[1.0], [2.0], [3.0]])
        return source, lambda: source.fill(9.0)

    def series() -> tuple[object, Callable[[], None]]:
        source = pd.Series([1.0, 2.0, 3.0])
        return source, lambda: source.__setitem__(slice(None), 9.0)

    def series_of_array() -> tuple[object, Callable[[], None]]:
        backing = np.array([1.0, 2.0, 3.0])
        return pd.Series(backing, copy=False), lambda: backing.fill(9.0)

    def masked_integers() -> tuple[object, Callable[[], None]]:
        source = pd.Series([1, 2, 3], dtype="Int64")
        return source, lambda: source.__setitem__(slice(None), 9)

    def frame_column() -> tuple[object, Callable[[], None]]:
        frame = pd.DataFrame({"y": [1.0, 2.0, 3.0]})
        return frame, lambda: frame.__setitem__("y", 9.0)

    def masked() -> tuple[object, Callable[[], None]]:
        source = np.ma.masked_array([1.0, 2.0, 3.0])
        return source, lambda: source.data.fill(9.0)

    def buffer() -> tuple[object, Callable[[], None]]:
        backing = np.array([1.0, 2.0, 3.0])
        return backing.data, lambda: backing.fill(9.0)  # a memoryview

    def stdlib() -> tuple[object, Callable[[], None]]:
        source = array.array("d", [1.0, 2.0, 3.0])
        return source, lambda: source.__setitem__(0, 9.0)

    def sparse() -> tuple[object, Callable[[], None]]:
        source = sp.csr_matrix(np.array([[1.0, 2.0, 3.0]]))
        return source, lambda: source.data.fill(9.0)

    def matrix() -> tuple[object, Callable[[], None]]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PendingDeprecationWarning)
            source = np.matrix([[1.0], [2.0], [3.0]])
        return source, lambda: source.fill(9.0)

    return [
        ("ndarray", ndarray),
        ("column view", column_view),
        ("(n, 1)", n_by_1),
        ("Series", series),
        ("Series over an array", series_of_array),
        ("Int64", masked_integers),
        ("DataFrame column", frame_column),
        ("masked", masked),
        ("memoryview", buffer),
        ("stdlib array", stdlib),
        ("sparse", sparse),
        ("matrix", matrix),
    ]


@pytest.mark.parametrize("build", [m[1] for m in _mutators()], ids=[m[0] for m in _mutators()])
def test_the_vector_is_a_copy_the_user_cannot_change(
    build: Callable[[], tuple[object, Callable[[], None]]],
) -> None:
    source, mutate = build()
    vector = as_vector(source)
    before = vector.copy()
    mutate()
    assert np.array_equal(vector, before)
    assert not np.array_equal(as_vector(source), before)  # the mutation did reach the source


def test_a_probability_matrix_is_copied_too() -> None:
    proba = np.array([[0.2, 0.8], [0.6, 0.4]])
    kept = as_vector(proba, allow_2d=True)
    proba[:] = 0.5
    assert kept.tolist() == [[0.2, 0.8], [0.6, 0.4]]


# --- as_vector: two dimensions ---------------------------------------------------------------


def test_a_probability_matrix_stays_two_dimensional_only_when_allowed() -> None:
    proba = np.array([[0.2, 0.8], [0.6, 0.4], [0.5, 0.5]])
    assert as_vector(proba, allow_2d=True).shape == (3, 2)
    with pytest.raises(UnusableEvidence, match="2 columns per row: a multi-output target"):
        as_vector(proba)
    assert as_vector(np.ones((4, 1)), allow_2d=True).shape == (4,)
    assert as_vector([[0.1, 0.2, 0.7]], allow_2d=True).shape == (1, 3)


def test_a_frame_of_scores_is_a_matrix_when_allowed() -> None:
    frame = pd.DataFrame({"a": [0.1, 0.9], "b": pd.array([0.9, None], dtype="Float64")})
    kept = as_vector(frame, allow_2d=True)
    assert kept.dtype == np.float64 and kept.shape == (2, 2)
    assert kept[0].tolist() == [0.1, 0.9] and np.isnan(kept[1, 1])
    with pytest.raises(UnusableEvidence, match="2 columns: a multi-output target"):
        as_vector(frame)
    with pytest.raises(UnusableEvidence, match="not all numbers"):
        as_vector(pd.DataFrame({"a": [0.1], "b": ["x"]}), allow_2d=True)


def test_a_matrix_of_text_is_not_a_probability_matrix() -> None:
    with pytest.raises(UnusableEvidence, match="<U1 values cannot be kept as one column per class"):
        as_vector(np.array([["a", "b"], ["c", "d"]]), allow_2d=True)


# --- as_vector: refusals ---------------------------------------------------------------------


REFUSED: list[tuple[str, Callable[[], object], str]] = [
    ("iterator", lambda: iter([1, 2]), "a list_iterator: an iterator is read only once"),
    ("map", lambda: map(float, [1, 2]), "a map: an iterator is read only once"),
    ("ragged", lambda: [[1, 2], [3]], "a list of 2 items: its items are nested unevenly"),
    ("dicts", lambda: [{"a": 1}, {"b": 2}], "values of type dict are not labels or scores"),
    ("objects", lambda: [object(), 1], "values of type object are not labels or scores"),
    ("3-D", lambda: np.zeros((2, 2, 2)), "shape (2, 2, 2): 3-D values are not one value"),
    ("multi-output", lambda: np.zeros((5, 3)), "shape (5, 3): 3 columns per row"),
    ("float", lambda: 0.5, "a float: a single value, not one per row"),
    ("text", lambda: "yes", "a str: a single value"),
    ("None", lambda: None, "None: a single value"),
    ("0-d", lambda: np.array(3.0), "a numpy.ndarray of shape (): a single value"),
    ("dict", lambda: {"a": 1}, "a dict: its items have no row order"),
    ("set", lambda: {1, 2}, "a set: its items have no row order"),
    ("empty", lambda: [], "a list of 0 items: no rows"),
    ("no columns", lambda: np.zeros((3, 0)), "no columns"),
    ("dates", lambda: np.array(["2024-01-01"], dtype="M8[D]"), "dates and times are not labels"),
    ("time spans", lambda: np.array([1], dtype="m8[s]"), "time spans are not labels"),
    ("complex", lambda: np.array([1j]), "complex numbers are not labels or scores"),
    ("records", lambda: np.zeros(2, dtype=[("a", "i4")]), "structured records are not labels"),
    ("Series of dates", lambda: pd.Series(pd.date_range("2024", periods=2)), "dates and times"),
    (
        "Series of aware dates",
        lambda: pd.Series(pd.date_range("2024", periods=2, tz="UTC")),
        "values of type Timestamp are not labels or scores",
    ),
    ("intervals", lambda: pd.Series(pd.interval_range(0, 2)), "type Interval are not labels"),
    (
        "categorical dates",
        lambda: pd.Categorical(pd.date_range("2024", periods=2)),
        "dates and times are not labels",
    ),
    ("MultiIndex", lambda: pd.MultiIndex.from_tuples([(1, 2)]), "rows labelled by several levels"),
    ("wide frame", lambda: pd.DataFrame({"a": [1], "b": [2]}), "2 columns: a multi-output target"),
    ("frame without columns", lambda: pd.DataFrame(), "a frame without columns"),
    ("sparse matrix", lambda: sp.csr_matrix(np.ones((2, 2))), "only a sparse matrix of one row"),
    ("other object", lambda: object(), "an object: not an array, a list or a column of values"),
]


@pytest.mark.parametrize(
    ("make", "message"), [case[1:] for case in REFUSED], ids=[case[0] for case in REFUSED]
)
def test_refused_values_raise_one_error_saying_what_and_why(
    make: Callable[[], object], message: str
) -> None:
    with pytest.raises(UnusableEvidence) as raised:
        as_vector(make())
    text = str(raised.value)
    assert text.startswith("skipped "), text
    assert message in text, text


def test_the_error_is_a_usage_error_a_caller_can_catch_as_value_error() -> None:
    assert issubclass(UnusableEvidence, UsageError)
    assert issubclass(UnusableEvidence, ValueError)


def test_a_generator_is_refused_without_being_consumed() -> None:
    def labels() -> Any:
        yield from (1, 0, 1)

    generator = labels()
    with pytest.raises(UnusableEvidence, match="a generator: an iterator is read only once"):
        as_vector(generator)
    assert list(generator) == [1, 0, 1]


def test_a_lazy_dask_collection_is_not_computed() -> None:
    computed: list[bool] = []

    def compute(self: object, *args: object, **kwargs: object) -> np.ndarray[Any, Any]:
        computed.append(True)
        return np.zeros(3)

    lazy = type("Array", (), {"__module__": "dask.array.core", "__array__": compute})()
    with pytest.raises(UnusableEvidence, match=r"a dask\.Array: a lazy dask collection"):
        as_vector(lazy)
    assert computed == []


def test_an_array_like_that_fails_is_a_note_not_a_crash() -> None:
    class Broken:
        def __array__(self, *args: object, **kwargs: object) -> np.ndarray[Any, Any]:
            raise RuntimeError("device lost")

    with pytest.raises(UnusableEvidence, match=r"could not be read.*RuntimeError: device lost"):
        as_vector(Broken())


def test_an_array_like_that_works_is_read() -> None:
    class Scores:
        def __array__(self, *args: object, **kwargs: object) -> np.ndarray[Any, Any]:
            return np.array([0.1, 0.2])

    assert as_vector(Scores()).tolist() == [0.1, 0.2]


def test_no_warning_is_emitted_and_the_warning_filters_are_left_alone() -> None:
    values = [case[1]() for case in ACCEPTED] + [case[1]() for case in REFUSED]
    filters_before = list(warnings.filters)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        filters_inside = list(warnings.filters)
        for value in values:
            try:
                as_vector(value)
                as_vector(value, allow_2d=True)
            except UnusableEvidence:
                pass
        assert list(warnings.filters) == filters_inside
    assert [str(warning.message) for warning in caught] == []
    assert list(warnings.filters) == filters_before


def test_object_values_are_checked_without_pandas_and_nothing_heavy_is_imported() -> None:
    script = """
import sys
from nbmodelbook.capture import evidence_arrays
heavy = {"numpy", "pandas", "scipy", "torch", "polars", "pyarrow"}
assert not heavy & set(sys.modules), heavy & set(sys.modules)
import numpy as np
assert evidence_arrays.as_vector(np.array(["a", None, 1], dtype=object)).tolist() == ["a", None, 1]
try:
    evidence_arrays.as_vector([{"a": 1}, "b"])
except evidence_arrays.UnusableEvidence as error:
    assert "values of type dict are not labels or scores" in str(error), error
else:
    raise AssertionError("a dict was kept")
assert not {"pandas", "scipy", "torch", "polars"} & set(sys.modules)
print("ok")
"""
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_torch_tensors_are_read_detached_and_copied() -> None:
    torch = pytest.importorskip("torch")
    tensor = torch.tensor([0.25, 0.75], requires_grad=True)
    kept = as_vector(tensor)
    with torch.no_grad():
        tensor.fill_(9.0)
    assert kept.tolist() == [0.25, 0.75]
    assert as_vector(torch.tensor([[1.0], [2.0]], dtype=torch.bfloat16)).tolist() == [1.0, 2.0]
    with pytest.raises(UnusableEvidence, match="3 columns per row"):
        as_vector(torch.zeros(2, 3))


def test_polars_series_are_read_and_copied() -> None:
    polars = pytest.importorskip("polars")
    series = polars.Series("y", [1, None, 3])
    assert _same(as_vector(series), [1.0, np.nan, 3.0])
    assert as_vector(polars.Series(["a", "b"])).tolist() == ["a", "b"]
    assert as_vector(polars.DataFrame({"y": [0, 1]})).tolist() == [0, 1]
    with pytest.raises(UnusableEvidence, match="2 columns"):
        as_vector(polars.DataFrame({"a": [0], "b": [1]}))


# --- take_segment_columns --------------------------------------------------------------------


def _frame(n: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(
        {
            "income": rng.normal(50, 10, n),
            "age": rng.integers(18, 80, n),
            "region": pd.Categorical(
                rng.choice(["north", "south", "east"], n), categories=["south", "north", "east"]
            ),
            "channel": pd.array(rng.choice(["web", "phone"], n), dtype="str"),
            "grade": rng.choice(["A", "B"], n),
            "is_new": rng.random(n) < 0.5,
            "verified": pd.array(rng.choice([True, False], n), dtype="boolean"),
            "score_int": pd.array(rng.integers(0, 5, n), dtype="Int64"),
        },
        index=pd.Index(rng.permutation(n) + 100, name="customer"),
    )
    frame["grade"] = frame["grade"].astype(object)  # text held as Python objects
    return frame


def test_declared_and_labelling_columns_are_taken_numeric_ones_only_when_declared() -> None:
    frame = _frame()
    y_true = pd.Series(np.zeros(len(frame)), index=frame.index)
    assert frame["grade"].dtype == object and frame["channel"].dtype == "str"
    columns = take_segment_columns(frame, y_true.index, ["age", "not a column"])
    assert list(columns) == ["age", "region", "channel", "grade", "is_new", "verified"]
    assert isinstance(columns["region"], pd.Categorical)
    assert list(columns["region"].categories) == ["south", "north", "east"]
    assert isinstance(columns["age"], np.ndarray) and columns["age"].tolist() == list(frame["age"])
    assert np.asarray(columns["channel"], dtype=object).tolist() == list(frame["channel"])


def test_the_taken_columns_are_copies() -> None:
    frame = _frame()
    columns = take_segment_columns(frame, frame.index, ["age", "score_int"])
    before = {name: np.asarray(values, dtype=object).copy() for name, values in columns.items()}
    frame.loc[:, "age"] = 0
    frame.loc[:, "score_int"] = 0
    frame.loc[:, "grade"] = "Z"
    frame.loc[:, "channel"] = "mail"
    frame.loc[:, "is_new"] = True
    frame.loc[:, "verified"] = True
    frame["region"] = frame["region"].cat.set_categories(["east", "north", "south"])
    frame.loc[:, "region"] = "east"
    for name, values in columns.items():
        assert np.asarray(values, dtype=object).tolist() == before[name].tolist(), name
    region = columns["region"]
    assert isinstance(region, pd.Categorical)
    assert list(region.categories) == ["south", "north", "east"]


def test_rows_are_matched_by_the_index_of_y_true() -> None:
    frame = _frame()
    equal_index = pd.Index(frame.index.to_numpy().copy(), name="other")
    assert take_segment_columns(frame, equal_index, []) != {}
    series = pd.Series(np.zeros(len(frame)), index=frame.index)
    assert take_segment_columns(frame, series, []) != {}  # a Series stands for its index
    assert take_segment_columns(frame, frame.index[:-1], []) == {}
    assert take_segment_columns(frame, frame.index[::-1], []) == {}
    assert take_segment_columns(frame, pd.RangeIndex(len(frame)), []) == {}
    assert take_segment_columns(frame, None, ["age"]) == {}
    assert take_segment_columns(frame, frame.index.to_numpy(), ["age"]) == {}
    assert take_segment_columns(frame.to_numpy(), frame.index, ["age"]) == {}
    assert take_segment_columns(frame["region"], frame.index, ["age"]) == {}


def test_column_names_that_are_not_text_are_named_by_their_text() -> None:
    frame = pd.DataFrame({0: pd.Categorical(["a", "b"]), 1: [0.5, 0.6]})
    assert list(take_segment_columns(frame, frame.index, ["1"])) == ["0", "1"]


# --- label_segments --------------------------------------------------------------------------


def _expected_quartiles(values: np.ndarray[Any, Any]) -> tuple[np.ndarray[Any, Any], list[float]]:
    """Quartile codes computed independently: pandas.qcut's edges, bins closed on the left
    (pandas.cut with right=False), the maximum in the last bin, missing -1."""
    finite = np.isfinite(values)
    _, edges = pd.qcut(values[finite], 4, retbins=True, duplicates="drop")
    cut = pd.cut(values[finite], edges, right=False, labels=False)
    cut = np.where(values[finite] == edges[-1], len(edges) - 2, cut)
    codes = np.full(len(values), -1)
    codes[finite] = cut
    return codes, [float(edge) for edge in edges]


def _level_edges(level: str) -> tuple[float, float]:
    low, high = level[1:-1].split(", ")
    return float(low), float(high)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_declared_numbers_are_cut_into_quartiles_like_pandas_qcut(seed: int) -> None:
    rng = np.random.default_rng(seed)
    values = rng.lognormal(2.0, 1.0, 500)
    values[rng.choice(500, 20, replace=False)] = np.nan
    values[:3] = values[3:6]  # ties on edges are fine too
    codes, edges = _expected_quartiles(values)

    segment = label_segments({"income": values}, ["income"])["income"]
    assert segment.source == "declared"
    assert segment.codes.dtype == np.int8
    assert segment.codes.tolist() == codes.tolist()
    assert len(segment.levels) == 4
    for index, level in enumerate(segment.levels):
        closing = "]" if index == len(segment.levels) - 1 else ")"
        assert level.startswith("[") and level.endswith(closing), level
        low, high = _level_edges(level)
        # Three significant digits: within half a unit of the third digit.
        assert low == pytest.approx(edges[index], rel=6e-3)
        assert high == pytest.approx(edges[index + 1], rel=6e-3)


def test_quartile_levels_read_plainly() -> None:
    segment = label_segments({"x": np.arange(10.0)}, {"x"})["x"]
    assert segment.levels == ["[0, 2.25)", "[2.25, 4.5)", "[4.5, 6.75)", "[6.75, 9]"]
    assert segment.codes.tolist() == [0, 0, 0, 1, 1, 2, 2, 3, 3, 3]


def test_quartile_levels_keep_enough_digits_to_differ() -> None:
    values = 1000 + np.arange(9) * 1e-4
    levels = label_segments({"x": values}, {"x"})["x"].levels
    assert len(set(levels)) == len(levels) == 4
    assert levels[0] == "[1000, 1000.0002)"


def test_repeated_quartile_edges_are_dropped() -> None:
    values = np.concatenate([np.zeros(60), np.linspace(1.0, 4.0, 40)])
    codes, edges = _expected_quartiles(values)
    segment = label_segments({"x": values}, {"x"})["x"]
    assert len(segment.levels) == len(edges) - 1 == 2
    assert segment.codes.tolist() == codes.tolist()


def test_quartiles_of_nullable_integers_and_missing_values() -> None:
    values = pd.array([1, 2, None, 3, 4, 5, 6, 7, 8], dtype="Int64")
    segment = label_segments({"n": values}, {"n"})["n"]
    assert segment.codes[2] == -1
    expected, _ = _expected_quartiles(values.to_numpy(dtype=float, na_value=np.nan))
    assert segment.codes.tolist() == expected.tolist()
    infinite = label_segments({"x": np.array([1.0, np.inf, 2.0, -np.inf, 3.0])}, {"x"})["x"]
    assert infinite.codes[1] == infinite.codes[3] == -1


def test_a_constant_declared_number_is_one_level_and_an_empty_one_is_dropped() -> None:
    constant = label_segments({"x": np.full(5, 2.5)}, {"x"})["x"]
    assert constant.levels == ["[2.5, 2.5]"] and constant.codes.tolist() == [0] * 5
    assert label_segments({"x": np.full(5, np.nan)}, {"x"}) == {}


def test_categories_keep_their_own_order_from_the_frame_to_the_labels() -> None:
    frame = _frame()
    segments = label_segments(take_segment_columns(frame, frame.index, []), [])
    region = segments["region"]
    assert region.source == "automatic"
    assert region.levels == ["south", "north", "east"]
    decoded = [region.levels[code] for code in region.codes]
    assert decoded == list(frame["region"])


def test_unused_categories_are_left_out_and_missing_values_code_minus_one() -> None:
    categorical = pd.Categorical(["b", None, "c", "b"], categories=["c", "a", "b"])
    segment = label_segments({"c": categorical}, [])["c"]
    assert segment.levels == ["c", "b"]
    assert segment.codes.tolist() == [1, -1, 0, 1]


def test_booleans_are_false_then_true() -> None:
    segments = label_segments(
        {
            "plain": np.array([True, False, True]),
            "nullable": pd.array([True, None, False], dtype="boolean"),
        },
        [],
    )
    assert segments["plain"].levels == ["False", "True"]
    assert segments["plain"].codes.tolist() == [1, 0, 1]
    assert segments["nullable"].levels == ["False", "True"]
    assert segments["nullable"].codes.tolist() == [1, -1, 0]


def test_text_levels_are_sorted_and_missing_text_codes_minus_one() -> None:
    text = np.array(["web", None, "branch", "phone", np.nan, "web"], dtype=object)
    arrow = pd.array(["b", None, "a"], dtype="str")
    segments = label_segments({"channel": text, "arrow": arrow}, [])
    assert segments["channel"].levels == ["branch", "phone", "web"]
    assert segments["channel"].codes.tolist() == [2, -1, 0, 1, -1, 2]
    assert segments["arrow"].levels == ["a", "b"] and segments["arrow"].codes.tolist() == [1, -1, 0]


def test_mixed_values_are_sorted_by_kind_and_levels_that_read_alike_merge() -> None:
    segment = label_segments({"m": np.array([2, "a", 1, "1"], dtype=object)}, [])["m"]
    assert segment.levels == ["1", "2", "a"]
    assert [segment.levels[code] for code in segment.codes] == ["2", "a", "1", "1"]


def test_automatic_columns_with_too_many_levels_or_one_are_dropped() -> None:
    twenty = np.array([f"v{i:02d}" for i in range(20)] * 3, dtype=object)
    twenty_one = np.array([f"v{i:02d}" for i in range(21)] * 3, dtype=object)
    constant = np.array(["same"] * 10, dtype=object)
    segments = label_segments({"twenty": twenty, "twenty_one": twenty_one, "k": constant}, [])
    assert list(segments) == ["twenty"]
    assert len(segments["twenty"].levels) == 20
    assert label_segments({"t": twenty_one}, [], max_levels=21)["t"].levels[-1] == "v20"
    assert label_segments({"k": constant}, ["k"])["k"].levels == ["same"]


def test_declared_text_is_kept_up_to_its_own_bound() -> None:
    def codes(levels: int) -> np.ndarray[Any, Any]:
        return np.array([f"c{i:03d}" for i in range(levels)], dtype=object)

    kept = label_segments({"d": codes(DECLARED_MAX_LEVELS)}, ["d"])
    assert len(kept["d"].levels) == DECLARED_MAX_LEVELS and kept["d"].source == "declared"
    assert label_segments({"d": codes(DECLARED_MAX_LEVELS + 1)}, ["d"]) == {}
    assert label_segments({"d": codes(DECLARED_MAX_LEVELS)}, []) == {}


def test_many_levels_take_wider_codes() -> None:
    values = np.array([f"v{i:03d}" for i in range(200)], dtype=object)
    segment = label_segments({"v": values}, [], max_levels=300)["v"]
    assert segment.codes.dtype == np.int16
    assert [segment.levels[code] for code in segment.codes] == values.tolist()


def test_codes_decode_to_the_values_for_every_kind_of_column() -> None:
    frame = _frame(200)
    segments = label_segments(take_segment_columns(frame, frame.index, ["age"]), {"age"})
    for name in ("region", "channel", "grade", "is_new", "verified"):
        decoded = [segments[name].levels[code] for code in segments[name].codes]
        assert decoded == [str(value) for value in frame[name]], name


# --- rows_fingerprint ------------------------------------------------------------------------


def test_the_same_rows_have_the_same_fingerprint() -> None:
    labels = np.random.default_rng(0).integers(0, 2, 1000)
    first = rows_fingerprint(labels)
    assert len(first) == 32 and int(first, 16) >= 0
    assert rows_fingerprint(labels.copy()) == first
    strided = np.repeat(labels, 2)[::2]
    assert not strided.flags.c_contiguous and rows_fingerprint(strided) == first


def test_order_values_dtype_and_shape_change_the_fingerprint() -> None:
    labels = np.array([0, 1, 1, 0, 1])
    swapped = labels.copy()
    swapped[[0, 1]] = swapped[[1, 0]]
    changed = labels.copy()
    changed[-1] = 0
    variants = [
        labels,
        labels[::-1],
        swapped,
        changed,
        labels.astype(np.int32),
        labels.astype(np.float64),
        labels.reshape(-1, 1),
        labels[:-1],
    ]
    assert len({rows_fingerprint(variant) for variant in variants}) == len(variants)


def test_text_is_fingerprinted_by_its_values_whatever_numpy_holds_it_in() -> None:
    fixed = np.array(["no", "yes", "yes"])
    wider = np.array(["no", "yes", "yes"], dtype="<U10")
    objects = np.array(["no", "yes", "yes"], dtype=object)
    numpy_strings = np.array([np.str_("no"), np.str_("yes"), "yes"], dtype=object)
    assert rows_fingerprint(fixed) == rows_fingerprint(wider) == rows_fingerprint(objects)
    assert rows_fingerprint(numpy_strings) == rows_fingerprint(fixed)
    assert rows_fingerprint(np.array(["yes", "no", "yes"])) != rows_fingerprint(fixed)
    assert rows_fingerprint(np.array(["ab", "c"])) != rows_fingerprint(np.array(["a", "bc"]))
    mixed = np.array(["1", 1, None, 1.0, True, np.nan], dtype=object)
    assert len({rows_fingerprint(mixed[i : i + 1]) for i in range(len(mixed))}) == len(mixed)


def test_fingerprints_are_the_same_in_another_process() -> None:
    script = """
import numpy as np
from nbmodelbook.capture.evidence_arrays import rows_fingerprint
print(rows_fingerprint(np.array(["é", None, 3, 0.5], dtype=object)))
print(rows_fingerprint(np.arange(7, dtype=np.int64)))
"""
    run = [sys.executable, "-c", script]
    outputs = {
        subprocess.run(
            run,
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
        ).stdout
        for seed in ("1", "2")
    }
    here = rows_fingerprint(np.array(["é", None, 3, 0.5], dtype=object))
    assert outputs == {f"{here}\n{rows_fingerprint(np.arange(7, dtype=np.int64))}\n"}


# --- stratified_sample -----------------------------------------------------------------------


def _proportional(counts: np.ndarray[Any, Any], total: int) -> np.ndarray[Any, Any]:
    counts = np.asarray(counts, dtype=np.float64)
    return np.asarray(total * counts / counts.sum())


def test_no_sample_when_the_rows_fit() -> None:
    assert stratified_sample(np.arange(10) % 2, 10) is None
    assert stratified_sample(np.arange(10) % 2, 50) is None


@pytest.mark.parametrize(
    ("rows", "max_rows"), [(1001, 1000), (10_000, 1000), (10_000, 7), (12_345, 4321)]
)
def test_the_sample_has_exactly_max_rows_sorted_distinct_positions(
    rows: int, max_rows: int
) -> None:
    labels = np.random.default_rng(rows).choice(["a", "b", "c"], rows, p=[0.7, 0.2, 0.1])
    sample = stratified_sample(labels, max_rows)
    assert sample is not None
    assert sample.dtype == np.int64 and len(sample) == max_rows
    assert (np.diff(sample) > 0).all()
    assert sample[0] >= 0 and sample[-1] < rows


def test_classes_keep_their_proportions_within_one_row() -> None:
    rng = np.random.default_rng(7)
    labels = rng.choice(6, 50_000, p=[0.5, 0.2, 0.15, 0.1, 0.04, 0.01])
    for max_rows in (100, 997, 5000):
        sample = stratified_sample(labels, max_rows)
        assert sample is not None
        counts = np.bincount(labels, minlength=6)
        got = np.bincount(labels[sample], minlength=6)
        assert np.all(np.abs(got - _proportional(counts, max_rows)) < 1), (max_rows, got)


def test_a_rare_class_keeps_one_row() -> None:
    labels = np.zeros(100_000, dtype=int)
    labels[12_345] = 1
    sample = stratified_sample(labels, 100)
    assert sample is not None and len(sample) == 100
    assert 12_345 in sample.tolist()
    sparse_classes = np.concatenate([np.zeros(5000, dtype=int), np.arange(1, 40)])
    tiny = stratified_sample(sparse_classes, 20)  # fewer rows than classes: exact size still
    assert tiny is not None and len(tiny) == 20


def test_missing_labels_are_a_stratum_of_their_own() -> None:
    labels = np.array(["a"] * 900 + [None] * 100, dtype=object)
    sample = stratified_sample(labels, 100)
    assert sample is not None
    assert sum(labels[position] is None for position in sample) == 10


def test_samples_are_deterministic_and_paired_for_the_same_rows() -> None:
    labels = np.random.default_rng(1).integers(0, 3, 20_000)
    first = stratified_sample(labels, 500)
    again = stratified_sample(labels.copy(), 500)
    assert first is not None and again is not None
    assert first.tolist() == again.tolist()
    other_seed = stratified_sample(labels, 500, seed=1)
    assert other_seed is not None and other_seed.tolist() != first.tolist()
    as_text = stratified_sample(labels.astype(str).astype(object), 500)
    assert as_text is not None and as_text.tolist() == first.tolist()


def test_a_sample_is_not_just_the_first_rows() -> None:
    labels = np.repeat([0, 1], 5000)
    sample = stratified_sample(labels, 100)
    assert sample is not None
    assert sample[:50].max() > 100 and sample[50:].max() > 5100


def test_continuous_targets_are_stratified_by_quantile_bins() -> None:
    values = np.random.default_rng(5).lognormal(0.0, 1.5, 30_000)
    assert len(np.unique(values)) > CLASS_STRATA_MAX
    sample = stratified_sample(values, 1234)
    assert sample is not None and len(sample) == 1234
    edges = np.quantile(values, np.linspace(0, 1, REGRESSION_BINS + 1))[1:-1]
    full = np.bincount(np.searchsorted(edges, values, side="right"), minlength=REGRESSION_BINS)
    got = np.bincount(
        np.searchsorted(edges, values[sample], side="right"), minlength=REGRESSION_BINS
    )
    assert np.all(np.abs(got - _proportional(full, 1234)) < 1), got


def test_continuous_targets_with_missing_values_and_objects() -> None:
    values = np.random.default_rng(2).normal(size=5000)
    values[:500] = np.nan
    sample = stratified_sample(values, 200)
    assert sample is not None and len(sample) == 200
    assert int(np.isnan(values[sample]).sum()) == 20
    as_objects = values.astype(object)
    as_objects[:500] = None
    paired = stratified_sample(as_objects, 200)
    assert paired is not None and paired.tolist() == sample.tolist()


def test_a_target_whose_first_rows_look_like_classes_is_still_binned() -> None:
    values = np.concatenate([np.zeros(6000), np.linspace(1.0, 2.0, 4000)])
    sample = stratified_sample(values, 1000)
    assert sample is not None and len(sample) == 1000
    edges = np.unique(np.quantile(values, np.linspace(0, 1, REGRESSION_BINS + 1))[1:-1])
    bins = np.searchsorted(edges, values, side="right")
    full = np.bincount(bins)
    got = np.bincount(bins[sample], minlength=len(full))
    assert np.all(np.abs(got - _proportional(full, 1000)) < 1), got


def test_many_distinct_labels_that_are_not_numbers_are_sampled_as_one_stratum() -> None:
    labels = np.array([f"id{i}" for i in range(1000)], dtype=object)
    sample = stratified_sample(labels, 100)
    assert sample is not None and len(sample) == 100
    # One stratum: the same rows as for any other single-stratum target of that length.
    constant = stratified_sample(np.zeros(1000), 100)
    assert constant is not None and sample.tolist() == constant.tolist()


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(InvalidArgument, match="max_rows must be at least 1"):
        stratified_sample(np.arange(5), 0)
    with pytest.raises(InvalidArgument, match="one value per row"):
        stratified_sample(np.zeros((5, 2)), 3)


def test_every_split_of_rows_into_strata_gives_the_exact_size() -> None:
    for sizes in itertools.product([1, 2, 5, 40], repeat=3):
        labels = np.repeat(np.arange(3), sizes)
        for max_rows in range(1, len(labels)):
            sample = stratified_sample(labels, max_rows)
            assert sample is not None and len(sample) == max_rows, (sizes, max_rows)
            got = np.bincount(labels[sample], minlength=3)
            assert np.all(got <= np.array(sizes))
            if max_rows >= 3:
                assert np.all(got >= 1), (sizes, max_rows, got)
