"""The evidence of a finished cell: its metric calls, cross-validations and searches as
evaluations and candidates of the run.

Two steps, for the notebook's thread's sake. `collect_evidence` runs right after the cell:
it copies the arrays the calls received (they may change in the next cell) and reads the
searches the cell fitted; nothing heavier. `complete_evidence` runs on the writer thread:
fingerprints, sampling above the row bound and segment labels.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Final

from nbmodelbook.capture.metric_calls import ObservedCall
from nbmodelbook.capture.models import inspect_model
from nbmodelbook.capture.values import bounded_repr, numeric_value, to_json_safe
from nbmodelbook.record import Candidate, Evaluation, RunRecord


def _arrays() -> ModuleType:
    # Imported on the first evidence, not with the extension: it brings numpy and pandas.
    from nbmodelbook.capture import evidence_arrays

    return evidence_arrays


MAX_EVALUATIONS: Final = 100  # per run; more calls keep their values as metrics only
MAX_CANDIDATES: Final = 10_000
MAX_SEGMENT_FRAMES: Final = 3
MAX_CELL_BYTES: Final = 512 * 2**20  # copies of predictions held per cell
_ROLE_ARGUMENTS: Final = ("y_true", "y_score", "y_pred", "y_proba", "y_prob", "pred_decision")
_OPTION_TYPES: Final = (bool, int, float, str)


@dataclass(slots=True)
class CollectedEvidence:
    """What the notebook's thread took of a cell's evidence, for the writer thread to finish."""

    evaluations: list[Evaluation] = field(default_factory=list)
    segment_columns: list[dict[str, Any]] = field(default_factory=list)  # one per evaluation
    # Per evaluation: segments given explicitly (`log_predictions(segments=...)`).
    given_segments: dict[int, frozenset[str]] = field(default_factory=dict)
    candidates: list[Candidate] = field(default_factory=list)
    metrics: dict[str, float] = field(default_factory=dict)  # unassigned calls' values
    notes: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.evaluations or self.candidates or self.metrics or self.notes)


def collect_evidence(
    calls: list[ObservedCall],
    user_ns: Mapping[str, Any],
    *,
    bound: Iterable[str],
    searches: Iterable[str] = (),
    declared_segments: Collection[str] = (),
    frames: Iterable[str] = (),
    inputs: Mapping[str, Mapping[str, Any]] | None = None,
    skipped: int = 0,
) -> CollectedEvidence:
    """The evidence of the observed `calls` and of the fitted `searches` (notebook names).

    `bound`: the names the cell bound, where a metric's value is looked for (`auc = f(...)`);
    `frames`: names of DataFrames the cell read, whose columns may segment the rows;
    `inputs`: the run's data fingerprints, for the frame predictions came from."""
    evidence = CollectedEvidence()
    bound = frozenset(bound)
    receivers = _receivers(user_ns, bound)
    frame_values = [user_ns[name] for name in frames if _is_frame(user_ns.get(name))]
    defaults: dict[str, int] = {}
    groups: dict[tuple[str, int | str, str], int] = {}  # (source, place, scorer) -> group
    loop_evaluations: dict[int | str, list[tuple[Evaluation, dict[str, Any]]]] = {}
    for call in calls:
        try:
            if call.spec.role == "folds":
                _add_folds(evidence, call, groups)
                continue
            if len(evidence.evaluations) >= MAX_EVALUATIONS or call.skipped == _BEYOND:
                skipped += 1
                continue
            evaluation, columns = _evaluation(
                call, frame_values, declared_segments, inputs or {}, bound
            )
        except _Skip as reason:
            evidence.notes.append(f"{call.spec.qualified}: {reason}")
            continue
        except Exception as exc:  # an exotic input: the run notes it, the cell is unharmed
            evidence.notes.append(
                f"{call.spec.qualified}: not kept ({type(exc).__name__}: {bounded_repr(exc)})"
            )
            continue
        evaluation.metric, assigned = _metric_name(call, receivers, defaults)
        if not assigned and evaluation.value is not None:
            evidence.metrics.setdefault(evaluation.metric, evaluation.value)
        evidence.evaluations.append(evaluation)
        evidence.segment_columns.append(columns)
        if call.loop_values and call.site is not None:
            loop_evaluations.setdefault(call.site.line, []).append((evaluation, call.loop_values))
    _add_loop_candidates(evidence, loop_evaluations, groups)
    _add_cv_metrics(evidence, receivers)
    for name in searches:
        try:
            group = groups.setdefault(("search", name, ""), len(groups))
            _add_search(evidence, user_ns.get(name), group)
        except Exception as exc:
            evidence.notes.append(f"{name}: search results not kept ({type(exc).__name__})")
    if skipped:
        evidence.notes.append(
            f"{skipped} more metric calls were not kept (at most {MAX_EVALUATIONS})"
        )
    return evidence


