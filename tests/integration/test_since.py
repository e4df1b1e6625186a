"""`nbmodelbook report NB --since PREVIOUS.review.json` between two real executions of one
notebook: executed, reported as JSON, changed the way a modeller changes it (a new run, the
decision moved to it, a criterion raised), executed again, reported with --since."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from html import unescape
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from nbmodelbook.cli import main
from nbmodelbook.execute import execute_notebook
from nbmodelbook.run_marker import RUN_MIMETYPE
from nbmodelbook.store.store import RunStore
from tests.integration.conftest import kernel_env

pytestmark = pytest.mark.integration

SETUP = (
    "import numpy as np, pandas as pd\n"
    "from sklearn.linear_model import LogisticRegression\n"
    "from sklearn.ensemble import RandomForestClassifier\n"
    "from sklearn.metrics import roc_auc_score\n"
    "rng = np.random.default_rng(0)\n"
    "frame = pd.DataFrame(rng.normal(size=(400, 3)), columns=['a', 'b', 'c'])\n"
    "target = (frame['a'] + rng.normal(scale=0.7, size=400) > 0).astype(int)"
)
LOGREG = (
    "%%track logreg\n"
    "model = LogisticRegression(C=1.0).fit(frame, target)\n"
    "auc = roc_auc_score(target, model.predict_proba(frame)[:, 1])"
)
FOREST = (
    "%%track forest\n"
    "model = RandomForestClassifier(n_estimators=10, max_depth=2, random_state=0)\n"
    "model.fit(frame, target)\n"
    "auc = roc_auc_score(target, model.predict_proba(frame)[:, 1])"
)
DEEP = (
    "%%track forest-deep\n"
    "model = RandomForestClassifier(n_estimators=40, max_depth=8, random_state=0)\n"
    "model.fit(frame, target)\n"
    "auc = roc_auc_score(target, model.predict_proba(frame)[:, 1])"
)
FIRST_DECISION = (
    "> [!DECISION] The production model\n"
    "> We chose run:logreg over run:forest: simpler and as good. metric:auc"
)
SECOND_DECISION = (
    "> [!DECISION] The production model\n"
    "> We chose run:forest-deep over run:logreg and run:forest: it ranks best. metric:auc"
)
RISK = "> [!RISK] Synthetic data only."
FIRST_CRITERION = "> [!CRITERION] auc >= 0.85"
SECOND_CRITERION = "> [!CRITERION] auc >= 0.95"


@dataclass
class Reviewed:
    folder: Path
    notebook: Path
    store: Path
    previous: Path  # the JSON report of the first execution
    previous_bytes: bytes
    first_runs: list[str]
    second_runs: list[str]
    html_before: bytes  # the HTML report of the second execution, without --since

    def report(self, *args: str) -> int:
        return main(["report", str(self.notebook), "--store", str(self.store), *args])


def _execute(notebook: Path, store: Path) -> list[str]:
    """Run every cell in a fresh kernel, as `nbmodelbook execute` does; the runs it made."""
    env = kernel_env(store, notebook)
    extra = {
        k: env[k] for k in ("NBMODELBOOK_STORE", "MPLBACKEND", "PYDEVD_DISABLE_FILE_VALIDATION")
    }
    # From the notebook's folder: the kernel's local sockets are named relative to it.
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(notebook.parent)
        result = execute_notebook(notebook, extra_env=extra)
    assert result.error is None, result.error
    saved = nbformat.read(notebook, as_version=4)
    return [
        output["data"][RUN_MIMETYPE]["run_id"]
        for cell in saved.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if RUN_MIMETYPE in output.get("data", {})
    ]


@pytest.fixture(scope="module")
def reviewed(tmp_path_factory: pytest.TempPathFactory) -> Reviewed:
    folder = tmp_path_factory.mktemp("since")
    notebook, store = folder / "model.ipynb", folder / "store" / "runs.sqlite"
    cells = [new_code_cell(source) for source in ("%load_ext nbmodelbook", SETUP, LOGREG, FOREST)]
    cells += [new_markdown_cell(text) for text in (FIRST_DECISION, FIRST_CRITERION, RISK)]
    document = new_notebook(cells=cells)
    document.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    nbformat.write(document, notebook)
    first_runs = _execute(notebook, store)
    previous = folder / "model.review.json"
    assert main(["report", str(notebook), "--store", str(store), "-o", str(previous)]) == 0

    # The modeller adds a run, moves the decision to it, and runs the notebook again.
    changed = nbformat.read(notebook, as_version=4)
    changed.cells.insert(4, new_code_cell(DEEP))
    decision = next(cell for cell in changed.cells if cell.source == FIRST_DECISION)
    decision.source = SECOND_DECISION
    bar = next(cell for cell in changed.cells if cell.source == FIRST_CRITERION)
    bar.source = SECOND_CRITERION  # the committee raised the bar
    nbformat.write(changed, notebook)
    second_runs = _execute(notebook, store)
    html = folder / "plain.review.html"
    assert main(["report", str(notebook), "--store", str(store), "-o", str(html)]) == 0
    return Reviewed(
        folder,
        notebook,
        store,
        previous,
        previous.read_bytes(),
        first_runs,
        second_runs,
        html.read_bytes(),
    )


def section(html: str) -> str:
    """The changes section's text, tags dropped."""
    start = html.index('<section class="section" id="changes">')
    end = html.index("</section>", start)
    text = " ".join(unescape(re.sub(r"<[^>]+>", " ", html[start:end])).split())
    return re.sub(r" ([,.;)])", r"\1", text.replace("( ", "("))


