"""Changes since the last review: built reviews compared with the JSON of an earlier one.

Every earlier review here is what `nbmodelbook report NB --format json` writes for a review built
the way the exporter builds one (a notebook's annotations, run records with real predictions),
read back from its JSON text; the later review is built the same way from changed inputs.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from nbformat import NotebookNode
from nbformat.v4 import new_markdown_cell, new_notebook

from nbmodelbook.errors import NotFound, UsageError
from nbmodelbook.record import RunRecord
from nbmodelbook.report.annotations import parse_annotations
from nbmodelbook.report.build import build_review
from nbmodelbook.report.changes import (
    SCHEMA_FAMILY,
    SCHEMA_VERSION,
    Change,
    ReviewChanges,
    read_previous_review,
    review_changes,
    text_sha256,
)
from nbmodelbook.report.model import (
    Annotation,
    AnnotationKind,
    Criterion,
    CriterionCheck,
    CriterionStatus,
    Finding,
    Review,
    Severity,
)
from nbmodelbook.report.render_html import render_html
from nbmodelbook.report.render_json import SCHEMA, review_json, review_payload
from nbmodelbook.report.render_markdown import render_markdown
from nbmodelbook.report.view import build_view
from tests.report.test_review_evidence import STRONG, STUMP, auc_evaluation, run_of

NOTEBOOK = "/nb/model.ipynb"


def logreg(offset: float = 0.0, name: str = "logreg") -> RunRecord:
    return run_of(name, STRONG, [auc_evaluation(STRONG)], notebook=NOTEBOOK, offset=offset)


def stump(offset: float = 60.0, name: str = "stump") -> RunRecord:
    return run_of(name, STUMP, [auc_evaluation(STUMP)], notebook=NOTEBOOK, offset=offset)


def annotation(kind: str, title: str, body: str = "") -> NotebookNode:
    lines = [f"> [!{kind}] {title}", *(f"> {line}" for line in body.splitlines())]
    return new_markdown_cell("\n".join(lines))


def decide(chosen: str, *others: str, title: str = "Logistic regression", why: str = "") -> Any:
    over = f" over {', '.join(f'run:{other}' for other in others)}" if others else ""
    return annotation("DECISION", title, f"We chose run:{chosen}{over}. metric:auc {why}")


def review_of(*cells: NotebookNode, runs: Sequence[RunRecord]) -> Review:
    notebook = new_notebook(cells=list(cells))
    annotations, problems = parse_annotations(notebook)
    assert problems == []
    by_id = {run.run_id: run for run in runs}
    return build_review(notebook, "model.ipynb", by_id, annotations, problems)


def as_json(review: Review) -> dict[str, Any]:
    """The earlier review as a later command reads it: from the JSON report's text."""
    return dict(json.loads(review_json(review)))


@pytest.fixture(scope="module")
def runs() -> tuple[RunRecord, RunRecord]:
    return logreg(), stump()


@pytest.fixture(scope="module")
def earlier(runs: tuple[RunRecord, RunRecord]) -> Review:
    return review_of(decide("logreg", "stump"), runs=runs)


# ---------------------------------------------------------------------------------------------
# Runs, decisions, the chosen model


def test_a_review_compared_with_its_own_json_has_no_change(earlier: Review) -> None:
    changes = review_changes(as_json(earlier), earlier)
    assert changes.nothing_changed
    assert changes.runs_added == changes.runs_removed == ()
    assert changes.decisions == changes.findings == ()
    assert not changes.chosen.run_changed and not changes.chosen.figure_changed
    summary = build_view(dataclasses.replace(earlier, changes=changes))["changes"]["summary"]
    assert summary.startswith("Nothing changed; the chosen run is unchanged; auc ")
    assert summary.endswith(" as before.")


def test_runs_are_matched_by_id_not_name(runs: tuple[RunRecord, RunRecord]) -> None:
    first, second = runs
    rerun = logreg(offset=120.0)  # the same name, another run
    before = review_of(decide("logreg", "stump"), runs=[first, second])
    after = review_of(decide("logreg", "stump"), runs=[second, rerun])
    changes = review_changes(as_json(before), after)
    assert [entry.run_id for entry in changes.runs_added] == [rerun.run_id]
    assert [entry.run_id for entry in changes.runs_removed] == [first.run_id]
    # A run the store lost is still named as the earlier review named it.
    assert changes.runs_removed[0].label == f"logreg ({first.short_id})"
    # `run:logreg` now means the re-run: the chosen run changed, by id.
    assert changes.chosen.run_changed
    assert changes.chosen.before is not None and changes.chosen.before.run_id == first.run_id
    assert changes.chosen.after is not None and changes.chosen.after.run_id == rerun.run_id


