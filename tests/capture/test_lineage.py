from __future__ import annotations

from nbmodelbook.capture.lineage import CellHistory, ExecutedCell


def history(*cells: str) -> CellHistory:
    recorded = CellHistory()
    for number, code in enumerate(cells, start=1):
        recorded.record(ExecutedCell(number, f"id-{number}", code, code))
    return recorded


def test_transitive_definitions_in_execution_order() -> None:
    cells = history(
        "import pandas as pd",
        "raw = pd.read_csv('x.csv')",
        "unrelated = 42",
        "clean = raw.dropna()",
        "model.fit(clean)",
    )
    lineage = cells.lineage({"clean"}, before=4)
    assert [cell.execution_count for cell in lineage] == [1, 2, 4]
    assert lineage[2].defines == ["clean"]
    assert lineage[1].reads == ["pd"]


def test_latest_definition_wins_and_in_place_changes_are_kept() -> None:
    cells = history(
        "data = load(1)",
        "data = load(2)",
        "data['x'] = 0",
        "fit(data)",
    )
    lineage = cells.lineage({"data"}, before=3)
    assert [cell.execution_count for cell in lineage] == [2, 3]


def test_re_executed_cell_uses_the_latest_execution() -> None:
    cells = history("alpha = 1", "alpha = 2")
    [only] = cells.lineage({"alpha"}, before=2)
    assert only.code == "alpha = 2"


def test_names_from_before_the_session_are_ignored() -> None:
    assert history("x = 1").lineage({"never_defined"}, before=1) == []


def test_seed_from_ipython_history() -> None:
    cells = CellHistory()
    cells.seed(["", "%load_ext nbmodelbook", "y = 3"], ["", "get_ipython()", "y = 3"])
    [entry] = cells.lineage({"y"}, before=len(cells.cells))
    assert entry.execution_count == 2
