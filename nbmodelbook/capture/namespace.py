"""Read params, metrics and data inputs off the notebook's namespace around one cell."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from typing import Any

from nbmodelbook.capture.code_analysis import CellAnalysis
from nbmodelbook.capture.fingerprint import FingerprintCache, is_data
from nbmodelbook.capture.models import fitted_features, inspect_model
from nbmodelbook.capture.values import numeric_value, to_json_safe

MAX_DICT_METRICS = 100

# Keyword arguments of display and plotting calls describe a picture, not the model.
_PRESENTATION_PREFIXES = ("plt.", "ax.", "axes.", "fig.", "sns.", "alt.", "px.", "go.")
_PRESENTATION_CALLS = frozenset(
    {"print", "display", "figure", "subplots", "plot", "hist", "scatter", "bar", "barh",
     "legend", "savefig", "show", "title", "xlabel", "ylabel", "imshow", "heatmap", "boxplot",
     "to_string", "to_html", "to_markdown", "format", "round", "head", "tail", "describe",
     "from_predictions", "from_estimator", "set_title", "suptitle", "set_xlabel", "set_ylabel",
     "annotate", "text", "tight_layout"}
)  # fmt: skip


def data_inputs(
    analysis: CellAnalysis, user_ns: Mapping[str, object], cache: FingerprintCache
) -> dict[str, dict[str, Any]]:
    """Fingerprints of the DataFrames/Series/arrays the cell reads from notebook state."""
    inputs: dict[str, dict[str, Any]] = {}
    for name in sorted(analysis.reads):
        value = user_ns.get(name)
        if value is not None and is_data(value):
            inputs[name] = cache.get(value)
    return inputs


MODEL_FEATURES = "features seen by the model"


def model_feature_inputs(
    models: Iterable[str], user_ns: Mapping[str, object]
) -> dict[str, dict[str, Any]]:
    """What the cell's fitted models were trained on, whatever the cell did to its data first
    (`X = X.drop(columns=...)` inside the cell is invisible to the inputs read before it ran).

    One model: keyed `features seen by the model`, so runs that name their model differently
    still line up; several: one entry per model variable.
    """
    found = {}
    for name in models:
        try:
            features = fitted_features(user_ns.get(name))
        except Exception:  # an odd model object must not cost the run its params
            continue
        if features is not None:
            found[name] = features
    if len(found) == 1:
        return {MODEL_FEATURES: next(iter(found.values()))}
    return {f"features seen by {name}": features for name, features in found.items()}


def extract_params(
    analysis: CellAnalysis,
    user_ns: Mapping[str, object],
    forced: Iterable[str] = (),
) -> tuple[dict[str, Any], list[str]]:
    """Params: literal assignments, literal keyword args, model hyperparameters, `-p` names.

    Returns the params and the names of the model objects found.
    """
    params: dict[str, Any] = {}
    for name, value in analysis.literal_assignments.items():
        if not name.startswith("_"):
            params[name] = to_json_safe(value)

    models: dict[str, str] = {}
    for name in sorted(analysis.writes | analysis.fitted):
        if name.startswith("_") or name not in user_ns:
            continue
        found = inspect_model(user_ns[name])
        if found is None:
            continue
        model_class, hyper = found
        models[name] = model_class
        params[name] = model_class.rsplit(".", 1)[-1]
        for key, value in hyper.items():
            params[f"{name}.{key}"] = value

    model_classes = {cls.rsplit(".", 1)[-1] for cls in models.values()}
    _add_literal_kwargs(analysis, params, model_classes)

    for name in forced:
        if name in user_ns:
            params[name] = to_json_safe(user_ns[name])
        else:
            params[name] = {"type": "missing", "repr": f"'{name}' is not defined"}
    return params, sorted(models)


def _add_literal_kwargs(
    analysis: CellAnalysis, params: dict[str, Any], model_classes: set[str]
) -> None:
    by_keyword: dict[str, list[tuple[str, Any]]] = {}
    for kwarg in analysis.literal_kwargs:
        callee_last = kwarg.callee.rsplit(".", 1)[-1]
        if callee_last in model_classes:
            continue  # already recorded, with every default, as the model's hyperparameters
        if callee_last in _PRESENTATION_CALLS or kwarg.callee.startswith(_PRESENTATION_PREFIXES):
            continue
        by_keyword.setdefault(kwarg.keyword, []).append((kwarg.callee, to_json_safe(kwarg.value)))
    for keyword, uses in by_keyword.items():
        distinct = {repr(value) for _callee, value in uses}
        if len(distinct) == 1 and keyword not in params:
            params[keyword] = uses[0][1]
            continue
        for callee, value in uses:
            params[f"{callee or 'call'}.{keyword}"] = value


def extract_metrics(
    analysis: CellAnalysis,
    user_ns: Mapping[str, object],
    forced: Iterable[str] = (),
    exclude: Iterable[str] = (),
) -> dict[str, float]:
    """Metrics: numeric values the cell computed (and numeric entries of dicts it computed)."""
    metrics: dict[str, float] = {}
    skip = set(exclude) | set(analysis.loop_targets)
    candidates = [name for name in sorted(analysis.computed) if name not in skip]
    for name in [*candidates, *forced]:
        if name.startswith("_") and name not in forced:
            continue
        if name in user_ns:
            _add_metric(metrics, name, user_ns[name], depth=0)
    return metrics


def _add_metric(metrics: dict[str, float], key: str, value: object, depth: int) -> None:
    number = numeric_value(value)
    if number is not None:
        metrics[key] = number
        return
    if isinstance(value, Mapping) and depth < 2:
        for position, (sub_key, item) in enumerate(value.items()):
            if position >= MAX_DICT_METRICS:
                break
            _add_metric(metrics, f"{key}.{sub_key}", item, depth + 1)


def imported_modules() -> list[str]:
    """A cheap snapshot of the imported module names (the environment is built from it later)."""
    return list(sys.modules)
