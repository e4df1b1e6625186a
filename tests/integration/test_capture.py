"""What a run records, read back from the store after a real kernel executed the notebook."""

from __future__ import annotations

import base64
import math

import pytest

from tests.integration.conftest import Runner

pytestmark = pytest.mark.integration

SETUP = (
    "import numpy as np\n"
    "import pandas as pd\n"
    "from sklearn.linear_model import LogisticRegression\n"
    "from sklearn.ensemble import RandomForestClassifier\n"
    "from sklearn.metrics import roc_auc_score"
)
DATA = (
    "rng = np.random.default_rng(0)\n"
    "frame = pd.DataFrame(rng.normal(size=(200, 3)), columns=['a', 'b', 'c'])\n"
    "target = (frame['a'] + rng.normal(scale=0.5, size=200) > 0).astype(int)"
)
TRAIN = (
    "%%track rf --tag forest --note 'first forest' -m extra\n"
    "n_estimators = 50\n"
    "model = RandomForestClassifier(n_estimators=n_estimators, max_depth=4, random_state=0)\n"
    "model.fit(frame, target)\n"
    "auc = roc_auc_score(target, model.predict_proba(frame)[:, 1])\n"
    "scores = {'auc': auc, 'nan': float('nan'), 'inf': float('inf'), 'label': 'x'}\n"
    "extra = 3\n"
    "for i in range(3):\n"
    "    pass"
)


def test_params_metrics_inputs_lineage_environment(run_notebook: Runner) -> None:
    executed = run_notebook("%load_ext nbmodelbook", SETUP, DATA, TRAIN)
    store = executed.store()
    [run_id] = executed.run_ids()
    run = store.get_run(run_id)
    assert run is not None
    assert run.name == "rf" and run.tags == ["forest"] and run.note == "first forest"
    assert run.status.value == "ok"
    assert run.notebook == str(executed.path)
    assert run.execution_count == 4
    assert run.code.startswith("%%track rf")

    # params: literal assignment, and every hyperparameter of the fitted model
    assert run.params["n_estimators"] == 50
    assert run.params["model"] == "RandomForestClassifier"
    assert run.params["model.max_depth"] == 4
    assert run.params["model.n_estimators"] == 50
    assert run.params["model.criterion"] == "gini"
    assert "max_depth" not in run.params  # covered by model.max_depth, not repeated

    # metrics: computed numbers and numeric dict entries, NaN/inf kept; no loop counters
    assert 0.5 < run.metrics["auc"] <= 1.0
    assert run.metrics["scores.auc"] == run.metrics["auc"]
    assert math.isnan(run.metrics["scores.nan"])
    assert run.metrics["scores.inf"] == math.inf
    assert "scores.label" not in run.metrics
    assert run.metrics["extra"] == 3.0  # forced with -m although it is a literal
    assert "i" not in run.metrics and "n_estimators" not in run.metrics

    # inputs: the DataFrame and Series the cell read, fingerprinted, and what the fitted
    # model saw
    assert set(run.inputs) == {"frame", "target", "features seen by the model"}
    assert run.inputs["frame"]["shape"] == [200, 3]
    assert run.inputs["frame"]["columns"] == ["a", "b", "c"]
    assert run.inputs["frame"]["hash"]
    assert run.inputs["features seen by the model"]["columns"] == ["a", "b", "c"]

    # lineage: the cells that defined what it read, with their code, in execution order
    assert [cell.execution_count for cell in run.lineage] == [2, 3]
    assert "RandomForestClassifier" in run.lineage[0].code
    assert "frame = pd.DataFrame" in run.lineage[1].code
    assert "frame" in run.lineage[1].defines

    # environment: python, imported packages, git (none in a temp folder)
    assert run.environment["python"]["version"]
    assert "sklearn" in run.environment["packages"]
    assert run.environment["git"] is None


