"""A Jupyter root folder with an annotated notebook and the real run store beside it."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from nbmodelbook.record import RunError, RunRecord, RunStatus, code_hash
from nbmodelbook.store.store import RunStore
from tests.widgets._runs import frame_input, record

NOTEBOOK = "work/credit.ipynb"
FEATURES = ["age", "income", "debt_ratio", "history_months"]

DECISION = (
    "> [!DECISION] Gradient boosting as the production model\n"
    "> We chose run:gbm-tuned over run:rf-500 because its validation AUC is higher and its "
    "log loss lower; run:logreg failed to converge."
)
RISK = "> [!RISK] Applicants under 21 are too few to measure the model's performance on them."
# A misspelt kind: the parser reports it (with a did-you-mean) instead of dropping the note.
BROKEN_ANNOTATION = "> [!DECISON] Gradient boosting\n> We chose run:gbm-tuned."

CELLS = {
    "cell-rf": (
        "%%track rf-500 --tag baseline\n"
        "model = RandomForestClassifier(n_estimators=500, max_depth=8).fit(X_train, y_train)\n"
        "auc, log_loss = evaluate(model)\n"
    ),
    "cell-gbm": (
        "%%track gbm-tuned --tag candidate\n"
        "model = GradientBoostingClassifier(n_estimators=300, max_depth=3,\n"
        "                                   learning_rate=0.05).fit(X_train, y_train)\n"
        "auc, log_loss = evaluate(model)\n"
    ),
    "cell-lr": (
        "%%track logreg\n"
        "model = LogisticRegression(C=1.0, solver='lbfgs').fit(X_train, y_train)\n"
        "auc, log_loss = evaluate(model)\n"
    ),
}


@dataclass
class Workspace:
    root: Path
    notebook: Path  # the notebook's real path
    store_file: Path
    runs: dict[str, RunRecord]  # by name
    other: RunRecord  # a run of another notebook in the same store

    def open_store(self) -> RunStore:
        return RunStore.open(str(self.store_file))


def notebook_file(path: Path, *markdown: str) -> Path:
    """The credit notebook: a data cell, three tracked cells, then `markdown` cells."""
    cells = [
        new_markdown_cell("# Credit default model"),
        new_code_cell("X_train, y_train = load()"),
    ]
    for cell_id, source in CELLS.items():
        cell = new_code_cell(source)
        cell["id"] = cell_id
        cells.append(cell)
    cells.extend(new_markdown_cell(text) for text in markdown)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(new_notebook(cells=cells), path)
    return path


def _tracked(index: int, name: str, cell_id: str, notebook: Path, **fields: object) -> RunRecord:
    source = CELLS[cell_id]
    return record(
        index,
        name,
        code=source,
        code_hash=code_hash(source),
        cell_id=cell_id,
        notebook=str(notebook),
        **fields,
    )


def credit_runs(notebook: Path) -> list[RunRecord]:
    """rf-500 and gbm-tuned on the same data (gbm better on both metrics), a failed logreg."""
    train = {"X_train": frame_input(FEATURES, 12_000, "5f1c0ffee")}
    environment = {
        "python": {"version": "3.11.9", "implementation": "CPython", "platform": "Linux"},
        "packages": {"sklearn": "1.5.1", "pandas": "2.2.2"},
        "git": {"commit": "3f2c9a1", "branch": "main", "dirty": False, "remote": None},
    }
    return [
        _tracked(
            0,
            "rf-500",
            "cell-rf",
            notebook,
            tags=["baseline"],
            params={"n_estimators": 500, "max_depth": 8, "criterion": "gini"},
            metrics={"auc": 0.81, "log_loss": 0.45, "calibration_gap": math.nan},
            inputs=train,
        ),
        _tracked(
            1,
            "gbm-tuned",
            "cell-gbm",
            notebook,
            tags=["candidate"],
            params={
                "n_estimators": 300,
                "max_depth": 3,
                "criterion": "gini",
                "learning_rate": 0.05,
            },
            metrics={"auc": 0.86, "log_loss": 0.39, "calibration_gap": 0.02},
            inputs=train,
            environment=environment,
            note="tuned on the validation fold",
        ),
        _tracked(
            2,
            "logreg",
            "cell-lr",
            notebook,
            status=RunStatus.ERROR,
            params={"C": 1.0, "solver": "lbfgs"},
            error=RunError("ConvergenceError", "lbfgs failed to converge", "Traceback ..."),
        ),
    ]


def make_workspace(root: Path, *markdown: str) -> Workspace:
    notebook = notebook_file(root / NOTEBOOK, *markdown).resolve()
    store_file = notebook.parent / ".nbmodelbook" / "runs.sqlite"
    runs = credit_runs(notebook)
    other = record(3, "elsewhere", notebook="/team/other/forest.ipynb")
    store = RunStore.open(str(store_file))
    try:
        for run in [*runs, other]:
            store.finish_run(run)
    finally:
        store.close()
    return Workspace(root, notebook, store_file, {run.name: run for run in runs}, other)
