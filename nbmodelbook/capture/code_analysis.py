"""Static analysis of one notebook cell's Python source.

The source has already been transformed by IPython, so magics appear as
``get_ipython().run_line_magic(...)`` calls.  The analysis is pure: one parse and one
scope-aware walk over the tree, cached by source text.  Where a wrong answer would be a
correctness bug it over-approximates: ``reads`` errs towards "read" (a name read before it
is bound on every path counts) and ``maybe_mutated`` errs towards "mutated".
"""

from __future__ import annotations

import ast
import builtins
import functools
import math
import operator
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final, TypeAlias

from nbmodelbook.capture.quiet_parse import parse_quietly

__all__ = [
    "CellAnalysis",
    "LiteralKwarg",
    "LiteralPositional",
    "analyze_cell",
    "is_literal",
    "literal_value",
]


@dataclass(frozen=True, slots=True)
class LiteralKwarg:
    """A keyword argument whose value is a literal, e.g. ``RandomForestClassifier(max_depth=8)``."""

    callee: str  # dotted name of the called object; "" when not a plain name chain
    keyword: str
    value: Any  # JSON-safe: int/float/str/bool/None, or list/dict of those
    line: int = 0  # the call's last line: it had run once the cell got past this line
    root: str = ""  # the notebook name the callee's chain starts from (`df` of `df.a.b(...)`)
    name: str = ""  # the callee's last name (`b`), also when the chain holds calls


@dataclass(frozen=True, slots=True)
class LiteralPositional:
    """A positional argument whose value is a literal, e.g. the 6 of ``KMeans(6)``.  It is named
    only once the cell has run, from the signature of what the callee turned out to be."""

    callee: str  # dotted name of the called object (a plain name chain)
    position: int
    value: Any  # JSON-safe, as LiteralKwarg.value
    line: int


def _no_lines() -> Mapping[str, Any]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class CellAnalysis:
    """What one cell reads, writes and may modify, found without running it.

    Results are cached and shared between callers: treat the contained values as read-only.
    """

    syntax_ok: bool  # False also when the tree is too deep to walk; all sets are then empty
    reads: frozenset[str]
    writes: frozenset[str]
    literal_assignments: Mapping[str, Any]
    literal_kwargs: tuple[LiteralKwarg, ...]
    computed: frozenset[str]
    loop_targets: frozenset[str]
    maybe_mutated: frozenset[str]
    fitted: frozenset[str]
    lines: int
    literal_positionals: tuple[LiteralPositional, ...] = ()
    # Names the cell passes to a call or calls a method on, with the first such call's last line.
    used: Mapping[str, int] = field(default_factory=_no_lines)
    # Names the cell binds (or deletes) in the notebook: the first and last line doing so.
    bound_lines: Mapping[str, tuple[int, int]] = field(default_factory=_no_lines)


# --------------------------------------------------------------------------- hashing


# --------------------------------------------------------------------------- literals

_MISSING: Final[Any] = object()
# Folding `2 ** 10` is useful; folding `9 ** 9 ** 9` would hang the kernel.
_MAX_INT_BITS: Final = 4096
_ARITH: Final[dict[type[ast.operator], Callable[[Any, Any], Any]]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _fold(node: ast.BinOp) -> Any:
    left = _literal(node.left)
    if left is _MISSING:
        return _MISSING
    right = _literal(node.right)
    if right is _MISSING:
        return _MISSING
    op = node.op
    if isinstance(left, str) and isinstance(right, str) and isinstance(op, ast.Add):
        return left + right
    fn = _ARITH.get(type(op))
    if fn is None or not (_is_number(left) and _is_number(right)):
        return _MISSING
    if isinstance(left, int) and isinstance(right, int):
        if isinstance(op, ast.Pow) and right > 0 and left.bit_length() * right > _MAX_INT_BITS:
            return _MISSING
        if isinstance(op, ast.Mult) and left.bit_length() + right.bit_length() > _MAX_INT_BITS:
            return _MISSING
    try:
        result = fn(left, right)
    except (ArithmeticError, ValueError):  # division by zero, float overflow
        return _MISSING
    # (-8) ** 0.5 is complex; 1e308 * 10 is inf: neither is JSON-safe.
    if isinstance(result, float):
        return result if math.isfinite(result) else _MISSING
    return result if isinstance(result, int) else _MISSING


def _literal(node: ast.AST) -> Any:
    """The JSON-safe value of a literal node, or ``_MISSING``."""
    if isinstance(node, ast.Constant):
        value = node.value
        if value is None or isinstance(value, str | int):  # bool is an int
            return value
        if isinstance(value, float):
            return value if math.isfinite(value) else _MISSING
        return _MISSING  # bytes, complex, Ellipsis
    if isinstance(node, ast.List | ast.Tuple):
        items = []
        for elt in node.elts:
            value = _literal(elt)
            if value is _MISSING:
                return _MISSING
            items.append(value)
        return items
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        value = _literal(node.operand)
        if not _is_number(value):
            return _MISSING
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp):
        return _fold(node)
    if isinstance(node, ast.Dict):
        out: dict[str, Any] = {}
        for key, val in zip(node.keys, node.values, strict=True):
            # JSON objects have string keys; `**other` (key None) is not a literal.
            if not (isinstance(key, ast.Constant) and isinstance(key.value, str)):
                return _MISSING
            value = _literal(val)
            if value is _MISSING:
                return _MISSING
            out[key.value] = value
        return out
    if isinstance(node, ast.Set):
        members = []
        for elt in node.elts:
            value = _literal(elt)
            if value is _MISSING or isinstance(value, list | dict):
                return _MISSING
            members.append(value)
        return list(dict.fromkeys(members))  # set semantics ({1, True} == {1}), source order
    if isinstance(node, ast.JoinedStr):  # an f-string without placeholders
        pieces = [p.value if isinstance(p, ast.Constant) else None for p in node.values]
        if all(isinstance(piece, str) for piece in pieces):
            return "".join(str(piece) for piece in pieces)
    return _MISSING


def is_literal(node: ast.AST) -> bool:
    """True if `node` is a JSON-safe literal (see `literal_value`)."""
    return _literal(node) is not _MISSING


def literal_value(node: ast.AST) -> Any:
    """The value of a JSON-safe literal: constants, ``-1``, ``2 ** 10``, lists/tuples/sets
    (as lists) and str-keyed dicts of those.  Raises ValueError for anything else."""
    value = _literal(node)
    if value is _MISSING:
        raise ValueError(f"not a literal: {type(node).__name__}")
    return value


# --------------------------------------------------------------------------- knowledge

# Names that never count as reads of notebook state.  Fixed at import time so the
# result does not depend on what has been injected into `builtins` since.
_NOT_READS: Final = frozenset(dir(builtins)) | {
    "__builtins__",
    "__IPYTHON__",
    "get_ipython",
    "display",
    "exit",
    "quit",
}

