"""Side-by-side comparison of runs: params, metrics and input data. Pure functions."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import orjson

from nbmodelbook.metric_names import lower_is_better
from nbmodelbook.record import FEATURES_KIND, RunRecord
from nbmodelbook.report.model import DataDifference, Evidence, MetricRow, ParamRow
from nbmodelbook.report.param_order import defining_rank, is_bookkeeping

# The kind of a difference found only in what the fitted models saw: often the very choice
# being compared (feature selection), so the audit rates it lower than different data.
FEATURES_DIFFER = "different features"
# Groups of runs (who sets which params) named in the params sentence; more are summed up.
MAX_NAMED_GROUPS = 4


def best_positions(values: Sequence[float | None], lower: bool) -> tuple[int, ...]:
    usable = [(value, index) for index, value in enumerate(values) if _usable(value)]
    if len(usable) < 2:
        return ()
    target = min(usable)[0] if lower else max(usable)[0]
    return tuple(index for value, index in usable if value == target)


def _usable(value: float | None) -> bool:
    return value is not None and not math.isnan(value)


def same_setting(values: Sequence[Any]) -> bool:
    """Equal as settings: `False`/`0` and `True`/`1` are one (families spell "off" and "on"
    their own way); containers item by item. An int and a float are not: to scikit-learn
    `max_features=1` is one feature and `max_features=1.0` all of them."""
    return len({_by_value(value) for value in values}) <= 1


_NAN = ("nan",)


def _by_value(value: Any) -> Hashable:
    """A key equal for values equal as settings."""
    if isinstance(value, float):
        return _NAN if math.isnan(value) else ("float", value)
    if isinstance(value, bool | int):
        return ("int", int(value))  # False and 0, True and 1
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, list | tuple):
        return ("list", tuple(_by_value(item) for item in value))
    if isinstance(value, Mapping):
        return ("dict", tuple(sorted((str(key), _by_value(item)) for key, item in value.items())))
    return ("json", orjson.dumps(value, option=orjson.OPT_SORT_KEYS, default=str))


def comparable_params(run: RunRecord) -> dict[str, Any]:
    """Params with a run's single model renamed `model`, so `forest.max_depth` in one run and
    `model.max_depth` in another line up. Runs with several models keep their names."""
    models = [
        key
        for key, value in run.params.items()
        if "." not in key
        and isinstance(value, str)
        and any(other.startswith(key + ".") for other in run.params)
    ]
    if len(models) != 1 or models[0] == "model" or "model" in run.params:
        return run.params
    variable = models[0]
    renamed: dict[str, Any] = {}
    for key, value in run.params.items():
        if key == variable:
            renamed["model"] = value
        elif key.startswith(variable + "."):
            renamed["model" + key[len(variable) :]] = value
        else:
            renamed[key] = value
    return renamed


def compared_params(runs: Sequence[RunRecord]) -> list[ParamRow]:
    """Every param of `runs` (models lined up by `comparable_params`), each with its value in
    every run, which runs' models have it and whether it differs between them; in reading
    order (`param_order`): the models, their defining params, the rest, the bookkeeping."""
    params = [comparable_params(run) for run in runs]
    models = [_model_variables(run_params) for run_params in params]
    families = [model_family(run) for run in runs]
    rows = []
    for name in {name for run_params in params for name in run_params}:
        values = tuple(run_params.get(name) for run_params in params)
        set_in = tuple(name in run_params for run_params in params)
        owners = [_owner(p, m, name) for p, m in zip(params, models, strict=True)]
        applies = tuple(found or owner is None for found, owner in zip(set_in, owners, strict=True))
        # Bookkeeping is compared within a family only: each spells "off" its own way.
        groups = (
            [owner[0] if owner else family for owner, family in zip(owners, families, strict=True)]
            if is_bookkeeping(name)
            else [None] * len(runs)
        )
        differs = _differs(values, set_in, applies, groups)
        rows.append(ParamRow(name, values, differs, set_in, applies if not all(applies) else ()))
    return sorted(rows, key=lambda row: _reading_order(row.name, params, models))


def _differs(
    values: Sequence[Any],
    set_in: Sequence[bool],
    applies: Sequence[bool],
    groups: Sequence[str | None],
) -> bool:
    """Differs among the runs whose model has the param (in each group on its own): set by
    one and not by another (even when the one recorded None), or set to unequal values."""
    by_group: dict[str | None, list[int]] = {}
    for position, group in enumerate(groups):
        if applies[position]:
            by_group.setdefault(group, []).append(position)
    for positions in by_group.values():
        if len({set_in[position] for position in positions}) > 1:
            return True
        if not same_setting([values[position] for position in positions if set_in[position]]):
            return True
    return False


def _model_variables(run_params: Mapping[str, Any]) -> frozenset[str]:
    """Names holding a model: a class name with the model's params under `name.`."""
    prefixes = {key.partition(".")[0] for key in run_params if "." in key}
    return frozenset(
        key
        for key, value in run_params.items()
        if "." not in key and isinstance(value, str) and key in prefixes
    )