def labels(reviewed: Reviewed, run_ids: list[str]) -> list[str]:
    store = RunStore.open_read_only(str(reviewed.store))
    try:
        runs = store.get_runs(run_ids)
    finally:
        store.close()
    return [f"{runs[run_id].name} ({runs[run_id].short_id})" for run_id in run_ids]


def test_the_section_lists_exactly_what_changed_between_the_executions(
    reviewed: Reviewed,
) -> None:
    assert len(reviewed.first_runs) == 2 and len(reviewed.second_runs) == 3
    out = reviewed.folder / "since.review.json"
    assert reviewed.report("--since", str(reviewed.previous), "-o", str(out)) == 0
    changes = json.loads(out.read_text())["changes"]
    # Every run of the second execution is new (a re-run is another run); none was lost.
    assert [run["run_id"] for run in changes["runs_added"]] == reviewed.second_runs
    assert changes["runs_removed"] == []
    logreg_1, forest_1 = reviewed.first_runs
    logreg_2, forest_2, deep = reviewed.second_runs
    (decision,) = changes["decisions"]
    assert decision["change"] == "changed" and decision["title"] == "The production model"
    fields = {f["field"]: (f["before"], f["after"]) for f in decision["fields"]}
    assert set(fields) == {"chosen run", "alternatives", "rationale"}  # judged on auc, both
    assert fields["chosen run"] == tuple(labels(reviewed, [logreg_1]) + labels(reviewed, [deep]))
    assert fields["alternatives"] == (
        ", ".join(labels(reviewed, [forest_1])),
        ", ".join(labels(reviewed, [logreg_2, forest_2])),
    )
    chosen = changes["chosen"]
    assert chosen["run_changed"] and chosen["figure_changed"]
    previous = json.loads(reviewed.previous_bytes)
    assert chosen["before"]["run_id"] == previous["chosen"]["run_id"] == logreg_1
    assert chosen["before"]["value"] == previous["chosen"]["value"]
    assert chosen["before"]["lower"] == previous["chosen"]["interval"]["low"]
    assert chosen["after"]["run_id"] == deep and chosen["after"]["metric"] == "auc"
    # Findings: exactly those whose (code, runs) is in one review and not the other.
    now = json.loads(out.read_text())

    def keyed(payload: dict[str, Any]) -> set[tuple[str, tuple[str, ...]]]:
        return {(f["code"], tuple(f["run_ids"])) for f in payload["findings"]}

    opened = {
        (f["code"], tuple(f["run_ids"])) for f in changes["findings"] if f["change"] == "opened"
    }
    closed = {
        (f["code"], tuple(f["run_ids"])) for f in changes["findings"] if f["change"] == "closed"
    }
    assert opened == keyed(now) - keyed(previous)
    assert closed == keyed(previous) - keyed(now)
    # The bar raised: one criterion changed, its status before and after as each review said.
    assert changes["criteria_recorded_before"] is True
    (criterion,) = changes["criteria"]
    assert criterion["change"] == "changed"
    assert criterion["fields"] == [
        {"field": "rule", "before": "auc >= 0.85", "after": "auc >= 0.95"}
    ]
    assert (criterion["status_before"], criterion["status_after"]) == (
        previous["criteria"][0]["status"],
        now["criteria"][0]["status"],
    )
    assert criterion["before"]["value"] == previous["criteria"][0]["value"]
    assert criterion["after"]["value"] == now["criteria"][0]["value"]

    html = reviewed.folder / "since.review.html"
    assert reviewed.report("--since", str(reviewed.previous), "-o", str(html)) == 0
    text = section(html.read_text())
    deep_label = labels(reviewed, [deep])[0]
    assert text.startswith(
        f"2. Changes since the last review 3 runs added; the chosen run is now {deep_label} "
        f"instead of {labels(reviewed, [logreg_1])[0]}; auc "
    )
    assert "1 decision changed; 1 criterion changed" in text
    assert (
        f"changed auc >= 0.95 rule: auc >= 0.85 → auc >= 0.95 {criterion['status_before']}" in text
    )
    assert f"Added (3): {', '.join(labels(reviewed, reviewed.second_runs))}." in text
    assert "no longer among this notebook's runs" not in text


