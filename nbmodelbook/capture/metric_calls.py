"""Observe a tracked cell's metric calls: which predictions each metric was computed from.

Only while a tracked cell runs, the scikit-learn functions that compute a metric from
predictions, and its cross-validation functions, are swapped for a recording wrapper where the
cell can reach them: attributes of `sklearn.metrics` / `sklearn.model_selection`, the notebook's
names bound to them (aliases included), the `from_predictions` constructors of the curve
displays. After the cell the originals are back. Nothing else is patched, and cells that cannot
reach a metric function pay nothing.

The wrapper calls the original with the very same arguments and returns its result untouched.
When the original raises, the wrapper takes its own frame out of the traceback before the
exception goes on: the user sees exactly the untracked cell's traceback (IPython would show a
hidden frame as `[... skipping hidden 1 frame]`). Only references are kept during the cell; the
arrays are copied once it ends (see `evidence`).
"""

from __future__ import annotations

import ast
import contextlib
import functools
import re
import sys
import threading
from collections.abc import Callable, Iterable, Mapping, MutableMapping
from dataclasses import dataclass, field
from types import FrameType, MethodType, ModuleType
from typing import Any, Final, Literal

from nbmodelbook.capture.quiet_parse import parse_quietly

Role = Literal["score", "pred", "folds"]

METRICS_MODULE: Final = "sklearn.metrics"
MODEL_SELECTION_MODULE: Final = "sklearn.model_selection"
MAX_OBSERVED_CALLS: Final = 200  # per cell: a loop scoring thousands of times keeps the first


@dataclass(frozen=True, slots=True)
class MetricSpec:
    """A function whose calls are evidence: where it lives, and what its arguments hold."""

    module: str
    name: str  # attribute of `module`, or of `owner` for a class's constructor
    role: Role  # "score": y_true + scores; "pred": y_true + predictions; "folds": CV scores
    metric: str  # the run metric an unassigned call gives (`accuracy` for accuracy_score)
    owner: str = ""  # class holding a classmethod (`RocCurveDisplay`)

    @property
    def qualified(self) -> str:
        return f"{self.owner}.{self.name}" if self.owner else self.name


_REGISTRY: dict[tuple[str, str, str], MetricSpec] = {}


def register_metric(spec: MetricSpec) -> None:
    """Observe calls of another metric function (an organisation's own, or a library's)."""
    _REGISTRY[(spec.module, spec.owner, spec.name)] = spec
    _names_pattern.cache_clear()


def registered_metrics() -> list[MetricSpec]:
    return list(_REGISTRY.values())


def _register_defaults() -> None:
    scores = {
        "roc_auc_score": "roc_auc",
        "average_precision_score": "average_precision",
        "log_loss": "log_loss",
        "brier_score_loss": "brier",
        "top_k_accuracy_score": "top_k_accuracy",
        "hinge_loss": "hinge_loss",
        "d2_log_loss_score": "d2_log_loss",
    }
    predictions = {
        "accuracy_score": "accuracy",
        "balanced_accuracy_score": "balanced_accuracy",
        "precision_score": "precision",
        "recall_score": "recall",
        "f1_score": "f1",
        "fbeta_score": "fbeta",
        "matthews_corrcoef": "matthews_corrcoef",
        "cohen_kappa_score": "cohen_kappa",
        "jaccard_score": "jaccard",
        "hamming_loss": "hamming_loss",
        "zero_one_loss": "zero_one_loss",
        "confusion_matrix": "confusion_matrix",
        "classification_report": "classification_report",
        "r2_score": "r2",
        "explained_variance_score": "explained_variance",
        "mean_squared_error": "mse",
        "root_mean_squared_error": "rmse",
        "mean_squared_log_error": "msle",
        "mean_absolute_error": "mae",
        "median_absolute_error": "median_absolute_error",
        "mean_absolute_percentage_error": "mape",
        "max_error": "max_error",
        "mean_poisson_deviance": "mean_poisson_deviance",
        "mean_gamma_deviance": "mean_gamma_deviance",
        "d2_absolute_error_score": "d2_absolute_error",
    }
    for name, metric in scores.items():
        register_metric(MetricSpec(METRICS_MODULE, name, "score", metric))
    for name, metric in predictions.items():
        register_metric(MetricSpec(METRICS_MODULE, name, "pred", metric))
    for owner, metric in (("RocCurveDisplay", "roc_curve"), ("PrecisionRecallDisplay", "pr_curve")):
        register_metric(MetricSpec(METRICS_MODULE, "from_predictions", "score", metric, owner))
    register_metric(
        MetricSpec(
            METRICS_MODULE, "from_predictions", "pred", "confusion_matrix", "ConfusionMatrixDisplay"
        )
    )
    for name in ("cross_val_score", "cross_validate"):
        register_metric(MetricSpec(MODEL_SELECTION_MODULE, name, "folds", "cv"))