def complete_evidence(
    record: RunRecord,
    collected: CollectedEvidence,
    *,
    max_rows: int,
    declared_segments: Collection[str] = (),
) -> RunRecord:
    """Finish the evidence on the writer thread: fingerprints, samples, segment labels."""
    pairs = zip(collected.evaluations, collected.segment_columns, strict=True)
    kept = []
    for position, (evaluation, columns) in enumerate(pairs):
        declared = set(declared_segments) | collected.given_segments.get(position, frozenset())
        try:
            _storable(evaluation)
        except Exception as exc:
            collected.notes.append(f"{evaluation.function}: not kept ({exc})")
            continue
        try:
            _complete(evaluation, columns, max_rows, declared)
        except Exception as exc:
            collected.notes.append(
                f"{evaluation.function}: segments not kept ({type(exc).__name__})"
            )
            evaluation.segments = {}
        kept.append(evaluation)
    record.evaluations = kept
    record.candidates = list(collected.candidates)
    if collected.notes:
        record.extra["evidence_notes"] = list(collected.notes)
    return record


def _complete(
    evaluation: Evaluation,
    columns: Mapping[str, Any],
    max_rows: int,
    declared: Collection[str],
) -> None:
    evaluation.rows_fingerprint = _arrays().rows_fingerprint(evaluation.y_true)
    rows = _arrays().stratified_sample(evaluation.y_true, max_rows)
    if rows is not None:
        evaluation.y_true = evaluation.y_true[rows]
        for attribute in ("y_score", "y_pred", "sample_weight"):
            value = getattr(evaluation, attribute)
            if value is not None:
                setattr(evaluation, attribute, value[rows])
        columns = {name: _take(column, rows) for name, column in columns.items()}
    evaluation.segments = _arrays().label_segments(columns, declared) if columns else {}


def _storable(evaluation: Evaluation) -> None:
    """Arrays as the store keeps them: labels held as Python objects become text (the store
    keeps text labels, not objects); ArrayNotEncodable (saying why) for what it cannot keep."""
    from nbmodelbook.store.arrays import prepare_array

    for name in ("y_true", "y_score", "y_pred", "sample_weight"):
        array = getattr(evaluation, name)
        if array is None:
            continue
        if array.dtype.kind == "O":
            array = array.astype(str)
            setattr(evaluation, name, array)
        prepare_array(array, what=name)


def _take(column: Any, rows: Any) -> Any:
    take = getattr(column, "take", None)
    return take(rows) if callable(take) else column[rows]


# --------------------------------------------------------------------------- evaluations


class _Skip(Exception):
    """An evaluation that cannot be kept (the message says why)."""


_BEYOND: Final = "beyond the bound"


