"""Framework coverage end to end: real notebooks executed in a real kernel, then `nbmodelbook check
--framework ...` and `nbmodelbook report --framework ...` on them. A notebook that writes every
model fact down and records its evidence covers the whole model card; one that writes nothing
misses every section, each with what to write; and the demo sits in between."""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_markdown_cell

from nbmodelbook.cli import main
from tests.integration.conftest import KERNEL_TIMEOUT, kernel_env, make_notebook

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]

DATA = """\
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.tree import DecisionTreeClassifier
from sklearn.metrics import roc_auc_score
rng = np.random.default_rng(11)
n = 1500
frame = pd.DataFrame(rng.normal(size=(n, 3)), columns=["x0", "x1", "x2"])
frame["region"] = pd.Categorical(rng.choice(["north", "south"], size=n))
label = (frame["x0"] + frame["x1"] + 0.5 * rng.normal(size=n) > 0).astype(int)
FEATURES = ["x0", "x1", "x2"]
X_train, X_test = frame.iloc[:1000], frame.iloc[1000:]
y_train, y_test = label.iloc[:1000], label.iloc[1000:]
"""
LOGREG = (
    "%%track logreg\n"
    "model = LogisticRegression().fit(X_train[FEATURES], y_train)\n"
    "auc = roc_auc_score(y_test, model.predict_proba(X_test[FEATURES])[:, 1])"
)
STUMP = (
    "%%track stump\n"
    "model = DecisionTreeClassifier(max_depth=1, random_state=0).fit(X_train[FEATURES], y_train)\n"
    "auc = roc_auc_score(y_test, model.predict_proba(X_test[FEATURES])[:, 1])"
)
EVERY_FACT = [
    "> [!INTENDED-USE] Ranks loan applications for a credit officer's second look.",
    "> [!OUT-OF-SCOPE] Not for automatic refusals, nor for business customers.",
    "> [!OWNER] Retail credit risk models team (models@bank.example).",
    "> [!VERSION] 2.1, retrained on 2026 applications; 2.0 used one feature fewer.",
    "> [!DATA] Synthetic applications: three scores and the applicant's region.",
    "> [!RISK] A region with little data may be ranked worse than it deserves.",
    "> [!LIMITATION] Not tested on applicants outside the two regions.",
    "> [!DECISION] Logistic regression\n> We chose run:logreg over run:stump. metric:auc",
    "> [!CRITERION] auc >= 0.8",
]
POLICY = """\
title = "Our bank's model standard"
source = "Model Risk Policy MRP-4 (2025)"

[[element]]
id = "acceptance"
title = "Acceptance criteria stated and met"
clause = "MRP-4 §5"
requires = ["annotation:criterion", "review:criteria-met"]
"""


