"""The integrity audit, check by check: an input that must raise each finding, and the nearest
input that must not.

Every review here is built the way the exporter builds one: an nbformat notebook (tracked code
cells saved with the run markers their executions left, markdown annotations) and the run records
capture writes, passed through `parse_annotations` and `build_review`.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
import re
from collections.abc import Sequence
from typing import Any

import pandas as pd
import pytest
from nbformat import NotebookNode
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output
from sklearn.linear_model import LogisticRegression

from nbmodelbook.capture.fingerprint import fingerprint
from nbmodelbook.capture.models import fitted_features
from nbmodelbook.capture.namespace import MODEL_FEATURES
from nbmodelbook.record import LineageCell, RunRecord, RunStatus, code_hash
from nbmodelbook.report import audit
from nbmodelbook.report.annotations import parse_annotations
from nbmodelbook.report.audit import SELECTION_EFFECT_RUNS
from nbmodelbook.report.build import build_review
from nbmodelbook.report.model import Finding, Review, Severity
from nbmodelbook.run_marker import RUN_MIMETYPE, run_marker
from tests.report.findings import codes, findings_of, the_finding
from tests.report.test_audit_evidence import EVIDENCE_CODES
from tests.report.test_criteria import CRITERIA_CODES
from tests.report.test_render import make_run

CREDIT = pd.DataFrame(
    {"age": [31, 45, 27, 52], "income": [52.0, 81.5, 33.0, 64.2], "debt": [0, 1, 0, 1]}
)
TARGET = [0, 1, 0, 1]
SAME_DATA = {"frame": fingerprint(CREDIT)}
LOAD = "frame = load_credit_data()"

# ---------------------------------------------------------------------------------------------
# Building reviews as the exporter does


def tracked_run(index: int, name: str, **fields: Any) -> RunRecord:
    """A run as capture records it: its code is the whole cell, `%%track` line included."""
    run = make_run(index, name, **fields)
    source = f"%%track {name}\n{run.code}"
    return dataclasses.replace(run, code=source, code_hash=code_hash(source))


def saved_cell(run: RunRecord, *, source: str | None = None) -> NotebookNode:
    """The code cell `run` came from, as saved after it ran (its id, its run marker in the
    outputs); `source` is what the cell shows when it was edited since."""
    marker = new_output(
        "display_data",
        data={RUN_MIMETYPE: run_marker(run), "text/plain": ""},
        metadata={RUN_MIMETYPE: {"run_id": run.run_id}},
    )
    cell = new_code_cell(run.code if source is None else source, outputs=[marker])
    cell.id = run.cell_id
    return cell


def plain_cell(source: str, cell_id: str) -> NotebookNode:
    cell = new_code_cell(source)
    cell.id = cell_id
    return cell


def lineage_of(cell: NotebookNode, execution_count: int) -> LineageCell:
    """The lineage entry capture writes for a run that read what `cell` defined."""
    return LineageCell(
        execution_count=execution_count,
        cell_id=cell.id,
        code_hash=code_hash(cell.source),
        code=cell.source,
        defines=["frame"],
        reads=[],
    )


def annotation(kind: str, title: str, body: str = "") -> NotebookNode:
    lines = [f"> [!{kind}] {title}", *(f"> {line}" for line in body.splitlines())]
    return new_markdown_cell("\n".join(lines))


def review_of(*cells: NotebookNode, runs: Sequence[RunRecord]) -> Review:
    notebook = new_notebook(cells=list(cells))
    annotations, problems = parse_annotations(notebook)
    assert problems == []  # every input here is a well-formed notebook
    by_id = {run.run_id: run for run in runs}
    return build_review(notebook, "credit.ipynb", by_id, annotations, problems)


def lineage_findings(review: Review) -> list[Finding]:
    """The findings, but for the advice to add an acceptance criterion (these runs have no
    evaluations for one to be checked on; tests/report/test_criteria.py covers it)."""
    return [f for f in review.findings if f.code != "no-acceptance-criterion"]


def forest_and_logreg(**chosen: Any) -> tuple[RunRecord, RunRecord]:
    """The chosen forest (auc 0.91) and the logistic regression it beat (auc 0.85)."""
    fields: dict[str, Any] = {"metrics": {"auc": 0.91}, "inputs": SAME_DATA, **chosen}
    forest = tracked_run(1, "forest", **fields)
    logreg = tracked_run(2, "logreg", metrics={"auc": 0.85}, inputs=SAME_DATA)
    return forest, logreg


def choose_forest() -> NotebookNode:
    return annotation("DECISION", "Random forest for production", "run:forest over run:logreg.")


def test_a_clean_notebook_raises_no_finding() -> None:
    """The nearest input of every negative case below: nothing in it is wrong."""
    load = plain_cell(LOAD, "load")
    forest, logreg = forest_and_logreg(lineage=[lineage_of(load, 1)])
    review = review_of(
        load, saved_cell(forest), saved_cell(logreg), choose_forest(), runs=[forest, logreg]
    )
    assert lineage_findings(review) == []
    assert review.chosen_run_id == forest.run_id


TESTED_CODES = {
    "edited-after-run",
    "lineage-deleted",
    "lineage-out-of-order",
    "lineage-edited",
    "different-features",
    "different-data",
    "chosen-failed",
    "chosen-not-best",
    "selection-effect",
    "unknown-run",
    "unknown-metric",
    "decision-without-evidence",
    "failed-runs-unmentioned",
}


def test_every_check_of_the_audit_has_its_cases_here() -> None:
    """A new check (a new finding code in audit.py) must come with its tests in this file, or
    in test_audit_evidence.py for the checks that read the evidence figures, or in
    test_criteria.py for the acceptance criteria."""
    in_audit = set(re.findall(r'"([a-z]+(?:-[a-z]+)+)"', inspect.getsource(audit)))
    assert in_audit == TESTED_CODES | EVIDENCE_CODES | CRITERIA_CODES


# ---------------------------------------------------------------------------------------------
# edited-after-run


def test_a_cited_cell_edited_after_its_run_is_high() -> None:
    forest, logreg = forest_and_logreg()
    edited = forest.code.replace("model.fit(X, y)", "model.fit(X_small, y_small)")
    review = review_of(
        saved_cell(forest, source=edited),
        saved_cell(logreg),
        choose_forest(),
        runs=[forest, logreg],
    )
    finding = the_finding(review, "edited-after-run")
    assert finding.severity is Severity.HIGH
    assert finding.cell_index == 0
    assert finding.run_ids == (forest.run_id,)
    assert finding.title == "Cell 1 was edited after its last run"
    assert finding.detail.startswith(
        "The code in cell 1 no longer matches the code that produced "
        f"{review.run_label(forest.run_id)}: the results in this report come from a different"
    )


def test_an_uncited_cell_edited_after_its_run_is_medium() -> None:
    forest, logreg = forest_and_logreg()
    svm = tracked_run(3, "svm", metrics={"auc": 0.8}, inputs=SAME_DATA)
    review = review_of(
        saved_cell(forest),
        saved_cell(logreg),
        saved_cell(svm, source=svm.code + "\nprint('tweaked')"),
        choose_forest(),
        runs=[forest, logreg, svm],
    )
    finding = the_finding(review, "edited-after-run")
    assert finding.severity is Severity.MEDIUM
    assert finding.cell_index == 2
    assert finding.run_ids == (svm.run_id,)
    assert review.run_label(svm.run_id) in finding.detail


def test_a_cell_edited_then_run_again_is_not_edited_after_its_run() -> None:
    """The cell shows the code of its latest run: an older run of an older version is history."""
    before = tracked_run(1, "forest", metrics={"auc": 0.88}, inputs=SAME_DATA, cell_id="cell-rf")
    after = tracked_run(2, "forest", metrics={"auc": 0.91}, inputs=SAME_DATA, cell_id="cell-rf")
    logreg = tracked_run(3, "logreg", metrics={"auc": 0.85}, inputs=SAME_DATA)
    assert before.code_hash != after.code_hash
    review = review_of(
        saved_cell(after), saved_cell(logreg), choose_forest(), runs=[before, after, logreg]
    )
    assert review.chosen_run_id == after.run_id  # run:forest is the latest run of that name
    assert "edited-after-run" not in codes(review)


def test_a_chosen_run_from_an_earlier_version_of_its_cell_is_flagged() -> None:
    """The committee is told the notebook reproduces a model it no longer shows the code of."""
    chosen = tracked_run(1, "forest", metrics={"auc": 0.91}, inputs=SAME_DATA, cell_id="cell-rf")
    later = tracked_run(2, "forest", metrics={"auc": 0.88}, inputs=SAME_DATA, cell_id="cell-rf")
    decision = annotation(
        "DECISION", "The first forest", f"run:{chosen.short_id} over run:{later.short_id}."
    )
    review = review_of(saved_cell(later), decision, runs=[chosen, later])
    assert review.chosen_run_id == chosen.run_id
    assert any(
        finding.severity is Severity.HIGH and chosen.run_id in finding.run_ids
        for finding in review.findings
    ), review.findings
    finding = the_finding(review, "edited-after-run")  # the cell shows the latest run's code
    assert finding.run_ids == (chosen.run_id,)
    assert finding.cell_index == 0
    assert finding.title == "Cell 1 no longer shows the code of the chosen run"
    assert finding.detail.startswith(
        f"The chosen run {review.run_label(chosen.run_id)} came from an earlier version of "
        "cell 1, which was edited and run again since: the code the cell shows now is not the "
        "code of the chosen model."
    )


def test_a_cited_alternative_from_an_earlier_version_of_its_cell_is_medium() -> None:
    """The chosen run matches its cell; the alternative it beat was an older version of it."""
    earlier = tracked_run(1, "forest", metrics={"auc": 0.88}, inputs=SAME_DATA, cell_id="cell-rf")
    chosen = tracked_run(2, "forest", metrics={"auc": 0.91}, inputs=SAME_DATA, cell_id="cell-rf")
    decision = annotation(
        "DECISION", "The tuned forest", f"run:forest over run:{earlier.short_id}."
    )
    review = review_of(saved_cell(chosen), decision, runs=[earlier, chosen])
    assert review.chosen_run_id == chosen.run_id
    finding = the_finding(review, "edited-after-run")
    assert finding.severity is Severity.MEDIUM
    assert finding.run_ids == (earlier.run_id,)
    assert finding.title == "Cell 1 no longer shows the code of cited run forest"
    assert finding.detail.startswith(
        f"{review.run_label(earlier.run_id)}, cited as evidence, came from an earlier version of "
        "cell 1"
    )


# ---------------------------------------------------------------------------------------------
# lineage-deleted, lineage-out-of-order, lineage-edited


def lineage_review(
    load_cell: NotebookNode | None, *, load_below: bool = False
) -> tuple[Review, RunRecord, RunRecord]:
    """Forest and logreg both read `frame` from the load cell as it was when they ran; the
    notebook now has `load_cell` (None: deleted) above them, or below with `load_below`."""
    original = plain_cell(LOAD, "load")
    forest, logreg = forest_and_logreg(lineage=[lineage_of(original, 1)])
    logreg = dataclasses.replace(logreg, lineage=[lineage_of(original, 1)])
    title = new_markdown_cell("# Credit default model")
    tracked = [saved_cell(forest), saved_cell(logreg)]
    if load_cell is None:
        cells = [title, *tracked]
    elif load_below:
        cells = [title, *tracked, load_cell]
    else:
        cells = [title, load_cell, *tracked]
    return review_of(*cells, choose_forest(), runs=[forest, logreg]), forest, logreg


def test_a_deleted_lineage_cell_is_high_for_the_chosen_run_and_medium_for_the_alternative() -> None:
    review, forest, logreg = lineage_review(None)
    by_run = {finding.run_ids: finding for finding in findings_of(review, "lineage-deleted")}
    assert set(by_run) == {(forest.run_id,), (logreg.run_id,)}
    chosen, alternative = by_run[(forest.run_id,)], by_run[(logreg.run_id,)]
    assert chosen.severity is Severity.HIGH and alternative.severity is Severity.MEDIUM
    assert chosen.cell_index == 1 and alternative.cell_index == 2  # the runs' own cells
    assert chosen.title == "forest depended on code that is no longer in the notebook"
    assert chosen.detail.startswith(
        f"{review.run_label(forest.run_id)} used state defined by 1 cell(s) (In[1]) that no "
        "longer exist in the notebook"
    )
    assert {"lineage-edited", "lineage-out-of-order"}.isdisjoint(codes(review))


def test_a_lineage_cell_still_in_the_notebook_is_not_deleted() -> None:
    review, _forest, _logreg = lineage_review(plain_cell(LOAD, "load"))
    assert lineage_findings(review) == []


def test_a_lineage_cell_pasted_into_a_new_cell_is_found_by_its_code() -> None:
    """Cut and paste gives the cell a new id; the same code is the same cell."""
    review, _forest, _logreg = lineage_review(plain_cell(LOAD, "pasted"))
    assert lineage_findings(review) == []


def test_lineage_of_runs_nobody_cites_is_not_audited() -> None:
    """Only the runs a decision rests on are checked for the code they depended on."""
    load = plain_cell(LOAD, "load")
    forest, logreg = forest_and_logreg(lineage=[lineage_of(load, 1)])
    gone = plain_cell("scaler = make_scaler()", "gone")
    svm = tracked_run(3, "svm", metrics={"auc": 0.8}, lineage=[lineage_of(gone, 2)])
    review = review_of(
        load,
        saved_cell(forest),
        saved_cell(logreg),
        saved_cell(svm),
        choose_forest(),
        runs=[forest, logreg, svm],
    )
    assert "lineage-deleted" not in codes(review)


def test_a_lineage_cell_below_the_run_is_out_of_order() -> None:
    review, forest, logreg = lineage_review(plain_cell(LOAD, "load"), load_below=True)
    found = findings_of(review, "lineage-out-of-order")
    assert [finding.run_ids for finding in found] == [(forest.run_id,), (logreg.run_id,)]
    chosen = found[0]
    assert chosen.severity is Severity.HIGH and found[1].severity is Severity.MEDIUM
    assert chosen.cell_index == 1
    assert chosen.title == "forest depended on cells further down the notebook"
    assert chosen.detail.startswith(
        f"{review.run_label(forest.run_id)} read state defined by cell 4, which come after "
        "its own cell"
    )
    assert {"lineage-deleted", "lineage-edited"}.isdisjoint(codes(review))


def test_a_lineage_cell_directly_above_the_run_is_in_order() -> None:
    original = plain_cell(LOAD, "load")
    forest, logreg = forest_and_logreg(lineage=[lineage_of(original, 1)])
    review = review_of(
        saved_cell(logreg), original, saved_cell(forest), choose_forest(), runs=[forest, logreg]
    )
    assert "lineage-out-of-order" not in codes(review)


def test_a_run_that_continued_its_own_cells_earlier_execution_is_in_order() -> None:
    """Warm start: the cell, run again unchanged, trains on from the model its last run left."""
    first = tracked_run(1, "warm", metrics={"auc": 0.88}, inputs=SAME_DATA, cell_id="cell-warm")
    own_cell = LineageCell(1, "cell-warm", first.code_hash, first.code, ["model"], ["model"])
    second = dataclasses.replace(
        tracked_run(2, "warm", metrics={"auc": 0.91}, inputs=SAME_DATA, cell_id="cell-warm"),
        code=first.code,
        code_hash=first.code_hash,
        lineage=[dataclasses.replace(own_cell, run_id=first.run_id)],
    )
    decision = annotation("DECISION", "Warm-started model", "run:warm")
    review = review_of(
        new_markdown_cell("# Credit"), saved_cell(second), decision, runs=[first, second]
    )
    assert review.chosen_run_id == second.run_id
    assert lineage_findings(review) == []


def test_a_lineage_cell_edited_since_the_run_is_flagged_with_its_position() -> None:
    review, forest, logreg = lineage_review(
        plain_cell("frame = load_credit_data(year=2024)", "load")
    )
    found = findings_of(review, "lineage-edited")
    assert [finding.run_ids for finding in found] == [(forest.run_id,), (logreg.run_id,)]
    chosen = found[0]
    assert chosen.severity is Severity.HIGH and found[1].severity is Severity.MEDIUM
    assert chosen.cell_index == 2  # below the load cell
    assert chosen.title == "forest depended on cells edited since"
    assert chosen.detail.startswith(
        f"{review.run_label(forest.run_id)} used state from cell 2, whose code has changed"
    )
    # Edited, not gone: the cell is found by its id.
    assert {"lineage-deleted", "lineage-out-of-order"}.isdisjoint(codes(review))


def test_an_unchanged_lineage_cell_is_not_edited() -> None:
    review, _forest, _logreg = lineage_review(plain_cell(LOAD, "load"))
    assert "lineage-edited" not in codes(review)


# ---------------------------------------------------------------------------------------------
# different-data, different-features


def test_a_decision_between_runs_on_different_data_is_high() -> None:
    forest, logreg = forest_and_logreg()
    logreg = dataclasses.replace(
        logreg, inputs={"frame": fingerprint(CREDIT.drop(columns=["debt"]))}
    )
    review = review_of(
        saved_cell(forest), saved_cell(logreg), choose_forest(), runs=[forest, logreg]
    )
    finding = the_finding(review, "different-data")
    assert finding.severity is Severity.HIGH
    assert finding.run_ids == (forest.run_id, logreg.run_id)
    assert finding.cell_index == 2  # the decision's cell
    assert finding.detail.startswith(
        "forest and logreg were trained on different data: `frame`: column `debt` missing in "
        "logreg. The comparison is not like-for-like"
    )
    assert "different-features" not in codes(review)


def test_a_rejection_against_a_run_on_different_data_is_medium() -> None:
    forest, logreg = forest_and_logreg()
    logreg = dataclasses.replace(logreg, inputs={"frame": fingerprint(CREDIT.iloc[:3])})
    review = review_of(
        saved_cell(forest),
        saved_cell(logreg),
        annotation("DECISION", "Random forest", "run:forest is good enough."),
        annotation("REJECTED", "Logistic regression", "run:logreg is weaker."),
        runs=[forest, logreg],
    )
    finding = the_finding(review, "different-data")
    assert finding.severity is Severity.MEDIUM
    assert finding.run_ids == (forest.run_id, logreg.run_id)
    assert finding.cell_index == 3  # the rejection's cell
    assert "`frame` has shape 4×3 in forest but 3×3 in logreg" in finding.detail


def test_runs_on_the_same_data_are_not_flagged() -> None:
    forest, logreg = forest_and_logreg()
    logreg = dataclasses.replace(logreg, inputs={"frame": fingerprint(CREDIT.copy())})
    review = review_of(
        saved_cell(forest), saved_cell(logreg), choose_forest(), runs=[forest, logreg]
    )
    assert [d.kind for d in review.decisions[0].evidence.data] == ["same"]
    assert {"different-data", "different-features"}.isdisjoint(codes(review))


def test_a_run_that_read_one_input_more_is_not_on_different_data() -> None:
    """Reading the test set too (it got further) is no mismatch where both read the data."""
    forest, logreg = forest_and_logreg()
    extra = {**SAME_DATA, "test_frame": fingerprint(CREDIT.iloc[:2])}
    logreg = dataclasses.replace(logreg, inputs=extra)
    review = review_of(
        saved_cell(forest), saved_cell(logreg), choose_forest(), runs=[forest, logreg]
    )
    assert [d.kind for d in review.decisions[0].evidence.data] == ["different inputs"]
    assert "different-data" not in codes(review)


def test_runs_that_recorded_no_data_are_not_on_different_data() -> None:
    forest = tracked_run(1, "forest", metrics={"auc": 0.91})
    logreg = tracked_run(2, "logreg", metrics={"auc": 0.85})
    review = review_of(
        saved_cell(forest), saved_cell(logreg), choose_forest(), runs=[forest, logreg]
    )
    assert {"different-data", "different-features"}.isdisjoint(codes(review))


def features_seen(columns: list[str]) -> dict[str, Any]:
    """The inputs of a run whose model was fitted on `columns` of the same frame."""
    model = LogisticRegression().fit(CREDIT[columns], TARGET)
    seen = fitted_features(model)
    assert seen is not None
    return {**SAME_DATA, MODEL_FEATURES: seen}


def test_runs_whose_models_saw_different_features_are_a_low_finding() -> None:
    forest, logreg = forest_and_logreg(inputs=features_seen(["age", "income", "debt"]))
    logreg = dataclasses.replace(logreg, inputs=features_seen(["age", "income"]))
    review = review_of(
        saved_cell(forest), saved_cell(logreg), choose_forest(), runs=[forest, logreg]
    )
    finding = the_finding(review, "different-features")
    assert finding.severity is Severity.LOW
    assert finding.run_ids == (forest.run_id, logreg.run_id)
    assert finding.cell_index == 2
    assert finding.detail.startswith(
        "forest and logreg were trained on different features: feature `debt` missing in logreg."
    )
    assert "different-data" not in codes(review)


def test_runs_whose_models_saw_the_same_features_are_not_flagged() -> None:
    forest, logreg = forest_and_logreg(inputs=features_seen(["age", "income"]))
    logreg = dataclasses.replace(logreg, inputs=features_seen(["age", "income"]))
    review = review_of(
        saved_cell(forest), saved_cell(logreg), choose_forest(), runs=[forest, logreg]
    )
    assert {"different-data", "different-features"}.isdisjoint(codes(review))


# ---------------------------------------------------------------------------------------------
# chosen-failed


@pytest.mark.parametrize("status", [RunStatus.ERROR, RunStatus.INTERRUPTED, RunStatus.CRASHED])
def test_a_chosen_run_that_did_not_finish_is_high(status: RunStatus) -> None:
    forest, logreg = forest_and_logreg(status=status)
    review = review_of(
        saved_cell(forest), saved_cell(logreg), choose_forest(), runs=[forest, logreg]
    )
    finding = the_finding(review, "chosen-failed")
    assert finding.severity is Severity.HIGH
    assert finding.run_ids == (forest.run_id,)
    assert finding.cell_index == 2
    assert (
        finding.detail == f"{review.run_label(forest.run_id)} ended with status '{status.value}'."
    )


def test_a_chosen_run_still_running_is_high_and_not_said_to_have_ended() -> None:
    forest, logreg = forest_and_logreg(status=RunStatus.RUNNING)
    review = review_of(
        saved_cell(forest), saved_cell(logreg), choose_forest(), runs=[forest, logreg]
    )
    finding = the_finding(review, "chosen-failed")
    assert finding.severity is Severity.HIGH
    assert finding.run_ids == (forest.run_id,)
    assert finding.cell_index == 2
    assert finding.detail == (
        f"{review.run_label(forest.run_id)} has not finished: it is still recorded as running, "
        "so its metrics and model may not be final."
    )
    assert "ended" not in finding.detail


def test_a_failed_alternative_is_not_a_failed_choice() -> None:
    forest, logreg = forest_and_logreg()
    logreg = dataclasses.replace(logreg, status=RunStatus.ERROR)
    review = review_of(
        saved_cell(forest), saved_cell(logreg), choose_forest(), runs=[forest, logreg]
    )
    assert "chosen-failed" not in codes(review)


# ---------------------------------------------------------------------------------------------
# chosen-not-best


def metric_decision(metric: str, *runs: RunRecord) -> NotebookNode:
    refs = " over ".join(f"run:{run.name}" for run in runs)
    return annotation("DECISION", "Model for production", f"{refs}. metric:{metric}")


def choice(metric: str, chosen: float, *others: float) -> tuple[Review, list[RunRecord]]:
    """A decision for the first of these runs over the rest, judged on `metric`."""
    runs = [
        tracked_run(index, f"model-{index}", metrics={metric: value}, inputs=SAME_DATA)
        for index, value in enumerate([chosen, *others], start=1)
    ]
    cells = [*map(saved_cell, runs), metric_decision(metric, *runs)]
    return review_of(*cells, runs=runs), runs


def test_a_chosen_run_beaten_by_a_cited_alternative_is_medium() -> None:
    review, (chosen, better) = choice("auc", 0.85, 0.91)
    finding = the_finding(review, "chosen-not-best")
    assert finding.severity is Severity.MEDIUM
    assert finding.run_ids == (chosen.run_id, better.run_id)
    assert finding.cell_index == 2
    assert finding.title == "The chosen run is not the best on its own headline metric (auc)"
    assert finding.detail.startswith(
        f"{review.run_label(chosen.run_id)} has auc = 0.85, but "
        f"{review.run_label(better.run_id)} has 0.91."
    )


def test_a_chosen_run_that_is_best_on_its_metric_is_not_flagged() -> None:
    review, _runs = choice("auc", 0.91, 0.85)
    assert "chosen-not-best" not in codes(review)


def test_a_lower_is_better_metric_is_best_when_smallest() -> None:
    review, _runs = choice("log_loss", 0.25, 0.35)
    assert review.decisions[0].headline_metric == "log_loss"
    assert "chosen-not-best" not in codes(review)


def test_a_larger_loss_than_an_alternative_is_not_best() -> None:
    review, (chosen, better) = choice("log_loss", 0.35, 0.25)
    finding = the_finding(review, "chosen-not-best")
    assert finding.run_ids == (chosen.run_id, better.run_id)
    assert f"{review.run_label(better.run_id)} has 0.25" in finding.detail


def test_a_tie_with_an_alternative_is_not_flagged() -> None:
    review, _runs = choice("auc", 0.91, 0.91)
    assert "chosen-not-best" not in codes(review)


def test_only_the_alternatives_that_score_better_are_named() -> None:
    review, (chosen, worse, tied, better) = choice("auc", 0.88, 0.80, 0.88, 0.93)
    finding = the_finding(review, "chosen-not-best")
    assert finding.run_ids == (chosen.run_id, better.run_id)
    assert review.run_label(worse.run_id) not in finding.detail
    assert review.run_label(tied.run_id) not in finding.detail


def test_the_decision_is_judged_on_its_named_metric_only() -> None:
    """Worse on auc but better on the log_loss the decision names: nothing to explain."""
    chosen = tracked_run(1, "calibrated", metrics={"auc": 0.85, "log_loss": 0.25})
    other = tracked_run(2, "sharp", metrics={"auc": 0.91, "log_loss": 0.40})
    review = review_of(
        saved_cell(chosen),
        saved_cell(other),
        metric_decision("log_loss", chosen, other),
        runs=[chosen, other],
    )
    assert "chosen-not-best" not in codes(review)
    # The same runs, judged on auc (the conventional headline when none is named).
    plain = annotation("DECISION", "Calibrated", "run:calibrated over run:sharp.")
    review = review_of(saved_cell(chosen), saved_cell(other), plain, runs=[chosen, other])
    assert the_finding(review, "chosen-not-best").run_ids == (chosen.run_id, other.run_id)


def test_an_alternative_without_a_usable_value_is_not_better() -> None:
    review, _runs = choice("auc", 0.85, math.nan)
    assert "chosen-not-best" not in codes(review)
    chosen = tracked_run(1, "forest", metrics={"auc": 0.85})
    unscored = tracked_run(2, "logreg", metrics={"accuracy": 0.99})
    review = review_of(
        saved_cell(chosen), saved_cell(unscored), choose_forest(), runs=[chosen, unscored]
    )
    assert "chosen-not-best" not in codes(review)


def test_a_chosen_run_without_a_usable_value_is_beaten_by_one_with_a_value() -> None:
    """The evidence table marks the alternative best; the audit should say so too."""
    review, (chosen, scored, _other) = choice("auc", math.nan, 0.85, 0.80)
    assert review.decisions[0].evidence.metrics[0].best == (1,)  # `scored` is marked best
    finding = the_finding(review, "chosen-not-best")
    assert finding.run_ids[:2] == (chosen.run_id, scored.run_id)
    assert finding.detail.startswith(
        f"{review.run_label(chosen.run_id)} has no usable auc (it recorded nan), but "
        f"{review.run_label(scored.run_id)} has 0.85"
    )


def test_a_chosen_run_without_a_usable_value_is_not_beaten_by_others_without_one() -> None:
    review, _runs = choice("auc", math.nan, math.nan, math.inf)
    assert "chosen-not-best" not in codes(review)


# ---------------------------------------------------------------------------------------------
# selection-effect


def sweep(
    values: Sequence[float], metric: str = "auc", **extra: Any
) -> tuple[Review, list[RunRecord]]:
    """One run per value (each in its own cell); a decision for the first run over the second."""
    runs = [
        tracked_run(index, f"try-{index}", metrics={metric: value}, inputs=SAME_DATA, **extra)
        for index, value in enumerate(values, start=1)
    ]
    cells = [*map(saved_cell, runs), metric_decision(metric, runs[0], runs[1])]
    return review_of(*cells, runs=runs), runs


def spread(count: int, best: float = 0.95) -> list[float]:
    """`count` scores, the first the best, the others below it."""
    return [best, *(0.80 + 0.01 * step for step in range(count - 1))]


def test_the_best_of_many_tries_is_a_low_selection_effect() -> None:
    review, runs = sweep(spread(SELECTION_EFFECT_RUNS))
    finding = the_finding(review, "selection-effect")
    assert finding.severity is Severity.LOW
    assert finding.run_ids == (runs[0].run_id,)
    assert finding.cell_index == SELECTION_EFFECT_RUNS  # the decision's cell, after the runs
    assert finding.title == f"The chosen run is the best of {SELECTION_EFFECT_RUNS} tries on auc"


def test_the_threshold_of_a_selection_effect() -> None:
    assert SELECTION_EFFECT_RUNS == 10
    fewer, _runs = sweep(spread(SELECTION_EFFECT_RUNS - 1))
    assert "selection-effect" not in codes(fewer)
    enough, _runs = sweep(spread(SELECTION_EFFECT_RUNS))
    assert "selection-effect" in codes(enough)


def test_failed_and_unscored_runs_are_not_tries() -> None:
    _review, runs = sweep(spread(SELECTION_EFFECT_RUNS - 1))
    crashed = tracked_run(40, "crashed", status=RunStatus.CRASHED, metrics={"auc": 0.5})
    unscored = tracked_run(41, "unscored", metrics={"auc": math.nan})
    no_metric = tracked_run(42, "other-metric", metrics={"accuracy": 0.7})
    cells = [*map(saved_cell, [*runs, crashed, unscored, no_metric])]
    decision = metric_decision("auc", runs[0], runs[1])
    review = review_of(*cells, decision, runs=[*runs, crashed, unscored, no_metric])
    assert "selection-effect" not in codes(review)


def test_a_chosen_run_that_is_not_the_best_of_the_tries_is_no_selection_effect() -> None:
    values = spread(SELECTION_EFFECT_RUNS)
    values.append(0.97)  # an uncited try beat it
    review, _runs = sweep(values)
    assert "selection-effect" not in codes(review)


def test_a_chosen_run_tied_with_the_best_try_is_a_selection_effect() -> None:
    values = spread(SELECTION_EFFECT_RUNS)
    values[-1] = values[0]
    review, _runs = sweep(values)
    assert "selection-effect" in codes(review)


def test_the_best_try_on_a_loss_is_the_smallest() -> None:
    losses = [0.20, *(0.30 + 0.01 * step for step in range(SELECTION_EFFECT_RUNS - 1))]
    smallest, runs = sweep(losses, metric="log_loss")
    assert the_finding(smallest, "selection-effect").run_ids == (runs[0].run_id,)
    largest, _runs = sweep([0.99, *losses[1:]], metric="log_loss")
    assert "selection-effect" not in codes(largest)


# ---------------------------------------------------------------------------------------------
# unknown-run


def test_a_decision_citing_a_run_that_does_not_exist_is_high() -> None:
    forest, logreg = forest_and_logreg()
    decision = annotation("DECISION", "Forest", "run:forest over run:logreg and run:ghost.")
    review = review_of(saved_cell(forest), saved_cell(logreg), decision, runs=[forest, logreg])
    finding = the_finding(review, "unknown-run")
    assert finding.severity is Severity.HIGH
    assert finding.cell_index == 2
    assert finding.title == "run:ghost does not exist"
    assert finding.detail.startswith("The decision in cell 3 cites run:ghost, but no run")


def test_a_note_citing_a_run_that_does_not_exist_is_high() -> None:
    forest, logreg = forest_and_logreg()
    risk = annotation("RISK", "Drift", "Income drifts, see run:drift-check.")
    review = review_of(
        saved_cell(forest), saved_cell(logreg), choose_forest(), risk, runs=[forest, logreg]
    )
    finding = the_finding(review, "unknown-run")
    assert finding.cell_index == 3
    assert finding.detail.startswith("The risk in cell 4 cites run:drift-check")


def test_runs_cited_by_name_full_id_or_short_id_exist() -> None:
    forest, logreg = forest_and_logreg()
    by_ids = annotation("DECISION", "Forest", f"run:{forest.run_id} over run:{logreg.short_id}.")
    review = review_of(saved_cell(forest), saved_cell(logreg), by_ids, runs=[forest, logreg])
    assert review.decisions[0].evidence.run_ids == [forest.run_id, logreg.run_id]
    assert "unknown-run" not in codes(review)


def test_an_id_prefix_must_be_six_digits_and_unique() -> None:
    forest, logreg = forest_and_logreg()
    assert forest.run_id[:6] == logreg.run_id[:6]  # ids start with their start time

    def review_citing(ref: str, runs: list[RunRecord]) -> Review:
        cells = [*map(saved_cell, runs), annotation("DECISION", "Forest", f"run:{ref}")]
        return review_of(*cells, runs=runs)

    assert "unknown-run" not in codes(review_citing(forest.run_id[:6], [forest]))
    too_short = review_citing(forest.run_id[:5], [forest])
    assert the_finding(too_short, "unknown-run").title == f"run:{forest.run_id[:5]} does not exist"
    ambiguous = review_citing(forest.run_id[:6], [forest, logreg])
    assert "unknown-run" in codes(ambiguous)


# ---------------------------------------------------------------------------------------------
# unknown-metric


def judged_on(metric: str, *runs: RunRecord) -> Review:
    """Choose the forest over the logistic regression, judged on `metric:METRIC`."""
    forest, logreg = runs or forest_and_logreg()
    decision = annotation(
        "DECISION", "Random forest", f"run:forest over run:logreg: better metric:{metric}."
    )
    return review_of(saved_cell(forest), saved_cell(logreg), decision, runs=[forest, logreg])


def test_a_metric_no_cited_run_recorded_is_high_with_the_close_match() -> None:
    review = judged_on("acu")
    finding = the_finding(review, "unknown-metric")
    assert finding.severity is Severity.HIGH
    assert finding.cell_index == 2
    assert finding.title == "metric:acu — no cited run recorded it; did you mean auc?"
    assert finding.detail.startswith(
        "The decision in cell 3 is judged on metric:acu, but none of the runs it cites "
        f"({review.run_label(review.decisions[0].chosen_run_id or '')}, "
    )
    assert "they recorded auc." in finding.detail
    assert finding.detail.endswith("The report judges the decision on auc instead.")


def test_a_metric_named_in_another_case_is_not_the_recorded_one() -> None:
    finding = the_finding(judged_on("AUC"), "unknown-metric")
    assert finding.title == "metric:AUC — no cited run recorded it; did you mean auc?"


def test_a_metric_with_no_close_match_names_what_the_runs_recorded() -> None:
    forest = tracked_run(1, "forest", metrics={"auc": 0.91, "log_loss": 0.3}, inputs=SAME_DATA)
    logreg = tracked_run(2, "logreg", metrics={"auc": 0.85, "brier": 0.1}, inputs=SAME_DATA)
    finding = the_finding(judged_on("latency_ms", forest, logreg), "unknown-metric")
    assert finding.title == "metric:latency_ms — no cited run recorded it"
    assert "they recorded auc, brier, log_loss." in finding.detail


def test_every_named_metric_is_checked_not_only_the_headline() -> None:
    forest, logreg = forest_and_logreg()
    decision = annotation(
        "DECISION", "Forest", "run:forest over run:logreg on metric:auc, metric:f1."
    )
    review = review_of(saved_cell(forest), saved_cell(logreg), decision, runs=[forest, logreg])
    finding = the_finding(review, "unknown-metric")
    assert finding.title == "metric:f1 — no cited run recorded it"
    assert "cannot be checked" in finding.detail  # auc, the first named, is the headline
    assert review.decisions[0].headline_metric == "auc"


def test_a_metric_the_cited_runs_recorded_is_no_finding() -> None:
    assert "unknown-metric" not in codes(judged_on("auc"))


def test_a_metric_only_an_alternative_recorded_is_no_finding() -> None:
    forest = tracked_run(1, "forest", metrics={"auc": 0.91}, inputs=SAME_DATA)
    logreg = tracked_run(2, "logreg", metrics={"auc": 0.85, "brier": 0.1}, inputs=SAME_DATA)
    assert "unknown-metric" not in codes(judged_on("brier", forest, logreg))


def test_a_decision_citing_only_missing_runs_is_an_unknown_run_not_an_unknown_metric() -> None:
    forest, logreg = forest_and_logreg()
    ghost = annotation("DECISION", "Ship it", "run:ghost, judged on metric:acu.")
    review = review_of(saved_cell(forest), saved_cell(logreg), ghost, runs=[forest, logreg])
    assert "unknown-metric" not in codes(review)
    assert "unknown-run" in codes(review)


# ---------------------------------------------------------------------------------------------
# decision-without-evidence


def test_a_decision_citing_no_run_is_high() -> None:
    forest, logreg = forest_and_logreg()
    bare = annotation("DECISION", "Ship the forest", "It looked best in the plots.")
    review = review_of(saved_cell(forest), saved_cell(logreg), bare, runs=[forest, logreg])
    finding = the_finding(review, "decision-without-evidence")
    assert finding.severity is Severity.HIGH
    assert finding.cell_index == 2
    assert finding.title == "Decision 'Ship the forest' cites no runs"
    assert finding.detail.startswith("The decision in cell 3 names no run:NAME as evidence")


def test_a_run_shown_in_a_code_block_is_no_evidence() -> None:
    forest, logreg = forest_and_logreg()
    fenced = new_markdown_cell("> [!DECISION] Ship the forest\n> ```\n> run:forest\n> ```")
    review = review_of(saved_cell(forest), saved_cell(logreg), fenced, runs=[forest, logreg])
    assert "decision-without-evidence" in codes(review)


def test_a_decision_citing_a_run_has_evidence() -> None:
    forest, logreg = forest_and_logreg()
    review = review_of(
        saved_cell(forest), saved_cell(logreg), choose_forest(), runs=[forest, logreg]
    )
    assert "decision-without-evidence" not in codes(review)


def test_a_decision_citing_only_a_missing_run_is_an_unknown_run_instead() -> None:
    forest, logreg = forest_and_logreg()
    ghost = annotation("DECISION", "Ship it", "run:ghost")
    review = review_of(saved_cell(forest), saved_cell(logreg), ghost, runs=[forest, logreg])
    assert "decision-without-evidence" not in codes(review)
    assert "unknown-run" in codes(review)


def test_a_rejection_citing_no_run_is_not_a_decision_without_evidence() -> None:
    forest, logreg = forest_and_logreg()
    rejected = annotation("REJECTED", "Neural networks", "Too slow to serve.")
    review = review_of(
        saved_cell(forest), saved_cell(logreg), choose_forest(), rejected, runs=[forest, logreg]
    )
    assert "decision-without-evidence" not in codes(review)


# ---------------------------------------------------------------------------------------------
# failed-runs-unmentioned


def with_failed(*failed: RunRecord, notes: Sequence[NotebookNode] = ()) -> Review:
    forest, logreg = forest_and_logreg()
    cells = [*map(saved_cell, [forest, logreg, *failed]), choose_forest(), *notes]
    return review_of(*cells, runs=[forest, logreg, *failed])


def test_a_failed_run_nobody_mentions_is_low() -> None:
    deep = tracked_run(3, "forest-deep", status=RunStatus.ERROR)
    review = with_failed(deep)
    finding = the_finding(review, "failed-runs-unmentioned")
    assert finding.severity is Severity.LOW
    assert finding.run_ids == (deep.run_id,)
    assert finding.cell_index is None
    assert finding.title == "1 failed run(s) are not discussed"
    assert finding.detail.startswith(f"{review.run_label(deep.run_id)} (error) did not finish")


def test_a_failed_run_mentioned_by_name_in_a_note_is_discussed() -> None:
    deep = tracked_run(3, "forest-deep", status=RunStatus.ERROR)
    note = annotation("LIMITATION", "Depth", "run:forest-deep ran out of memory.")
    assert "failed-runs-unmentioned" not in codes(with_failed(deep, notes=[note]))


def test_a_failed_run_cited_in_a_rejection_is_discussed() -> None:
    deep = tracked_run(3, "forest-deep", status=RunStatus.INTERRUPTED)
    rejected = annotation("REJECTED", "Deeper trees", "run:forest-deep never finished.")
    assert "failed-runs-unmentioned" not in codes(with_failed(deep, notes=[rejected]))


def test_runs_that_finished_or_still_run_are_not_failed() -> None:
    running = tracked_run(3, "still-going", status=RunStatus.RUNNING)
    assert "failed-runs-unmentioned" not in codes(with_failed(running))


def test_many_failed_runs_are_one_finding_listing_the_first_ten() -> None:
    failed = [tracked_run(10 + n, f"broken-{n}", status=RunStatus.CRASHED) for n in range(11)]
    review = with_failed(*failed)
    finding = the_finding(review, "failed-runs-unmentioned")
    assert finding.run_ids == tuple(run.run_id for run in failed)
    assert finding.title == "11 failed run(s) are not discussed"
    assert review.run_label(failed[9].run_id) in finding.detail
    assert review.run_label(failed[10].run_id) not in finding.detail
    assert "and 1 more did not finish" in finding.detail


def test_a_failed_run_mentioned_by_its_short_id_in_a_note_is_discussed() -> None:
    deep = tracked_run(3, "forest-deep", status=RunStatus.ERROR)
    note = annotation("LIMITATION", "Depth", f"run:{deep.short_id} ran out of memory.")
    review = with_failed(deep, notes=[note])
    assert "unknown-run" not in codes(review)  # the ref resolves to the failed run
    assert "failed-runs-unmentioned" not in codes(review)