class CallSnapshots:
    """Copies what each observed metric call received, as it returns: code later in the cell
    may change those arrays in place (`buffer[:] = scores > t` in a loop). Bounded: at most
    MAX_EVALUATIONS calls and MAX_CELL_BYTES of copies per cell; beyond, calls keep their
    values as metrics only, with a note."""

    def __init__(self, max_bytes: int | None = None) -> None:
        self.max_bytes = MAX_CELL_BYTES if max_bytes is None else max_bytes
        self._taken = 0
        self._bytes = 0

    def reset(self) -> None:
        self._taken = self._bytes = 0

    def __call__(self, call: ObservedCall) -> None:
        if call.spec.role == "folds":
            # The estimator's params now: a loop may set_params() on the same object.
            with contextlib.suppress(Exception):
                call.taken["params"] = fold_params(call)
            return
        if self._taken >= MAX_EVALUATIONS:
            call.skipped = _BEYOND
            return
        if self._bytes >= self.max_bytes:
            call.skipped = (
                f"not kept: the cell's metric calls received more than "
                f"{self.max_bytes // 2**20} MB of predictions"
            )
            return
        try:
            take_arrays(call)
        except _Skip as reason:
            call.skipped = str(reason)
            return
        except Exception as exc:
            call.skipped = f"not kept ({type(exc).__name__}: {bounded_repr(exc)})"
            return
        self._taken += 1
        self._bytes += sum(int(getattr(array, "nbytes", 0)) for array in call.taken.values())


def take_arrays(call: ObservedCall) -> None:
    """Copy the arrays `call` received into `call.taken` (y_true, y_score or y_pred, the
    scores a thresholded prediction came from, sample_weight); the other arguments as
    options. _Skip (saying why) when they cannot be kept."""
    arguments = _arguments(call)
    truth = arguments.pop("y_true", None)
    if truth is None:
        raise _Skip("no y_true among its arguments")
    predictions = next(
        (arguments.pop(key) for key in _ROLE_ARGUMENTS[1:] if key in arguments), None
    )
    if predictions is None:
        raise _Skip("no predictions among its arguments")
    weight = arguments.pop("sample_weight", None)
    taken: dict[str, Any] = {"y_true": _copy(truth)}
    if call.spec.role == "score":
        taken["y_score"] = _copy(predictions, allow_2d=True)
    else:
        taken["y_pred"] = _copy(predictions)
        site = call.site
        if site is not None and site.threshold is not None and call.scores is not None:
            with contextlib.suppress(_Skip):
                scores = _copy(call.scores)
                if len(scores) == len(taken["y_true"]):
                    taken["scores"] = scores
    if weight is not None:
        taken["sample_weight"] = _copy(weight)
    rows = len(taken["y_true"])
    for name, value in taken.items():
        if len(value) != rows:
            raise _Skip(f"{name} has {len(value)} rows, y_true {rows}")
    options: dict[str, Any] = {}
    for key, value in arguments.items():
        option = to_json_safe(value)
        if isinstance(option, _OPTION_TYPES) or option is None or _short_list(option):
            options[key] = option
    call.taken = {**taken, "options": options, "index": getattr(truth, "index", None)}
    call.taken["pandas_truth"] = type(truth).__module__.startswith("pandas")


def _evaluation(
    call: ObservedCall,
    frames: list[Any],
    declared: Collection[str],
    inputs: Mapping[str, Mapping[str, Any]],
    bound: Collection[str],
) -> tuple[Evaluation, dict[str, Any]]:
    if call.skipped is not None:
        raise _Skip(call.skipped)
    if not call.taken:
        take_arrays(call)
    taken = call.taken
    y_true = taken["y_true"]
    evaluation = Evaluation(
        function=call.spec.qualified,
        metric="",
        value=numeric_value(call.result),
        y_true=y_true,
        y_score=taken.get("y_score", taken.get("scores")),
        y_pred=taken.get("y_pred"),
        sample_weight=taken.get("sample_weight"),
        options=dict(taken["options"]),
        n_total=len(y_true),
    )
    site = call.site
    if site is not None and site.threshold is not None:
        evaluation.options["threshold"] = site.threshold
        evaluation.options["threshold_op"] = site.threshold_op
    # The fingerprint taken before the cell, unless the cell bound the frame anew.
    if site is not None and site.features_name is not None and site.features_name not in bound:
        fingerprint = inputs.get(site.features_name, {}).get("hash")
        if isinstance(fingerprint, str):
            evaluation.features_fingerprint = fingerprint
    columns: dict[str, Any] = {}
    if taken["pandas_truth"] and taken["index"] is not None:
        columns = _segment_columns(taken["index"], call.features, frames, declared)
    return evaluation, columns