# Method calls that leave their receiver alone (unless called with inplace=True).  Their
# arguments are not modified either.  `apply`/`pipe` are deliberately absent: the function
# they are given may modify the rows, columns or frame it receives.
_READ_ONLY_METHODS: Final = frozenset(
    {
        "deepcopy", "time", "perf_counter", "monotonic", "sleep", "now", "today", "head", "tail",
        "describe", "info", "copy", "mean", "sum", "prod", "std", "var", "sem", "min", "max",
        "median", "quantile", "count", "groupby", "agg", "aggregate", "value_counts", "nunique",
        "unique", "isna", "notna", "isnull", "notnull", "isin", "between", "duplicated", "equals",
        "astype", "to_numpy", "to_list", "tolist", "item", "numpy", "reshape", "ravel", "flatten",
        "predict", "predict_proba", "predict_log_proba", "decision_function", "score",
        "score_samples", "transform", "inverse_transform", "get_params", "get_feature_names_out",
        "items", "keys", "values", "get", "format", "join", "split", "splitlines", "lower",
        "upper", "strip", "lstrip", "rstrip", "startswith", "endswith", "contains", "find",
        "index", "sort_values", "sort_index", "drop", "dropna", "drop_duplicates", "fillna",
        "replace", "rename", "reset_index", "set_index", "merge", "query", "select_dtypes",
        "filter", "where", "mask", "clip", "interpolate", "assign", "melt", "pivot",
        "pivot_table", "stack", "unstack", "transpose", "explode", "map", "corr", "cov", "dot",
        "any", "all", "round", "abs", "argmax", "argmin", "argsort", "idxmax", "idxmin",
        "nlargest", "nsmallest", "sample", "cumsum", "cumprod", "diff", "pct_change", "shift",
        "rolling", "expanding", "ewm", "resample", "iterrows", "itertuples", "memory_usage",
        "to_dict", "to_frame", "to_csv", "to_parquet", "to_json", "to_string", "to_markdown",
        "to_latex", "to_excel", "to_pickle", "to_records", "plot", "hist"
    }
)  # fmt: skip

# Callees (last name of the callee) that do not modify their arguments.
_NON_MUTATING_CALLEES: Final = _READ_ONLY_METHODS | frozenset(
    {
        "open", "load", "loads", "safe_load", "dumps", "exists", "isfile", "isdir", "listdir",
        "Path", "len", "print", "repr", "str", "type", "isinstance", "issubclass", "callable",
        "hasattr", "getattr", "id", "hash", "display", "sorted", "reversed", "list", "tuple",
        "set", "frozenset", "dict", "sum", "min", "max", "abs", "round", "int", "float", "bool",
        "complex", "enumerate", "zip", "range", "format", "ord", "chr", "divmod", "pow", "array",
        "asarray", "asanyarray", "ascontiguousarray", "average", "percentile", "concatenate",
        "vstack", "hstack", "column_stack", "isnan", "isfinite", "isclose", "allclose",
        "array_equal", "corrcoef", "matmul", "log", "log1p", "exp", "sqrt", "square", "sign",
        "maximum", "minimum", "logical_and", "logical_or", "logical_not", "linspace", "arange",
        "zeros_like", "ones_like", "full_like", "empty_like", "histogram", "bincount", "concat",
        "DataFrame", "Series", "Index", "crosstab", "get_dummies", "to_datetime", "to_numeric",
        "cut", "qcut", "train_test_split", "cross_val_score", "cross_validate",
        "cross_val_predict", "clone", "deepcopy", "fit", "fit_transform", "fit_predict",
        "partial_fit", "scatter", "bar", "barh", "hist2d", "boxplot", "violinplot", "imshow",
        "matshow", "pcolormesh", "contour", "contourf", "fill_between", "errorbar", "pie", "step",
        "stem", "heatmap", "lineplot", "scatterplot", "histplot", "barplot", "countplot",
        "kdeplot", "displot", "pairplot", "jointplot", "regplot", "lmplot", "catplot", "relplot",
        "clustermap", "title", "xlabel", "ylabel", "legend", "set_title", "set_xlabel",
        "set_ylabel", "text", "annotate", "savefig", "show", "figure", "subplots", "suptitle",
        "xticks", "yticks", "xlim", "ylim", "tight_layout", "axhline", "axvline", "grid",
        "colorbar"
    }
)  # fmt: skip
_NON_MUTATING_SUFFIXES: Final = (
    *("_score", "_error", "_loss", "_curve", "_matrix", "_report"),
    *("Error", "Exception", "Warning"),  # `raise ValueError(x)` keeps x as it is
)

# numpy functions in the set above that take `out` positionally after this many arguments
# (`np.log(x, x)` writes into x).
_POSITIONAL_OUT: Final = {
    "log": 1,
    "log1p": 1,
    "exp": 1,
    "sqrt": 1,
    "square": 1,
    "sign": 1,
    "isnan": 1,
    "isfinite": 1,
    "logical_not": 1,
    "maximum": 2,
    "minimum": 2,
    "logical_and": 2,
    "logical_or": 2,
    "matmul": 2,
    "dot": 2,
    "median": 2,
    "argmax": 2,
    "argmin": 2,
    "round": 2,
    "clip": 3,
    "concatenate": 3,
    "mean": 3,
    "std": 3,
    "var": 3,
    "sum": 3,
    "cumsum": 3,
    "percentile": 3,
    "quantile": 3,
}
# Keyword arguments that receive output in place whatever the callee (`out=`, `ax=`).
_OUTPUT_KEYWORDS: Final = frozenset({"out", "ax"})

# Calls whose result is a new object that shares no mutable state with the receiver or the
# arguments; every other call result may alias them (`np.asarray(a)` is `a`, `fit` returns
# self, `Pipeline([("m", model)])` holds `model`).
_FRESH_RESULTS: Final = frozenset(
    {
        "copy", "deepcopy", "clone", "len", "str", "repr", "int", "float", "bool", "complex",
        "hash", "id", "type", "isinstance", "issubclass", "callable", "hasattr", "print",
        "display", "format", "ord", "chr", "abs", "round", "sum", "mean", "median", "std", "var",
        "count", "nunique", "describe", "value_counts", "isna", "notna", "isnull", "notnull",
        "isin", "duplicated", "equals", "corr", "cov", "any", "all", "unique", "argmax", "argmin",
        "argsort", "idxmax", "idxmin", "predict", "predict_proba", "predict_log_proba",
        "decision_function", "score", "score_samples", "transform", "inverse_transform",
        "fit_transform", "fit_predict", "tolist", "to_list", "to_dict", "to_json", "to_csv",
        "to_string", "join", "split", "lower", "upper", "strip", "startswith", "endswith",
        "contains", "astype", "fillna", "replace", "drop", "dropna", "drop_duplicates", "rename",
        "reset_index", "sort_values", "sort_index", "merge", "query", "assign", "sample",
        "nlargest", "nsmallest", "flatten", "cumsum", "diff", "pct_change", "shift", "quantile",
        "melt", "get_dummies", "to_datetime", "to_numeric", "crosstab", "cross_val_score",
        "cross_validate", "train_test_split", "plot", "hist", "info", "memory_usage", "dumps",
        "loads", "open", "range"
    }
)  # fmt: skip
_FRESH_PREFIXES: Final = ("read_", "load_", "fetch_")

_RETURNS_ARGUMENT: Final = frozenset({"get", "pop", "setdefault"})  # the default

_FIT_METHODS: Final = frozenset({"fit", "fit_transform", "fit_predict", "partial_fit", "train"})

# Conventional module aliases; method calls on and attribute stores into these change module
# state, not notebook data, so they are left out of maybe_mutated unless the cell binds
# the name to something other than a module.
_MODULE_ALIASES: Final = frozenset(
    {
        "yaml", "requests", "wandb", "mlflow", "optuna", "shap", "xgboost", "lightgbm",
        "catboost", "keras", "tensorflow", "statsmodels", "sm", "cv2", "np", "pd", "plt", "sns",
        "mpl", "tf", "torch", "sklearn", "scipy", "os", "sys", "json", "math", "re", "pickle",
        "joblib", "warnings", "logging", "itertools", "functools", "collections", "pathlib",
        "shutil", "glob", "numpy", "pandas", "matplotlib", "seaborn", "xgb", "lgb", "datetime",
        "gc"
    }
)  # fmt: skip

