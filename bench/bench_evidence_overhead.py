"""What keeping the evidence behind metrics costs a tracked cell, in a real ipykernel.

Run: python bench/bench_evidence_overhead.py [--pairs 1000] [--rounds 60] [--quick] [--profile]

A tracked cell keeps the predictions behind each scikit-learn metric call: the metric
functions are swapped for a recording wrapper during the cell, the arrays they received are
copied right after it on the notebook's thread, and the writer thread fingerprints, samples and
stores them. Measured with the machinery of bench_kernel_overhead.py (a real kernel driven
through jupyter_client, each cell timed from its execute_request to its `status: idle`, paired
against the same cell untracked, the order alternating ABBA), on arrays made in an untracked
setup cell:

- metrics, 100,000 and 1,000,000 predictions: `roc_auc_score(y_true, scores)` plus
  `accuracy_score(y_true, scores > 0.5)`, tracked against untracked; and the floor, the time of
  copying those two arrays with np.copy (timed inside the kernel, once a round);
- cross-validation: `cross_val_score(model, X, y, cv=5)` on iris;
- trivial: `x = 1`, with sklearn.metrics imported and its functions in the namespace, so the
  observer's check runs on every cell (pairs as bench_kernel_overhead.py runs them); and the
  same tracked cell with the evidence switched on against off (`%config ModelBook.evidence`),
  which is what observing metric calls adds to a cell that makes none.

The metric and cross-validation cells are each followed by a flush of the writer thread, timed
apart from the cell, so each cell starts with the writer idle and the figures are the notebook's
thread's cost; the flush's round trip after a tracked cell, against the one after the untracked
cell, shows what the writer thread still had to do once the cell was idle.

A metric cell's own work (sorting a million scores) swings by hundreds of milliseconds on a
shared machine, far more than what is measured. So the kernel also times, for every cell, its
pre_run_cell/post_run_cell callbacks (where nbmodelbook's hooks run) and the cell's own code
between them; "outside the cell's own code" is the round trip minus the code's time, paired like
the round trip (what the user waits for, less the cell's own swings). Both the round trip and
that figure are held to the budget.

After the timed part the store must hold every tracked run, and one run of each kind is read
back with `RunStore.evidence`: the arrays must be the ones the cell scored, the kept values the
ones scikit-learn computes from them, the folds those of the same cross-validation run here, and
the trivial cell must hold no evidence. A path that silently recorded nothing fails the bench.
`--profile` adds a cProfile of the kernel's main thread over tracked cells of each kind.
"""

from __future__ import annotations

import argparse
import bisect
import json
import math
import sys
import tempfile
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _common import BenchFailure, Figure, Result, finish, ms, quiet_third_party, table
from bench_kernel_overhead import (
    FLUSH,
    Execution,
    Kernel,
    Pairs,
    check_pair,
    measure_trivial,
    tracked,
    verify_store,
)

METRICS_100K_BUDGET_MS = 5.0
METRICS_1M_BUDGET_MS = 30.0
TRIVIAL_BUDGET_MS = 2.0

SIZES: dict[str, int] = {"100k": 100_000, "1m": 1_000_000}

# Run in the kernel (untracked) and again here, to check the stored arrays against.
PREDICTIONS = """\
import numpy as np
_rng = np.random.default_rng(20261201)
y_true_100k = (_rng.random(100_000) < 0.3).astype(np.int64)
scores_100k = np.clip(0.35 * y_true_100k + 0.65 * _rng.random(100_000), 0.0, 1.0)
y_true_1m = (_rng.random(1_000_000) < 0.3).astype(np.int64)
scores_1m = np.clip(0.35 * y_true_1m + 0.65 * _rng.random(1_000_000), 0.0, 1.0)
"""
SETUP = (
    PREDICTIONS
    + """\
import sklearn.metrics
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score, roc_auc_score
from sklearn.model_selection import cross_val_score
X, y = load_iris(return_X_y=True)
model = LogisticRegression(max_iter=1000)
"""
)


def metrics_cell(size: str) -> str:
    return (
        f"auc = roc_auc_score(y_true_{size}, scores_{size})\n"
        f"acc = accuracy_score(y_true_{size}, scores_{size} > 0.5)\n"
    )