def _arguments(call: ObservedCall) -> dict[str, Any]:
    """The call's arguments by parameter name (positional ones named by the signature)."""
    names = _parameter_names(call)
    arguments = dict(zip(names, call.args, strict=False))
    arguments.update(call.kwargs)
    if "y1" in arguments and "y_true" not in arguments:  # cohen_kappa_score(y1, y2)
        arguments["y_true"], arguments["y_pred"] = arguments.pop("y1"), arguments.pop("y2", None)
    return arguments


_SIGNATURES: dict[str, tuple[str, ...]] = {}


def _parameter_names(call: ObservedCall) -> tuple[str, ...]:
    key = f"{call.spec.module}.{call.spec.qualified}"
    names = _SIGNATURES.get(key)
    if names is None:
        import inspect
        import sys

        module = sys.modules.get(call.spec.module)
        owner = getattr(module, call.spec.owner, None) if call.spec.owner else module
        function = getattr(owner, call.spec.name, None)
        try:
            parameters = inspect.signature(function).parameters  # type: ignore[arg-type]
            names = tuple(
                name
                for name, parameter in parameters.items()
                if parameter.kind in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD)
            )
        except (TypeError, ValueError):
            names = ("y_true", "y_score" if call.spec.role == "score" else "y_pred")
        _SIGNATURES[key] = names
    return names


def _copy(value: Any, *, allow_2d: bool = False) -> Any:
    try:
        return _arrays().as_vector(value, allow_2d=allow_2d)
    except Exception as exc:
        raise _Skip(str(exc)) from None


def _short_list(value: Any) -> bool:
    return (
        isinstance(value, list)
        and len(value) <= 50
        and all(isinstance(item, _OPTION_TYPES) for item in value)
    )


def _is_frame(value: object) -> bool:
    return type(value).__name__ == "DataFrame" and type(value).__module__.startswith("pandas")


def _segment_columns(
    index: Any, features: Any, frames: list[Any], declared: Collection[str]
) -> dict[str, Any]:
    columns: dict[str, Any] = {}
    candidates = [features] if _is_frame(features) else []
    candidates += [frame for frame in frames if frame is not features]
    for frame in candidates[:MAX_SEGMENT_FRAMES]:
        for name, column in _arrays().take_segment_columns(frame, index, list(declared)).items():
            columns.setdefault(name, column)
    return columns


# --------------------------------------------------------------------------- names


def _receivers(user_ns: Mapping[str, Any], bound: Iterable[str]) -> dict[int, str]:
    """id(value) -> the name holding it: the cell's variables and their dicts' entries."""
    found: dict[int, str] = {}
    for name in sorted(bound):
        if name.startswith("_"):
            continue
        value = user_ns.get(name)
        if value is None:
            continue
        if numeric_value(value) is not None:
            found.setdefault(id(value), name)
        elif isinstance(value, dict) and len(value) <= 1000:
            for key, item in value.items():
                if numeric_value(item) is not None:
                    found.setdefault(id(item), f"{name}.{key}")
    return found


def _metric_name(
    call: ObservedCall, receivers: Mapping[int, str], used: dict[str, int]
) -> tuple[str, bool]:
    """The variable that holds the call's value; else the one its statement assigns; else
    the function's metric name, not assigned (the run gains it as a metric). And whether the
    cell assigned it."""
    # The statement's own target first: another name may hold the same object
    # (`best = max(train_auc, test_auc)`).
    if call.site is not None and call.site.target is not None:
        return call.site.target, True
    held = receivers.get(id(call.result))
    if held is not None:
        return held, True
    base = call.spec.metric
    count = used.get(base, 0) + 1
    used[base] = count
    return (base if count == 1 else f"{base} ({count})"), False


# --------------------------------------------------------------------------- folds


def _add_folds(
    evidence: CollectedEvidence,
    call: ObservedCall,
    groups: dict[tuple[str, int | str, str], int],
) -> None:
    params = call.taken.get("params")
    if params is None:
        params = fold_params(call)
    scoring = _arguments(call).get("scoring")
    place: int | str = call.site.line if call.site is not None else f"call {call.order}"
    for scorer, scores in _fold_scores(call.result, scoring):
        # One series per call site and scorer: a loop's calls are its candidates.
        group = groups.setdefault((call.spec.name, place, scorer), len(groups))
        index = sum(1 for candidate in evidence.candidates if candidate.group == group)
        evidence.candidates.append(
            Candidate(
                source=call.spec.name,
                group=group,
                index=index,
                params=params,
                scorer=scorer,
                fold_scores=scores,
                mean_score=_mean(scores),
            )
        )