def test_a_decision_for_another_run_changes_the_chosen_run_and_its_figure(
    runs: tuple[RunRecord, RunRecord], earlier: Review
) -> None:
    later = review_of(decide("stump", "logreg"), runs=runs)
    changes = review_changes(as_json(earlier), later)
    assert changes.runs_added == changes.runs_removed == ()
    (decision,) = changes.decisions
    assert decision.change is Change.CHANGED
    fields = {f.name: (f.before, f.after) for f in decision.fields}
    logreg_label, stump_label = earlier.run_label(runs[0].run_id), earlier.run_label(runs[1].run_id)
    assert fields["chosen run"] == (logreg_label, stump_label)
    assert fields["alternatives"] == (stump_label, logreg_label)
    assert fields["rationale"] == ("as written before", "edited")  # run:stump over run:logreg
    assert "judged on" not in fields and "title" not in fields
    chosen = changes.chosen
    assert chosen.run_changed and chosen.figure_changed and not chosen.metric_changed
    assert chosen.before is not None and chosen.after is not None
    # The headline figures with their intervals, as both reviews computed them.
    for review, figure in ((earlier, chosen.before), (later, chosen.after)):
        expected = review_payload(review)["chosen"]
        assert figure.figure.value == expected["value"]
        assert figure.figure.lower == expected["interval"]["low"]
        assert figure.figure.upper == expected["interval"]["high"]
        assert figure.figure.level == 0.95 and figure.figure.method == "DeLong"
    view = build_view(dataclasses.replace(later, changes=changes))["changes"]
    assert view["summary"].startswith(
        f"The chosen run is now {stump_label} instead of {logreg_label}; auc "
    )
    assert "1 decision changed" in view["summary"]
    assert (
        "95% CI" in view["chosen"]["figure_before"] and "95% CI" in view["chosen"]["figure_after"]
    )
    # Both sides at the same decimals, whatever each interval's width.
    decimals = {
        len(text.split(" ")[0].split(".")[1])
        for text in (view["chosen"]["figure_before"], view["chosen"]["figure_after"])
    }
    assert len(decimals) == 1


def test_decisions_are_matched_by_title_then_by_position(
    runs: tuple[RunRecord, RunRecord],
) -> None:
    why = annotation("DECISION", "Why not a tree", "run:stump is too coarse.")
    before = review_of(decide("logreg", "stump"), why, runs=runs)
    # Reordered, the first one retitled: the title finds the second; the first is retitled in
    # place (same position), not removed and added.
    after = review_of(decide("logreg", "stump", title="Logistic regression, kept"), why, runs=runs)
    changes = review_changes(as_json(before), after)
    (retitled,) = changes.decisions
    assert retitled.change is Change.CHANGED
    assert [(f.name, f.before, f.after) for f in retitled.fields] == [
        ("title", "Logistic regression", "Logistic regression, kept")
    ]
    swapped = review_of(why, decide("logreg", "stump"), runs=runs)
    assert review_changes(as_json(before), swapped).decisions == ()  # the order alone is no change


def test_decisions_added_and_removed(runs: tuple[RunRecord, RunRecord]) -> None:
    before = review_of(decide("logreg", "stump"), runs=runs)
    extra = annotation("DECISION", "Threshold at 0.5", "run:logreg at the default threshold.")
    after = review_of(decide("logreg", "stump"), extra, runs=runs)
    (added,) = review_changes(as_json(before), after).decisions
    assert (added.change, added.title) == (Change.ADDED, "Threshold at 0.5")
    assert added.chosen == after.run_label(runs[0].run_id)
    (removed,) = review_changes(as_json(after), before).decisions
    assert (removed.change, removed.title) == (Change.REMOVED, "Threshold at 0.5")


def test_the_rationale_is_compared_by_its_hash_blind_to_whitespace(
    runs: tuple[RunRecord, RunRecord], earlier: Review
) -> None:
    reworded = review_of(decide("logreg", "stump", why="It is also simpler."), runs=runs)
    (decision,) = review_changes(as_json(earlier), reworded).decisions
    assert [f.name for f in decision.fields] == ["rationale"]
    body = earlier.decisions[0].annotation
    spaced = dataclasses.replace(body, body=body.body.replace("\n", "  \r\n") + "\n\n")
    assert text_sha256(spaced) == text_sha256(body)
    # The JSON carries the hash, never the text.
    decision_json = as_json(earlier)["decisions"][0]
    assert decision_json["text_sha256"] == text_sha256(body)
    assert "We chose" not in json.dumps(decision_json)