def _owner(
    run_params: Mapping[str, Any], models: frozenset[str], name: str
) -> tuple[str, str] | None:
    """(class, own name) of the model in this run that `name` is a param of, when the run
    recorded one there: `model.logisticregression__C` of a pipeline belongs to its
    LogisticRegression step, as `C`. The tracker records every param a model has, so a name
    such a run lacks is one its model does not have."""
    variable, _, rest = name.partition(".")
    # A model's own params have no dot after its name (nested ones use `__`); a dotted rest
    # is something else recorded beside it: a search's `best_params.C`, a call's argument.
    if not rest or "." in rest or variable not in models:
        return None
    step, _, own = rest.rpartition("__")
    found = run_params.get(f"{variable}.{step}") if step else run_params[variable]
    return (str(found) if isinstance(found, str) else str(run_params[variable])), own


def _reading_order(
    name: str, params: Sequence[Mapping[str, Any]], models: Sequence[frozenset[str]]
) -> tuple[Any, ...]:
    """Models first (with what a pipeline or search ends in), then the params that define
    each run's model family (the first run's family first), then the rest by name, then the
    settings that only keep a run's books."""
    variable, _, rest = name.partition(".")
    if any(variable in found for found in models) and rest in (
        "",
        "final_estimator",
        "estimator",
    ):
        return (0, name)
    if is_bookkeeping(name):
        return (3, name.casefold(), name)
    ranks = []
    for position, (run_params, found) in enumerate(zip(params, models, strict=True)):
        owner = _owner(run_params, found, name)
        rank = defining_rank(owner[0], owner[1]) if owner else None
        if rank is not None:
            ranks.append((position, rank))
    if ranks:
        position, rank = min(ranks)
        family = _owner(params[position], models[position], name)
        return (1, position, family[0] if family else "", rank, name)
    return (2, name.casefold(), name)


def compare_runs(runs: Sequence[RunRecord], missing_refs: Sequence[str] = ()) -> Evidence:
    """Params (with which differ), metrics (with the best marked) and data differences."""
    evidence = Evidence(run_ids=[run.run_id for run in runs], missing_refs=list(missing_refs))
    evidence.params = compared_params(runs)
    metric_names = sorted({name for run in runs for name in run.metrics})
    for name in metric_names:
        metric_values = tuple(run.metrics.get(name) for run in runs)
        lower = lower_is_better(name)
        evidence.metrics.append(
            MetricRow(name, metric_values, lower, best_positions(metric_values, lower))
        )
    if runs:
        first = runs[0]
        evidence.data = [data_difference(first, other) for other in runs[1:]]
    return evidence


