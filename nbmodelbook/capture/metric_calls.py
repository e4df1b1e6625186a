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
from types import FrameType, ModuleType
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


_PREDICTING: Final = frozenset(
    {"predict", "predict_proba", "decision_function", "predict_log_proba"}
)
_COMPARISONS: Final[dict[type[ast.cmpop], str]] = {
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.Lt: "<",
    ast.LtE: "<=",
}


def call_sites(code: str) -> dict[tuple[int, str], list[CallSite]]:
    """The cell's calls, by (line, callee's last name), each with what its code shows.

    A call's line is the line its frame reports while it runs (where the call starts)."""
    tree = parse_quietly(code)
    if tree is None:
        return {}
    predicted_from = _predicted_from(tree)
    sites: dict[tuple[int, str], list[CallSite]] = {}
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
        )
        sites.setdefault((node.lineno, callee), []).append(site)
    for found in sites.values():
        found.sort(key=lambda site: site.line)
    return sites


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
    """One call of an observed function during the cell: references only, copied later."""

    spec: MetricSpec
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    result: Any
    site: CallSite | None  # None when called from a function, not the cell's own code
    order: int  # among the cell's observed calls
    scores: Any = None  # the scores a thresholded prediction came from (`proba` of `proba > t`)
    features: Any = None  # the frame the predictions came from, when the code shows it
    loop_values: dict[str, Any] = field(default_factory=dict)


def _drop_own_frame(exc: BaseException, frame: FrameType) -> None:
    """Take the wrapper's frame (`frame`) out of the exception's traceback."""
    tb = exc.__traceback__
    if tb is not None and tb.tb_frame is frame:
        exc.__traceback__ = tb.tb_next


class CallObserver:
    """Swaps observed functions in for one tracked cell, and collects their calls."""

    def __init__(self) -> None:
        self.calls: list[ObservedCall] = []
        self.active = False
        self.skipped = 0
        self._thread = threading.get_ident()
        self._user_ns: MutableMapping[str, Any] = {}
        self._loop_targets: tuple[str, ...] = ()
        self._sites: dict[tuple[int, str], list[CallSite]] = {}
        self._site_uses: dict[tuple[int, str], int] = {}
        self._aliases: dict[str, frozenset[str]] = {}  # spec -> the notebook's names for it
        # Built once per original and kept (with the original, so its id stays unique).
        self._wrappers: dict[int, tuple[object, Callable[..., Any]]] = {}
        self._originals: dict[int, object] = {}  # id(wrapper) -> original
        self._swapped: list[tuple[object, str, object]] = []
        self._ns_swapped: dict[str, object] = {}

    # --- the cell's start and end -----------------------------------------------------------

    def watch(
        self,
        user_ns: MutableMapping[str, Any],
        code: str,
        reads: Iterable[str],
        loop_targets: Iterable[str] = (),
    ) -> bool:
        """Swap the observed functions in, if this cell can reach one; True when it did."""
        if self.active:  # a cell run from inside a tracked cell: the outer one observes it
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
        reachable = _names_pattern().search(code) or notebook_functions
        if not reachable and not self._reads_original(user_ns, read_names):
            return False
        if _SKLEARN_IMPORT.search(code):
            _import_observed_modules()
        originals = self._swap_modules()
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
            self._ns_swapped[name] = value
            user_ns[name] = wrapper
            aliases.setdefault(spec.qualified, set()).add(name)
        self._aliases = {key: frozenset(found) for key, found in aliases.items()}
        self._user_ns = user_ns
        self._loop_targets = tuple(loop_targets)
        self._sites = call_sites(code)
        self._site_uses = {}
        self.active = True
        return True

    def stop(self, writes: Iterable[str] = ()) -> list[ObservedCall]:
        """Put every original back; the calls observed."""
        self.active = False
        for owner, attribute, original in reversed(self._swapped):
            with contextlib.suppress(Exception):
                setattr(owner, attribute, original)
        self._swapped.clear()
        user_ns = self._user_ns
        for name, original in self._ns_swapped.items():
            if id(user_ns.get(name)) in self._originals:
                user_ns[name] = original
        self._ns_swapped.clear()
        # The cell may have bound a swapped function itself (`from sklearn.metrics import f`).
        for name in writes:
            value = user_ns.get(name)
            original = self._originals.get(id(value)) if value is not None else None
            if original is not None:
                user_ns[name] = original
        self._user_ns = {}
        calls, self.calls = self.calls, []
        return calls

    # --- swapping -----------------------------------------------------------------------------

    def _reads_original(self, user_ns: Mapping[str, Any], names: Iterable[str]) -> bool:
        known = {id(original) for original, _wrapper in self._wrappers.values()}
        return any(id(user_ns.get(name)) in known for name in names)

    def _swap_modules(self) -> dict[int, tuple[MetricSpec, Callable[..., Any]]]:
        """Swap the observed attributes of the imported modules; id(original) -> its wrapper."""
        swapped: dict[int, tuple[MetricSpec, Callable[..., Any]]] = {}
        for spec in _REGISTRY.values():
            module = sys.modules.get(spec.module)
            if not isinstance(module, ModuleType):
                continue
            owner: object = module
            if spec.owner:
                owner = getattr(module, spec.owner, None)
                if not isinstance(owner, type):
                    continue
                original = owner.__dict__.get(spec.name)
                if not isinstance(original, classmethod):
                    continue
                function = original.__func__
                wrapper = self._wrapper(function, spec, bound=True)
                replacement: object = classmethod(wrapper)
            else:
                original = getattr(module, spec.name, None)
                if not callable(original) or id(original) in self._originals:
                    continue
                wrapper = self._wrapper(original, spec, bound=False)
                replacement = wrapper
                swapped[id(original)] = (spec, wrapper)
            try:
                setattr(owner, spec.name, replacement)
            except Exception:  # pragma: no cover - a read-only attribute
                continue
            self._swapped.append((owner, spec.name, original))
        return swapped

    def _wrapper(
        self, original: Callable[..., Any], spec: MetricSpec, *, bound: bool
    ) -> Callable[..., Any]:
        known = self._wrappers.get(id(original))
        if known is not None:
            return known[1]
        observe = self._observe
        first = 1 if bound else 0  # a classmethod's own class is not one of the arguments

        @functools.wraps(original)
        def observed(*args: Any, **kwargs: Any) -> Any:
            try:
                result = original(*args, **kwargs)
            except BaseException as exc:
                _drop_own_frame(exc, sys._getframe())
                raise
            observe(spec, args[first:], kwargs, result, sys._getframe(1))
            return result

        self._wrappers[id(original)] = (original, observed)
        self._originals[id(observed)] = original
        return observed

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
                site = self._site(spec, caller.f_lineno)
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
            self.calls.append(call)
        except Exception:
            self.skipped += 1

    def _site(self, spec: MetricSpec, line: int | None) -> CallSite | None:
        if line is None:
            return None
        for name in (spec.name, *sorted(self._aliases.get(spec.qualified, ()))):
            key = (line, name)
            found = self._sites.get(key)
            if found:
                use = self._site_uses.get(key, 0)
                self._site_uses[key] = use + 1
                return found[use % len(found)]
        return None


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