def test_an_older_json_without_hashes_compares_all_but_the_text(
    runs: tuple[RunRecord, RunRecord], earlier: Review
) -> None:
    older = as_json(earlier)
    for decision in older["decisions"]:
        del decision["text_sha256"]
    reworded = review_of(decide("logreg", "stump", why="It is also simpler."), runs=runs)
    changes = review_changes(older, reworded)
    assert changes.decisions == () and not changes.rationale_compared
    view = build_view(dataclasses.replace(reworded, changes=changes))["changes"]
    assert "did not record the decisions' text" in view["rationale_note"]


# ---------------------------------------------------------------------------------------------
# Findings


def test_findings_opened_closed_and_regraded_match_on_code_and_runs(
    runs: tuple[RunRecord, RunRecord], earlier: Review
) -> None:
    typo = review_of(decide("logreg", "stump", "nonexistent"), runs=runs)
    assert {f.code for f in typo.findings} - {f.code for f in earlier.findings} == {"unknown-run"}
    (opened,) = review_changes(as_json(earlier), typo).findings
    assert (opened.change, opened.code, opened.severity_after) == (
        Change.OPENED,
        "unknown-run",
        "high",
    )
    assert opened.title == "run:nonexistent does not exist"
    (closed,) = review_changes(as_json(typo), earlier).findings
    assert (closed.change, closed.code, closed.severity_before) == (
        Change.CLOSED,
        "unknown-run",
        "high",
    )
    assert closed.title == "run:nonexistent does not exist"  # read back from the JSON's message

    run_ids = (runs[0].run_id,)
    finding = Finding("edited-after-run", Severity.HIGH, "Cell 1 was edited", "Since.", run_ids)
    graded = dataclasses.replace(earlier, findings=[finding])
    regraded = dataclasses.replace(
        earlier,
        findings=[
            dataclasses.replace(finding, severity=Severity.LOW, detail="Reworded."),
            # The same code about another run is another finding.
            dataclasses.replace(finding, run_ids=(runs[1].run_id,)),
        ],
    )
    found = review_changes(as_json(graded), regraded).findings
    assert [(f.change, f.run_ids, f.severity_before, f.severity_after) for f in found] == [
        (Change.OPENED, (runs[1].run_id,), None, "high"),
        (Change.SEVERITY, run_ids, "high", "low"),
    ]


# ---------------------------------------------------------------------------------------------
# Acceptance criteria


def criterion(text: str, status: CriterionStatus, value: float, threshold: float) -> Criterion:
    note = Annotation(AnnotationKind.CRITERION, text, "", (), 3, None)
    low, high = value - 0.02, value + 0.01
    return Criterion(
        note,
        text,
        "auc",
        ">=",
        threshold,
        None,
        status,
        (CriterionCheck("overall", value, low, high, status),),
        "checked on the chosen run",
    )


def with_criteria(review: Review, *items: Criterion) -> dict[str, Any]:
    """The JSON of `review` had it checked these criteria."""
    return as_json(dataclasses.replace(review, criteria=list(items)))


def test_an_earlier_review_without_criteria_says_so(earlier: Review) -> None:
    now = dataclasses.replace(
        earlier, criteria=[criterion("auc >= 0.9", CriterionStatus.MET, 0.95, 0.9)]
    )
    older = as_json(earlier)
    older.pop("criteria", None)
    changes = review_changes(older, now)
    assert changes.criteria is None
    view = build_view(dataclasses.replace(now, changes=changes))["changes"]
    assert view["criteria_note"] == (
        "Acceptance criteria were not recorded in the earlier review, so they cannot be compared."
    )
    assert "criteria" not in review_changes(as_json(earlier), earlier).as_dict()["previous"]