# Magics whose argument is Python code run in the user namespace.
_CODE_LINE_MAGICS: Final = frozenset({"time", "timeit", "prun"})
_CODE_CELL_MAGICS: Final = frozenset({"time", "timeit", "prun", "capture", "track"})
_MAGIC_RUNNERS: Final = ("run_line_magic", "run_cell_magic")
_MAX_EMBED_DEPTH: Final = 4

_COMPREHENSIONS: Final = (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)
_Comprehension: TypeAlias = ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp
_FunctionNode: TypeAlias = ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda
_LEAVING: Final = (ast.Raise, ast.Return, ast.Break, ast.Continue)
_COMPOUND_STATEMENTS: Final = (
    *(ast.If, ast.For, ast.AsyncFor, ast.While, ast.With, ast.AsyncWith, ast.Try, ast.TryStar),
    *(ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Match),
)
# Calls that look at an object without using it for what it is (`print(model)`).
_INTROSPECTION: Final = frozenset(
    {"print", "display", "repr", "str", "type", "isinstance", "issubclass", "id", "len", "hash",
     "hasattr", "getattr", "setattr", "delattr", "vars", "dir", "help", "callable", "pprint"}
)  # fmt: skip
# Positional literals bigger than this are data (`np.array([...])`), not settings.
_MAX_POSITIONAL_ITEMS: Final = 32
_LITERAL_NODES: Final = frozenset(
    {ast.Constant, ast.UnaryOp, ast.BinOp, ast.List, ast.Tuple, ast.Set, ast.Dict, ast.JoinedStr}
)
# Expressions whose value is a new object (or immutable): `a + b`, `x > 0`, f-strings.
_NEW_VALUES: Final = (ast.Constant, ast.BinOp, ast.UnaryOp, ast.Compare, ast.JoinedStr, ast.Lambda)

# --------------------------------------------------------------------------- helpers

_Ref: TypeAlias = tuple[int, str]  # (scope id, name); scope id 0 is the notebook namespace

_MODULE, _CLASS, _FUNCTION, _COMPREHENSION = range(4)
_K_LITERAL, _K_COMPUTED, _K_OTHER = range(3)


def _parse(code: str) -> ast.Module | None:
    # Quietly: IPython's own compile of the cell reports its warnings; ours must not add,
    # hide or reorder any of them (see quiet_parse).
    return parse_quietly(code)


def _line_count(code: str) -> int:
    if not code:
        return 0
    return code.count("\n") + (0 if code.endswith("\n") else 1)


def _leaves(body: list[ast.stmt]) -> bool:
    """True if control never falls off the end of `body`."""
    return bool(body) and isinstance(body[-1], _LEAVING)


def _merge(start: set[str], ends: Iterable[set[str] | None]) -> set[str]:
    """Names bound on every path that reaches the join point."""
    live = [end for end in ends if end is not None]
    if not live:
        return set(start)
    result = set(live[0])
    for end in live[1:]:
        result &= end
    return result


def _too_big(node: ast.expr) -> bool:
    elements = getattr(node, "elts", None) or getattr(node, "keys", None)
    return elements is not None and len(elements) > _MAX_POSITIONAL_ITEMS


def _after(a: ast.expr, b: ast.keyword) -> bool:
    return (a.lineno, a.col_offset) > (b.lineno, b.col_offset)


def _callee_name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return None


def _dotted(node: ast.expr) -> str | None:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


def _is_fresh(name: str) -> bool:
    return (
        name in _FRESH_RESULTS
        or name.endswith(_NON_MUTATING_SUFFIXES)
        or name.startswith(_FRESH_PREFIXES)
    )


def _chain_base(node: ast.expr) -> str | None:
    """`pipe.named_steps["clf"]` -> "pipe"; follows method-call results (`m.set_params()`)."""
    while True:
        if isinstance(node, ast.Name):
            return node.id
        if isinstance(node, ast.Attribute | ast.Subscript):
            node = node.value
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            node = node.func.value
        else:
            return None


def _callee_root(node: ast.expr) -> str | None:
    """The name a callee's chain starts from: `df` of `df.groupby(k).agg`, `make_pipeline` of
    `make_pipeline(...).fit`."""
    while True:
        if isinstance(node, ast.Name):
            return node.id
        if isinstance(node, ast.Attribute | ast.Subscript):
            node = node.value
        elif isinstance(node, ast.Call):
            node = node.func
        else:
            return None


def _target_names(target: ast.expr) -> list[str]:
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, ast.Tuple | ast.List):
        return [name for elt in target.elts for name in _target_names(elt)]
    if isinstance(target, ast.Starred):
        return _target_names(target.value)
    return []


def _param_names(args: ast.arguments) -> set[str]:
    names = {a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)}
    if args.vararg is not None:
        names.add(args.vararg.arg)
    if args.kwarg is not None:
        names.add(args.kwarg.arg)
    return names


def _function_locals(node: _FunctionNode) -> tuple[set[str], set[str]]:
    """(local names, names declared global) of a function or lambda body.

    Python decides locality for the whole body at once, so this is flow-insensitive.
    """
    bound = _param_names(node.args)
    declared_global: set[str] = set()
    declared_nonlocal: set[str] = set()
    stack: list[ast.AST] = list(node.body) if isinstance(node.body, list) else [node.body]
    while stack:
        n = stack.pop()
        if isinstance(n, ast.Name):
            if not isinstance(n.ctx, ast.Load):
                bound.add(n.id)
        elif isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            # Only what the definition evaluates here belongs to this scope.
            if not isinstance(n, ast.Lambda):
                bound.add(n.name)
                stack.extend(n.decorator_list)
                stack.extend(a.annotation for a in _all_args(n.args) if a.annotation)
                if n.returns is not None:
                    stack.append(n.returns)
            stack.extend(n.args.defaults)
            stack.extend(d for d in n.args.kw_defaults if d is not None)
        elif isinstance(n, ast.ClassDef):
            bound.add(n.name)
            stack.extend(n.decorator_list)
            stack.extend(n.bases)
            stack.extend(kw.value for kw in n.keywords)
        elif isinstance(n, _COMPREHENSIONS):
            # Comprehension targets are its own locals; a walrus inside binds here (PEP 572).
            for gen in n.generators:
                stack.append(gen.iter)
                stack.extend(gen.ifs)
            if isinstance(n, ast.DictComp):
                stack.extend((n.key, n.value))
            else:
                stack.append(n.elt)
        elif isinstance(n, ast.Import | ast.ImportFrom):
            for alias in n.names:
                if alias.name != "*":
                    bound.add(alias.asname or alias.name.partition(".")[0])
        elif isinstance(n, ast.Global):
            declared_global.update(n.names)
        elif isinstance(n, ast.Nonlocal):
            declared_nonlocal.update(n.names)
        else:
            if isinstance(n, ast.ExceptHandler | ast.MatchAs | ast.MatchStar) and n.name:
                bound.add(n.name)
            elif isinstance(n, ast.MatchMapping) and n.rest:
                bound.add(n.rest)
            stack.extend(ast.iter_child_nodes(n))
    bound -= declared_global | declared_nonlocal
    return bound, declared_global