CV_CELL = "cv_scores = cross_val_score(model, X, y, cv=5)\n"

# name -> cell body, measured in interleaved rounds.
CELLS: dict[str, str] = {
    "metrics-100k": metrics_cell("100k"),
    "metrics-1m": metrics_cell("1m"),
    "cross-validation": CV_CELL,
}

# In the kernel, for every cell: the time IPython's pre_run_cell and post_run_cell callbacks
# took (nbmodelbook's hooks, plus IPython's own, the same for both variants) and the time of the
# cell's own code between them. Callbacks at both ends of both lists bracket everything else.
IN_KERNEL_TIMING = """\
import time as _nbmb_time
_nbmb_marks = {}
_nbmb_cells = []
def _nbmb_pre_first(info):
    _nbmb_marks["t0"] = _nbmb_time.perf_counter()
def _nbmb_pre_last(info):
    _nbmb_marks["t1"] = _nbmb_time.perf_counter()
def _nbmb_post_first(result):
    _nbmb_marks["t2"] = _nbmb_time.perf_counter()
def _nbmb_post_last(result):
    t3, marks = _nbmb_time.perf_counter(), _nbmb_marks
    if "t0" in marks:
        _nbmb_cells.append(
            (marks["t0"], marks["t1"] - marks["t0"] + t3 - marks["t2"], marks["t2"] - marks["t1"])
        )
_nbmb_events = get_ipython().events.callbacks
_nbmb_events["pre_run_cell"].insert(0, _nbmb_pre_first)
_nbmb_events["pre_run_cell"].append(_nbmb_pre_last)
_nbmb_events["post_run_cell"].insert(0, _nbmb_post_first)
_nbmb_events["post_run_cell"].append(_nbmb_post_last)
"""
IN_KERNEL_REPORT = 'print(__import__("json").dumps(_nbmb_cells)); _nbmb_cells.clear()'


@dataclass(frozen=True, slots=True)
class InKernel:
    """One cell as timed inside the kernel, on the notebook's thread (seconds)."""

    hooks: float  # pre_run_cell and post_run_cell callbacks: where nbmodelbook's hooks run
    code: float  # the cell's own code, between them (the metric wrappers included)


def in_kernel_times(kernel: Kernel) -> list[tuple[float, InKernel]]:
    """The kernel's timings of the cells since the last call, with when each one started."""
    entries = json.loads(stream_text(kernel.run(IN_KERNEL_REPORT)))
    return [(float(start), InKernel(float(hooks), float(code))) for start, hooks, code in entries]


def match_timings(
    executions: Sequence[Execution], timings: Sequence[tuple[float, InKernel]]
) -> dict[float, InKernel]:
    """Execution.started -> the kernel's timing of that cell (perf_counter is one clock for
    both processes: each timing started within one execution's round trip)."""
    ordered = sorted(timings, key=lambda item: item[0])
    starts = [start for start, _timing in ordered]
    found: dict[float, InKernel] = {}
    for execution in executions:
        position = bisect.bisect_left(starts, execution.started)
        if position < len(ordered):
            start, timing = ordered[position]
            if start <= execution.started + execution.seconds:
                found[execution.started] = timing
    return found


def in_kernel_diffs(pairs: Pairs, timings: dict[float, InKernel]) -> dict[str, list[float]]:
    """Paired diffs (tracked - untracked) of the hooks' time, of the cell's own code, and of
    the round trip outside the cell's own code (which leaves out the cell's own swings)."""
    diffs: dict[str, list[float]] = {"hooks": [], "code": [], "outside_code": []}
    for plain, marked in zip(pairs.untracked, pairs.tracked, strict=True):
        before, after = timings.get(plain.started), timings.get(marked.started)
        if before is None or after is None:
            raise BenchFailure("a measured cell has no timing from inside the kernel")
        diffs["hooks"].append(after.hooks - before.hooks)
        diffs["code"].append(after.code - before.code)
        diffs["outside_code"].append((marked.seconds - after.code) - (plain.seconds - before.code))
    return diffs


