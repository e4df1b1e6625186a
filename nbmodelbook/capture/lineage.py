"""Lineage: which earlier cells of this kernel session produced the state a cell reads."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from nbmodelbook.capture.code_analysis import analyze_cell, code_hash
from nbmodelbook.record import LineageCell

MAX_LINEAGE_CELLS = 200


@dataclass(slots=True)
class ExecutedCell:
    """One execution in this kernel session, in the order the kernel saw them."""

    execution_count: int | None
    cell_id: str | None
    code: str  # as Python, after IPython's transforms: what the analysis reads
    raw: str  # as typed: what the notebook shows and what is recorded
    run_id: str | None = None


class CellHistory:
    """Every cell this kernel executed; analysed lazily, only when a lineage is asked for."""

    def __init__(self) -> None:
        self.cells: list[ExecutedCell] = []

    def seed(self, raw_inputs: Sequence[str], parsed_inputs: Sequence[str]) -> None:
        """Cells run before the extension was loaded, from IPython's input history."""
        for number, raw in enumerate(raw_inputs):
            if number == 0 or not raw or not raw.strip():
                continue
            code = parsed_inputs[number] if number < len(parsed_inputs) else raw
            self.cells.append(ExecutedCell(number, None, code, raw))

    def record(self, cell: ExecutedCell) -> int:
        self.cells.append(cell)
        return len(self.cells) - 1

    def lineage(self, reads: Iterable[str], before: int) -> list[LineageCell]:
        """The cells before position `before` that defined (or changed) what is read, transitively.

        Walks back through the session: the latest cell that binds a needed name ends the search
        for that name; cells that only modify it in place are kept and the search goes on.
        """
        needed = set(reads)
        chosen: list[tuple[int, frozenset[str]]] = []
        for index in range(min(before, len(self.cells)) - 1, -1, -1):
            if not needed or len(chosen) >= MAX_LINEAGE_CELLS:
                break
            analysis = analyze_cell(self.cells[index].code)
            bound = needed & analysis.writes
            touched = needed & analysis.maybe_mutated
            if not bound and not touched:
                continue
            chosen.append((index, frozenset(bound | touched)))
            needed -= bound
            needed |= analysis.reads
        lineage = []
        for index, provides in reversed(chosen):
            cell = self.cells[index]
            analysis = analyze_cell(cell.code)
            lineage.append(
                LineageCell(
                    execution_count=cell.execution_count,
                    cell_id=cell.cell_id,
                    code_hash=code_hash(cell.raw),
                    code=cell.raw,
                    defines=sorted(provides),
                    reads=sorted(analysis.reads),
                    run_id=cell.run_id,
                )
            )
        return lineage