def fold_params(call: ObservedCall) -> dict[str, Any]:
    """The configuration a cross-validation call evaluated: its estimator's params."""
    estimator = _arguments(call).get("estimator")
    found = inspect_model(estimator) if estimator is not None else None
    if found is None:
        return {}
    return {"model": found[0].rsplit(".", 1)[-1], **found[1]}


def _fold_scores(result: Any, scoring: Any) -> list[tuple[str, list[float]]]:
    if isinstance(result, Mapping):  # cross_validate: test_score, or test_<name> per scorer
        found = []
        for key, values in result.items():
            if isinstance(key, str) and key.startswith("test_"):
                name = key.removeprefix("test_")
                scorer = _scorer_name(scoring) if name == "score" else name
                found.append((scorer, _floats(values)))
        return found
    return [(_scorer_name(scoring), _floats(result))]


def _scorer_name(scoring: Any) -> str:
    if scoring is None:
        return "score"
    if isinstance(scoring, str):
        return scoring
    inner = getattr(scoring, "_score_func", None)
    return str(getattr(inner or scoring, "__name__", type(scoring).__name__))


def _floats(values: Any) -> list[float]:
    numbers = [numeric_value(item) for item in list(values)]
    if any(number is None for number in numbers):
        raise _Skip("fold scores are not numbers")
    return [float(number) for number in numbers if number is not None]


def _mean(scores: list[float]) -> float | None:
    finite = [score for score in scores if math.isfinite(score)]
    return sum(finite) / len(finite) if finite and len(finite) == len(scores) else None


def _add_cv_metrics(evidence: CollectedEvidence, receivers: Mapping[int, str]) -> None:
    """A single cross-validation (not a loop of them) gives the run its mean score as
    `cv_<scorer>`, unless the cell kept that figure under a name of its own."""
    by_group: dict[tuple[int, str], list[Candidate]] = {}
    for candidate in evidence.candidates:
        if candidate.source in ("cross_val_score", "cross_validate"):
            by_group.setdefault((candidate.group, candidate.scorer), []).append(candidate)
    for (_group, scorer), found in by_group.items():
        if len(found) != 1 or found[0].mean_score is None:
            continue
        evidence.metrics.setdefault(f"cv_{scorer}", found[0].mean_score)


def _add_loop_candidates(
    evidence: CollectedEvidence,
    loops: Mapping[int | str, list[tuple[Evaluation, dict[str, Any]]]],
    groups: dict[tuple[str, int | str, str], int],
) -> None:
    """Several evaluations from one line of a loop: the configurations the loop tried."""
    for line, found in loops.items():
        if len(found) < 2 or len({repr(sorted(values.items())) for _e, values in found}) < 2:
            continue
        group = groups.setdefault(("loop", line, ""), len(groups))
        for index, (evaluation, values) in enumerate(found):
            if evaluation.value is None:
                continue
            evidence.candidates.append(
                Candidate(
                    source="loop",
                    group=group,
                    index=index,
                    params={key: to_json_safe(value) for key, value in values.items()},
                    scorer=evaluation.function,
                    fold_scores=[evaluation.value],
                    mean_score=evaluation.value,
                )
            )