# The floor: just copying the two arrays a metric cell scores, timed inside the kernel.
FLOOR = """\
import json as _json, time as _time
_floor = {}
for _size, (_y, _s) in {"100k": (y_true_100k, scores_100k), "1m": (y_true_1m, scores_1m)}.items():
    _t = _time.perf_counter()
    _a = np.copy(_y)
    _b = np.copy(_s)
    _floor[_size] = _time.perf_counter() - _t
    del _a, _b
print(_json.dumps(_floor))
"""


@dataclass
class FlushedPairs(Pairs):
    """Pairs whose cells were each followed by a flush of the writer (timed separately)."""

    flush_untracked: list[float] = field(default_factory=list)
    flush_tracked: list[float] = field(default_factory=list)

    def writer_tail(self) -> list[float]:
        return [b - a for a, b in zip(self.flush_untracked, self.flush_tracked, strict=True)]


def flushed_pair(
    kernel: Kernel, label: str, body: str, index: int
) -> tuple[Execution, Execution, float, float]:
    """One pair, each cell starting with the writer idle and followed by a flush; the order
    alternates with `index`. (untracked, tracked, flush after untracked, after tracked)."""
    order = ("untracked", "tracked") if index % 2 == 0 else ("tracked", "untracked")
    done: dict[str, tuple[Execution, float]] = {}
    for variant in order:
        cell = kernel.execute(body if variant == "untracked" else tracked(label, body))
        done[variant] = (cell, kernel.run(FLUSH).seconds)
    (plain, plain_flush), (marked, marked_flush) = done["untracked"], done["tracked"]
    check_pair(label, plain, marked)
    return plain, marked, plain_flush, marked_flush


def stream_text(done: Execution) -> str:
    return "".join(o.get("text", "") for o in done.outputs if o["msg_type"] == "stream")


def measure_cells(
    kernel: Kernel, rounds: int, warmup: int
) -> tuple[dict[str, FlushedPairs], dict[str, list[float]], dict[float, InKernel]]:
    """The metric and cross-validation cells in interleaved rounds, the copy floor, and the
    kernel's own timings of the measured cells."""
    samples = {name: FlushedPairs() for name in CELLS}
    floors: dict[str, list[float]] = {size: [] for size in SIZES}
    timings: list[tuple[float, InKernel]] = []
    kernel.run(FLUSH)
    for round_index in range(warmup + rounds):
        for position, (name, body) in enumerate(CELLS.items()):
            plain, marked, plain_flush, marked_flush = flushed_pair(
                kernel, name, body, round_index + position
            )
            if round_index >= warmup:
                pairs = samples[name]
                pairs.untracked.append(plain)
                pairs.tracked.append(marked)
                pairs.flush_untracked.append(plain_flush)
                pairs.flush_tracked.append(marked_flush)
        floor = json.loads(stream_text(kernel.run(FLOOR)))
        timings.extend(in_kernel_times(kernel))
        if round_index >= warmup:
            for size in SIZES:
                floors[size].append(float(floor[size]))
    measured = [run for pairs in samples.values() for run in pairs.untracked + pairs.tracked]
    return samples, floors, match_timings(measured, timings)


EVIDENCE_SWITCH = {
    "untracked": ("%config ModelBook.evidence = False", tracked("evidence-off", "x = 1")),
    "tracked": ("%config ModelBook.evidence = True", tracked("evidence-on", "x = 1")),
}


def measure_evidence_switch(kernel: Kernel, pairs: int, warmup: int) -> Pairs:
    """`x = 1` tracked with the evidence off ("untracked" side) and on ("tracked" side): what
    observing metric calls adds to a cell without any, against tracking as it was before.
    Each cell follows the `%config` cell that sets its side, the order alternating."""
    measured = Pairs()
    try:
        kernel.run(EVIDENCE_SWITCH["untracked"][0])
        setting = stream_text(kernel.run(f"{FLUSH}\nprint(_active().settings.evidence)"))
        if setting.strip() != "False":
            raise BenchFailure(f"%config did not switch the evidence off: {setting!r}")
        for index in range(warmup + pairs):
            order = ("untracked", "tracked") if index % 2 == 0 else ("tracked", "untracked")
            done: dict[str, Execution] = {}
            for variant in order:
                switch, code = EVIDENCE_SWITCH[variant]
                kernel.run(switch)
                done[variant] = kernel.execute(code)
            off, on = done["untracked"], done["tracked"]
            if off.status != "ok" or on.status != "ok" or off.markers != 1 or on.markers != 1:
                raise BenchFailure(
                    f"evidence on/off: statuses {off.status}, {on.status}; markers "
                    f"{off.markers}, {on.markers}"
                )
            if index >= warmup:
                measured.untracked.append(off)
                measured.tracked.append(on)
    finally:
        kernel.run(EVIDENCE_SWITCH["tracked"][0])
    return measured


