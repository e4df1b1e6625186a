"""Read params, metrics and data inputs off the notebook's namespace around one cell."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from typing import Any

from nbmodelbook.capture.code_analysis import CellAnalysis
from nbmodelbook.capture.fingerprint import FingerprintCache, is_data
from nbmodelbook.capture.modelling_calls import (
    callee_modules,
    positional_names,
    records_params,
    resolve_callee,
)
from nbmodelbook.capture.models import fitted_features, inspect_model, inspect_search
from nbmodelbook.capture.values import numeric_value, to_json_safe

MAX_DICT_METRICS = 100


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


def failed_at_line(
    result: object, raw_cell: str, execution_count: int | None, user_ns: Mapping[str, object]
) -> int:
    """How far a failed cell got: the line of the cell (1-based, as the cell was compiled)
    running when the exception ended it; 0 when nothing of it can be trusted to have run
    (it did not compile, was cancelled, or `result` is not the result of this cell)."""
    info = getattr(result, "info", None)
    if getattr(info, "raw_cell", None) != raw_cell:
        return 0
    if execution_count is not None and getattr(result, "execution_count", None) != execution_count:
        return 0
    error = getattr(result, "error_in_exec", None)
    trace = getattr(error, "__traceback__", None)
    while trace is not None:
        frame = trace.tb_frame
        if frame.f_code.co_name == "<module>" and frame.f_globals is user_ns:
            return int(trace.tb_lineno or 0)
        trace = trace.tb_next
    return 0


class _Ran:
    """What of the cell ran: everything, or (a failed cell) the lines before `stopped_at`."""

    def __init__(self, analysis: CellAnalysis, stopped_at: int | None) -> None:
        self.analysis = analysis
        self.stopped_at = stopped_at

    def line(self, line: int) -> bool:
        return self.stopped_at is None or line < self.stopped_at

    def bound(self, name: str) -> bool:
        """Did the cell (re)bind `name` before it stopped? Then the namespace holds its value."""
        lines = self.analysis.bound_lines.get(name)
        return lines is not None and self.line(lines[0])

    def settled(self, name: str) -> bool:
        """Did every binding of `name` in the cell run? Then its last literal value is true."""
        lines = self.analysis.bound_lines.get(name)
        return lines is not None and self.line(lines[1])

    def used(self, name: str) -> bool:
        line = self.analysis.used.get(name)
        return line is not None and self.line(line)


def extract_params(
    analysis: CellAnalysis,
    user_ns: Mapping[str, object],
    forced: Iterable[str] = (),
    *,
    stopped_at: int | None = None,
) -> tuple[dict[str, Any], list[str]]:
    """Params: literal assignments of settings, every hyperparameter of the models the cell
    creates, fits or uses (with a search's best params), the literal arguments of calls that
    configure or run a model or split its data, and `-p` names.

    `stopped_at` is the line a failed cell stopped at (see `failed_at_line`): only what ran
    before it counts, and a name the cell did not get to bind is not taken from the namespace.
    Returns the params and the names of the models the cell created or fitted.
    """
    ran = _Ran(analysis, stopped_at)
    params: dict[str, Any] = {}
    for name, value in analysis.literal_assignments.items():
        settled = not name.startswith("_") and ran.settled(name)
        if settled and is_setting(value) and not _filled_later(name, value, user_ns):
            params[name] = to_json_safe(value)

    created: dict[str, str] = {}
    for name in sorted(analysis.writes | analysis.fitted | analysis.used.keys()):
        if name.startswith("_") or name not in user_ns:
            continue
        # Bound by the cell: the namespace holds what the cell made. Otherwise it holds what
        # an earlier cell left, which counts only if this cell used it before it stopped.
        own = name in analysis.writes and ran.bound(name)
        if not own and not ran.used(name):
            continue
        model_class = _add_model(params, name, user_ns[name])
        if model_class is not None and (own or (name in analysis.fitted and stopped_at is None)):
            created[name] = model_class

    model_classes = {cls.rsplit(".", 1)[-1] for cls in created.values()}
    _add_call_arguments(analysis, ran, user_ns, params, model_classes)

    for name in forced:
        if name in user_ns:
            params[name] = to_json_safe(user_ns[name])
        else:
            params[name] = {"type": "missing", "repr": f"'{name}' is not defined"}
    return params, sorted(created)


def _filled_later(name: str, literal: Any, user_ns: Mapping[str, object]) -> bool:
    """A container literal the cell changed afterwards (`scores = {}` ... `scores[k] = auc`):
    a result, not a setting; the run records the value it holds when the cell ends."""
    if not isinstance(literal, list | dict) or name not in user_ns:
        return False
    try:
        return bool(to_json_safe(user_ns[name]) != literal)
    except Exception:
        return True


def _add_model(params: dict[str, Any], name: str, value: object) -> str | None:
    """Record a model's class and hyperparameters under `name`; its class, or None if `value`
    is no model. A fitted search's best params come instead of the defaults it searched over."""
    found = inspect_model(value)
    if found is None:
        return None
    model_class, hyper = found
    search = inspect_search(value)
    params[name] = model_class.rsplit(".", 1)[-1]
    for key, item in hyper.items():
        if search is None or not search.covers(key):
            params[f"{name}.{key}"] = item
    if search is not None:
        for key, item in search.best_params.items():
            params[f"{name}.best_params.{key}"] = item
    return model_class


# Literal assignments bigger than this, or holding records, are data, not settings.
MAX_SETTING_ITEMS = 50


def is_setting(value: Any) -> bool:
    """A literal that reads as a setting: a scalar, a short list of scalars (`layers = [64, 32]`),
    or a dict of those (`grid = {"C": [0.1, 1]}`); not a table (`rows = [{...}, ...]`)."""
    if not isinstance(value, list | dict):
        return True
    items = list(value.values()) if isinstance(value, dict) else [value]
    count = 0
    for item in items:
        members = item if isinstance(item, list) else [item]
        count += len(members)
        if count > MAX_SETTING_ITEMS or any(isinstance(m, list | dict) for m in members):
            return False
    return True


def _add_call_arguments(
    analysis: CellAnalysis,
    ran: _Ran,
    user_ns: Mapping[str, object],
    params: dict[str, Any],
    model_classes: set[str],
) -> None:
    """The literal arguments of the calls that configure or run a model (see modelling_calls);
    positional ones named through the signature of what was called."""
    decided: dict[tuple[str, str, str], tuple[bool, object | None]] = {}

    def judge(callee: str, root: str, name: str) -> tuple[bool, object | None]:
        key = (callee, root, name)
        if key not in decided:
            try:
                start, called = resolve_callee(callee, root, user_ns)
                modules = callee_modules(start, called)
            except Exception:  # an odd object in the namespace: judge by the name alone
                called, modules = None, ()
            decided[key] = (records_params(modules, name), called)
        return decided[key]

    uses: list[tuple[str, str, Any]] = []
    for kwarg in analysis.literal_kwargs:
        name = kwarg.name or kwarg.callee.rsplit(".", 1)[-1]
        if not ran.line(kwarg.line) or name in model_classes:
            continue  # a model's own arguments are recorded, with every default, as its params
        if judge(kwarg.callee, kwarg.root, name)[0]:
            uses.append((kwarg.callee, kwarg.keyword, to_json_safe(kwarg.value)))
    for positional in analysis.literal_positionals:
        name = positional.callee.rsplit(".", 1)[-1]
        if not ran.line(positional.line) or name in model_classes:
            continue
        records, called = judge(positional.callee, positional.callee.partition(".")[0], name)
        if not records or called is None:
            continue
        names = positional_names(called)
        if positional.position < len(names):
            keyword = names[positional.position]
            uses.append((positional.callee, keyword, to_json_safe(positional.value)))

    by_keyword: dict[str, list[tuple[str, Any]]] = {}
    for callee, keyword, value in uses:
        by_keyword.setdefault(keyword, []).append((callee, value))
    for keyword, found in by_keyword.items():
        distinct = {repr(value) for _callee, value in found}
        if len(distinct) == 1 and keyword not in params:
            params[keyword] = found[0][1]
            continue
        for callee, value in found:
            key = f"{callee or 'call'}.{keyword}"
            # Two calls of one callee (`nn.Linear(784, 128); nn.Linear(128, 10)`): each kept.
            suffix = 2
            while key in params:
                key = f"{callee or 'call'}.{keyword} ({suffix})"
                suffix += 1
            params[key] = value


def extract_metrics(
    analysis: CellAnalysis,
    user_ns: Mapping[str, object],
    forced: Iterable[str] = (),
    exclude: Iterable[str] = (),
    *,
    stopped_at: int | None = None,
    models: Iterable[str] = (),
) -> dict[str, float]:
    """Metrics: numeric values the cell computed (and numeric entries of dicts it computed), and
    the best score of each search among `models` (the cell's models, see extract_params)."""
    ran = _Ran(analysis, stopped_at)
    metrics: dict[str, float] = {}
    skip = set(exclude) | set(analysis.loop_targets)
    filled = {
        name
        for name, literal in analysis.literal_assignments.items()
        if _filled_later(name, literal, user_ns)
    }
    candidates = [
        name for name in sorted(analysis.computed | filled) if name not in skip and ran.bound(name)
    ]
    for name in [*candidates, *forced]:
        if name.startswith("_") and name not in forced:
            continue
        if name in user_ns:
            _add_metric(metrics, name, user_ns[name], depth=0)
    for name in models:
        search = inspect_search(user_ns.get(name))
        if search is not None and search.best_score is not None:
            metrics.setdefault(f"{name}.best_score", search.best_score)
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