def _add_search(evidence: CollectedEvidence, search: Any, group: int) -> None:
    """Every candidate of a fitted search, with its fold scores and the refit choice."""
    results = getattr(search, "cv_results_", None)
    if not isinstance(results, Mapping) or "params" not in results:
        return
    refit = getattr(search, "refit", True)
    scorer_key = refit if isinstance(refit, str) else "score"
    scoring = getattr(search, "scoring", None)
    scorer = scorer_key if isinstance(refit, str) else _scorer_name(scoring)
    if f"mean_test_{scorer_key}" not in results:
        # Several scorers and a callable (or no) refit: the first scorer, by name.
        names = sorted(
            key.removeprefix("mean_test_") for key in results if key.startswith("mean_test_")
        )
        if not names:
            return
        scorer_key = scorer = names[0]
    # Successive halving evaluates candidates again on more data: each round is a row.
    rounds = [name for name in ("iter", "n_resources") if name in results]
    folds = sorted(
        (int(key.split("_", 1)[0].removeprefix("split")), key)
        for key in results
        if isinstance(key, str)
        and key.startswith("split")
        and key.endswith(f"_test_{scorer_key}")
        and key.split("_", 1)[0].removeprefix("split").isdigit()
    )
    # A search fitted with refit=False keeps no model: its best candidate was never chosen.
    best = getattr(search, "best_index_", None) if getattr(search, "refit", True) else None
    params_list = list(results["params"])[:MAX_CANDIDATES]
    for index, params in enumerate(params_list):
        scores = [numeric_value(results[key][index]) for _fold, key in folds]
        fold_scores = [math.nan if score is None else score for score in scores]
        evidence.candidates.append(
            Candidate(
                source=type(search).__name__,
                group=group,
                index=index,
                params={
                    **{str(key): to_json_safe(value) for key, value in dict(params).items()},
                    **{name: to_json_safe(results[name][index]) for name in rounds},
                },
                scorer=scorer,
                fold_scores=fold_scores,
                chosen=best is not None and index == int(best),
                mean_score=_mean_of(results, scorer_key, index),
            )
        )


def _mean_of(results: Mapping[str, Any], scorer_key: str, index: int) -> float | None:
    means = results.get(f"mean_test_{scorer_key}")
    return numeric_value(means[index]) if means is not None and index < len(means) else None


# --------------------------------------------------------------------------- explicit


def logged_evaluation(
    evidence: CollectedEvidence,
    y_true: Any,
    *,
    y_score: Any = None,
    y_pred: Any = None,
    metric: str,
    value: float | None = None,
    sample_weight: Any = None,
    segments: Mapping[str, Any] | None = None,
) -> Evaluation:
    """Add an evaluation given explicitly (`mb.log_predictions`); raises on unusable input."""
    if y_score is None and y_pred is None:
        raise ValueError(
            "log_predictions needs y_score (scores or probabilities) or y_pred (predicted "
            "labels or values)"
        )
    if not isinstance(metric, str) or not metric.strip():
        raise ValueError("log_predictions needs metric=NAME, the run metric these predictions back")
    truth = _arrays().as_vector(y_true)
    evaluation = Evaluation(
        function="log_predictions",
        metric=metric.strip(),
        value=None if value is None else numeric_value(value),
        y_true=truth,
        y_score=None if y_score is None else _arrays().as_vector(y_score, allow_2d=True),
        y_pred=None if y_pred is None else _arrays().as_vector(y_pred),
        sample_weight=None if sample_weight is None else _arrays().as_vector(sample_weight),
        n_total=len(truth),
    )
    if value is not None and evaluation.value is None:
        raise ValueError(f"value must be a real number, got {type(value).__name__}")
    for name in ("y_score", "y_pred", "sample_weight"):
        array = getattr(evaluation, name)
        if array is not None and len(array) != len(truth):
            raise ValueError(f"{name} has {len(array)} rows but y_true has {len(truth)}")
    columns: dict[str, Any] = {}
    for name, labels in (segments or {}).items():
        column = _segment_copy(labels)
        if len(column) != len(truth):
            raise ValueError(f"segment {name!r} has {len(column)} rows but y_true has {len(truth)}")
        columns[str(name)] = column
    evidence.given_segments[len(evidence.evaluations)] = frozenset(columns)
    evidence.evaluations.append(evaluation)
    evidence.segment_columns.append(columns)
    return evaluation


def _segment_copy(labels: Any) -> Any:
    """A copy of given segment labels; a pandas categorical keeps its categories' order."""
    values = getattr(labels, "array", labels)  # a Series' own array
    if type(values).__name__ == "Categorical" and hasattr(values, "copy"):
        return values.copy()
    return _arrays().as_vector(labels)