def _all_args(args: ast.arguments) -> list[ast.arg]:
    extra = [a for a in (args.vararg, args.kwarg) if a is not None]
    return [*args.posonlyargs, *args.args, *args.kwonlyargs, *extra]


def _irrefutable(pattern: ast.pattern) -> bool:
    if isinstance(pattern, ast.MatchAs):
        return pattern.pattern is None or _irrefutable(pattern.pattern)
    if isinstance(pattern, ast.MatchOr):
        return any(_irrefutable(p) for p in pattern.patterns)
    return False


def _magic_code(call: ast.Call) -> tuple[list[str], str | None]:
    """Python code run by a `%time`/`%%time`/`%timeit`/`%prun`/`%%capture` magic call, and
    the variable `%%capture NAME` binds."""
    func = call.func
    if not (
        isinstance(func, ast.Attribute)
        and func.attr in _MAGIC_RUNNERS
        and isinstance(func.value, ast.Call)
        and isinstance(func.value.func, ast.Name)
        and func.value.func.id == "get_ipython"
    ):
        return [], None
    args = [a.value if isinstance(a, ast.Constant) else None for a in call.args]
    if not args or not all(isinstance(a, str) for a in args):
        return [], None
    strings = [str(a) for a in args]
    if func.attr == "run_line_magic" and len(strings) == 2 and strings[0] in _CODE_LINE_MAGICS:
        return [_strip_magic_options(strings[1])], None
    if func.attr == "run_cell_magic" and len(strings) == 3 and strings[0] in _CODE_CELL_MAGICS:
        name, line, cell = strings
        if name == "capture":
            words = [w for w in line.split() if not w.startswith("-")]
            return [cell], (words[0] if words and words[0].isidentifier() else None)
        # %%timeit's line holds options then setup code.
        return ([_strip_magic_options(line), cell] if name == "timeit" else [cell]), None
    return [], None


def _strip_magic_options(line: str) -> str:
    """`-n 10 -r 3 f(x)` -> `f(x)`: drop leading words until the rest parses."""
    text = line.strip()
    if not text.startswith("-"):
        return text
    for _ in range(8):
        words = text.split(None, 1)
        text = words[1] if len(words) > 1 else ""
        if text and not text.startswith("-") and _parse(text) is not None:
            return text
    return ""


# --------------------------------------------------------------------------- the walk


class _Scope:
    """One Python scope: the cell's module namespace, a class body, a function, a comprehension."""

    __slots__ = ("bound", "declared_global", "immediate", "kind", "locals", "parent", "sid")

    def __init__(
        self,
        kind: int,
        parent: _Scope | None,
        sid: int,
        *,
        locals_: set[str] | None = None,
        declared_global: set[str] | None = None,
    ) -> None:
        self.kind = kind
        self.parent = parent
        self.sid = sid
        self.locals: set[str] = locals_ if locals_ is not None else set()
        self.declared_global: set[str] = declared_global or set()
        # Module and class: names bound on every path so far (flow-sensitive).
        self.bound: set[str] = set()
        # Runs while the cell runs (no def/lambda in between): literal kwargs count here.
        self.immediate: bool = kind != _FUNCTION and (parent is None or parent.immediate)


class _Deferred:
    """Global names a function body (or a class's methods) loads, read when first used."""

    __slots__ = ("names",)

    def __init__(self) -> None:
        self.names: list[str] = []