@functools.cache
def _names_pattern() -> re.Pattern[str]:
    """Words whose presence in a cell means it may reach an observed function."""
    words = {spec.name for spec in _REGISTRY.values()} | {
        spec.owner for spec in _REGISTRY.values() if spec.owner
    }
    words |= {"sklearn", "metrics", "model_selection"}
    return re.compile(r"\b(?:" + "|".join(sorted(map(re.escape, words))) + r")\b")


# Words that reach observed functions by a name the cell does not spell out
# (`getattr(metrics, name)`, `sklearn.metrics.get_scorer(...)`).
_BROAD_WORDS: Final = frozenset({"sklearn", "metrics", "model_selection"})


def _reachable_specs(
    code: str,
    named: set[str],
    runs_notebook_functions: bool,
    user_ns: Mapping[str, Any],
    read_names: Iterable[str],
) -> Iterable[MetricSpec]:
    """The observed functions this cell can reach: those it names (directly, or through a
    variable bound to one, `auc = roc_auc_score`); every one when it calls notebook functions,
    names a whole module or star-imports. Swapping each of them in and out at every cell would
    cost the cell's thread more than the cell's own analysis."""
    if runs_notebook_functions or named & _BROAD_WORDS or _may_star_import(code):
        return _REGISTRY.values()
    words = set(named)
    for name in read_names:
        try:
            value = user_ns.get(name)
            spelled = getattr(value, "__name__", None)
        except Exception:  # an odd object: it cannot be an observed function either
            continue
        if not isinstance(spelled, str):
            continue
        if isinstance(value, ModuleType):
            # A module under another name (`import sklearn.metrics as skm`): anything in it.
            if any(_within(spec.module, spelled) for spec in _REGISTRY.values()):
                return _REGISTRY.values()
        elif callable(value):
            words.add(spelled)
    return [spec for spec in _REGISTRY.values() if spec.name in words or spec.owner in words]


def _may_star_import(code: str) -> bool:
    """Can the cell bind names it does not list (`from sklearn.metrics import *`)?"""
    return "*" in code and "import" in code


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


_SKLEARN_IMPORT = re.compile(r"(?m)^\s*(?:from\s+sklearn\b|import\s+sklearn\b)")


# --------------------------------------------------------------------------- call sites


@dataclass(frozen=True, slots=True)
class CallSite:
    """What the cell's code shows of one metric call (found without running it)."""

    line: int
    callee: str  # the called name's last part (`roc_auc_score`, `auc_fn`, `from_predictions`)
    target: str | None = None  # the variable its value went to (`auc`, `scores.auc`)
    threshold: float | None = None  # `proba > 0.5` as the predictions: 0.5
    threshold_op: str | None = None
    scores_name: str | None = None  # `proba` of `proba > 0.5`
    features_name: str | None = None  # `X_test` of `model.predict_proba(X_test)[:, 1]`
    span: tuple[int, int, int, int] | None = None  # (line, end line, column, end column)


@dataclass(frozen=True, slots=True)
class CallSites:
    """A cell's calls: by their exact place in the code (what a running call's instruction
    reports on 3.11+), and by (line, callee) as a fallback."""

    by_span: dict[tuple[int, int, int, int], CallSite] = field(default_factory=dict)
    by_line: dict[tuple[int, str], list[CallSite]] = field(default_factory=dict)

    def __getitem__(self, key: tuple[int, str]) -> list[CallSite]:
        return self.by_line[key]

    def __bool__(self) -> bool:
        return bool(self.by_line)


_PREDICTING: Final = frozenset(
    {"predict", "predict_proba", "decision_function", "predict_log_proba"}
)
_COMPARISONS: Final[dict[type[ast.cmpop], str]] = {
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.Lt: "<",
    ast.LtE: "<=",
}