# --------------------------------------------------------------------------- verification


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise BenchFailure(message)


def _latest_run(rows: Sequence[dict[str, Any]], name: str) -> str:
    found = [row for row in rows if row["name"] == name]
    _check(bool(found), f"no run named {name!r} in the store")
    return str(found[-1]["run_id"])


def verify_evidence(store: Path) -> dict[str, Any]:
    """One run of each kind holds the evidence its cell had (the trivial one none)."""
    import numpy as np
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, roc_auc_score
    from sklearn.model_selection import cross_val_score

    from nbmodelbook.store.store import RunStore

    data: dict[str, Any] = {}
    exec(PREDICTIONS, data)
    checked: dict[str, Any] = {}
    opened = RunStore.open(str(store))
    try:
        rows = opened.run_summaries()
        for size, rows_expected in SIZES.items():
            name = f"metrics-{size}"
            run_id = _latest_run(rows, name)
            record = opened.get_run(run_id)
            _check(record is not None, f"{name}: run {run_id} cannot be read")
            assert record is not None
            notes = record.extra.get("evidence_notes")
            _check(not notes, f"{name}: evidence notes {notes}")
            evaluations, candidates = opened.evidence(run_id)
            by_metric = {evaluation.metric: evaluation for evaluation in evaluations}
            _check(
                sorted(by_metric) == ["acc", "auc"] and not candidates,
                f"{name}: evaluations {sorted(by_metric)}, {len(candidates)} candidates",
            )
            y_true, scores = data[f"y_true_{size}"], data[f"scores_{size}"]
            auc, acc = by_metric["auc"], by_metric["acc"]
            for evaluation in (auc, acc):
                _check(
                    evaluation.n_total == rows_expected and evaluation.n == rows_expected,
                    f"{name}: {evaluation.metric} kept {evaluation.n} of {evaluation.n_total} rows",
                )
                _check(
                    np.array_equal(evaluation.y_true, y_true),
                    f"{name}: {evaluation.metric}'s y_true is not the cell's",
                )
                _check(bool(evaluation.rows_fingerprint), f"{name}: no rows fingerprint")
            _check(
                auc.function == "roc_auc_score"
                and auc.y_score is not None
                and np.array_equal(auc.y_score, scores),
                f"{name}: auc's scores are not the cell's",
            )
            _check(
                acc.function == "accuracy_score"
                and acc.y_pred is not None
                and np.array_equal(acc.y_pred, scores > 0.5)
                and acc.options.get("threshold") == 0.5,
                f"{name}: acc's predictions are not the cell's ({acc.options})",
            )
            recomputed = {
                "auc": float(roc_auc_score(auc.y_true, auc.y_score)),
                "acc": float(accuracy_score(acc.y_true, acc.y_pred)),
            }
            for metric, value in recomputed.items():
                kept = by_metric[metric].value
                _check(
                    kept is not None
                    and math.isclose(kept, value, rel_tol=1e-12)
                    and math.isclose(record.metrics.get(metric, math.nan), value, rel_tol=1e-12),
                    f"{name}: {metric} kept {kept}, run metric {record.metrics.get(metric)}, "
                    f"recomputed {value}",
                )
            checked[name] = {"run_id": run_id, **recomputed, "rows": rows_expected}

        run_id = _latest_run(rows, "cross-validation")
        evaluations, candidates = opened.evidence(run_id)
        iris_X, iris_y = load_iris(return_X_y=True)
        expected = [
            float(score)
            for score in cross_val_score(LogisticRegression(max_iter=1000), iris_X, iris_y, cv=5)
        ]
        _check(
            not evaluations
            and len(candidates) == 1
            and candidates[0].source == "cross_val_score"
            and np.allclose(candidates[0].fold_scores, expected),
            f"cross-validation: {len(evaluations)} evaluations, candidates "
            f"{[(c.source, c.fold_scores) for c in candidates]}, expected folds {expected}",
        )
        checked["cross-validation"] = {"run_id": run_id, "fold_scores": expected}

        run_id = _latest_run(rows, "trivial")
        evaluations, candidates = opened.evidence(run_id)
        _check(
            not evaluations and not candidates,
            f"trivial: {len(evaluations)} evaluations, {len(candidates)} candidates",
        )
        checked["trivial"] = {"run_id": run_id, "evidence": "none"}
    finally:
        opened.close()
    return checked