class _Analyzer:
    """One walk over one cell's tree, in execution order, tracking which scope is current."""

    def __init__(self) -> None:
        self.module = _Scope(_MODULE, None, 0)
        self.scope = self.module
        self.next_sid = 1
        self.reads: set[str] = set()
        self.writes: set[str] = set()
        self.kinds: dict[str, tuple[int, Any]] = {}  # last module-level binding per name
        self.loop_targets: set[str] = set()
        self.kwargs: list[LiteralKwarg] = []
        self.positionals: list[LiteralPositional] = []
        self.used: dict[str, int] = {}
        self.bound_lines: dict[str, tuple[int, int]] = {}
        self.line = 0  # the last line of the statement being walked (its header, if compound)
        self.mutated: set[_Ref] = set()
        self.aliases: dict[_Ref, set[_Ref]] = {}  # mutating the key may mutate the values
        self.fitted: set[str] = set()
        self.module_imports: set[str] = set()  # bound by `import x [as y]`
        self.module_other: set[str] = set()  # bound any other way
        self.loop_depth = 0  # module-level for/while bodies
        self.cond_depth = 0  # sub-expressions that may not run (walrus there is conditional)
        self.embed_depth = 0
        # Function bodies run when called, not when defined: their global loads are collected
        # here and count as reads only if unbound where the function is first referenced at
        # module level (the earliest point it can run), or at the end of the cell.
        self.deferred: _Deferred | None = None
        self.pending_defs: dict[str, list[_Deferred]] = {}
        self.class_key: str | None = None  # top-level class whose body is being walked

    # ------------------------------------------------------------------ results

    def result(self, code: str) -> CellAnalysis:
        for records in self.pending_defs.values():
            for record in records:
                self.resolve_deferred(record, self.module.bound)
        literal = {n: v for n, (kind, v) in self.kinds.items() if kind == _K_LITERAL}
        computed = {n for n, (kind, _) in self.kinds.items() if kind == _K_COMPUTED}
        seen = set(self.mutated)
        stack = list(seen)
        while stack:
            for ref in self.aliases.get(stack.pop(), ()):
                if ref not in seen:
                    seen.add(ref)
                    stack.append(ref)
        mutated = {name for sid, name in seen if sid == 0 and not self.is_module(name)}
        fitted = {name for name in self.fitted if not self.is_module(name)}  # xgb.train(...)
        used = {name: line for name, line in self.used.items() if not self.is_module(name)}
        return CellAnalysis(
            syntax_ok=True,
            reads=frozenset(self.reads),
            writes=frozenset(self.writes),
            literal_assignments=MappingProxyType(literal),
            literal_kwargs=tuple(self.kwargs),
            computed=frozenset(computed),
            loop_targets=frozenset(self.loop_targets),
            maybe_mutated=frozenset(mutated),
            fitted=frozenset(fitted),
            lines=_line_count(code),
            literal_positionals=tuple(self.positionals),
            used=MappingProxyType(used),
            bound_lines=MappingProxyType(self.bound_lines),
        )

    def is_module_chain(self, node: ast.expr) -> bool:
        dotted = _dotted(node)
        return dotted is not None and self.is_module(dotted.partition(".")[0])

    def is_module(self, name: str) -> bool:
        return name not in self.module_other and (
            name in self.module_imports or name in _MODULE_ALIASES
        )

    # ------------------------------------------------------------------ names

    def resolve(self, name: str) -> _Ref:
        """Which scope's `name` the current code refers to."""
        scope = self.scope
        while scope.kind != _MODULE:
            if scope.kind == _FUNCTION:
                if name in scope.declared_global:
                    break
                if name in scope.locals:
                    return scope.sid, name
            elif scope.kind == _COMPREHENSION:
                if name in scope.locals:
                    return scope.sid, name
            elif scope is self.scope and name in scope.bound:
                # A class namespace is visible only to the class body itself.
                return scope.sid, name
            assert scope.parent is not None
            scope = scope.parent
        return 0, name

    def load(self, name: str) -> None:
        if self.resolve(name)[0] != 0 or name in _NOT_READS:
            return
        if self.deferred is not None:
            self.deferred.names.append(name)
            return
        bound = self.module.bound
        if name not in bound:
            self.reads.add(name)
        if name in self.pending_defs:
            self.trigger(name, bound)

    def trigger(self, name: str, bound: set[str]) -> None:
        """`name` (a function or class defined in the cell) may run from here on."""
        for record in self.pending_defs.pop(name, ()):
            self.resolve_deferred(record, bound)

    def resolve_deferred(self, record: _Deferred, bound: set[str]) -> None:
        for name in record.names:
            if name not in bound:
                self.reads.add(name)
            if name in self.pending_defs:  # a helper it calls may run too
                self.trigger(name, bound)

    def alias(self, ref: _Ref, sources: list[str]) -> None:
        if sources:
            self.aliases.setdefault(ref, set()).update(self.resolve(s) for s in sources)

    def sources(self, node: ast.expr) -> list[str]:
        """Names whose objects the value of `node` may be, contain, or share memory with."""
        if isinstance(node, ast.Name):  # the common cases, without the loop
            return [node.id]
        if isinstance(node, ast.Constant):
            return []
        out: list[str] = []
        stack: list[ast.expr] = [node]
        while stack:
            n = stack.pop()
            if isinstance(n, _NEW_VALUES):
                continue
            if isinstance(n, ast.Name):
                out.append(n.id)
            elif isinstance(n, ast.Attribute | ast.Subscript | ast.Starred | ast.Await):
                stack.append(n.value)
            elif isinstance(n, ast.List | ast.Tuple | ast.Set):
                stack.extend(n.elts)
            elif isinstance(n, ast.Dict):
                stack.extend(key for key in n.keys if key is not None)
                stack.extend(n.values)
            elif isinstance(n, ast.IfExp):
                stack.extend((n.body, n.orelse))
            elif isinstance(n, ast.BoolOp):
                stack.extend(n.values)
            elif isinstance(n, ast.NamedExpr):
                stack.extend((n.target, n.value))
            elif isinstance(n, ast.Call):
                func = n.func
                name = _callee_name(func)
                if name is not None and _is_fresh(name):
                    continue
                if isinstance(func, ast.Attribute) and not self.is_module_chain(func.value):
                    # A method's result may be (part of) its receiver: `df.loc[...]`,
                    # `model.fit()` returns self, `d.get(k)`; arguments only for defaults.
                    stack.append(func.value)
                    if name not in _RETURNS_ARGUMENT:
                        continue
                elif not isinstance(func, ast.Attribute | ast.Name):
                    stack.append(func)
                # A function's result may hold its arguments: `np.asarray(a)` is `a`,
                # `Pipeline([("m", model)])` holds `model`.
                stack.extend(n.args)
                stack.extend(kw.value for kw in n.keywords)
            elif isinstance(n, _COMPREHENSIONS):
                stack.extend(gen.iter for gen in n.generators)
        return out

    def mutate(self, node: ast.expr) -> None:
        for name in self.sources(node):
            self.mutated.add(self.resolve(name))

    def bind_module(
        self, name: str, kind: int, value: Any, *, conditional: bool, via_import: bool = False
    ) -> None:
        self.writes.add(name)
        self.kinds[name] = (kind, value)
        self.bound_at(name)
        (self.module_imports if via_import else self.module_other).add(name)
        if not conditional:
            self.module.bound.add(name)

    def bound_at(self, name: str) -> None:
        first, _last = self.bound_lines.get(name, (self.line, self.line))
        self.bound_lines[name] = (min(first, self.line), self.line)

    def bind(
        self,
        name: str,
        kind: int = _K_OTHER,
        value: Any = None,
        sources: list[str] | None = None,
        *,
        via_import: bool = False,
    ) -> None:
        """Bind `name` in the current scope (not used for walrus, see `bind_walrus`)."""
        scope = self.scope
        ref: _Ref
        if scope.kind == _MODULE:
            if kind == _K_LITERAL and self.loop_depth:
                kind = _K_OTHER  # a value that changes per iteration is no stable parameter
            self.bind_module(name, kind, value, conditional=False, via_import=via_import)
            ref = (0, name)
        elif scope.kind == _CLASS:
            if name in scope.declared_global:
                self.bind_module(name, _K_OTHER, None, conditional=True, via_import=via_import)
                ref = (0, name)
            else:
                scope.bound.add(name)
                ref = (scope.sid, name)
        elif scope.kind == _FUNCTION:
            ref = self.resolve(name)
            if ref[0] == 0:  # `global name`: runs whenever the function is called
                self.bind_module(name, _K_OTHER, None, conditional=True, via_import=via_import)
        else:
            ref = (scope.sid, name)
        if sources:
            self.alias(ref, sources)

    def unbind(self, name: str) -> None:
        """`del name`: a write (the notebook loses the name), never a read."""
        scope = self.scope
        if scope.kind == _MODULE:
            self.module.bound.discard(name)
        elif scope.kind == _CLASS and name not in scope.declared_global:
            scope.bound.discard(name)
            return
        elif scope.kind != _FUNCTION or self.resolve(name)[0] != 0:
            return
        self.writes.add(name)
        self.kinds[name] = (_K_OTHER, None)
        self.bound_at(name)

    def bind_walrus(self, name: str, value: ast.expr) -> None:
        scope = self.scope
        in_comprehension = False
        while scope.kind == _COMPREHENSION:  # PEP 572: binds in the enclosing scope
            assert scope.parent is not None
            scope = scope.parent
            in_comprehension = True
        literal = _literal(value)
        kind = _K_COMPUTED if literal is _MISSING else _K_LITERAL
        conditional = self.cond_depth > 0
        ref: _Ref
        if scope.kind == _MODULE:
            if kind == _K_LITERAL and (in_comprehension or self.loop_depth):
                kind = _K_OTHER
            self.bind_module(name, kind, literal, conditional=conditional)
            ref = (0, name)
        elif scope.kind == _CLASS:
            if not conditional:
                scope.bound.add(name)
            ref = (scope.sid, name)
        elif name in scope.declared_global:
            self.bind_module(name, _K_OTHER, None, conditional=True)
            ref = (0, name)
        else:
            ref = (scope.sid, name)
        self.alias(ref, self.sources(value))

    # ------------------------------------------------------------------ targets

    def store_into(self, target: ast.Attribute | ast.Subscript, sources: list[str]) -> None:
        """`obj.attr = v` / `obj[k] = v`: evaluates obj (and k) and modifies obj."""
        self.expr(target.value)
        if isinstance(target, ast.Subscript):
            self.expr(target.slice)
        for name in self.sources(target.value):
            ref = self.resolve(name)
            self.mutated.add(ref)
            if sources:  # obj now holds v: modifying obj's contents may modify v
                self.aliases.setdefault(ref, set()).update(self.resolve(s) for s in sources)

    def bind_target(self, target: ast.expr, sources: list[str], *, loop: bool = False) -> None:
        """Bind a for/with/except target; names get no literal/computed status."""
        if isinstance(target, ast.Name):
            self.bind(target.id, _K_OTHER, None, sources)
            if loop and self.scope is self.module:
                self.loop_targets.add(target.id)
        elif isinstance(target, ast.Tuple | ast.List):
            for elt in target.elts:
                self.bind_target(elt, sources, loop=loop)
        elif isinstance(target, ast.Starred):
            self.bind_target(target.value, sources, loop=loop)
        elif isinstance(target, ast.Attribute | ast.Subscript):
            self.store_into(target, sources)
        else:
            self.expr(target)

    def assign_target(self, target: ast.expr, value: ast.expr, sources: list[str]) -> None:
        while isinstance(value, ast.NamedExpr):  # `a = (b := 0.5)` assigns 0.5 to both
            value = value.value
        if isinstance(target, ast.Name):
            literal = _literal(value)
            if literal is _MISSING:
                self.bind(target.id, _K_COMPUTED, None, sources)
            else:
                self.bind(target.id, _K_LITERAL, literal, sources)
        elif isinstance(target, ast.Tuple | ast.List):
            if (
                isinstance(value, ast.Tuple | ast.List)
                and len(value.elts) == len(target.elts)
                and not any(isinstance(e, ast.Starred) for e in (*target.elts, *value.elts))
            ):
                for sub_target, sub_value in zip(target.elts, value.elts, strict=True):
                    self.assign_target(sub_target, sub_value, sources)
                return
            kind = _K_COMPUTED if _literal(value) is _MISSING else _K_OTHER
            self.unpack(target, kind, sources)
        elif isinstance(target, ast.Starred):
            self.unpack(target, _K_COMPUTED, sources)
        elif isinstance(target, ast.Attribute | ast.Subscript):
            self.store_into(target, sources)
        else:
            self.expr(target)

    def unpack(self, target: ast.expr, kind: int, sources: list[str]) -> None:
        if isinstance(target, ast.Name):
            self.bind(target.id, kind, None, sources)
        elif isinstance(target, ast.Tuple | ast.List):
            for elt in target.elts:
                self.unpack(elt, kind, sources)
        elif isinstance(target, ast.Starred):
            self.unpack(target.value, kind, sources)
        elif isinstance(target, ast.Attribute | ast.Subscript):
            self.store_into(target, sources)
        else:
            self.expr(target)

    # ------------------------------------------------------------------ statements

    def block(self, body: list[ast.stmt]) -> None:
        for node in body:
            self.stmt(node)

    def branch(self, body: list[ast.stmt], start: set[str]) -> set[str] | None:
        """Walk one path from `start`; the names bound at its end, None if it never ends."""
        scope = self.scope
        scope.bound = set(start)
        self.block(body)
        return None if _leaves(body) else scope.bound

    def stmt(self, node: ast.stmt) -> None:
        saved = self.line
        if not self.embed_depth:  # code inside a magic call counts as that call's line
            compound = isinstance(node, _COMPOUND_STATEMENTS)
            self.line = node.lineno if compound else (node.end_lineno or node.lineno)
        try:
            self.statement(node)
        finally:
            self.line = saved

    def statement(self, node: ast.stmt) -> None:
        scope = self.scope
        if isinstance(node, ast.Expr):
            self.expr(node.value)
        elif isinstance(node, ast.Assign):
            self.expr(node.value)
            sources = self.sources(node.value)
            for target in node.targets:
                self.assign_target(target, node.value, sources)
        elif isinstance(node, ast.AugAssign):
            self.aug_assign(node)
        elif isinstance(node, ast.AnnAssign):
            if node.value is not None:
                self.expr(node.value)
            if scope.kind != _FUNCTION:  # annotations of locals are never evaluated
                self.expr(node.annotation)
            if node.value is not None:
                self.assign_target(node.target, node.value, self.sources(node.value))
            elif isinstance(node.target, ast.Attribute | ast.Subscript):
                self.expr(node.target.value)
                if isinstance(node.target, ast.Subscript):
                    self.expr(node.target.slice)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            for alias in node.names:
                if alias.name == "*":
                    continue  # binds names we cannot know
                if isinstance(node, ast.Import):
                    self.bind(alias.asname or alias.name.partition(".")[0], via_import=True)
                else:  # `from m import x` may be any object, not a module
                    self.bind(alias.asname or alias.name)
        elif isinstance(node, ast.If):
            self.expr(node.test)
            start = scope.bound
            ends = [self.branch(node.body, start), self.branch(node.orelse, start)]
            scope.bound = _merge(start, ends)
        elif isinstance(node, ast.For | ast.AsyncFor):
            self.expr(node.iter)
            start = scope.bound
            scope.bound = set(start)
            self.loop_depth += 1
            self.bind_target(node.target, self.sources(node.iter), loop=True)
            self.block(node.body)
            self.loop_depth -= 1
            self.branch(node.orelse, start)
            scope.bound = start  # the body may run zero times
        elif isinstance(node, ast.While):
            start = scope.bound
            self.expr(node.test)
            scope.bound = set(start)
            self.loop_depth += 1
            self.block(node.body)
            self.loop_depth -= 1
            self.branch(node.orelse, start)
            scope.bound = start
        elif isinstance(node, ast.With | ast.AsyncWith):
            # The body is treated as running to completion: a context manager that
            # swallows exceptions is rare enough not to make every later use a read.
            for item in node.items:
                self.expr(item.context_expr)
                if item.optional_vars is not None:
                    self.bind_target(item.optional_vars, self.sources(item.context_expr))
            self.block(node.body)
        elif isinstance(node, ast.Try | ast.TryStar):
            self.try_stmt(node)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for decorator in node.decorator_list:
                self.expr(decorator)
            self.arguments(node.args)
            if node.returns is not None:
                self.expr(node.returns)
            self.function(node)
            self.bind(node.name)
            if node.decorator_list and scope is self.module:
                self.trigger(node.name, self.module.bound)  # a decorator may call it now
        elif isinstance(node, ast.ClassDef):
            self.class_def(node)
        elif isinstance(node, ast.Delete):
            for target in node.targets:
                self.delete(target)
        elif isinstance(node, ast.Match):
            self.match(node)
        elif isinstance(node, ast.Global | ast.Nonlocal | ast.Pass | ast.Break | ast.Continue):
            pass  # declarations were collected when the function scope was entered
        else:  # Return, Raise, Assert and anything newer than this code
            self.generic(node)

    def aug_assign(self, node: ast.AugAssign) -> None:
        target = node.target
        if isinstance(target, ast.Name):
            self.load(target.id)
            self.expr(node.value)
            # `arr += 1` / `lst += [x]` modify the object in place when it supports it.
            self.mutated.add(self.resolve(target.id))
            self.bind(target.id, _K_COMPUTED, None, self.sources(node.value))
        elif isinstance(target, ast.Attribute | ast.Subscript):
            self.expr(node.value)
            self.store_into(target, self.sources(node.value))
        else:
            self.expr(node.value)

    def try_stmt(self, node: ast.Try | ast.TryStar) -> None:
        scope = self.scope
        start = scope.bound
        body_end = self.branch(node.body, start)
        ends: list[set[str] | None] = []
        for handler in node.handlers:
            # Any statement of the body may have raised: start from before the try.
            scope.bound = set(start)
            if handler.type is not None:
                self.expr(handler.type)
            if handler.name:
                self.bind(handler.name)
            self.block(handler.body)
            end = None if _leaves(handler.body) else scope.bound
            if end is not None and handler.name:
                end.discard(handler.name)  # Python deletes it when the handler ends
            ends.append(end)
        # Walked after the handlers to follow source order; it continues from the body.
        else_end = self.branch(node.orelse, body_end if body_end is not None else start)
        ends.append(else_end if body_end is not None else None)
        merged = _merge(start, ends)
        if node.finalbody:
            final_start = start & merged
            final_end = self.branch(node.finalbody, final_start)
            if final_end is not None:
                merged = (merged | final_end) - (final_start - final_end)
        scope.bound = merged

    def delete(self, target: ast.expr) -> None:
        if isinstance(target, ast.Name):
            self.unbind(target.id)
        elif isinstance(target, ast.Tuple | ast.List):
            for elt in target.elts:
                self.delete(elt)
        elif isinstance(target, ast.Attribute | ast.Subscript):
            self.store_into(target, [])
        else:
            self.expr(target)

    def match(self, node: ast.Match) -> None:
        scope = self.scope
        self.expr(node.subject)
        sources = self.sources(node.subject)
        start = scope.bound
        ends: list[set[str] | None] = []
        exhaustive = False
        for case in node.cases:
            scope.bound = set(start)
            self.pattern(case.pattern, sources)
            if case.guard is not None:
                self.expr(case.guard)
            self.block(case.body)
            ends.append(None if _leaves(case.body) else scope.bound)
            exhaustive = exhaustive or (case.guard is None and _irrefutable(case.pattern))
        if not exhaustive:
            ends.append(set(start))
        scope.bound = _merge(start, ends)

    def pattern(self, pattern: ast.pattern, sources: list[str]) -> None:
        if isinstance(pattern, ast.MatchValue):
            self.expr(pattern.value)
        elif isinstance(pattern, ast.MatchSequence | ast.MatchOr):
            for sub in pattern.patterns:
                self.pattern(sub, sources)
        elif isinstance(pattern, ast.MatchMapping):
            for key in pattern.keys:
                self.expr(key)
            for sub in pattern.patterns:
                self.pattern(sub, sources)
            if pattern.rest:
                self.bind(pattern.rest, _K_OTHER, None, sources)
        elif isinstance(pattern, ast.MatchClass):
            self.expr(pattern.cls)
            for sub in (*pattern.patterns, *pattern.kwd_patterns):
                self.pattern(sub, sources)
        elif isinstance(pattern, ast.MatchStar):
            if pattern.name:
                self.bind(pattern.name, _K_OTHER, None, sources)
        elif isinstance(pattern, ast.MatchAs):
            if pattern.pattern is not None:
                self.pattern(pattern.pattern, sources)
            if pattern.name:
                self.bind(pattern.name, _K_OTHER, None, sources)

    def arguments(self, args: ast.arguments) -> None:
        """Defaults and annotations, evaluated where the function is defined."""
        for default in (*args.defaults, *args.kw_defaults):
            if default is not None:
                self.expr(default)
        for arg in _all_args(args):
            if arg.annotation is not None:
                self.expr(arg.annotation)

    def new_scope(self, kind: int, **kwargs: Any) -> _Scope:
        scope = _Scope(kind, self.scope, self.next_sid, **kwargs)
        self.next_sid += 1
        return scope

    def function(self, node: _FunctionNode) -> None:
        parent = self.scope
        local_names, declared_global = _function_locals(node)
        self.scope = self.new_scope(_FUNCTION, locals_=local_names, declared_global=declared_global)
        outer = self.deferred
        record = _Deferred() if outer is None else outer
        saved = self.cond_depth, self.loop_depth
        self.cond_depth = self.loop_depth = 0
        self.deferred = record
        try:
            if isinstance(node, ast.Lambda):
                self.expr(node.body)
            else:
                self.block(node.body)
        finally:
            self.scope = parent
            self.cond_depth, self.loop_depth = saved
            self.deferred = outer
        if outer is not None:
            return  # part of an enclosing function, resolved with it
        if parent is self.module and not isinstance(node, ast.Lambda):
            key: str | None = node.name
        else:
            key = self.class_key  # a method runs once its class is used
        if key is None:  # a lambda (or a def in a comprehension) may run right away
            self.resolve_deferred(record, self.module.bound)
        else:
            self.pending_defs.setdefault(key, []).append(record)

    def class_def(self, node: ast.ClassDef) -> None:
        for decorator in node.decorator_list:
            self.expr(decorator)
        for base in node.bases:
            self.expr(base)
        for keyword in node.keywords:
            self.expr(keyword.value)
        parent = self.scope
        declared = {n for s in node.body if isinstance(s, ast.Global) for n in s.names}
        self.scope = self.new_scope(_CLASS, declared_global=declared)
        saved_key = self.class_key
        if parent is self.module:
            self.class_key = node.name
        try:
            self.block(node.body)
        finally:
            self.scope = parent
            self.class_key = saved_key
        self.bind(node.name)
        if node.decorator_list and parent is self.module:
            self.trigger(node.name, self.module.bound)

    # ------------------------------------------------------------------ expressions

    def expr(self, node: ast.expr) -> None:
        # Dispatch on the exact node type: this is the hot path of the whole analysis.
        _EXPR_HANDLERS.get(type(node), _Analyzer.generic)(self, node)

    def e_name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load):
            self.load(node.id)

    def e_constant(self, node: ast.Constant) -> None:
        pass

    def e_value(self, node: ast.Attribute | ast.Starred | ast.Await) -> None:
        self.expr(node.value)

    def e_unary(self, node: ast.UnaryOp) -> None:
        self.expr(node.operand)

    def e_subscript(self, node: ast.Subscript) -> None:
        self.expr(node.value)
        self.expr(node.slice)

    def e_binop(self, node: ast.BinOp) -> None:
        self.expr(node.left)
        self.expr(node.right)

    def e_compare(self, node: ast.Compare) -> None:
        self.expr(node.left)
        for comparator in node.comparators:
            self.expr(comparator)

    def e_elts(self, node: ast.Tuple | ast.List | ast.Set) -> None:
        for elt in node.elts:
            self.expr(elt)

    def e_dict(self, node: ast.Dict) -> None:
        for key, value in zip(node.keys, node.values, strict=True):
            if key is not None:
                self.expr(key)
            self.expr(value)

    def e_boolop(self, node: ast.BoolOp) -> None:
        self.expr(node.values[0])
        self.cond_depth += 1
        for value in node.values[1:]:
            self.expr(value)
        self.cond_depth -= 1

    def e_ifexp(self, node: ast.IfExp) -> None:
        self.expr(node.test)
        self.cond_depth += 1
        self.expr(node.body)
        self.expr(node.orelse)
        self.cond_depth -= 1

    def e_named(self, node: ast.NamedExpr) -> None:
        self.expr(node.value)
        self.bind_walrus(node.target.id, node.value)

    def e_lambda(self, node: ast.Lambda) -> None:
        self.arguments(node.args)
        self.function(node)

    def e_joined(self, node: ast.JoinedStr) -> None:
        for value in node.values:
            self.expr(value)

    def e_formatted(self, node: ast.FormattedValue) -> None:
        self.expr(node.value)
        if node.format_spec is not None:
            self.expr(node.format_spec)

    def generic(self, node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.expr):
                self.expr(child)
            elif isinstance(child, ast.stmt):
                self.stmt(child)
            elif not isinstance(child, ast.expr_context):
                self.generic(child)

    def comprehension(self, node: _Comprehension) -> None:
        generators = node.generators
        self.expr(generators[0].iter)  # evaluated in the enclosing scope
        parent = self.scope
        outer = parent
        while outer.kind == _COMPREHENSION and outer.parent is not None:
            outer = outer.parent
        at_module_level = outer.kind == _MODULE
        scope = self.new_scope(_COMPREHENSION)
        for gen in generators:
            scope.locals.update(_target_names(gen.target))
        if at_module_level:
            self.loop_targets.update(scope.locals)
        self.scope = scope
        self.cond_depth += 1  # the body may run zero times
        try:
            for index, gen in enumerate(generators):
                if index:
                    self.expr(gen.iter)
                self.bind_target(gen.target, self.sources(gen.iter))
                for condition in gen.ifs:
                    self.expr(condition)
            if isinstance(node, ast.DictComp):
                self.expr(node.key)
                self.expr(node.value)
            else:
                self.expr(node.elt)
        finally:
            self.scope = parent
            self.cond_depth -= 1

    def call(self, node: ast.Call) -> None:
        func = node.func
        self.expr(func)
        args, keywords = node.args, node.keywords
        line = self.line if self.embed_depth else (node.end_lineno or self.line)
        callee = _dotted(func) if args or keywords else None
        if args and keywords and _after(args[-1], keywords[0]):
            # `f(a=1, *rest)` is legal: walk in source order so literal_kwargs are too.
            parts: list[ast.expr | ast.keyword] = [*args, *keywords]
            parts.sort(key=lambda p: (p.lineno, p.col_offset))
            for part in parts:
                if isinstance(part, ast.keyword):
                    self.keyword(func, callee, part, line)
                else:
                    self.expr(part)
        else:
            for arg in args:
                self.expr(arg)
            for keyword in keywords:
                self.keyword(func, callee, keyword, line)
        if self.scope.immediate:
            self.call_uses(node, callee, line)
        self.call_effects(node)
        if (
            isinstance(func, ast.Attribute)
            and func.attr in _MAGIC_RUNNERS
            and self.scope is self.module
            and self.embed_depth < _MAX_EMBED_DEPTH
        ):
            self.embedded(node)

    def keyword(self, func: ast.expr, callee: str | None, keyword: ast.keyword, line: int) -> None:
        if keyword.arg is not None and self.scope.immediate:
            value = _literal(keyword.value)
            if value is not _MISSING:
                root = _callee_root(func) or ""
                name = _callee_name(func) or ""
                kwarg = LiteralKwarg(callee or "", keyword.arg, value, line, root, name)
                self.kwargs.append(kwarg)
                return
        self.expr(keyword.value)

    def call_uses(self, node: ast.Call, callee: str | None, line: int) -> None:
        """What the call uses: the objects passed to it, the object whose method it is; and
        its literal positional arguments."""
        func = node.func
        if type(func) is ast.Attribute:
            receiver = _chain_base(func.value)
            if receiver is not None:
                self.use(receiver, line)
            name: str | None = func.attr
        else:
            name = func.id if type(func) is ast.Name else None
        args = node.args
        if name not in _INTROSPECTION:
            for arg in args:
                if type(arg) is ast.Name:
                    self.use(arg.id, line)
            for keyword in node.keywords:
                if type(keyword.value) is ast.Name:
                    self.use(keyword.value.id, line)
        if callee is None:
            return
        for position, arg in enumerate(args):
            kind = type(arg)
            if kind is ast.Starred:
                break  # the positions of what follows are unknown
            if kind not in _LITERAL_NODES or _too_big(arg):
                continue
            value = _literal(arg)
            if value is not _MISSING:
                self.positionals.append(LiteralPositional(callee, position, value, line))

    def use(self, name: str, line: int) -> None:
        if name in _NOT_READS or self.resolve(name)[0] != 0:
            return
        first = self.used.get(name)
        if first is None or line < first:
            self.used[name] = line

    def call_effects(self, node: ast.Call) -> None:
        func = node.func
        inplace = False
        for keyword in node.keywords:
            if keyword.arg == "inplace":
                value = _literal(keyword.value)
                inplace = inplace or value is _MISSING or bool(value)
        name = _callee_name(func)
        if isinstance(func, ast.Attribute):
            if inplace or func.attr not in _READ_ONLY_METHODS:
                self.mutate(func.value)
            if func.attr in _FIT_METHODS:
                base = _chain_base(func.value)
                if base is not None and self.resolve(base)[0] == 0:
                    self.fitted.add(base)
        if name is not None and (
            name in _NON_MUTATING_CALLEES
            or name.endswith(_NON_MUTATING_SUFFIXES)
            or name.startswith(_FRESH_PREFIXES)  # read_csv(path), load_iris(...)
        ):
            limit = _POSITIONAL_OUT.get(name)
            if limit is not None:
                # `arr.mean(0, None, out)`: a method's receiver takes the first slot.
                if isinstance(func, ast.Attribute) and not self.is_module_chain(func.value):
                    limit -= 1
                for arg in node.args[limit:]:
                    self.mutate(arg)
            for keyword in node.keywords:
                if keyword.arg in _OUTPUT_KEYWORDS:
                    self.mutate(keyword.value)
            return
        for arg in node.args:
            self.mutate(arg)
        for keyword in node.keywords:
            self.mutate(keyword.value)

    def embedded(self, node: ast.Call) -> None:
        """Analyse the code inside `%time ...`, `%%capture out` and friends in place."""
        codes, capture_name = _magic_code(node)
        self.embed_depth += 1
        try:
            for code in codes:
                tree = _parse(code) if code.strip() else None
                if tree is not None:
                    self.block(tree.body)
        finally:
            self.embed_depth -= 1
        if capture_name is not None:
            self.bind(capture_name)