def test_criteria_added_changed_and_removed_with_their_status(earlier: Review) -> None:
    kept = criterion("auc >= 0.9", CriterionStatus.MET, 0.95, 0.9)
    raised = criterion("auc >= 0.99", CriterionStatus.NOT_MET, 0.95, 0.99)
    dropped = criterion("brier <= 0.2", CriterionStatus.MET, 0.1, 0.2)
    dropped = dataclasses.replace(dropped, metric="brier", operator="<=")
    previous = with_criteria(
        earlier, kept, criterion("auc >= 0.95", CriterionStatus.MET, 0.97, 0.95), dropped
    )
    fresh = criterion("auc >= 0.8 on segment region", CriterionStatus.MET_ON_POINT, 0.95, 0.8)
    now = dataclasses.replace(earlier, criteria=[kept, raised, fresh])
    changes = review_changes(previous, now)
    assert changes.criteria is not None
    rows = [(c.change, c.text, c.status_before, c.status_after) for c in changes.criteria]
    assert rows == [
        (Change.CHANGED, "auc >= 0.99", "met", "not met"),
        (Change.ADDED, "auc >= 0.8 on segment region", None, "met on the point estimate only"),
        (Change.REMOVED, "brier <= 0.2", "met", None),
    ]  # the unchanged "auc >= 0.9" is no row
    assert [(f.name, f.before, f.after) for f in changes.criteria[0].fields] == [
        ("rule", "auc >= 0.95", "auc >= 0.99")
    ]
    view = build_view(dataclasses.replace(now, changes=changes))["changes"]
    assert view["criteria"][0]["before"] == "met: 0.97 (0.95–0.98)"
    assert view["criteria"][0]["after"] == "not met: 0.95 (0.93–0.96)"
    assert "1 criterion changed" in view["summary"] and "1 criterion added" in view["summary"]


# ---------------------------------------------------------------------------------------------
# The section in the reports, and in the JSON


def test_the_section_and_the_page_one_line_in_html_and_markdown(
    runs: tuple[RunRecord, RunRecord], earlier: Review
) -> None:
    # The earlier review is a file anyone could have written: its text is untrusted too.
    hostile = "<script>alert(1)</script> | *x*"
    previous = as_json(earlier)
    previous["decisions"].append({"title": hostile, "chosen_run_id": "<b>", "metric": hostile})
    previous["runs"].append({"run_id": "<img src=x onerror=alert(1)>", "name": hostile})
    previous["findings"].append(
        {"code": hostile, "severity": '"><script>', "run_ids": [], "message": hostile}
    )
    later = review_of(decide("stump", "logreg"), runs=[*runs, logreg(180.0, "logreg-2")])
    later.changes = review_changes(previous, later)
    page = build_view(later)
    assert [s["anchor"] for s in page["sections"]][:3] == ["summary", "changes", "facts"]
    assert page["n"]["changes"] == 2 and page["n"]["facts"] == 3
    html = render_html(later)
    assert '<section class="section" id="changes">' in html
    assert "<h2>2. Changes since the last review</h2>" in html
    assert (
        "<strong>Since the last review:</strong> 1 run added; 1 run no longer among this "
        "notebook&#39;s runs; the chosen run is now stump"
    ) in html
    assert 'see <a href="#changes">section 2</a>' in html
    assert "<script>" not in html and "<img src=x" not in html and "<b>" not in html
    # The decision's title, the run's name, the finding's title and its code.
    assert html.count("&lt;script&gt;alert(1)&lt;/script&gt; | *x*") == 4
    assert 'class="badge badge-kind"' in html  # a grade this nbmodelbook does not know
    assert html.index('id="summary"') < html.index('id="changes"') < html.index('id="facts"')
    text, _files = render_markdown(later, Path("x_files"))
    assert "## 2. Changes since the last review" in text
    assert (
        "**Since the last review:** 1 run added; 1 run no longer among this notebook's runs; the"
        in text
    )
    assert "(section 2)." in text
    assert "<script>" not in text and "<img src=x" not in text and "<b>" not in text
    assert "| removed |" in text and "| closed |" in text


def test_without_an_earlier_review_nothing_changes(earlier: Review) -> None:
    assert earlier.changes is None
    page = build_view(earlier)
    assert page["changes"] is None and "changes" not in page["n"]
    assert "Changes since" not in render_html(earlier)
    assert "Since the last review" not in render_markdown(earlier, Path("x_files"))[0]
    assert "changes" not in review_payload(earlier)


def test_the_json_carries_the_changes_but_not_the_earlier_review(
    runs: tuple[RunRecord, RunRecord], earlier: Review
) -> None:
    later = review_of(decide("stump", "logreg"), runs=[*runs, logreg(180.0, "logreg-2")])
    later.changes = review_changes(as_json(earlier), later)
    payload = json.loads(review_json(later))
    changes = payload["changes"]
    assert set(changes) == {
        "previous",
        "runs_added",
        "runs_removed",
        "decisions",
        "rationale_compared",
        "criteria_recorded_before",
        "criteria",
        "chosen",
        "findings",
        "summary",
    }
    assert changes["summary"].startswith("1 run added; the chosen run is now stump")
    assert [run["label"] for run in changes["runs_added"]] == [later.run_label(later.history[-1])]
    assert changes["previous"] == {
        "title": earlier.title,
        "notebook": "model.ipynb",
        "runs": 2,
        "other_notebook": False,
    }
    assert "schema" not in changes and "metrics" not in json.dumps(changes)
    assert isinstance(later.changes, ReviewChanges)