# --------------------------------------------------------------------------- profile

PROFILE_START = """\
import cProfile as _cprofile
_nbmb_profile = _cprofile.Profile()
_nbmb_profile.enable()
"""
PROFILE_STOP = """\
_nbmb_profile.disable()
import pstats as _pstats
_rows = [
    (_ct, _tt, _nc, f"{_file.rsplit('site-packages/', 1)[-1]}:{_line}({_func})")
    for (_file, _line, _func), (_cc, _nc, _tt, _ct, _callers)
    in _pstats.Stats(_nbmb_profile).stats.items()
]
print(__import__("json").dumps(_rows))
"""


def profile_cell(kernel: Kernel, label: str, body: str, cells: int) -> str:
    """cProfile of the kernel's main thread over `cells` tracked executions of `body`: the
    nbmodelbook functions by cumulative time, and every function by own time, per cell."""
    kernel.run(FLUSH)
    kernel.run(PROFILE_START)
    for _ in range(cells):
        kernel.run(tracked(label, body))
        kernel.run(FLUSH)
    rows = [tuple(row) for row in json.loads(stream_text(kernel.run(PROFILE_STOP)))]

    def per_cell(
        selected: Callable[[tuple[Any, ...]], bool], key: int, top: int
    ) -> list[tuple[object, ...]]:
        chosen = sorted((row for row in rows if selected(row)), key=lambda row: -row[key])[:top]
        return [
            (where, calls / cells, cumulative * 1000 / cells, own * 1000 / cells)
            for cumulative, own, calls, where in chosen
        ]

    headers = ("function", "calls/cell", "cumulative ms/cell", "own ms/cell")
    ours = per_cell(lambda row: "nbmodelbook" in row[3], 0, 25)
    every = per_cell(lambda row: True, 1, 15)
    return (
        f"{label}: {cells} tracked cells, the kernel's main thread (cProfile inflates small "
        "Python functions)\n\nnbmodelbook, by cumulative time\n"
        + table(headers, ours)
        + "\n\nevery function, by own time\n"
        + table(headers, every)
    )


# --------------------------------------------------------------------------- report


def _add_rows(
    rows: list[tuple[object, ...]], label: str, values: Sequence[float], budget: float | None
) -> None:
    summary = ms(values)
    rows.append((label, summary.n, summary.median, summary.p90, summary.maximum, budget))


def _report_in_kernel(
    result: Result,
    rows: list[tuple[object, ...]],
    name: str,
    diffs: dict[str, list[float]],
    budget: float | None,
) -> dict[str, Any]:
    outside, hooks, code = (ms(diffs[key]) for key in ("outside_code", "hooks", "code"))
    _add_rows(rows, "  outside the cell's own code", diffs["outside_code"], budget)
    _add_rows(rows, "  nbmodelbook's hooks (in the kernel)", diffs["hooks"], None)
    _add_rows(rows, "  the cell's own code (in the kernel)", diffs["code"], None)
    result.add(
        Figure(
            f"{name}: overhead outside the cell's own code, median paired diff",
            outside.median,
            "ms",
            budget,
            note="round trip minus the code's time in the kernel: without the cell's swings",
        )
    )
    result.add(
        Figure(
            f"{name}: nbmodelbook's pre/post_run_cell hooks, median paired diff",
            hooks.median,
            "ms",
            note="timed in the kernel",
        )
    )
    result.add(
        Figure(
            f"{name}: the cell's own code, median paired diff",
            code.median,
            "ms",
            note="the metric wrappers, and the cell's swings",
        )
    )
    return {
        "outside_code_diff_ms": outside.as_dict(),
        "hooks_diff_ms": hooks.as_dict(),
        "code_diff_ms": code.as_dict(),
    }