def params_sentence(evidence: Evidence, labels: Sequence[str]) -> str:
    """How the compared runs' params line up, in one sentence true whatever they share: how
    many every run sets and whether those are identical, how many only some runs set (and
    which runs, when few groups of them do). `labels` name the runs, in evidence order."""
    rows, runs = evidence.params, len(evidence.run_ids)
    if not rows:
        return "No parameters were recorded for these runs."
    if runs == 1:
        return f"Only one run is compared; it records {_count(len(rows), 'parameter')}."
    shared, partial = evidence.shared_params, evidence.partial_params
    groups = _setter_groups(partial, runs, labels)
    if not shared:
        if groups is None:
            each = f"each of the {len(partial)} is set by only some of them"
            return f"The runs share no parameter: {each}."
        (count, which), *rest = groups
        listed = "".join(f", {other} {by}" for other, by in rest)
        return f"The runs share no parameter: {count} {_is(count)} set {which}{listed}."
    sentence = _shared_clause(shared, others=bool(partial))
    if partial:
        sentence += f"; {len(partial)} more {_is(len(partial))} set "
        if groups is not None and len(groups) == 1:
            sentence += groups[0][1]
        else:
            sentence += "by only some of the runs"
            if groups is not None:
                sentence += " (" + ", ".join(f"{count} {which}" for count, which in groups) + ")"
    return sentence + "."


def _shared_clause(shared: Sequence[ParamRow], *, others: bool) -> str:
    """What the params every run sets have in common; "shared" when others exist."""
    kind = "shared parameter" if others else "parameter"
    total, differing = len(shared), sum(row.differs for row in shared)
    if total == 1:
        if others:
            return f"The one {kind} " + ("differs" if differing else "is identical")
        if differing:
            return f"The one {kind} differs between the compared runs"
        return f"The one {kind} is identical across the compared runs"
    if differing == 0:
        return f"All {total} {kind}s are identical" + (
            "" if others else " across the compared runs"
        )
    if differing == total:
        return f"All {total} {kind}s differ"
    same = total - differing
    verb = "differs" if differing == 1 else "differ"
    return f"{differing} of the {total} {kind}s {verb}, {same} {_is(same)} identical"


def _setter_groups(
    partial: Sequence[ParamRow], runs: int, labels: Sequence[str]
) -> list[tuple[int, str]] | None:
    """(how many params, "by logreg only") for each set of runs setting some of `partial`, in
    run order; None when the groups are too many to list (or a param has no run setting it)."""
    groups = sorted(Counter(row.setters(runs) for row in partial).items())
    if len(groups) > MAX_NAMED_GROUPS or not all(setters for setters, _count in groups):
        return None
    return [(count, f"by {_run_names(setters, labels)} only") for setters, count in groups]


def _run_names(positions: Sequence[int], labels: Sequence[str]) -> str:
    names = [labels[index] if index < len(labels) else f"run {index + 1}" for index in positions]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _is(count: int) -> str:
    return "is" if count == 1 else "are"


def _count(count: int, noun: str) -> str:
    return f"{count} {noun}{'s' if count != 1 else ''}"


def data_difference(run_a: RunRecord, run_b: RunRecord) -> DataDifference:
    """How the inputs of two runs differ, stated in words."""
    a, b = run_a.inputs, run_b.inputs
    label_a, label_b = run_a.name, run_b.name
    if not a and not b:
        return DataDifference(
            run_a.run_id,
            run_b.run_id,
            "unknown",
            f"{label_a} and {label_b} recorded no data inputs.",
        )
    problems: list[str] = []
    kinds: list[str] = []
    only: list[str] = []
    # What the fitted models saw is the fallback: it tells of data changed inside the cell,
    # and would only repeat a difference the inputs already show.
    fitted = {name for name in set(a) | set(b) if _is_model_features(a.get(name), b.get(name))}
    _compare_inputs(run_a, run_b, sorted((set(a) | set(b)) - fitted), problems, kinds, only)
    if not problems:
        # A run without a fitted model (it failed first) says nothing about the features.
        _compare_features(run_a, run_b, sorted(fitted & set(a) & set(b)), problems, kinds)
    if problems:
        what = "features" if kinds[0] == FEATURES_DIFFER else "data"
        sentence = f"{label_a} and {label_b} were trained on different {what}: "
        sentence += "; ".join(problems + only)
        return DataDifference(run_a.run_id, run_b.run_id, kinds[0], sentence + ".")
    if only:
        # Not a data mismatch: one run read more (e.g. it got as far as the test set).
        sentence = f"{label_a} and {label_b} used the same data where both read it; " + (
            "; ".join(only)
        )
        return DataDifference(run_a.run_id, run_b.run_id, "different inputs", sentence + ".")
    return DataDifference(
        run_a.run_id, run_b.run_id, "same", f"{label_a} and {label_b} used the same data."
    )