def execute(folder: Path, *cells: str, annotations: Sequence[str] = ()) -> Path:
    """Execute `cells` in a fresh kernel in `folder`, then append `annotations` as Markdown
    cells, as a modeller writes them after the runs."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "model.ipynb"
    notebook = make_notebook(*cells)
    client = NotebookClient(
        notebook, timeout=KERNEL_TIMEOUT, resources={"metadata": {"path": str(folder)}}
    )
    client.execute(env=kernel_env(folder / "runs.sqlite", path))
    notebook.cells.extend(new_markdown_cell(text) for text in annotations)
    nbformat.write(notebook, path)
    return path


def check(path: Path, capsys: pytest.CaptureFixture[str], *frameworks: str) -> tuple[int, Any]:
    """`check --format json` with `frameworks`, and the same in text (the same exit status)."""
    args = ["check", str(path), "--store", str(path.parent / "runs.sqlite")]
    for framework in frameworks:
        args += ["--framework", framework]
    capsys.readouterr()
    status = main([*args, "--format", "json"])
    payload = json.loads(capsys.readouterr().out)
    assert main(args) == status
    payload["text"] = capsys.readouterr().out
    return status, payload


def by_id(payload: Any, framework: str) -> dict[str, Any]:
    [found] = [f for f in payload["coverage"] if f["framework"] == framework]
    return {element["id"]: element for element in found["elements"]}


@pytest.fixture(scope="module")
def every_fact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("every-fact")
    return execute(folder, "%load_ext nbmodelbook", DATA, LOGREG, STUMP, annotations=EVERY_FACT)


@pytest.fixture(scope="module")
def bare(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return execute(tmp_path_factory.mktemp("bare"), "%load_ext nbmodelbook", "x = 1")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("demo")
    shutil.copy(REPO / "demo.ipynb", folder / "demo.ipynb")
    path = folder / "demo.ipynb"
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook, timeout=KERNEL_TIMEOUT, resources={"metadata": {"path": str(folder)}}
    )
    client.execute(env=kernel_env(folder / "runs.sqlite", path))
    nbformat.write(notebook, path)
    return path


def test_a_notebook_with_every_fact_covers_the_whole_model_card(
    every_fact: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, payload = check(every_fact, capsys, "model-card")
    elements = by_id(payload, "model-card")
    assert {element["status"] for element in elements.values()} == {"covered"}, {
        key: element["missing"] for key, element in elements.items() if element["missing"]
    }
    assert payload["missing_elements"] == 0 and payload["ready"] is True
    assert status == 0
    # Each says what covers it, in the review's own terms.
    assert elements["intended-use"]["covered_by"] == [
        "the INTENDED-USE annotation (cell 5)",
        "the OUT-OF-SCOPE annotation (cell 6)",
    ]
    assert any("region" in text for text in elements["factors"]["covered_by"])
    assert any("95% interval (DeLong)" in text for text in elements["metrics"]["covered_by"])
    assert "Model Cards for Model Reporting: 9 elements: 9 covered" in payload["text"]


def test_an_organisations_own_framework_reads_the_criteria(
    every_fact: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = every_fact.parent / "our-bank.toml"
    policy.write_text(POLICY, encoding="utf-8")
    status, payload = check(every_fact, capsys, str(policy))
    assert status == 0
    [acceptance] = by_id(payload, "our-bank").values()
    assert acceptance["status"] == "covered"
    assert acceptance["covered_by"] == [
        "the CRITERION annotation (cell 13)",
        "the 1 acceptance criterion met",
    ]
    # A bar the model does not clear: the criterion is written, but not met.
    original = every_fact.read_bytes()
    notebook = nbformat.read(every_fact, as_version=4)
    notebook.cells[-1].source = "> [!CRITERION] auc >= 0.9999"
    nbformat.write(notebook, every_fact)
    try:
        status, payload = check(every_fact, capsys, str(policy))
    finally:
        every_fact.write_bytes(original)
    assert [criterion["status"] for criterion in payload["criteria"]] == ["not met"]
    [acceptance] = by_id(payload, "our-bank").values()
    assert acceptance["status"] == "partly covered"
    assert acceptance["covered_by"] == ["the CRITERION annotation (cell 13)"]
    assert "meet every one" in acceptance["missing"][0]


def test_a_notebook_with_nothing_written_misses_every_section_with_its_fix(
    bare: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, payload = check(bare, capsys, "model-card")
    assert status == 1 and payload["ready"] is False
    elements = by_id(payload, "model-card")
    assert len(elements) == 9
    assert {element["status"] for element in elements.values()} == {"missing"}
    for element in elements.values():
        assert element["covered_by"] == [] and element["missing"]
    assert any("`> [!INTENDED-USE]`" in fix for fix in elements["intended-use"]["missing"])
    assert any("`> [!RISK]`" in fix for fix in elements["ethical-considerations"]["missing"])
    assert payload["missing_elements"] == 9
    text = payload["text"]
    assert "9 elements: 0 covered, 0 partly covered, 9 missing" in text
    assert "  ✗ Intended Use [Mitchell et al. 2019, §4.2 Intended Use]: missing: write an" in text
    assert "9 framework elements are missing (marked ✗)" in text


def test_the_demo_misses_no_element_of_sr_11_7_nor_annex_iv(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, payload = check(demo, capsys, "sr-11-7", "eu-ai-act")
    # Partly covered elements (no METHOD annotation, no cross-validation) do not fail it.
    assert status == 0 and payload["ready"] is True and payload["missing_elements"] == 0
    sr = by_id(payload, "sr-11-7")
    assert sr["benchmarking"]["status"] == "covered"
    assert sr["benchmarking"]["covered_by"][0].startswith("paired comparisons with 2 alternatives")
    assert sr["ongoing-monitoring"]["covered_by"] == ["the MONITORING annotation (cell 2)"]
    design = sr["design-theory-logic"]
    assert design["status"] == "partly covered"
    assert len(design["missing"]) == 1 and "`> [!METHOD]`" in design["missing"][0]
    assert sr["independent-validation"]["status"] == "outside the notebook"
    act = by_id(payload, "eu-ai-act")
    assert act["8"]["status"] == "outside the notebook"
    assert act["9"]["covered_by"] == ["the MONITORING annotation (cell 2)"]
    assert sum(1 for e in act.values() if e["status"] == "outside the notebook") == 13
    text = payload["text"]
    assert text.startswith("demo.ipynb: ready for review")
    assert "  ~ Design, theory and logic documented; alternatives compared [SR 11-7, IV." in text
    assert "framework element" not in text.splitlines()[-1]


def test_the_demo_misses_the_model_cards_factors(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, payload = check(demo, capsys, "model-card")
    assert status == 1 and payload["missing_elements"] == 1
    card = by_id(payload, "model-card")
    missing = [key for key, element in card.items() if element["status"] == "missing"]
    assert missing == ["factors"]  # the demo breaks its figures down by no group
    assert "%modelbook segments" in card["factors"]["missing"][0]
    assert card["intended-use"]["status"] == "covered"
    assert payload["text"].startswith("demo.ipynb: NOT ready for review")
    assert "1 framework element is missing (marked ✗)" in payload["text"]


def test_the_demos_metadata_names_its_framework_for_the_report(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = str(demo.parent / "runs.sqlite")
    html = demo.with_name("demo.review.html")
    capsys.readouterr()
    assert main(["report", str(demo), "--store", store, "--framework", "model-card"]) == 0
    text = html.read_text(encoding="utf-8")
    section = text[text.index('<section class="section" id="coverage">') :]
    section = section[: section.index("</section>")]
    assert ". Framework coverage</h2>" in section
    assert '<h3 id="coverage-model-card">Model Cards for Model Reporting</h3>' in section
    assert "<td>Mitchell et al. 2019, §4.2 Intended Use</td>" in section
    assert "<code>%modelbook segments COL ...</code>" in section
    # Without --framework, no section; with the notebook's metadata naming one, the section.
    assert main(["report", str(demo), "--store", store]) == 0
    assert 'id="coverage"' not in html.read_text(encoding="utf-8")
    original = demo.read_bytes()
    notebook = nbformat.read(demo, as_version=4)
    notebook.metadata["nbmodelbook"] = {"frameworks": ["model-card"]}
    nbformat.write(notebook, demo)
    try:
        out = demo.with_suffix(".review.json")
        assert main(["report", str(demo), "--store", store, "-o", str(out)]) == 0
        [framework] = json.loads(out.read_text(encoding="utf-8"))["coverage"]
        assert framework["framework"] == "model-card"
        assert framework["counts"]["missing"] == 1  # the Factors: no segments
        assert main(["report", str(demo), "--store", store]) == 0
        assert ". Framework coverage</h2>" in html.read_text(encoding="utf-8")
    finally:
        demo.write_bytes(original)