def test_different_data_gives_different_fingerprints(run_notebook: Runner) -> None:
    executed = run_notebook(
        "%load_ext nbmodelbook",
        SETUP,
        DATA,
        "%%track fit\nmodel = LogisticRegression().fit(frame, target)",
        "frame.loc[0, 'a'] = 99.0",
        "%%track fit\nmodel = LogisticRegression().fit(frame, target)",
        "%%track fit\nmodel = LogisticRegression().fit(frame, target)",
    )
    store = executed.store()
    first, second, third = (store.get_run(run_id) for run_id in executed.run_ids())
    assert first and second and third
    assert first.inputs["frame"]["hash"] != second.inputs["frame"]["hash"]
    assert second.inputs["frame"]["hash"] == third.inputs["frame"]["hash"]
    assert first.inputs["target"]["hash"] == second.inputs["target"]["hash"]
    # The in-place edit is part of the second run's lineage: it changed what the run read.
    assert any("frame.loc[0, 'a'] = 99.0" in cell.code for cell in second.lineage)


def test_figures_and_printed_text_are_kept(run_notebook: Runner) -> None:
    executed = run_notebook(
        "%load_ext nbmodelbook",
        "%%track plot\n"
        "import matplotlib.pyplot as plt\n"
        "plt.plot([1, 2, 3], [3, 1, 2])\n"
        "print('AUC 0.91')\n"
        "plt.show()",
    )
    [run_id] = executed.run_ids()
    run = executed.store().get_run(run_id)
    assert run is not None
    mimes = [output.mime for output in run.outputs]
    assert "image/png" in mimes and "text/x-stdout" in mimes
    png = next(output for output in run.outputs if output.mime == "image/png")
    assert base64.b64decode(png.data).startswith(b"\x89PNG")
    stdout = next(output for output in run.outputs if output.mime == "text/x-stdout")
    assert stdout.data == "AUC 0.91\n"


def test_explicit_logging_and_odd_values(run_notebook: Runner) -> None:
    executed = run_notebook(
        "%load_ext nbmodelbook",
        "%%track odd -p fn -p gen -p big\n"
        "import nbmodelbook, socket\n"
        "fn = lambda x: x\n"
        "gen = (i for i in range(3))\n"
        "big = 'y' * 5_000_000\n"
        "loop = []\n"
        "loop.append(loop)\n"
        "nbmodelbook.log_metrics(custom=0.25)\n"
        "nbmodelbook.log_params(seed=7, layers=(64, 32))",
    )
    [run_id] = executed.run_ids()
    run = executed.store().get_run(run_id)
    assert run is not None
    assert run.metrics["custom"] == 0.25
    assert run.params["seed"] == 7 and run.params["layers"] == [64, 32]
    assert run.params["fn"]["type"] == "function"
    assert run.params["gen"]["type"] == "generator"
    assert len(run.params["big"]) == 2_000


def test_log_metrics_outside_a_tracked_cell_explains(run_notebook: Runner) -> None:
    executed = run_notebook(
        "%load_ext nbmodelbook",
        ("import nbmodelbook\nnbmodelbook.log_metrics(auc=0.9)", ["raises-exception"]),
    )
    [error] = [o for o in executed.code_cells()[1].outputs if o.output_type == "error"]
    assert "inside a cell that starts with %%track" in error.evalue


def test_runs_frame_in_the_notebook(run_notebook: Runner) -> None:
    executed = run_notebook(
        "%load_ext nbmodelbook",
        "%%track a\nscore = sum([0.5, 0.25])",
        "%%track b\nscore = sum([0.5, 0.5])",
        "import nbmodelbook as mb\n"
        "frame = mb.runs()\n"
        "list(frame['name']), list(frame['metrics.score']), list(frame['status'])",
    )
    result = executed.code_cells()[-1].outputs[0]["data"]["text/plain"]
    assert result == "(['a', 'b'], [0.75, 1.0], ['ok', 'ok'])"