@functools.lru_cache(maxsize=64)
def call_sites(code: str) -> CallSites:
    """The cell's calls, each with what its code shows (see CallSites). Kept for the cells
    run lately: parsing one costs up to a third of a millisecond, at each run of the cell, and
    what it finds is never changed."""
    tree = parse_quietly(code)
    if tree is None:
        return CallSites()
    predicted_from = _predicted_from(tree)
    sites = CallSites()
    targets = _call_targets(tree)
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        callee = _last_name(node.func)
        if callee is None:
            continue
        threshold = threshold_op = scores_name = None
        predictions = node.args[1] if len(node.args) > 1 else _keyword(node, "y_pred")
        if isinstance(predictions, ast.Compare):
            threshold, threshold_op, scores_name = _threshold(predictions)
        features = _features_of(predictions, predicted_from) if predictions is not None else None
        if features is None and scores_name is not None:
            features = predicted_from.get(scores_name)
        site = CallSite(
            line=node.lineno,
            callee=callee,
            target=targets.get(id(node)),
            threshold=threshold,
            threshold_op=threshold_op,
            scores_name=scores_name,
            features_name=features,
            span=_span(node),
        )
        sites.by_line.setdefault((node.lineno, callee), []).append(site)
        if site.span is not None:
            sites.by_span[site.span] = site
    for found in sites.by_line.values():
        found.sort(key=lambda site: site.span or (site.line, 0, 0, 0))  # in reading order
    return sites


def _span(node: ast.expr) -> tuple[int, int, int, int] | None:
    if node.end_lineno is None or node.end_col_offset is None:
        return None
    return (node.lineno, node.end_lineno, node.col_offset, node.end_col_offset)


def _last_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _keyword(node: ast.Call, name: str) -> ast.expr | None:
    return next((kw.value for kw in node.keywords if kw.arg == name), None)


def _threshold(node: ast.Compare) -> tuple[float | None, str | None, str | None]:
    if len(node.ops) != 1 or type(node.ops[0]) not in _COMPARISONS:
        return None, None, None
    right = node.comparators[0]
    if not isinstance(right, ast.Constant) or isinstance(right.value, bool):
        return None, None, None
    if not isinstance(right.value, int | float):
        return None, None, None
    scores = node.left.id if isinstance(node.left, ast.Name) else None
    return float(right.value), _COMPARISONS[type(node.ops[0])], scores


def _features_of(node: ast.expr, predicted_from: Mapping[str, str]) -> str | None:
    """The frame a prediction expression predicts from (`m.predict_proba(X_test)[:, 1]`)."""
    if isinstance(node, ast.Name):
        return predicted_from.get(node.id)
    for child in ast.walk(node):
        if (
            isinstance(child, ast.Call)
            and isinstance(child.func, ast.Attribute)
            and child.func.attr in _PREDICTING
            and child.args
            and isinstance(child.args[0], ast.Name)
        ):
            return child.args[0].id
    return None


def _predicted_from(tree: ast.Module) -> dict[str, str]:
    """Names the cell assigns predictions to, with the frame predicted from
    (`proba = model.predict_proba(X_test)[:, 1]` gives proba -> X_test)."""
    found: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name):
                features = _features_of(node.value, {})
                if features is not None:
                    found[target.id] = features
    return found


def _call_targets(tree: ast.Module) -> dict[int, str]:
    """id(call node) -> the variable the statement holding it assigns (`auc = round(f(...))`),
    or a dict entry with a literal key (`scores["auc"] = f(...)` -> "scores.auc")."""
    targets: dict[int, str] = {}
    for node in ast.walk(tree):
        value: ast.expr | None = None
        name: str | None = None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            name, value = _target_name(node.targets[0]), node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            name, value = _target_name(node.target), node.value
        if name is None or value is None:
            continue
        for child in ast.walk(value):
            if isinstance(child, ast.Call):
                targets.setdefault(id(child), name)
    return targets


def _target_name(target: ast.expr) -> str | None:
    if isinstance(target, ast.Name):
        return target.id
    if (
        isinstance(target, ast.Subscript)
        and isinstance(target.value, ast.Name)
        and isinstance(target.slice, ast.Constant)
        and isinstance(target.slice.value, str | int)
    ):
        return f"{target.value.id}.{target.slice.value}"
    return None


# --------------------------------------------------------------------------- observed calls


