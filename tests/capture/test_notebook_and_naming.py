from __future__ import annotations

from pathlib import Path

from nbmodelbook.capture.code_analysis import analyze_cell
from nbmodelbook.capture.naming import default_run_name
from nbmodelbook.capture.notebook import detect_notebook_path


def test_notebook_path_from_each_frontend(tmp_path: Path) -> None:
    notebook = tmp_path / "model.ipynb"
    notebook.write_text("{}")
    assert detect_notebook_path({}, {}, tmp_path) is None
    assert detect_notebook_path({"__vsc_ipynb_file__": str(notebook)}, {}, tmp_path) == str(
        notebook
    )
    # Jupyter Server's session path is relative to the server root, not the kernel's folder.
    assert detect_notebook_path({"__session__": "work/model.ipynb"}, {}, tmp_path) == str(notebook)
    assert detect_notebook_path({}, {"JPY_SESSION_NAME": "model.ipynb"}, tmp_path) == str(notebook)
    explicit = {"NBMODELBOOK_NOTEBOOK": str(tmp_path / "other.ipynb")}
    assert detect_notebook_path({"__session__": "model.ipynb"}, explicit, tmp_path) == str(
        tmp_path / "other.ipynb"
    )


def test_default_names_are_stable_and_readable() -> None:
    code = "# Gradient boosting, tuned!\nmodel = GBM(lr=0.1)"
    assert default_run_name(code, analyze_cell(code), "cell-1") == "gradient-boosting-tuned"
    code = "model = RandomForestClassifier(n_estimators=5)\nmodel.fit(X, y)"
    assert default_run_name(code, analyze_cell(code), "cell-1") == "random-forest-classifier"
    code = "x = compute()"
    assert default_run_name(code, analyze_cell(code), "cell-ab12") == "cell-ab12"


def test_a_notebook_reached_through_a_symlink_is_filed_under_its_real_path(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (real / "model.ipynb").write_text("{}")
    link = tmp_path / "link"
    link.symlink_to(real, target_is_directory=True)
    expected = str((real / "model.ipynb").resolve())
    # JupyterLab started in /…/link gives kernels absolute session paths through the link.
    assert detect_notebook_path({}, {"JPY_SESSION_NAME": str(link / "model.ipynb")}, link) == (
        expected
    )
    assert detect_notebook_path({"__session__": "model.ipynb"}, {}, link) == expected