def _is_model_features(*fingerprints: Any) -> bool:
    return any(
        isinstance(found, dict) and found.get("kind") == FEATURES_KIND for found in fingerprints
    )


def _compare_features(
    run_a: RunRecord,
    run_b: RunRecord,
    names: Sequence[str],
    problems: list[str],
    kinds: list[str],
) -> None:
    """Features the fitted models saw: by name when both know the names, else by number
    (a model fitted on an array has no names; that alone is no difference)."""
    for name in names:
        left, right = run_a.inputs[name], run_b.inputs[name]
        columns_a, columns_b = left.get("columns"), right.get("columns")
        if columns_a is not None and columns_b is not None:
            if columns_a == columns_b:
                continue
            problems.append(_changed_names(columns_a, columns_b, run_b.name, "feature"))
            kinds.append(FEATURES_DIFFER)
        elif left.get("shape") != right.get("shape"):
            problems.append(
                f"{_shape(left.get('shape'))} features in {run_a.name} but "
                f"{_shape(right.get('shape'))} in {run_b.name}"
            )
            kinds.append(FEATURES_DIFFER)


def _compare_inputs(
    run_a: RunRecord,
    run_b: RunRecord,
    names: Sequence[str],
    problems: list[str],
    kinds: list[str],
    only: list[str],
) -> None:
    a, b = run_a.inputs, run_b.inputs
    label_a, label_b = run_a.name, run_b.name
    for name in names:
        if name not in a or name not in b:
            only.append(f"`{name}` was read only by {label_a if name in a else label_b}")
            continue
        left, right = a[name], b[name]
        if left.get("hash") and left.get("hash") == right.get("hash"):
            continue
        columns_a, columns_b = left.get("columns"), right.get("columns")
        if columns_a is not None and columns_b is not None and columns_a != columns_b:
            problems.append(f"`{name}`: " + _changed_names(columns_a, columns_b, label_b, "column"))
            kinds.append("different columns")
        elif left.get("shape") != right.get("shape"):
            problems.append(
                f"`{name}` has shape {_shape(left.get('shape'))} in {label_a} but "
                f"{_shape(right.get('shape'))} in {label_b}"
            )
            kinds.append("different shape")
        else:
            problems.append(f"`{name}` has the same shape but different content")
            kinds.append("different content")


def _changed_names(names_a: Sequence[Any], names_b: Sequence[Any], label_b: str, noun: str) -> str:
    """Which columns (or features) one run lacks or adds, in words."""
    missing = [c for c in names_a if c not in names_b]
    added = [c for c in names_b if c not in names_a]
    parts = []
    if missing:
        plural = "s" if len(missing) > 1 else ""
        parts.append(f"{noun}{plural} {_names(missing)} missing in {label_b}")
    if added:
        plural = "s" if len(added) > 1 else ""
        parts.append(f"{noun}{plural} {_names(added)} only in {label_b}")
    return "; ".join(parts) or f"{noun}s in a different order"


def _names(columns: Sequence[Any], limit: int = 5) -> str:
    shown = ", ".join(f"`{column}`" for column in columns[:limit])
    return shown + (f" and {len(columns) - limit} more" if len(columns) > limit else "")


def _shape(shape: Any) -> str:
    if isinstance(shape, list | tuple):
        return "×".join(str(part) for part in shape)
    return str(shape)


def model_family(run: RunRecord) -> str | None:
    """The model class a run built (the tracker records `var = ClassName` plus `var.*`): a
    pipeline's final estimator, a search's estimator, else the class itself."""
    for key, value in run.params.items():
        if "." in key or not isinstance(value, str):
            continue
        prefix = key + "."
        if any(other.startswith(prefix) for other in run.params):
            for inner in ("final_estimator", "estimator"):
                found = run.params.get(prefix + inner)
                if isinstance(found, str):
                    return found
            return value
    return None