# ---------------------------------------------------------------------------------------------
# Reading the earlier review


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"<html>not json</html>", "is not JSON"),
        (b"\xff\xfe\x00", "is not JSON"),
        (b"[1, 2]", 'is not an nbmodelbook review (it has no "schema")'),
        (
            b'{"schema": "mlflow.run/1"}',
            "is not an nbmodelbook review (its \"schema\" is 'mlflow.run/1')",
        ),
        (b'{"schema": "nbmodelbook.review/beta"}', "unknown review schema"),
        (b'{"schema": "nbmodelbook.review/2", "runs": []}', "written by a newer nbmodelbook"),
        (b'{"schema": "nbmodelbook.review/1", "runs": {}}', 'its "runs" is not a list'),
        (
            b'{"schema": "nbmodelbook.review/1", "runs": [{}], "decisions": [], "findings": []}',
            "a run has no id",
        ),
    ],
)
def test_a_file_that_is_not_an_earlier_review_is_refused(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "previous.review.json"
    path.write_bytes(content)
    with pytest.raises(UsageError) as raised:
        read_previous_review(path)
    assert message in str(raised.value)
    assert "--format json" in str(raised.value) or "upgrade nbmodelbook" in str(raised.value)


def test_a_missing_file_or_a_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="no such file"):
        read_previous_review(tmp_path / "missing.json")
    with pytest.raises(UsageError, match="is a folder"):
        read_previous_review(tmp_path)


def test_the_schema_read_is_the_schema_written() -> None:
    assert f"{SCHEMA_FAMILY}{SCHEMA_VERSION}" == SCHEMA


def test_an_earlier_review_read_from_its_file(tmp_path: Path, earlier: Review) -> None:
    path = tmp_path / "model.review.json"
    path.write_text(review_json(earlier), encoding="utf-8")
    assert read_previous_review(path) == as_json(earlier)


def test_an_earlier_review_of_another_notebook_is_said_so(earlier: Review) -> None:
    previous = as_json(earlier)
    previous["notebook"] = "credit-v1.ipynb"
    changes = review_changes(previous, earlier)
    assert changes.notebook_changed and changes.previous_notebook == "credit-v1.ipynb"
    assert not review_changes(as_json(earlier), earlier).notebook_changed
    html = render_html(dataclasses.replace(earlier, changes=changes))
    assert "The earlier review was of another notebook, <code>credit-v1.ipynb</code>" in html
    assert "Unchanged: runs, decisions, acceptance criteria, audit findings." in html


def test_a_change_of_confidence_level_is_said_so(runs: tuple[RunRecord, RunRecord]) -> None:
    notebook = new_notebook(cells=[decide("logreg", "stump")])
    annotations, _ = parse_annotations(notebook)
    by_id = {run.run_id: run for run in runs}
    at_95 = build_review(notebook, "model.ipynb", by_id, annotations, level=0.95)
    at_999 = build_review(notebook, "model.ipynb", by_id, annotations, level=0.999)
    changes = review_changes(as_json(at_95), at_999)
    assert changes.levels == (0.95, 0.999)
    page = build_view(dataclasses.replace(at_999, changes=changes))["changes"]
    assert page["level_note"].startswith(
        "The earlier review's intervals were at 95%, this one's at 99.9%"
    )
    assert "this one&#39;s at 99.9%" in render_html(dataclasses.replace(at_999, changes=changes))
    assert review_changes(as_json(at_95), at_95).levels is None


@pytest.mark.parametrize(
    ("edit", "says"),
    [
        (lambda p: p["findings"].append({"code": "x", "message": ["not", "text"]}), '"message"'),
        (lambda p: p.update(level=10**400), "a number out of range"),
        (lambda p: p["runs"][0].update(value=float("inf")), "out of range"),
    ],
)
def test_an_earlier_review_with_values_no_review_holds_is_refused(
    earlier: Review, tmp_path: Path, edit: Any, says: str
) -> None:
    payload = as_json(earlier)
    edit(payload)
    path = tmp_path / "earlier.review.json"
    # A JSON number too large for a float (1e999) reads as infinity.
    path.write_text(json.dumps(payload).replace("Infinity", "1e999"), encoding="utf-8")
    with pytest.raises(UsageError, match="which nbmodelbook never writes") as raised:
        read_previous_review(path)
    assert says in str(raised.value)