def report_cells(
    result: Result,
    rows: list[tuple[object, ...]],
    samples: dict[str, FlushedPairs],
    floors: dict[str, list[float]],
    timings: dict[float, InKernel],
) -> None:
    budgets = {"metrics-100k": METRICS_100K_BUDGET_MS, "metrics-1m": METRICS_1M_BUDGET_MS}
    details: dict[str, Any] = {}
    for name, pairs in samples.items():
        budget = budgets.get(name)
        diff = ms(pairs.diffs())
        untracked = ms(pairs.seconds("untracked"))
        writer = ms(pairs.writer_tail())
        details[name] = {
            "untracked_ms": untracked.as_dict(),
            "tracked_ms": ms(pairs.seconds("tracked")).as_dict(),
            "diff_ms": diff.as_dict(),
            "writer_tail_ms": writer.as_dict(),
        }
        _add_rows(rows, f"{name}: round trip", pairs.diffs(), budget)
        details[name].update(
            _report_in_kernel(result, rows, name, in_kernel_diffs(pairs, timings), budget)
        )
        _add_rows(rows, "  (untracked round trip)", pairs.seconds("untracked"), None)
        _add_rows(rows, "  (writer's work after the cell)", pairs.writer_tail(), None)
        result.add(
            Figure(
                f"{name}: overhead, median paired diff of the round trip",
                diff.median,
                "ms",
                budget,
                note=f"untracked cell {untracked.median:.0f} ms",
            )
        )
        result.add(Figure(f"{name}: overhead, p90 paired diff of the round trip", diff.p90, "ms"))
        result.add(
            Figure(
                f"{name}: writer thread's work after the cell, median",
                writer.median,
                "ms",
                note="flush round trip after tracked minus after untracked",
            )
        )
        size = name.removeprefix("metrics-")
        if size in floors:
            floor = ms(floors[size])
            details[name]["copy_floor_ms"] = floor.as_dict()
            _add_rows(rows, "  (floor: np.copy of y_true and scores)", floors[size], None)
            result.add(
                Figure(f"{name}: floor, np.copy of y_true and scores (median)", floor.median, "ms")
            )
            outside = details[name]["outside_code_diff_ms"]["median"]
            result.add(
                Figure(
                    f"{name}: overhead outside the code, over the floor (median)",
                    outside - floor.median,
                    "ms",
                    note=f"{outside / floor.median:.1f}x the floor" if floor.median > 0 else "",
                )
            )
    result.details["cells"] = details


def report_trivial(
    result: Result,
    rows: list[tuple[object, ...]],
    trivial: Pairs,
    timings: dict[float, InKernel],
) -> None:
    diff = ms(trivial.diffs())
    untracked = ms(trivial.seconds("untracked"))
    result.details["trivial"] = {
        "untracked_ms": untracked.as_dict(),
        "tracked_ms": ms(trivial.seconds("tracked")).as_dict(),
        "diff_ms": diff.as_dict(),
    }
    name = "trivial, sklearn.metrics in the namespace"
    _add_rows(rows, f"{name}: round trip", trivial.diffs(), TRIVIAL_BUDGET_MS)
    result.details["trivial"].update(
        _report_in_kernel(
            result, rows, "trivial", in_kernel_diffs(trivial, timings), TRIVIAL_BUDGET_MS
        )
    )
    _add_rows(rows, "  (untracked round trip)", trivial.seconds("untracked"), None)
    result.add(
        Figure(
            f"{name}: overhead, median paired diff of the round trip",
            diff.median,
            "ms",
            TRIVIAL_BUDGET_MS,
        )
    )
    result.add(Figure("trivial: overhead, p90 paired diff of the round trip", diff.p90, "ms"))


