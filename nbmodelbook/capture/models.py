"""Model inspectors: read hyperparameters off model objects a cell created or fitted.

A registry, so supporting another framework is one function: an inspector returns the model's
parameters (JSON-safe) or None when the object is not its kind.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import BuiltinFunctionType, FunctionType, ModuleType
from typing import Any

from nbmodelbook.capture.values import numeric_value, to_json_safe, type_name
from nbmodelbook.record import FEATURES_KIND

Inspector = Callable[[object], dict[str, Any] | None]

_INSPECTORS: list[tuple[str, Inspector]] = []


def register_inspector(name: str, inspector: Inspector) -> None:
    _INSPECTORS.append((name, inspector))


def inspect_model(value: object) -> tuple[str, dict[str, Any]] | None:
    """(model class, hyperparameters) for the first inspector that knows the object."""
    if isinstance(value, type | ModuleType | FunctionType | BuiltinFunctionType):
        return None  # not a model; and a module's __getattr__ may run code
    for _name, inspector in _INSPECTORS:
        try:
            params = inspector(value)
        except Exception:
            continue
        if params is not None:
            return type_name(value), params
    return None


@dataclass(frozen=True, slots=True)
class SearchResult:
    """What a fitted hyperparameter search (scikit-learn's `*SearchCV`) found."""

    best_params: dict[str, Any]  # JSON-safe
    searched: frozenset[str]  # every parameter of the estimator the search varied
    best_score: float | None

    def covers(self, key: str) -> bool:
        """Is `key`, one of the search's own params (`estimator__degree`), one it searched over?
        The estimator's value for it is a default the search replaced."""
        inner = key.removeprefix("estimator__")
        return inner != key and any(
            inner == name or inner.startswith(name + "__") for name in self.searched
        )


def inspect_search(value: object) -> SearchResult | None:
    """The best params, the searched names and the best score of a fitted search; None for
    anything else (an unfitted search has no `best_params_`)."""
    try:
        return _search_result(value)
    except Exception:  # an odd object must not cost the run its other params
        return None


def _search_result(value: object) -> SearchResult | None:
    if isinstance(value, type) or not hasattr(value, "get_params"):
        return None
    best = getattr(value, "best_params_", None)
    if not isinstance(best, dict):
        return None
    searched = set(map(str, best))
    for attribute in ("param_grid", "param_distributions"):
        space = getattr(value, attribute, None)
        for grid in space if isinstance(space, list) else [space]:
            if isinstance(grid, Mapping):
                searched.update(map(str, grid))
    return SearchResult(
        best_params={str(key): _param_value(item) for key, item in sorted(best.items())},
        searched=frozenset(searched),
        best_score=numeric_value(getattr(value, "best_score_", None)),
    )


def _sklearn_style(value: object) -> dict[str, Any] | None:
    """scikit-learn's estimator API, also implemented by xgboost, lightgbm and catboost wrappers."""
    # Looked up on the class: an instance's own `__getattr__` (a DataFrame's looks the name up
    # among its columns) costs more than the rest of this check.
    kind = type(value)
    if not callable(getattr(kind, "get_params", None)) or not hasattr(kind, "fit"):
        return None
    params = estimator_params(value)
    if not isinstance(params, dict):
        return None
    found = {
        str(key): _param_value(item)
        for key, item in sorted(params.items())
        if not str(key).startswith("_")
    }
    steps = getattr(value, "steps", None)
    if isinstance(steps, list) and steps and isinstance(steps[-1], tuple):
        # A pipeline is judged by its final estimator: that is the model family.
        found["final_estimator"] = type(steps[-1][-1]).__name__
    return found


def estimator_params(value: Any) -> Any:
    """`value.get_params(deep=True)`, without its cost where that is scikit-learn's own.

    scikit-learn reads an estimator's parameter names off its constructor's signature at every
    call (~0.1 ms a model once a cell's work has left the processor's caches); here they are
    read once per class, and the values taken as `BaseEstimator.get_params` (and a pipeline's)
    takes them. The first time a class is met, both ways are compared: a class they disagree
    on is asked itself from then on.
    """
    return _planned(value, deep=True)


def _planned(value: Any, *, deep: bool) -> Any:
    """`value.get_params(deep=True)` (`deep`) or `value.get_params()` (how scikit-learn asks a
    nested estimator), through the class's plan where it has a checked one."""

    def asked() -> Any:
        return value.get_params(deep=True) if deep else value.get_params()

    kind = type(value)
    plan = _plans.get(kind)
    if plan is None:
        expected = asked()
        checked = _plan(kind)
        try:
            agrees = checked is not None and bool(_params_by(checked, value) == expected)
        except Exception:
            agrees = False
        if len(_plans) >= _MAX_PLANS:
            _plans.clear()
        _plans[kind] = checked if agrees and checked is not None else _ASK
        return expected
    if plan is _ASK:
        return asked()
    return _params_by(plan, value)


# A class's parameter names, and the attribute holding its steps (a pipeline) or "".
_Plan = tuple[tuple[str, ...], str]
_ASK: _Plan = ((), "?")
_MAX_PLANS = 512
_plans: dict[type, _Plan] = {}


def _plan(kind: type) -> _Plan | None:
    base = sys.modules.get("sklearn.base")
    pipeline = sys.modules.get("sklearn.pipeline")
    method = getattr(kind, "get_params", None)
    if base is not None and method is base.BaseEstimator.get_params:
        steps = ""
    elif pipeline is not None and method is pipeline.Pipeline.get_params:
        steps = "steps"
    else:
        return None
    try:
        return tuple(kind._get_param_names()), steps  # type: ignore[attr-defined]
    except Exception:
        return None


def _params_by(plan: _Plan, value: Any) -> dict[str, Any]:
    names, steps = plan
    out: dict[str, Any] = {}
    for key in names:
        item = getattr(value, key)
        if hasattr(item, "get_params") and not isinstance(item, type):
            out.update((f"{key}__{name}", found) for name, found in _nested(item).items())
        out[key] = item
    if steps:
        estimators = getattr(value, steps)
        try:
            out.update(estimators)
        except (TypeError, ValueError):  # as scikit-learn: steps that are no (name, step) pairs
            return out
        for name, estimator in estimators:
            if hasattr(estimator, "get_params"):
                out.update((f"{name}__{key}", found) for key, found in _nested(estimator).items())
    return out


def _nested(value: Any) -> Any:
    return _planned(value, deep=False)


def _param_value(value: object, depth: int = 0) -> Any:
    # Nested estimators (pipeline steps) are named by class; their own params follow as keys.
    # Never their repr: scikit-learn's pretty-printer costs the notebook's thread ~1 ms a model.
    if hasattr(value, "get_params") and not isinstance(value, type):
        return type(value).__name__
    if callable(value) and not isinstance(value, type):
        return getattr(value, "__name__", type_name(value))
    if depth < _MAX_NESTING and isinstance(value, list | tuple) and len(value) <= _MAX_LISTED:
        # `steps=[("scale", StandardScaler()), ...]`, a ColumnTransformer's `transformers`
        return [_param_value(item, depth + 1) for item in value]
    return to_json_safe(value)


_MAX_NESTING = 3
_MAX_LISTED = 100


def _torch_module(value: object) -> dict[str, Any] | None:
    torch = sys.modules.get("torch")
    if torch is None or not isinstance(value, torch.nn.Module):
        return None
    parameters = list(value.parameters())
    return {
        "n_parameters": int(sum(p.numel() for p in parameters)),
        "n_trainable": int(sum(p.numel() for p in parameters if p.requires_grad)),
        "training": bool(value.training),
    }


MAX_FEATURE_NAMES = 2000


def fitted_features(value: object) -> dict[str, Any] | None:
    """The features a fitted model saw, as a data-input fingerprint: scikit-learn style
    estimators and pipelines keep their names (`feature_names_in_`, when fitted on a
    DataFrame) and their number (`n_features_in_`). None for anything else or unfitted."""
    import xxhash

    count = getattr(value, "n_features_in_", None)
    if isinstance(value, type) or not isinstance(count, int) or isinstance(count, bool):
        return None
    names = getattr(value, "feature_names_in_", None)
    columns = [str(name) for name in names] if names is not None else None
    if columns is not None and len(columns) != count:
        columns = None
    listed = "\x00".join(columns) if columns else str(count)
    digest = xxhash.xxh3_64_hexdigest(listed.encode("utf-8"))
    found: dict[str, Any] = {"kind": FEATURES_KIND, "shape": [count], "hash": digest}
    if columns is not None:
        found["columns"] = columns[:MAX_FEATURE_NAMES]
    return found


register_inspector("sklearn", _sklearn_style)
register_inspector("torch", _torch_module)