def test_the_report_can_replace_the_review_it_is_compared_with(reviewed: Reviewed) -> None:
    target = reviewed.folder / "in-place.review.json"
    target.write_bytes(reviewed.previous_bytes)
    assert reviewed.report("--since", str(target), "-o", str(target)) == 0
    written = json.loads(target.read_text())
    assert written["changes"]["chosen"]["before"]["run_id"] == reviewed.first_runs[0]
    # Compared again with itself, the report now finds no change in the runs or decisions.
    again = reviewed.folder / "again.review.json"
    assert reviewed.report("--since", str(target), "-o", str(again)) == 0
    assert json.loads(again.read_text())["changes"]["summary"].startswith("Nothing changed;")
    # The changes, never the earlier review: its runs' figures are not carried along.
    assert len(json.dumps(written["changes"])) < len(reviewed.previous_bytes) / 2


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        (b"{not json", "is not JSON"),
        (b'{"schema": "other/1", "runs": []}', "is not an nbmodelbook review"),
        (b'{"schema": "nbmodelbook.review/9"}', "written by a newer nbmodelbook"),
    ],
)
def test_a_bad_since_file_is_refused_and_nothing_is_written(
    reviewed: Reviewed, capsys: pytest.CaptureFixture[str], content: bytes | None, message: str
) -> None:
    since = reviewed.folder / "bad.json"
    since.unlink(missing_ok=True)
    if content is not None:
        since.write_bytes(content)
    fresh = reviewed.folder / "never.review.html"
    kept = reviewed.folder / "kept.review.json"
    kept.write_bytes(b"the report from before")
    capsys.readouterr()
    assert reviewed.report("--since", str(since), "-o", str(fresh)) == 2
    assert message in capsys.readouterr().err
    assert not fresh.exists()
    assert reviewed.report("--since", str(since), "-o", str(kept)) == 2
    assert kept.read_bytes() == b"the report from before"
    assert sorted(p.name for p in reviewed.folder.iterdir() if p.name.startswith(".")) == []


def test_without_since_the_report_is_unchanged(reviewed: Reviewed) -> None:
    out = reviewed.folder / "plain-again.review.html"
    assert reviewed.report("--since", str(reviewed.previous), "-o", str(out)) == 0
    assert reviewed.report("-o", str(out)) == 0
    assert out.read_bytes() == reviewed.html_before
    assert b"Changes since the last review" not in reviewed.html_before
    assert b"Since the last review" not in reviewed.html_before
    md = reviewed.folder / "plain.review.md"
    assert reviewed.report("-o", str(md)) == 0
    assert "Since the last review" not in md.read_text()
    plain = reviewed.folder / "plain.review.json"
    assert reviewed.report("-o", str(plain)) == 0
    assert "changes" not in json.loads(plain.read_text())
