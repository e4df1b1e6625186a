"""Lineage: which earlier cells of this kernel session produced the state a cell reads."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from nbmodelbook.capture.code_analysis import analyze_cell
from nbmodelbook.record import LineageCell, code_hash

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
    """Every cell this kernel executed, with an index of which cells bound or changed each name.

    Cells are analysed lazily, once each, when a lineage is first asked for after them; the
    index keeps a lineage query independent of how long the session has run.

    The kernel's thread only appends cells; lineages are asked for (and the index built) on
    the store's writer thread alone, one run after another.
    """

    def __init__(self) -> None:
        self.cells: list[ExecutedCell] = []
        self._indexed = 0
        self._binders: dict[str, list[int]] = {}  # name -> positions of cells binding it
        self._changers: dict[str, list[int]] = {}  # name -> positions of cells changing it
        self._reads: list[frozenset[str]] = []

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

    def _index_up_to(self, end: int) -> None:
        for position in range(self._indexed, min(end, len(self.cells))):
            analysis = analyze_cell(self.cells[position].code)
            for name in analysis.writes:
                self._binders.setdefault(name, []).append(position)
            for name in analysis.maybe_mutated - analysis.writes:
                self._changers.setdefault(name, []).append(position)
            self._reads.append(analysis.reads)
            self._indexed = position + 1

    def lineage(self, reads: Iterable[str], before: int) -> list[LineageCell]:
        """The cells before position `before` that defined (or changed) what is read, transitively.

        For each name: the latest cell before the reader that binds it, plus the cells after
        that binding which changed it in place; then the same for what those cells read.
        """
        self._index_up_to(before)
        chosen: dict[int, set[str]] = {}
        pending = [(name, before) for name in reads]
        visited: set[tuple[str, int]] = set()
        while pending and len(chosen) < MAX_LINEAGE_CELLS:
            name, limit = pending.pop()
            if (name, limit) in visited:
                continue
            visited.add((name, limit))
            binders = self._binders.get(name, [])
            at = bisect_left(binders, limit)
            start = binders[at - 1] if at else -1
            positions = [start] if start >= 0 else []
            changers = self._changers.get(name, [])
            positions += changers[bisect_left(changers, start + 1) : bisect_left(changers, limit)]
            for position in positions:
                first_visit = position not in chosen
                chosen.setdefault(position, set()).add(name)
                if first_visit:
                    pending.extend((needed, position) for needed in self._reads[position])
        lineage = []
        for position in sorted(chosen):
            cell = self.cells[position]
            lineage.append(
                LineageCell(
                    execution_count=cell.execution_count,
                    cell_id=cell.cell_id,
                    code_hash=code_hash(cell.raw),
                    code=cell.raw,
                    defines=sorted(chosen[position]),
                    reads=sorted(self._reads[position]),
                    run_id=cell.run_id,
                )
            )
        return lineage