@dataclass(slots=True)
class ObservedCall:
    """One call of an observed function during the cell."""

    spec: MetricSpec
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    result: Any
    site: CallSite | None  # None when called from a function, not the cell's own code
    order: int  # among the cell's observed calls
    scores: Any = None  # the scores a thresholded prediction came from (`proba` of `proba > t`)
    features: Any = None  # the frame the predictions came from, when the code shows it
    loop_values: dict[str, Any] = field(default_factory=dict)
    # Filled at the call by the observer's `snapshot` (copies: later code may change arrays).
    taken: dict[str, Any] = field(default_factory=dict)
    skipped: str | None = None  # why nothing was taken


def _drop_own_frame(exc: BaseException, frame: FrameType) -> None:
    """Take the wrapper's frame (`frame`) out of the exception's traceback."""
    tb = exc.__traceback__
    if tb is not None and tb.tb_frame is frame:
        exc.__traceback__ = tb.tb_next


class _ModuleReference:
    """Pickles as `importlib.import_module(name)`: nothing of nbmodelbook in the pickle."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __reduce__(self) -> tuple[Any, ...]:
        import importlib

        return (importlib.import_module, (self.name,))


Observe = Callable[[MetricSpec, tuple[Any, ...], dict[str, Any], Any, FrameType], None]


class ObservedFunction:
    """The recording stand-in for an observed function: calls it with the same arguments and
    returns its result; pickles (and copies) as the original itself, so a scorer or a partial
    built on it in a tracked cell pickles, runs in worker processes and loads without
    nbmodelbook."""

    def __init__(
        self, original: Callable[..., Any], spec: MetricSpec, observe: Observe, *, bound: bool
    ) -> None:
        functools.update_wrapper(self, original)
        self._original = original
        self._spec = spec
        self._observe = observe
        self._first = 1 if bound else 0  # a classmethod's own class is not an argument

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            result = self._original(*args, **kwargs)
        except BaseException as exc:
            _drop_own_frame(exc, sys._getframe())
            raise
        self._observe(self._spec, args[self._first :], kwargs, result, sys._getframe(1))
        return result

    def __get__(self, instance: object, owner: type | None = None) -> Any:
        # Bound like the function it stands for, when kept as a class attribute.
        return self if instance is None else MethodType(self, instance)

    def __reduce__(self) -> tuple[Any, ...]:
        import operator

        module = getattr(self._original, "__module__", None) or self._spec.module
        name = getattr(self._original, "__qualname__", None) or self._spec.qualified
        return (operator.attrgetter(name), (_ModuleReference(module),))

    def __repr__(self) -> str:
        return repr(self._original)


Snapshot = Callable[[ObservedCall], None]


class CallObserver:
    """Swaps observed functions in for one tracked cell, and collects their calls.

    `snapshot`, when given, is called with each observed call as it returns (to copy what it
    received before later code can change it)."""

    def __init__(self, snapshot: Snapshot | None = None) -> None:
        self.calls: list[ObservedCall] = []
        self.active = False
        self.skipped = 0
        self.snapshot = snapshot
        self._depth = 0  # cells run from inside the observed cell
        self._thread = threading.get_ident()
        self._user_ns: MutableMapping[str, Any] = {}
        self._code = ""
        self._loop_targets: tuple[str, ...] = ()
        self._sites: CallSites | None = None  # parsed at the first observed call
        self._site_uses: dict[tuple[int, str], int] = {}
        self._positions: dict[int, tuple[Any, list[Any]]] = {}
        self._aliases: dict[str, frozenset[str]] = {}  # spec -> the notebook's names for it
        # Built once per original and kept (with the original, so its id stays unique).
        self._wrappers: dict[int, tuple[object, ObservedFunction]] = {}
        self._originals: dict[int, object] = {}  # id(wrapper) -> original
        self._swapped: list[tuple[object, str, object, object]] = []  # owner, name, was, now
        self._ns_swapped: set[str] = set()
        self._modules_before: frozenset[str] = frozenset()

    @property
    def installed(self) -> bool:
        """Something is swapped in (also after an interruption half-way through `watch`)."""
        return self.active or bool(self._swapped or self._ns_swapped)

    # --- the cell's start and end -----------------------------------------------------------

    def watch(
        self,
        user_ns: MutableMapping[str, Any],
        code: str,
        reads: Iterable[str],
        loop_targets: Iterable[str] = (),
    ) -> bool:
        """Swap the observed functions in, if this cell can reach one; True when it did."""
        if self.active:  # a cell run from inside the observed cell: the outer one keeps all
            self._depth += 1
            return True
        self.calls, self.skipped = [], 0
        self._thread = threading.get_ident()
        read_names = set(reads)
        notebook_functions = [
            value
            for name in read_names
            if callable(value := user_ns.get(name))
            and getattr(value, "__module__", "") == "__main__"
        ]
        named = set(_names_pattern().findall(code))
        reachable = named or notebook_functions
        if not reachable and not self._reads_original(user_ns, read_names):
            return False
        if _SKLEARN_IMPORT.search(code):
            _import_observed_modules()
        self._user_ns = user_ns
        if len(self._modules_before) != len(sys.modules):
            # Rebuilt only when modules came or went: thousands of names in a modelling
            # session, and most cells import nothing.
            self._modules_before = frozenset(sys.modules)
        originals = self._swap_modules(
            _reachable_specs(code, named, bool(notebook_functions), user_ns, read_names)
        )
        if not self._swapped:
            return False
        names = read_names | _global_names(notebook_functions)
        aliases: dict[str, set[str]] = {}
        for name in names:
            value = user_ns.get(name)
            found = originals.get(id(value)) if value is not None else None
            if found is None:
                continue
            spec, wrapper = found
            self._ns_swapped.add(name)
            user_ns[name] = wrapper
            aliases.setdefault(spec.qualified, set()).add(name)
        self._aliases = {key: frozenset(found) for key, found in aliases.items()}
        self._code = code
        self._loop_targets = tuple(loop_targets)
        self._sites = None
        self._site_uses = {}
        self.active = True
        return True

    def stop(self, writes: Iterable[str] = ()) -> list[ObservedCall]:
        """Put every original back; the calls observed ([] for a cell run from inside the
        observed one: they are the outer cell's)."""
        if self._depth:
            self._depth -= 1
            return []
        self.active = False
        for owner, attribute, original, replacement in reversed(self._swapped):
            # Only what is still ours: a cell that set its own function keeps it.
            current = owner.__dict__.get(attribute) if isinstance(owner, type) else None
            if current is None:
                current = getattr(owner, attribute, None)
            if current is replacement:
                with contextlib.suppress(Exception):
                    setattr(owner, attribute, original)
        self._swapped.clear()
        user_ns = self._user_ns
        names = set(self._ns_swapped) | set(writes)
        if _may_star_import(self._code):
            names = set(user_ns)  # `from sklearn.metrics import *`: the names are not listed
        self._restore(user_ns, names)
        self._ns_swapped.clear()
        # Modules imported during the cell (`from sklearn.metrics import f` in their code)
        # bound the stand-ins: they get the originals.
        if len(sys.modules) != len(self._modules_before):
            for name in sys.modules.keys() - self._modules_before:
                module = sys.modules.get(name)
                namespace = getattr(module, "__dict__", None)
                if isinstance(namespace, dict):
                    self._restore(namespace, list(namespace))
        self._user_ns = {}
        self._code = ""
        calls, self.calls = self.calls, []
        return calls

    def _restore(self, namespace: MutableMapping[str, Any], names: Iterable[str]) -> None:
        originals = self._originals
        for name in names:
            value = namespace.get(name)
            original = originals.get(id(value)) if value is not None else None
            if original is not None:
                namespace[name] = original

    # --- swapping -----------------------------------------------------------------------------

    def _reads_original(self, user_ns: Mapping[str, Any], names: Iterable[str]) -> bool:
        known = {id(original) for original, _wrapper in self._wrappers.values()}
        return any(id(user_ns.get(name)) in known for name in names)

    def _swap_modules(
        self, specs: Iterable[MetricSpec]
    ) -> dict[int, tuple[MetricSpec, ObservedFunction]]:
        """Swap these observed attributes of the imported modules; id(original) -> wrapper."""
        swapped: dict[int, tuple[MetricSpec, ObservedFunction]] = {}
        for spec in specs:
            module = sys.modules.get(spec.module)
            if not isinstance(module, ModuleType):
                continue
            owner: object = module
            if spec.owner:
                owner = getattr(module, spec.owner, None)
                if not isinstance(owner, type):
                    continue
                original = owner.__dict__.get(spec.name)
                if not isinstance(original, classmethod) or isinstance(
                    original.__func__, ObservedFunction
                ):
                    continue
                wrapper = self._wrapper(original.__func__, spec, bound=True)
                replacement: object = classmethod(wrapper)
            else:
                original = getattr(module, spec.name, None)
                if not callable(original) or isinstance(original, ObservedFunction):
                    continue
                wrapper = self._wrapper(original, spec, bound=False)
                replacement = wrapper
                swapped[id(original)] = (spec, wrapper)
            # Noted before it is done: an interruption in between still gets it undone.
            self._swapped.append((owner, spec.name, original, replacement))
            try:
                setattr(owner, spec.name, replacement)
            except Exception:  # pragma: no cover - a read-only attribute
                self._swapped.pop()
        return swapped

    def _wrapper(
        self, original: Callable[..., Any], spec: MetricSpec, *, bound: bool
    ) -> ObservedFunction:
        known = self._wrappers.get(id(original))
        if known is not None:
            return known[1]
        wrapper = ObservedFunction(original, spec, self._observe, bound=bound)
        self._wrappers[id(original)] = (original, wrapper)
        self._originals[id(wrapper)] = original
        return wrapper

    # --- recording ----------------------------------------------------------------------------

    def _observe(
        self,
        spec: MetricSpec,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        result: Any,
        caller: FrameType,
    ) -> None:
        # Guarded: recording must never change what the call returns.
        try:
            if not self.active or threading.get_ident() != self._thread:
                return
            caller_module = caller.f_globals.get("__name__", "")
            if isinstance(caller_module, str) and caller_module.partition(".")[0] == "sklearn":
                return  # scikit-learn calling its own metrics (a scorer), not the notebook
            if len(self.calls) >= MAX_OBSERVED_CALLS:
                self.skipped += 1
                return
            user_ns = self._user_ns
            site = None
            if caller.f_globals is user_ns and caller.f_code.co_name == "<module>":
                site = self._site(spec, caller)
            call = ObservedCall(spec, args, dict(kwargs), result, site, len(self.calls))
            if site is not None:
                if site.scores_name is not None:
                    call.scores = user_ns.get(site.scores_name)
                if site.features_name is not None:
                    call.features = user_ns.get(site.features_name)
            for name in self._loop_targets:
                value = user_ns.get(name)
                if isinstance(value, bool | int | float | str) and not (
                    isinstance(value, str) and len(value) > 200
                ):
                    call.loop_values[name] = value
            if self.snapshot is not None:
                self.snapshot(call)
            self.calls.append(call)
        except Exception:
            self.skipped += 1

    def _site(self, spec: MetricSpec, caller: FrameType) -> CallSite | None:
        if self._sites is None:
            self._sites = call_sites(self._code)
        span = self._span(caller)
        if span is not None:
            exact = self._sites.by_span.get(span)
            if exact is not None:
                return exact
        line = caller.f_lineno
        if line is None:
            return None
        for name in (spec.name, *sorted(self._aliases.get(spec.qualified, ()))):
            key = (line, name)
            found = self._sites.by_line.get(key)
            if found:
                use = self._site_uses.get(key, 0)
                self._site_uses[key] = use + 1
                return found[use % len(found)]
        return None

    def _span(self, caller: FrameType) -> tuple[int, int, int, int] | None:
        """Where in the cell the running call is (the position of its CALL instruction)."""
        code = caller.f_code
        known = self._positions.get(id(code))
        if known is None or known[0] is not code:
            known = (code, list(code.co_positions()))
            self._positions = {id(code): known}  # one cell's code at a time
        positions = known[1]
        index = caller.f_lasti // 2
        if not 0 <= index < len(positions):
            return None
        line, end_line, column, end_column = positions[index]
        if None in (line, end_line, column, end_column):
            return None
        return (line, end_line, column, end_column)


def _global_names(functions: Iterable[object]) -> set[str]:
    """The global names notebook functions refer to (their nested functions' too)."""
    names: set[str] = set()
    for function in functions:
        code = getattr(function, "__code__", None)
        stack = [code] if code is not None else []
        while stack:
            current = stack.pop()
            names.update(current.co_names)
            stack.extend(const for const in current.co_consts if hasattr(const, "co_names"))
    return names


def _import_observed_modules() -> None:
    """A cell that imports from scikit-learn itself gets the observed modules imported just
    before it runs (it would import them a few lines later), so its own imports bind them
    while they are observed."""
    if METRICS_MODULE in sys.modules and MODEL_SELECTION_MODULE in sys.modules:
        return
    import importlib
    import importlib.util

    try:
        if importlib.util.find_spec("sklearn") is None:
            return
        for name in (METRICS_MODULE, MODEL_SELECTION_MODULE):
            if name not in sys.modules:
                importlib.import_module(name)
    except Exception:  # the cell's own import will raise what it raises
        return


_register_defaults()
