"""Evidence arrays: what a metric call received, turned into arrays a run can keep.

Two phases. On the notebook's thread, right after a tracked cell ends, `as_vector` and
`take_segment_columns` only copy: the user may change their data in the very next cell, and
anything beyond a copy would slow the notebook down. On the writer thread, `label_segments`,
`rows_fingerprint` and `stratified_sample` do the rest, as pure, deterministic functions.

numpy and pandas are imported inside the functions (this module is on the notebook's import
path). torch, polars and scipy are never imported here: a value of theirs can only exist when
its library is loaded already, so `sys.modules` tells whether to look for one.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Collection, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, NamedTuple, TypeAlias

import xxhash

from nbmodelbook.errors import InvalidArgument, UnusableEvidence
from nbmodelbook.record import SegmentLabels

if TYPE_CHECKING:
    from types import ModuleType

    from numpy.typing import NDArray
    from pandas.api.extensions import ExtensionArray

__all__ = [
    "CLASS_STRATA_MAX",
    "DECLARED_MAX_LEVELS",
    "REGRESSION_BINS",
    "SegmentColumn",
    "as_vector",
    "label_segments",
    "rows_fingerprint",
    "stratified_sample",
    "take_segment_columns",
]

# A column copied by `take_segment_columns`: a numpy array for numpy dtypes, else the pandas
# array itself (a Categorical keeps its categories' order; Arrow strings stay unconverted).
SegmentColumn: TypeAlias = "NDArray[Any] | ExtensionArray"

# Declared non-numeric columns are kept up to this many levels (automatic ones: `max_levels`).
DECLARED_MAX_LEVELS: Final = 100
# y_true with at most this many distinct values is stratified by class, else by quantile bins.
CLASS_STRATA_MAX: Final = 100
REGRESSION_BINS: Final = 10
_STRATA_PROBE: Final = 4096
_QUARTILES: Final = 4

# Bumped whenever the bytes fed to the row hasher change.
_ROWS_FORMAT: Final = b"nbmodelbook.rows/1"

# numpy kinds that can be labels or scores: bool, integers, floats, text, objects (checked).
_LABEL_KINDS: Final = frozenset("biufUSO")
_MATRIX_KINDS: Final = frozenset("biuf")
# What pandas' infer_dtype answers for object arrays that hold only labels (missing skipped).
_LABEL_INFERENCES: Final = frozenset(
    {"string", "bytes", "integer", "floating", "mixed-integer-float", "boolean", "empty", "decimal"}
)
_NUMBER_INFERENCES: Final = frozenset({"integer", "floating", "mixed-integer-float", "decimal"})
_KIND_REASONS: Final = {
    "M": "dates and times are not labels or scores",
    "m": "time spans are not labels or scores",
    "c": "complex numbers are not labels or scores",
    "V": "structured records are not labels or scores",
}


class _Refusal(Exception):
    """Why a value cannot be kept; `as_vector` turns it into one UnusableEvidence."""


class _Read(NamedTuple):
    array: NDArray[Any]
    fresh: bool  # our own new memory, not a view of the user's data
    checked: bool = False  # its values were already checked to be labels


# --- notebook thread --------------------------------------------------------------------------


def as_vector(value: object, *, allow_2d: bool = False) -> NDArray[Any]:
    """A fresh 1-D numpy copy of one value per row (never a view of the user's data).

    Accepts numpy arrays, lists, tuples and ranges, pandas Series, Index, 1-column DataFrame
    and extension arrays (categoricals become their values; nullable numbers and booleans become
    float with NaN when values are missing; text becomes objects with None for missing), torch
    tensors, polars Series, scipy sparse matrices of one row or one column, and other array-likes
    numpy reads as numbers, booleans or text. A (n, 1) column becomes 1-D. With `allow_2d`, a
    numeric (n, k) matrix (probabilities, one column per class) stays 2-D.

    Anything else raises UnusableEvidence saying what was skipped and why. Iterators are refused
    unread, and nothing here emits a warning."""
    try:
        return _vector(_read(value, allow_2d), allow_2d)
    except _Refusal as refusal:
        raise UnusableEvidence(f"skipped {_describe(value)}: {refusal}") from None
    except Exception as exc:  # a broken __array__, an odd extension type: a note, not a crash
        raise UnusableEvidence(
            f"skipped {_describe(value)}: it could not be read as an array "
            f"({type(exc).__name__}: {exc})"
        ) from exc


def take_segment_columns(
    frame: object, y_true_index: object, declared: Sequence[str]
) -> dict[str, SegmentColumn]:
    """Copies of the columns of `frame` that may segment the rows y_true labels.

    Only when `frame` is a pandas DataFrame whose index is y_true's (the same object, or equal:
    same length and values; a Series is taken for its index): the `declared` columns that exist,
    whatever their dtype, and every category, bool, object or string column (their cardinality
    is checked later, by `label_segments`). Numeric columns that are not declared are never
    copied. Numpy-typed columns are copied as numpy arrays, others as pandas arrays (a
    Categorical keeps its categories' order). {} when the rows cannot be matched."""
    pandas = sys.modules.get("pandas")
    if pandas is None or not isinstance(frame, pandas.DataFrame):
        return {}
    if isinstance(y_true_index, pandas.Series):
        y_true_index = y_true_index.index
    if not isinstance(y_true_index, pandas.Index):
        return {}
    index = frame.index
    if index is not y_true_index and (
        len(index) != len(y_true_index) or not index.equals(y_true_index)
    ):
        return {}
    wanted = set(declared)
    verdicts: dict[Any, bool] = {}  # a frame has few distinct dtypes, often hundreds of columns
    if not wanted and not any(
        _may_segment_cached(dtype, pandas, verdicts) for dtype in _distinct_dtypes(frame)
    ):
        return {}
    dtypes = list(frame.dtypes)
    segmenting = [_may_segment_cached(dtype, pandas, verdicts) for dtype in dtypes]
    columns: dict[str, SegmentColumn] = {}
    for position, (name, may) in enumerate(zip(frame.columns, segmenting, strict=True)):
        label = name if isinstance(name, str) else str(name)
        if label in columns or not (may or label in wanted):
            continue
        columns[label] = _copy_column(frame.iloc[:, position])
    return columns


def _distinct_dtypes(frame: Any) -> list[Any]:
    """The dtypes a frame's columns have, each once: read off its blocks, as `frame.dtypes`
    builds a Series of one entry per column (costlier than everything else here)."""
    try:
        return [block.dtype for block in frame._mgr.blocks]
    except Exception:  # another layout: ask pandas
        return list(frame.dtypes)


def _describe(value: object) -> str:
    if value is None:
        return "None"
    kind = type(value)
    if kind.__module__ == "builtins":
        name = kind.__name__
    else:
        name = f"{kind.__module__.partition('.')[0]}.{kind.__name__}"
    text = f"{'an' if name[0] in 'aeiou' else 'a'} {name}"
    if isinstance(value, list | tuple):
        return f"{text} of {len(value)} item{'' if len(value) == 1 else 's'}"
    try:
        shape = getattr(value, "shape", None)
    except Exception:
        shape = None
    if isinstance(shape, tuple) and all(isinstance(size, int) for size in shape):
        text += f" of shape {tuple(shape)}"
    return text


def _read(value: object, allow_2d: bool) -> _Read:
    import numpy as np

    if isinstance(value, np.ndarray):
        return _from_numpy(value)
    if isinstance(value, list | tuple | range):
        try:
            return _Read(np.array(value), fresh=True)
        except ValueError:  # numpy >= 1.24 refuses ragged nesting
            raise _Refusal("its items are nested unevenly, not one value per row") from None
    for reader in (_from_pandas, _from_torch, _from_polars, _from_sparse):
        read = reader(value, allow_2d)
        if read is not None:
            return read
    if isinstance(value, Iterator):
        raise _Refusal("an iterator is read only once, so keeping it would consume it")
    if value is None or isinstance(value, str | bytes | bytearray | int | float | complex):
        raise _Refusal("a single value, not one per row")
    if isinstance(value, Mapping | set | frozenset):
        raise _Refusal("its items have no row order")
    if type(value).__module__.startswith("dask"):
        raise _Refusal("a lazy dask collection: computing it here would run the whole graph")
    if isinstance(value, memoryview) or _is_array_like(value):
        return _Read(np.array(value), fresh=True)
    raise _Refusal("not an array, a list or a column of values")


def _is_array_like(value: object) -> bool:
    kind = type(value)
    if kind.__module__ == "array" and kind.__name__ == "array":  # the standard library's
        return True
    return any(
        hasattr(value, attribute)
        for attribute in ("__array__", "__array_interface__", "__array_struct__")
    )


def _from_numpy(value: NDArray[Any]) -> _Read:
    import numpy as np

    if isinstance(value, np.ma.MaskedArray):
        mask = np.ma.getmaskarray(value)
        if mask.any():
            kind = value.dtype.kind
            filled = value.data.astype(np.float64 if kind in _MATRIX_KINDS else object)
            filled[mask] = np.nan if kind in _MATRIX_KINDS else None
            return _Read(filled, fresh=True)
        return _Read(np.asarray(value.data), fresh=False)
    # np.asarray drops subclasses (np.matrix would stay 2-D through indexing).
    return _Read(np.asarray(value), fresh=False)


def _from_pandas(value: object, allow_2d: bool) -> _Read | None:
    pandas = sys.modules.get("pandas")
    if pandas is None:
        return None
    if isinstance(value, pandas.DataFrame):
        return _from_frame(value, allow_2d, pandas)
    if isinstance(value, pandas.MultiIndex):
        raise _Refusal("rows labelled by several levels are not one value per row")
    if isinstance(value, pandas.Series | pandas.Index):
        return _from_column(value, pandas)
    if isinstance(value, pandas.api.extensions.ExtensionArray):
        return _from_extension(value, pandas)
    return None


def _from_frame(frame: Any, allow_2d: bool, pandas: ModuleType) -> _Read:
    import numpy as np

    width = frame.shape[1]
    if width == 1:
        return _from_column(frame.iloc[:, 0], pandas)
    if width == 0:
        raise _Refusal("a frame without columns")
    if not allow_2d:
        raise _Refusal(
            f"{width} columns: a multi-output target or a frame of features, not one value per row"
        )
    types = pandas.api.types
    if not all(
        types.is_numeric_dtype(dtype) or types.is_bool_dtype(dtype) for dtype in frame.dtypes
    ):
        raise _Refusal("columns that are not all numbers cannot be kept as one column per class")
    if all(isinstance(dtype, np.dtype) for dtype in frame.dtypes):
        return _Read(frame.to_numpy(copy=True), fresh=True)
    return _Read(frame.to_numpy(dtype=np.float64, na_value=np.nan, copy=True), fresh=True)


def _from_column(column: Any, pandas: ModuleType) -> _Read:
    import numpy as np

    if isinstance(column.dtype, np.dtype):
        return _Read(column.to_numpy(copy=True), fresh=True)
    return _from_extension(column.array, pandas)


def _from_extension(values: Any, pandas: ModuleType) -> _Read:
    import numpy as np

    if isinstance(values, pandas.Categorical):
        return _from_categorical(values)
    types = pandas.api.types
    if types.is_numeric_dtype(values.dtype) or types.is_bool_dtype(values.dtype):
        if values.isna().any():
            return _Read(values.to_numpy(dtype=np.float64, na_value=np.nan, copy=True), True)
        return _Read(values.to_numpy(copy=True), fresh=True)
    # Text and the rest: converting each distinct value once is far cheaper than converting
    # every row (an Arrow string column of 1,000,000 rows: ~30 ms instead of ~100 ms).
    codes, uniques = pandas.factorize(values, use_na_sentinel=True)
    table = np.empty(len(uniques) + 1, dtype=object)
    table[:-1] = np.asarray(uniques, dtype=object)
    table[-1] = None  # code -1, a missing value
    _check_values(table[:-1])
    return _Read(table.take(codes), fresh=True, checked=True)


def _from_categorical(categorical: Any) -> _Read:
    import numpy as np

    codes = categorical.codes
    table = np.asarray(categorical.categories.to_numpy())
    _check_values(table)
    if (codes < 0).any():
        # Code -1 (missing) takes the last entry: NaN for numbers, None for the rest.
        kind: Any = np.float64 if table.dtype.kind in _MATRIX_KINDS else object
        missing = np.full(1, np.nan if kind is np.float64 else None, dtype=kind)
        table = np.concatenate([table.astype(kind), missing])
    return _Read(table.take(codes), fresh=True, checked=True)


def _from_torch(value: object, allow_2d: bool) -> _Read | None:
    torch = sys.modules.get("torch")
    if torch is None or not isinstance(value, torch.Tensor):
        return None
    tensor = value.detach()
    if tensor.layout != torch.strided:
        tensor = tensor.to_dense()
    if tensor.dtype == torch.bfloat16:  # numpy has no bfloat16
        tensor = tensor.float()
    tensor = tensor.resolve_conj().resolve_neg()
    # A CPU tensor's .numpy() shares its memory: _vector copies it.
    return _Read(tensor.cpu().numpy(), fresh=False)


def _from_polars(value: object, allow_2d: bool) -> _Read | None:
    polars = sys.modules.get("polars")
    if polars is None:
        return None
    if isinstance(value, polars.DataFrame):
        if value.width != 1 and not allow_2d:
            raise _Refusal(
                f"{value.width} columns: a multi-output target or a frame of features, "
                "not one value per row"
            )
        if value.width != 1:
            return _Read(value.to_numpy(), fresh=False)
        value = value.to_series(0)
    if isinstance(value, polars.Series):
        return _Read(value.to_numpy(), fresh=False)  # may be a read-only view: copied later
    return None


def _from_sparse(value: object, allow_2d: bool) -> _Read | None:
    import numpy as np

    sparse = sys.modules.get("scipy.sparse")
    if sparse is None or not sparse.issparse(value):
        return None
    shape = tuple(value.shape)  # type: ignore[attr-defined]
    if len(shape) == 1 or 1 in shape:
        return _Read(np.asarray(value.toarray()).reshape(-1), fresh=True)  # type: ignore[attr-defined]
    raise _Refusal("only a sparse matrix of one row or one column is densified")


def _vector(read: _Read, allow_2d: bool) -> NDArray[Any]:
    import numpy as np

    array, fresh = read.array, read.fresh
    if array.ndim == 0:
        raise _Refusal("a single value, not one per row")
    if array.ndim > 2:
        raise _Refusal(f"{array.ndim}-D values are not one value (or one row of scores) per row")
    if array.ndim == 2:
        columns = array.shape[1]
        if columns == 0:
            raise _Refusal("no columns")
        if columns == 1:
            array = array[:, 0]
        elif not allow_2d:
            raise _Refusal(
                f"{columns} columns per row: a multi-output target or a matrix, "
                "not one value per row"
            )
        elif array.dtype.kind not in _MATRIX_KINDS:
            raise _Refusal(f"{array.dtype} values cannot be kept as one column per class")
    if len(array) == 0:
        raise _Refusal("no rows")
    if not read.checked:
        _check_values(array)
    if fresh and array.flags.c_contiguous:
        return array
    return np.array(array, copy=True, order="C", subok=False)


def _check_values(values: NDArray[Any]) -> None:
    """Refuses values that are neither labels nor scores (dates, complex, arbitrary objects)."""
    kind = values.dtype.kind
    if kind not in _LABEL_KINDS:
        raise _Refusal(_KIND_REASONS.get(kind, f"{values.dtype} values are not labels or scores"))
    if kind != "O" or len(values) == 0:
        return
    pandas = sys.modules.get("pandas")
    # infer_dtype reads every element in C (~9 ms for 1,000,000); the Python pass below runs
    # only without pandas, or when its answer ("mixed") needs looking at.
    if pandas is not None and pandas.api.types.infer_dtype(values, skipna=True) in (
        _LABEL_INFERENCES
    ):
        return
    strays = sorted({found.__name__ for found in set(map(type, values)) if not _is_label(found)})
    if strays:
        raise _Refusal(f"values of type {', '.join(strays)} are not labels or scores")


def _is_label(kind: type) -> bool:
    import numpy as np

    if kind is type(None) or issubclass(
        kind, str | bytes | int | float | np.bool_ | np.integer | np.floating | np.str_ | np.bytes_
    ):
        return True
    # Missing values and exact decimals, named rather than imported.
    return (kind.__module__.startswith("pandas") and kind.__name__ == "NAType") or (
        kind.__module__ == "decimal" and kind.__name__ == "Decimal"
    )


def _may_segment_cached(dtype: Any, pandas: ModuleType, verdicts: dict[Any, bool]) -> bool:
    try:
        known = verdicts.get(dtype)
    except TypeError:  # an unhashable dtype: asked each time
        return _may_segment(dtype, pandas)
    if known is None:
        known = verdicts[dtype] = _may_segment(dtype, pandas)
    return known


def _may_segment(dtype: Any, pandas: ModuleType) -> bool:
    types = pandas.api.types
    return bool(
        isinstance(dtype, pandas.CategoricalDtype)
        or types.is_bool_dtype(dtype)
        or types.is_string_dtype(dtype)
        or types.is_object_dtype(dtype)
    )


def _copy_column(column: Any) -> SegmentColumn:
    import numpy as np

    if isinstance(column.dtype, np.dtype):
        copied: NDArray[Any] = column.to_numpy(copy=True)
        return copied
    # ExtensionArray.copy is a real copy (Arrow buffers, being immutable, may be shared).
    extension: ExtensionArray = column.array.copy()
    return extension


# --- writer thread: segments ------------------------------------------------------------------


def label_segments(
    columns: Mapping[str, SegmentColumn], declared: Collection[str], max_levels: int = 20
) -> dict[str, SegmentLabels]:
    """The segment labels of the columns `take_segment_columns` copied.

    Declared numeric columns are cut into quartiles (pandas.qcut's edges, duplicates dropped),
    each level naming its range, left-closed, the last closed: "[0.5, 2.1)" ... "[7.3, 9]",
    rounded to the fewest significant digits (3 at least) that keep the edges apart; infinite
    values count as missing. Every other column becomes codes of its distinct values, in the
    categories' own order for a Categorical, False before True for booleans, sorted otherwise
    (levels that read the same are merged). Only levels that occur are kept; missing values code
    -1. An automatic column is dropped when it has more than `max_levels` levels or fewer than
    two (a constant segments nothing); a declared non-numeric one is kept up to
    DECLARED_MAX_LEVELS levels, else dropped. A column without any value is dropped."""
    segments: dict[str, SegmentLabels] = {}
    for name, values in columns.items():
        is_declared = name in declared
        labels = _segment_labels(values, is_declared, max_levels)
        if labels is not None:
            segments[name] = labels
    return segments


def _segment_labels(values: Any, is_declared: bool, max_levels: int) -> SegmentLabels | None:
    import numpy as np
    import pandas as pd

    source = "declared" if is_declared else "automatic"
    if isinstance(values, pd.Series | pd.Index):
        values = values.array
    if is_declared and _is_numeric(values):
        return _quartiles(values, source)
    if isinstance(values, pd.Categorical):
        codes, names = _categorical_levels(values)
    else:
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        if len(uniques) > _level_limit(is_declared, max_levels):
            return None
        order = _sorted_positions(list(uniques))
        rank = np.full(len(uniques) + 1, -1, dtype=np.int64)  # the last entry: code -1
        rank[order] = np.arange(len(order))
        codes = rank[codes]
        names = [_level_name(uniques[position]) for position in order]
    codes, names = _merge_same_names(codes, names)
    if len(names) > _level_limit(is_declared, max_levels) or not names:
        return None
    if not is_declared and len(names) < 2:
        return None
    return SegmentLabels(codes=codes.astype(_codes_dtype(len(names))), levels=names, source=source)


def _level_limit(is_declared: bool, max_levels: int) -> int:
    return DECLARED_MAX_LEVELS if is_declared else max_levels


def _is_numeric(values: Any) -> bool:
    import numpy as np
    import pandas as pd

    if isinstance(values, np.ndarray):
        return values.dtype.kind in "iuf"
    if isinstance(values, pd.Categorical):
        return False
    types = pd.api.types
    return bool(types.is_numeric_dtype(values.dtype) and not types.is_bool_dtype(values.dtype))


def _quartiles(values: Any, source: str) -> SegmentLabels | None:
    import numpy as np
    import pandas as pd

    if isinstance(values, np.ndarray):
        numbers = values.astype(np.float64)
    else:
        numbers = values.to_numpy(dtype=np.float64, na_value=np.nan)
    finite = np.isfinite(numbers)
    if not finite.any():
        return None
    kept = numbers[finite]
    _, edges = pd.qcut(kept, _QUARTILES, labels=False, retbins=True, duplicates="drop")
    edges = np.asarray(edges, dtype=np.float64)
    codes = np.full(len(numbers), -1, dtype=np.int8)
    texts = _edge_texts(edges)
    if len(edges) < 2:  # one value throughout
        codes[finite] = 0
        return SegmentLabels(codes=codes, levels=[f"[{texts[0]}, {texts[0]}]"], source=source)
    # Left-closed bins, the last closed (pandas.cut with right=False would leave the maximum out).
    bins = np.searchsorted(edges, kept, side="right") - 1
    codes[finite] = np.minimum(bins, len(edges) - 2)
    levels = [f"[{low}, {high})" for low, high in itertools.pairwise(texts[:-1])]
    levels.append(f"[{texts[-2]}, {texts[-1]}]")
    return SegmentLabels(codes=codes, levels=levels, source=source)


def _edge_texts(edges: NDArray[Any]) -> list[str]:
    """The edges with the fewest significant digits (3 at least) that keep them apart."""
    import numpy as np

    for digits in range(3, 18):
        texts = [
            np.format_float_positional(
                edge, precision=digits, unique=False, fractional=False, trim="-"
            )
            for edge in edges
        ]
        if len(set(texts)) == len(texts):
            return texts
    return [repr(float(edge)) for edge in edges]


def _categorical_levels(categorical: Any) -> tuple[NDArray[Any], list[str]]:
    import numpy as np

    codes = np.asarray(categorical.codes, dtype=np.int64)
    categories = categorical.categories
    present = np.bincount(codes[codes >= 0], minlength=len(categories)) > 0
    kept = np.flatnonzero(present)
    renumber = np.full(len(categories) + 1, -1, dtype=np.int64)  # the last entry: code -1
    renumber[kept] = np.arange(len(kept))
    return renumber[codes], [_level_name(categories[position]) for position in kept]


def _sorted_positions(values: list[Any]) -> list[int]:
    positions = list(range(len(values)))
    try:
        return sorted(positions, key=lambda position: values[position])
    except TypeError:  # mixed kinds (text and numbers): grouped by kind, then by text
        return sorted(
            positions, key=lambda position: (type(values[position]).__name__, str(values[position]))
        )


def _level_name(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _merge_same_names(codes: NDArray[Any], names: list[str]) -> tuple[NDArray[Any], list[str]]:
    import numpy as np

    distinct = list(dict.fromkeys(names))
    if len(distinct) == len(names):
        return codes, names
    position = {name: index for index, name in enumerate(distinct)}
    renumber = np.array([position[name] for name in names] + [-1], dtype=np.int64)
    return renumber[codes], distinct


def _codes_dtype(levels: int) -> Any:
    import numpy as np

    if levels <= np.iinfo(np.int8).max:
        return np.int8
    if levels <= np.iinfo(np.int16).max:
        return np.int16
    return np.int32


# --- writer thread: rows --------------------------------------------------------------------


def rows_fingerprint(y_true: NDArray[Any]) -> str:
    """A 128-bit hex digest (xxh3_128) of the rows y_true labels: their dtype, shape and values,
    in order. Numbers are hashed as their bytes; text and objects through a stable encoding of
    each value, so the same strings hash alike whether numpy holds them as fixed-width text or
    as objects, in any process."""
    import numpy as np

    values = np.asarray(y_true)
    hasher = xxhash.xxh3_128(_ROWS_FORMAT)
    shape = b",".join(str(size).encode() for size in values.shape)
    if values.dtype.kind in "USO":
        _put(hasher, b"text", shape)
        _put_text(hasher, values.ravel().tolist())
    else:
        _put(hasher, values.dtype.str.encode(), shape)
        hasher.update(np.ascontiguousarray(values).reshape(-1).view(np.uint8).data)
    return hasher.hexdigest()


def _put(hasher: xxhash.xxh3_128, *parts: bytes) -> None:
    for part in parts:  # length-prefixed, so no two headers run together alike
        hasher.update(len(part).to_bytes(8, "little"))
        hasher.update(part)


def _put_text(hasher: xxhash.xxh3_128, items: list[Any]) -> None:
    import numpy as np

    if all(issubclass(found, str) for found in set(map(type, items))):
        # Only strings: their lengths (in characters) and their concatenation say it all,
        # and are computed in C (~10x faster than encoding each string on its own).
        hasher.update(b"strings")
        hasher.update(np.fromiter(map(len, items), dtype=np.int64, count=len(items)).data)
        hasher.update("".join(items).encode("utf-8", "surrogatepass"))
        return
    pieces = [_encoded_value(item) for item in items]
    hasher.update(b"values")
    hasher.update(np.fromiter(map(len, pieces), dtype=np.int64, count=len(pieces)).data)
    hasher.update(b"".join(pieces))


def _encoded_value(item: object) -> bytes:
    import numpy as np

    if item is None:
        return b"n"
    if isinstance(item, str):
        return b"s" + item.encode("utf-8", "surrogatepass")
    if isinstance(item, bytes):
        return b"b" + item
    if isinstance(item, bool | np.bool_):
        return b"?1" if item else b"?0"
    if isinstance(item, int | np.integer):
        return b"i" + str(int(item)).encode()
    if isinstance(item, float | np.floating):
        number = float(item)
        return b"fnan" if number != number else b"f" + repr(number).encode()
    kind = type(item)
    return f"o{kind.__module__}.{kind.__qualname__}:{item}".encode("utf-8", "surrogatepass")


def stratified_sample(strata: NDArray[Any], max_rows: int, seed: int = 0) -> NDArray[Any] | None:
    """The sorted int64 positions of a seeded stratified sample of exactly `max_rows` rows, or
    None when there are no more rows than that.

    Pass y_true: with at most CLASS_STRATA_MAX distinct values its classes are the strata (a
    missing value is a class of its own), otherwise its REGRESSION_BINS quantile bins when it
    holds numbers, otherwise the rows are sampled as one stratum. Each stratum gets its
    proportional share, rounded by largest remainder; when `max_rows` allows, a stratum that
    would get none takes one row from the stratum furthest above its share. The same y_true,
    `max_rows` and `seed` always give the same rows, so runs evaluated on the same rows and
    sampled separately stay paired row by row."""
    import numpy as np

    if max_rows < 1:
        raise InvalidArgument(f"max_rows must be at least 1, not {max_rows}")
    values = np.asarray(strata)
    if values.ndim != 1:
        raise InvalidArgument(f"strata must be one value per row, not of shape {values.shape}")
    if len(values) <= max_rows:
        return None
    codes = _strata_codes(values)
    counts = np.bincount(codes)
    shares = _allocate([int(count) for count in counts], max_rows)
    # One random key per row: a stratum's sample is its rows with the smallest keys, and the
    # keys depend only on the seed and the number of rows.
    keys = np.random.default_rng(seed).random(len(values))
    grouped = np.argsort(codes.astype(np.int16), kind="stable")  # a radix sort: few strata
    chosen = []
    for start, count, share in zip(np.cumsum(counts) - counts, counts, shares, strict=True):
        members = grouped[start : start + count]
        if share == 0:
            members = members[:0]
        elif share < count:
            members = members[np.argpartition(keys[members], share - 1)[:share]]
        chosen.append(members)
    return np.sort(np.concatenate(chosen)).astype(np.int64)


def _strata_codes(values: NDArray[Any]) -> NDArray[Any]:
    import numpy as np
    import pandas as pd

    # The first rows often show already that there are too many values to be classes.
    _, first = pd.factorize(values[:_STRATA_PROBE], use_na_sentinel=True)
    if len(first) <= CLASS_STRATA_MAX:
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        if len(uniques) <= CLASS_STRATA_MAX:
            return _compact(codes)
    numbers = _as_numbers(values)
    if numbers is None:
        return np.zeros(len(values), dtype=np.int64)
    return _quantile_bins(numbers)


def _as_numbers(values: NDArray[Any]) -> NDArray[Any] | None:
    import numpy as np
    import pandas as pd

    if values.dtype.kind in "iuf":
        return values.astype(np.float64)
    if values.dtype.kind == "O" and (
        pd.api.types.infer_dtype(values, skipna=True) in _NUMBER_INFERENCES
    ):
        numbers: NDArray[Any] = pd.to_numeric(values, errors="coerce").astype(np.float64)
        return numbers
    return None


def _quantile_bins(numbers: NDArray[Any]) -> NDArray[Any]:
    import numpy as np

    finite = np.isfinite(numbers)
    inner = np.empty(0)
    if finite.any():
        quantiles = np.quantile(numbers[finite], np.linspace(0, 1, REGRESSION_BINS + 1))
        inner = np.unique(quantiles[1:-1])
    codes = np.searchsorted(inner, numbers, side="right")  # -inf first bin, +inf last
    codes[np.isnan(numbers)] = len(inner) + 1  # missing: a stratum of its own
    return _compact(codes)


def _compact(codes: NDArray[Any]) -> NDArray[Any]:
    """Small codes (-1, missing, included) renumbered 0, 1, ... over those that occur."""
    import numpy as np

    shifted = codes.astype(np.int64) + 1
    present = np.bincount(shifted) > 0
    renumber = np.cumsum(present) - 1
    compact: NDArray[Any] = renumber[shifted]
    return compact


def _allocate(counts: list[int], total: int) -> list[int]:
    """Shares of `total` rows proportional to `counts` (largest remainder, ties to the first
    stratum); when total allows, every stratum keeps at least one row."""
    rows = sum(counts)
    shares = [total * count // rows for count in counts]
    remainders = [total * count % rows for count in counts]
    left = total - sum(shares)
    by_remainder = sorted(range(len(counts)), key=lambda stratum: (-remainders[stratum], stratum))
    for stratum in by_remainder[:left]:
        shares[stratum] += 1
    if len(counts) <= total:
        for stratum, share in enumerate(shares):
            if share > 0:
                continue
            # Exact excess over the proportional share, scaled by `rows` to stay in integers.
            donor = max(
                (other for other in range(len(counts)) if shares[other] > 1),
                key=lambda other: (shares[other] * rows - total * counts[other], -other),
            )
            shares[donor] -= 1
            shares[stratum] = 1
    return shares
