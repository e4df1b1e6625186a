"""How a run is named wherever it is shown: the report, the compare widget, the server.

One rule, so the same runs carry the same labels everywhere:

- a run on its own (a link, a finding, a point among every run of a notebook) is
  `run_label(run)`: "name (short id)";
- runs shown together (the columns of a comparison, the points of one chart) are
  `run_labels(runs)`: the name alone where no other run there shares it, else the name with the
  short id, else (two runs started in the same millisecond) with the full id.

The short id is the first 12 hex digits of the run id: the start time in milliseconds. It beats a
clock time: it reads the same on every machine, whatever its time zone, does not come round again
the next day, and is a ref `compare()` and `run:` links accept.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from nbmodelbook.record import RunRecord

__all__ = ["run_label", "run_labels"]


def run_label(run: RunRecord) -> str:
    """A run named on its own: its name and short id, e.g. "rf-300 (018bcfe56800)"."""
    return f"{run.name} ({run.short_id})"


def run_labels(runs: Sequence[RunRecord]) -> list[str]:
    """Labels for runs shown together, in their order, all different (unless a run repeats):
    the name where it is unique among `runs`, `run_label` where several share it, and the name
    with the full id where even the short ids meet."""
    names = Counter(run.name for run in runs)
    labels = [run.name if names[run.name] == 1 else run_label(run) for run in runs]
    repeated = Counter(labels)
    return [
        f"{run.name} ({run.run_id})" if repeated[label] > 1 else label
        for run, label in zip(runs, labels, strict=True)
    ]