def report_evidence_switch(
    result: Result,
    rows: list[tuple[object, ...]],
    switch: Pairs,
    timings: dict[float, InKernel],
) -> None:
    diff = ms(switch.diffs())
    result.details["evidence_switch"] = {
        "evidence_off_ms": ms(switch.seconds("untracked")).as_dict(),
        "evidence_on_ms": ms(switch.seconds("tracked")).as_dict(),
        "diff_ms": diff.as_dict(),
    }
    name = "trivial tracked, evidence on - off"
    _add_rows(rows, f"{name}: round trip", switch.diffs(), None)
    hook_diffs = in_kernel_diffs(switch, timings)["hooks"]
    hooks = ms(hook_diffs)
    _add_rows(rows, "  nbmodelbook's hooks (in the kernel)", hook_diffs, None)
    result.details["evidence_switch"]["hooks_diff_ms"] = hooks.as_dict()
    result.add(
        Figure(
            f"{name}: median paired diff of the round trip",
            diff.median,
            "ms",
            note="what observing metric calls adds to a cell without any",
        )
    )
    result.add(Figure(f"{name}: hooks, median paired diff", hooks.median, "ms"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pairs", type=int, default=1000, help="pairs of the trivial cell")
    parser.add_argument("--rounds", type=int, default=60, help="rounds over the metric cells")
    parser.add_argument("--warmup", type=int, default=3, help="unmeasured rounds (x10 pairs)")
    parser.add_argument("--quick", action="store_true", help="a short run (smoke test)")
    parser.add_argument("--profile", action="store_true", help="cProfile tracked metric cells")
    parser.add_argument("--profile-cells", type=int, default=20, help="cells per profile")
    args = parser.parse_args(argv)
    if args.quick:
        args.pairs, args.rounds, args.warmup = min(args.pairs, 100), min(args.rounds, 6), 1
        args.profile_cells = min(args.profile_cells, 5)
    quiet_third_party()

    result = Result("evidence_overhead")
    result.details["parameters"] = vars(args)
    rows: list[tuple[object, ...]] = []
    with tempfile.TemporaryDirectory(prefix="nbmb-evidence-bench-") as tmp:
        workdir = Path(tmp)
        store = workdir / "store" / "runs.sqlite"
        kernel: Kernel | None = Kernel(workdir, store)
        try:
            assert kernel is not None
            kernel.run("%load_ext nbmodelbook")
            kernel.run(SETUP)
            kernel.run(IN_KERNEL_TIMING)
            expected: Counter[str] = Counter()
            samples, floors, timings = measure_cells(kernel, args.rounds, args.warmup)
            for name in CELLS:
                expected[name] += args.rounds + args.warmup
            report_cells(result, rows, samples, floors, timings)
            warmup = 10 * args.warmup
            trivial = measure_trivial(kernel, args.pairs, warmup)
            expected["trivial"] += args.pairs + warmup
            timings = match_timings(trivial.untracked + trivial.tracked, in_kernel_times(kernel))
            report_trivial(result, rows, trivial, timings)
            switch = measure_evidence_switch(kernel, args.pairs, warmup)
            expected["evidence-off"] += args.pairs + warmup
            expected["evidence-on"] += args.pairs + warmup
            timings = match_timings(switch.untracked + switch.tracked, in_kernel_times(kernel))
            report_evidence_switch(result, rows, switch, timings)
            if args.profile:
                profiles = []
                for name in CELLS:
                    profiles.append(profile_cell(kernel, name, CELLS[name], args.profile_cells))
                    expected[name] += args.profile_cells
                result.details["profile"] = "\n\n".join(profiles)
                print(result.details["profile"], end="\n\n")
            kernel.run(FLUSH)
            kernel.shutdown()
            kernel = None
            result.details["runs_in_store"] = verify_store(store, expected)
            result.details["evidence_checked"] = verify_evidence(store)
            print(
                table(("cell", "n", "median ms", "p90 ms", "max ms", "budget ms"), rows),
                end="\n\n",
            )
            print(f"store: {result.details['runs_in_store']} runs; evidence read back from one "
                  "run of each kind")  # fmt: skip
        except BenchFailure as exc:
            result.error = str(exc)
        finally:
            if kernel is not None:
                kernel.shutdown()
    return finish(result)


if __name__ == "__main__":
    sys.exit(main())
