"""What `compare()` shows, built from run records alone: params, metrics, code, data, figures.

Pure: records in, a `Comparison` out; the widget and the server only lay it out. The first run
is the reference every other run's code and data are compared with.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from nbmodelbook.errors import UnknownRunError
from nbmodelbook.metric_names import headline_metric
from nbmodelbook.record import RunRecord
from nbmodelbook.report.code_diff import CodeDiff, diff_code
from nbmodelbook.report.compare import compare_runs, params_sentence
from nbmodelbook.report.labels import run_labels
from nbmodelbook.report.model import DataDifference, Evidence, MetricRow, ParamRow
from nbmodelbook.report.sweep import sweep_parameter

if TYPE_CHECKING:
    from nbmodelbook.report.view import Figure
    from nbmodelbook.store.store import RunStore

FIGURE_MIMES = ("image/png", "image/jpeg", "image/svg+xml")
MAX_COMPARED_RUNS = 20  # side by side, more columns than this are unreadable anyway
MAX_FIGURES_PER_RUN = 6
MAX_FIGURE_BYTES = 12_000_000  # all figures of one comparison, before base64
MAX_CLOSE_MATCHES = 5


@dataclass(slots=True)
class Comparison:
    runs: list[RunRecord]
    labels: list[str]
    evidence: Evidence
    code_diffs: list[CodeDiff]  # runs[1:] against runs[0], in order
    data: list[DataDifference]  # runs[1:] against runs[0], in order
    figures: list[list[Figure]] = field(default_factory=list)  # per run
    figures_left_out: int = 0  # beyond the size a widget should carry
    headline: str | None = None
    varying_param: str | None = None  # the only param that differs, when exactly one does
    # The param the headline metric is charted against (`report.sweep.sweep_parameter`).
    sweep_param: str | None = None

    def params(self, only_differences: bool = True) -> list[ParamRow]:
        rows = self.evidence.params
        return [row for row in rows if row.differs] if only_differences else list(rows)

    @property
    def params_sentence(self) -> str:
        """What the runs' params have in common, the report's sentence with the labels here."""
        return params_sentence(self.evidence, self.labels)

    @property
    def metrics(self) -> list[MetricRow]:
        """The headline metric first, then the others by name."""
        return sorted(self.evidence.metrics, key=lambda row: row.name != self.headline)


def _figures(runs: Sequence[RunRecord]) -> tuple[list[list[Figure]], int]:
    """Each run's figures, up to a total size the notebook can carry (each is embedded in
    the widget): an output is decoded only while there is room for it. Returns them and how
    many were left out."""
    from nbmodelbook.report.view import VEGALITE_MIME, figure_of

    kept: list[list[Figure]] = []
    used = left_out = 0
    for run in runs:
        kept.append([])
        shown = [
            output
            for output in run.outputs
            if output.mime in FIGURE_MIMES or VEGALITE_MIME.match(output.mime)
        ]
        for output in shown[:MAX_FIGURES_PER_RUN]:
            # Binary images are kept as base64: about 3 bytes for every 4 characters.
            binary = output.mime in ("image/png", "image/jpeg")
            size = len(output.data) * 3 // 4 if binary else len(output.data)
            if used + size > MAX_FIGURE_BYTES:
                left_out += 1
                continue
            figure = figure_of(output)
            if figure.kind != "image":
                continue
            used += len(figure.image_bytes or b"")
            kept[-1].append(figure)
    return kept, left_out


def build_comparison(runs: Sequence[RunRecord]) -> Comparison:
    if len(runs) < 2:
        raise ValueError(f"compare needs two or more runs, got {len(runs)}")
    if len(runs) > MAX_COMPARED_RUNS:
        raise ValueError(
            f"compare shows up to {MAX_COMPARED_RUNS} runs side by side, not {len(runs)}: "
            "narrow them down with browse() (filter, sort, tick the ones that matter)"
        )
    evidence = compare_runs(runs)
    labels = run_labels(runs)
    # The evidence's sentences name runs by name; use the labels that tell them apart.
    renamed = [replace(run, name=label) for run, label in zip(runs, labels, strict=True)]
    reference = runs[0]
    differing = [row.name for row in evidence.params if row.differs]
    figures, left_out = _figures(runs)
    headline = _headline(runs)
    return Comparison(
        runs=list(runs),
        labels=labels,
        evidence=evidence,
        code_diffs=[diff_code(reference.code, run.code) for run in runs[1:]],
        data=compare_runs(renamed).data,
        figures=figures,
        figures_left_out=left_out,
        headline=headline,
        varying_param=differing[0] if len(differing) == 1 else None,
        sweep_param=sweep_parameter(runs, headline),
    )


def _headline(runs: Sequence[RunRecord]) -> str | None:
    """The reference run's headline metric, else the first other run's that has one."""
    for run in runs:
        name = headline_metric(run)
        if name is not None:
            return name
    return None


def resolve_refs(store: RunStore, refs: Sequence[str], *, notebook: str | None = None) -> list[str]:
    """Run ids for names (the latest run of that name, this notebook's first) or ids.

    Unknown refs raise `UnknownRunError` naming all of them, with close matches among the
    store's run names.
    """
    found: list[str] = []
    unknown: list[str] = []
    for ref in refs:
        run_id = store.resolve(str(ref), notebook=notebook)
        if run_id is None:
            unknown.append(str(ref))
        elif run_id not in found:
            found.append(run_id)
    if unknown:
        names = store.run_names()
        parts = []
        for ref in unknown:
            close = difflib.get_close_matches(ref, names, n=MAX_CLOSE_MATCHES, cutoff=0.5)
            hint = f" (did you mean {', '.join(repr(name) for name in close)}?)" if close else ""
            parts.append(f"{ref!r}{hint}")
        plural = "s" if len(unknown) > 1 else ""
        raise UnknownRunError(
            f"no run named or with id {', '.join(parts)} in {store.location}: "
            f"unknown run{plural}. Use a run name (its latest run) or a run id from "
            "nbmodelbook.runs()."
        )
    return found