_EXPR_HANDLERS: Final[dict[type[ast.AST], Callable[[_Analyzer, Any], None]]] = {
    ast.Name: _Analyzer.e_name,
    ast.Constant: _Analyzer.e_constant,
    ast.Attribute: _Analyzer.e_value,
    ast.Starred: _Analyzer.e_value,
    ast.Await: _Analyzer.e_value,
    ast.UnaryOp: _Analyzer.e_unary,
    ast.Call: _Analyzer.call,
    ast.Subscript: _Analyzer.e_subscript,
    ast.BinOp: _Analyzer.e_binop,
    ast.Compare: _Analyzer.e_compare,
    ast.Tuple: _Analyzer.e_elts,
    ast.List: _Analyzer.e_elts,
    ast.Set: _Analyzer.e_elts,
    ast.Dict: _Analyzer.e_dict,
    ast.BoolOp: _Analyzer.e_boolop,
    ast.IfExp: _Analyzer.e_ifexp,
    ast.NamedExpr: _Analyzer.e_named,
    ast.Lambda: _Analyzer.e_lambda,
    ast.ListComp: _Analyzer.comprehension,
    ast.SetComp: _Analyzer.comprehension,
    ast.GeneratorExp: _Analyzer.comprehension,
    ast.DictComp: _Analyzer.comprehension,
    ast.JoinedStr: _Analyzer.e_joined,
    ast.FormattedValue: _Analyzer.e_formatted,
}

# --------------------------------------------------------------------------- entry point

_EMPTY: Final = frozenset[str]()


@functools.lru_cache(maxsize=1024)
def analyze_cell(code: str) -> CellAnalysis:
    """Analyse one (IPython-transformed) cell.  Never raises; cached by source text."""
    tree = _parse(code)
    if tree is not None:
        analyzer = _Analyzer()
        try:
            analyzer.block(tree.body)
            return analyzer.result(code)
        except Exception:  # RecursionError on pathologically deep trees
            pass
    return CellAnalysis(
        syntax_ok=False,
        reads=_EMPTY,
        writes=_EMPTY,
        literal_assignments=MappingProxyType({}),
        literal_kwargs=(),
        computed=_EMPTY,
        loop_targets=_EMPTY,
        maybe_mutated=_EMPTY,
        fitted=_EMPTY,
        lines=_line_count(code),
    )
