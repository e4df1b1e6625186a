"""`%%track` overhead in a real ipykernel, as a notebook frontend sees it.

Run: python bench/bench_kernel_overhead.py [--pairs 1000] [--rounds 40] [--fresh 8] [--profile]
                                           [--load N]

A real kernel is started with jupyter_client (KernelManager, BlockingKernelClient), and every
cell is timed from sending its execute_request to receiving its `status: idle` on IOPub (all of
its outputs drained): what a user waits for, including the run marker's message and the
kernel's IOPub thread competing with the cell.

Paired design: each cell runs untracked and tracked back to back, which one first drawn at
random for every pair (seeded), and the figures are medians of the per-pair differences. After
each pair the tracked run's save is waited for, untimed: the store's writer saves a run a moment
after its cell, and left to itself that work lands on later cells, with a fixed order always on
the same kind, which swung the median by milliseconds either way from run to run. So the pairs
measure what the cell itself makes the user wait for:

- trivial: `x = 1`;
- handbook: realistic model-validation cells (scikit-learn fits on breast_cancer and iris,
  cross-validation, a pandas groupby, a matplotlib figure with plt.show(), printed reports),
  interleaved cell by cell in rounds; the pooled median of every pair, and each cell's own
  median (the slowest of those is budgeted too);
- first cell: in fresh kernels, `%load_ext nbmodelbook` + the first tracked cell against a
  plain first cell (each in its own new kernel, the order alternating).

What the save adds when tracked cells follow each other ("Run All") is the "back-to-back"
figure: blocks of tracked cells plus a flush against blocks of untracked cells plus the same
flush. Full garbage collections (timed in the kernel) are counted by the kind of cell they hit.

`--load N` keeps N busy processes running meanwhile. The CPU time each of the kernel's threads
(and the client) spends per trivial cell of either kind is reported too: what tracking adds to
the machine's work, which a busy machine makes the user wait for.

Every pair also checks that the tracked cell showed the user the same outputs as the untracked
one, plus exactly one run marker; at the end the store must hold every tracked run. The machine
this runs on is usually shared and noisy: the figures are medians of many interleaved pairs.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _common import (
    BenchFailure,
    Figure,
    Result,
    background_load,
    finish,
    ms,
    quiet_third_party,
    table,
)

from nbmodelbook.run_marker import RUN_MIMETYPE

TRIVIAL_BUDGET_MS = 1.0
HANDBOOK_BUDGET_MS = 1.0
SLOWEST_CELL_BUDGET_MS = 20.0
FIRST_CELL_BUDGET_MS = 300.0

# Which of a pair runs first is drawn at random (seeded: the same sequence every run).
PAIR_ORDER_SEED = 20261202

STARTUP_TIMEOUT = 120.0
CELL_TIMEOUT = 300.0

TRIVIAL = "x = 1"
NEXT_CELL = "y = 2"
# Waits until the writer thread has saved every run so far.
FLUSH = "from nbmodelbook.magics import active_tracker as _active\n_active().flush()"

HANDBOOK_SETUP = """\
import numpy as np
import pandas as pd
import matplotlib.pyplot as plt
from sklearn.datasets import load_breast_cancer, load_iris
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import classification_report, roc_auc_score, roc_curve
from sklearn.model_selection import cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

cancer = load_breast_cancer(as_frame=True)
X_train, X_test, y_train, y_test = train_test_split(
    cancer.data, cancer.target, test_size=0.25, random_state=0, stratify=cancer.target
)
iris_X, iris_y = load_iris(return_X_y=True, as_frame=True)
_rng = np.random.default_rng(0)
loans = pd.DataFrame({
    "amount": _rng.lognormal(9.0, 0.8, 20_000),
    "term": _rng.choice([12, 36, 60], 20_000),
    "segment": _rng.choice(["retail", "sme", "corporate", "public"], 20_000),
    "defaulted": _rng.random(20_000) < 0.07,
})
"""

# name -> cell body: what a model-validation handbook's notebooks do, cell by cell.
HANDBOOK_CELLS: dict[str, str] = {
    "logreg-fit": """\
C = 1.0
logreg = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=1000))
logreg.fit(X_train, y_train)
accuracy = logreg.score(X_test, y_test)
accuracy
""",
    "forest-fit": """\
n_estimators, max_depth = 60, 6
forest = RandomForestClassifier(
    n_estimators=n_estimators, max_depth=max_depth, random_state=0, n_jobs=1
)
forest.fit(X_train, y_train)
auc = roc_auc_score(y_test, forest.predict_proba(X_test)[:, 1])
print(f"test AUC {auc:.3f}")
""",
    "iris-cv": """\
cv_scores = cross_val_score(LogisticRegression(max_iter=1000), iris_X, iris_y, cv=5)
cv_mean, cv_std = cv_scores.mean(), cv_scores.std()
cv_scores
""",
    "groupby": """\
by_segment = loans.groupby(["segment", "term"]).agg(
    mean_amount=("amount", "mean"), default_rate=("defaulted", "mean"), n=("amount", "size")
)
by_segment.head(8)
""",
    "roc-plot": """\
proba = logreg.predict_proba(X_test)[:, 1]
fpr, tpr, _ = roc_curve(y_test, proba)
fig, ax = plt.subplots(figsize=(4, 3))
ax.plot(fpr, tpr, label=f"logistic regression (AUC {roc_auc_score(y_test, proba):.3f})")
ax.plot([0, 1], [0, 1], linestyle="--", color="grey")
ax.set_xlabel("false positive rate")
ax.set_ylabel("true positive rate")
ax.legend(loc="lower right")
plt.show()
""",
    "report": """\
print(classification_report(y_test, forest.predict(X_test), digits=3))
""",
    "importances": """\
importances = pd.Series(forest.feature_importances_, index=X_train.columns)
top_features = importances.sort_values(ascending=False).head(10)
top_features
""",
    "describe": """\
loans.describe()
""",
}


def tracked(name: str, body: str) -> str:
    return f"%%track {name}\n{body}"


@dataclass
class Execution:
    """One cell as the frontend saw it: round trip, reply status and the IOPub outputs."""

    started: float  # perf_counter (CLOCK_MONOTONIC: the kernel's clock too) at the request
    seconds: float
    status: str
    outputs: list[dict[str, Any]] = field(default_factory=list)

    @property
    def markers(self) -> int:
        return sum(1 for output in self.outputs if RUN_MIMETYPE in output.get("data", {}))

    def visible(self) -> list[tuple[str, ...]]:
        """What the user sees, comparable across runs (kinds and MIME types, stream names).

        Text of one stream may come in several messages, depending on when ipykernel's flush
        timer fires; frontends (and saved notebooks) join consecutive ones into one output."""
        shown: list[tuple[str, ...]] = []
        for output in self.outputs:
            data = output.get("data", {})
            if RUN_MIMETYPE in data:
                continue
            if output["msg_type"] == "stream":
                item = ("stream", output["name"])
                if not shown or shown[-1] != item:
                    shown.append(item)
            else:
                shown.append((output["msg_type"], *sorted(data)))
        return shown


class Kernel:
    """A real ipykernel driven like a notebook frontend drives it."""

    def __init__(self, workdir: Path, store: Path, name: str = "bench") -> None:
        from jupyter_client.manager import KernelManager

        env = dict(os.environ)
        env.update(
            {
                "IPYTHONDIR": str(workdir / "ipython"),  # never the user's profile
                "NBMODELBOOK_STORE": str(store),
                "NBMODELBOOK_NOTEBOOK": str(workdir / f"{name}.ipynb"),
                "PYDEVD_DISABLE_FILE_VALIDATION": "1",
                "MPLBACKEND": "module://matplotlib_inline.backend_inline",
                # One BLAS thread: on a small shared machine, oversubscribed BLAS threads make
                # the cells' own time swing by seconds, drowning what is measured here.
                "OPENBLAS_NUM_THREADS": "1",
                "OMP_NUM_THREADS": "1",
                "MKL_NUM_THREADS": "1",
                "PYTHONPATH": os.pathsep.join(
                    filter(None, [str(Path(__file__).resolve().parents[1]), env.get("PYTHONPATH")])
                ),
            }
        )
        self.manager = KernelManager(kernel_name="python3")
        # The kernel's own log (e.g. its warning about TCP) goes to a file, not the tables.
        self._log = (workdir / f"kernel-{name}.log").open("ab")
        self.manager.start_kernel(env=env, cwd=str(workdir), stdout=self._log, stderr=self._log)
        self.client = self.manager.client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=STARTUP_TIMEOUT)

    def execute(self, code: str) -> Execution:
        self._drain()
        start = time.perf_counter()
        msg_id = self.client.execute(code, store_history=True, stop_on_error=False)
        outputs: list[dict[str, Any]] = []
        deadline = start + CELL_TIMEOUT
        while True:
            msg = self.client.get_iopub_msg(timeout=max(0.1, deadline - time.perf_counter()))
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind = msg["msg_type"]
            if kind == "status":
                if msg["content"]["execution_state"] == "idle":
                    break
            elif kind in ("stream", "display_data", "execute_result", "error"):
                outputs.append({"msg_type": kind, **msg["content"]})
        seconds = time.perf_counter() - start
        while True:
            reply = self.client.get_shell_msg(timeout=CELL_TIMEOUT)
            if reply["parent_header"].get("msg_id") == msg_id:
                break
        return Execution(start, seconds, reply["content"]["status"], outputs)

    def run(self, code: str) -> Execution:
        """Execute a cell that must succeed (setup, checks)."""
        done = self.execute(code)
        errors = [o for o in done.outputs if o["msg_type"] == "error"]
        if done.status != "ok" or errors:
            detail = errors[0].get("evalue") if errors else done.status
            raise BenchFailure(f"cell failed: {code.splitlines()[0]!r}: {detail}")
        return done

    def thread_names(self) -> dict[int, str]:
        """The kernel's threads by native id; this client's own CPU counts as thread 0."""
        done = self.run(
            "import json as _json, threading as _threading\n"
            "print(_json.dumps({t.native_id: t.name for t in _threading.enumerate()}))"
        )
        text = "".join(o.get("text", "") for o in done.outputs if o["msg_type"] == "stream")
        names = {int(thread): name for thread, name in json.loads(text).items()}
        names[0] = "client (jupyter_client)"
        return names

    def cpu_seconds(self) -> dict[int, float]:
        """CPU time so far of each of the kernel's threads (Linux's schedstat, nanoseconds)
        and, under 0, of this process."""
        pid = self.manager.provisioner.process.pid  # type: ignore[union-attr]
        found = {0: time.process_time()}
        tasks = Path(f"/proc/{pid}/task")
        for task in tasks.iterdir() if tasks.is_dir() else ():
            with contextlib.suppress(OSError, ValueError):
                found[int(task.name)] = int((task / "schedstat").read_text().split()[0]) / 1e9
        return found

    def _drain(self) -> None:
        while self.client.iopub_channel.msg_ready():
            self.client.get_iopub_msg(timeout=1)

    def shutdown(self) -> None:
        try:
            self.client.stop_channels()
        finally:
            if self.manager.has_kernel:
                self.manager.shutdown_kernel(now=True)
            self._log.close()


def check_pair(label: str, plain: Execution, marked: Execution) -> None:
    """The tracked cell showed what the untracked one did, plus one run marker."""
    if plain.status != "ok" or marked.status != "ok":
        raise BenchFailure(f"{label}: cell failed ({plain.status}, {marked.status})")
    if marked.markers != 1 or plain.markers:
        raise BenchFailure(f"{label}: {marked.markers} run markers in the tracked cell")
    if marked.visible() != plain.visible():
        raise BenchFailure(
            f"{label}: the tracked cell showed {marked.visible()}, untracked {plain.visible()}"
        )


@dataclass
class Pairs:
    """The measured pairs of one cell: round trips and when each execution ran."""

    untracked: list[Execution] = field(default_factory=list)
    tracked: list[Execution] = field(default_factory=list)

    def seconds(self, variant: str) -> list[float]:
        runs: list[Execution] = getattr(self, variant)
        return [run.seconds for run in runs]

    def diffs(self) -> list[float]:
        return [b.seconds - a.seconds for a, b in zip(self.untracked, self.tracked, strict=True)]


def paired(
    kernel: Kernel, label: str, untracked: str, marked: str, order: random.Random
) -> tuple[Execution, Execution]:
    """One pair, in an order drawn from `order`; (untracked, tracked). Then, untimed, the
    tracked run is saved, so that its save never lands on a measured cell (the back-to-back
    figure charges it)."""
    if order.random() < 0.5:
        plain, tracked_run = kernel.execute(untracked), kernel.execute(marked)
    else:
        tracked_run, plain = kernel.execute(marked), kernel.execute(untracked)
    check_pair(label, plain, tracked_run)
    kernel.run(FLUSH)
    return plain, tracked_run


def measure_trivial(kernel: Kernel, pairs: int, warmup: int) -> Pairs:
    untracked, marked = TRIVIAL, tracked("trivial", TRIVIAL)
    order = random.Random(PAIR_ORDER_SEED)
    for _ in range(warmup):
        paired(kernel, "trivial", untracked, marked, order)
    measured = Pairs()
    for _ in range(pairs):
        plain, tracked_run = paired(kernel, "trivial", untracked, marked, order)
        measured.untracked.append(plain)
        measured.tracked.append(tracked_run)
    return measured


def back_to_back(kernel: Kernel, block: int, rounds: int) -> tuple[list[float], CpuTally]:
    """Per-cell cost of tracking when tracked cells follow each other ("Run All"), the writer
    thread's work included: blocks of tracked cells plus a flush against blocks of the same
    untracked cell plus the same flush. Also the CPU time each of the kernel's threads (and
    this client) spent per cell of either kind."""
    costs = []
    tally = CpuTally(kernel.thread_names())
    for round_index in range(rounds):
        totals = {}
        variants = (("untracked", TRIVIAL), ("tracked", tracked("block", TRIVIAL)))
        for variant, code in variants if round_index % 2 == 0 else variants[::-1]:
            kernel.run(FLUSH)
            before = kernel.cpu_seconds()
            start = time.perf_counter()
            for _ in range(block):
                kernel.run(code)
            kernel.run(FLUSH)
            totals[variant] = time.perf_counter() - start
            tally.add(variant, before, kernel.cpu_seconds(), block)
        costs.append((totals["tracked"] - totals["untracked"]) / block)
    return costs, tally


@dataclass
class CpuTally:
    """CPU time per cell by thread (the kernel's, named, and this client's), by kind of cell.

    CPU time depends less than a round trip on what else the machine is doing (it still
    grows when the host is busy): it is what a tracked cell adds to the machine's work, which
    is what a busy machine makes the user wait for."""

    names: dict[int, str]
    samples: dict[str, dict[str, list[float]]] = field(
        default_factory=lambda: {"untracked": {}, "tracked": {}}
    )

    def add(
        self, variant: str, before: dict[int, float], after: dict[int, float], cells: int
    ) -> None:
        per_thread: Counter[str] = Counter()
        for thread, seconds in after.items():
            per_thread[self.names.get(thread, "other kernel threads")] += seconds - before.get(
                thread, 0.0
            )
        for name, seconds in per_thread.items():
            self.samples[variant].setdefault(name, []).append(seconds / cells * 1000)

    def medians(self) -> dict[str, dict[str, float]]:
        threads = sorted(set(self.samples["untracked"]) | set(self.samples["tracked"]))
        return {
            name: {
                variant: statistics.median(self.samples[variant].get(name) or [0.0])
                for variant in ("untracked", "tracked")
            }
            for name in threads
        }


def measure_handbook(kernel: Kernel, rounds: int, warmup: int) -> dict[str, Pairs]:
    kernel.run(HANDBOOK_SETUP)
    samples = {name: Pairs() for name in HANDBOOK_CELLS}
    order = random.Random(PAIR_ORDER_SEED)
    for round_index in range(warmup + rounds):
        for name, body in HANDBOOK_CELLS.items():
            plain, tracked_run = paired(kernel, name, body, tracked(name, body), order)
            if round_index >= warmup:
                samples[name].untracked.append(plain)
                samples[name].tracked.append(tracked_run)
    return samples


# Full garbage collections, timed in the kernel (any thread), to tell which cells they hit.
GC_WATCH = """import gc as _gc, time as _time
_nbmb_bench_gcs = []
def _nbmb_bench_gc(phase, info, _started=[0.0]):
    if info["generation"] != 2:
        return
    if phase == "start":
        _started[0] = _time.perf_counter()
    else:
        _nbmb_bench_gcs.append((_started[0], _time.perf_counter() - _started[0]))
_gc.callbacks.append(_nbmb_bench_gc)
"""
GC_REPORT = """_gc.callbacks.remove(_nbmb_bench_gc)
print(__import__("json").dumps(_nbmb_bench_gcs))
"""


def full_collections(kernel: Kernel) -> list[tuple[float, float]]:
    done = kernel.run(GC_REPORT)
    text = "".join(o.get("text", "") for o in done.outputs if o["msg_type"] == "stream")
    return [(start, seconds) for start, seconds in json.loads(text)]


def collections_in(runs: list[Execution], collections: list[tuple[float, float]]) -> list[float]:
    """Durations of the full collections that started while one of `runs` was executing."""
    return [
        seconds
        for start, seconds in collections
        if any(run.started <= start <= run.started + run.seconds for run in runs)
    ]


def measure_first_cell(workdir: Path, repeats: int) -> dict[str, list[float]]:
    """load_ext + first tracked cell in a fresh kernel, against a plain first cell in another;
    and the cell right after each (there the store's opening, if still under way, is waited
    for, so that a store that cannot be opened is reported at the latest on that cell)."""
    plain: list[float] = []
    loaded: list[float] = []
    load_only: list[float] = []
    plain_next: list[float] = []
    tracked_next: list[float] = []
    for index in range(repeats):
        order = ("plain", "tracked") if index % 2 == 0 else ("tracked", "plain")
        for variant in order:
            folder = workdir / f"fresh-{index}-{variant}"
            folder.mkdir()
            kernel = Kernel(folder, folder / "store" / "runs.sqlite", name=variant)
            try:
                if variant == "plain":
                    plain.append(kernel.run(TRIVIAL).seconds)
                    plain_next.append(kernel.run(NEXT_CELL).seconds)
                else:
                    load = kernel.run("%load_ext nbmodelbook")
                    first = kernel.run(tracked("first", TRIVIAL))
                    if first.markers != 1:
                        raise BenchFailure("the first tracked cell left no run marker")
                    loaded.append(load.seconds + first.seconds)
                    load_only.append(load.seconds)
                    tracked_next.append(kernel.run(NEXT_CELL).seconds)
                    # The run reaches the store (the writer opened it in the background).
                    check = kernel.run("import nbmodelbook as _nbmb\nlen(_nbmb.runs())")
                    counted = [o for o in check.outputs if o["msg_type"] == "execute_result"]
                    if not counted or counted[0]["data"]["text/plain"] != "1":
                        raise BenchFailure(f"first run not in the store: {check.outputs}")
            finally:
                kernel.shutdown()
    return {
        "plain": plain,
        "load_and_first": loaded,
        "load_ext": load_only,
        "plain_next": plain_next,
        "tracked_next": tracked_next,
    }


def verify_store(store: Path, expected: Counter[str]) -> int:
    from nbmodelbook.store.store import RunStore

    opened = RunStore.open(str(store))
    try:
        rows = opened.run_summaries()
    finally:
        opened.close()
    found = Counter(row["name"] for row in rows)
    if found != expected:
        raise BenchFailure(f"runs in the store: expected {dict(expected)}, found {dict(found)}")
    statuses = Counter(row["status"] for row in rows)
    if set(statuses) != {"ok"}:
        raise BenchFailure(f"runs not all ok: {dict(statuses)}")
    return sum(found.values())


PROFILE_START = """\
import cProfile as _cprofile
_nbmb_profile = _cprofile.Profile()
_nbmb_profile.enable()
"""
PROFILE_STOP = """\
_nbmb_profile.disable()
import io as _io, pstats as _pstats
_out = _io.StringIO()
_pstats.Stats(_nbmb_profile, stream=_out).sort_stats("tottime").print_stats(30)
print(_out.getvalue())
"""


def profile_tracked(kernel: Kernel, cells: int) -> str:
    """cProfile of the kernel's main thread over `cells` tracked trivial cells."""
    kernel.run(PROFILE_START)
    for _ in range(cells):
        kernel.run(tracked("profiled", TRIVIAL))
    done = kernel.run(PROFILE_STOP)
    return "".join(o.get("text", "") for o in done.outputs if o["msg_type"] == "stream")


def report_trivial(result: Result, rows: list[tuple[object, ...]], trivial: Pairs) -> None:
    summary = ms(trivial.diffs())
    result.details["trivial"] = {
        "untracked_ms": ms(trivial.seconds("untracked")).as_dict(),
        "tracked_ms": ms(trivial.seconds("tracked")).as_dict(),
        "diff_ms": summary.as_dict(),
    }
    rows.append(("trivial", summary.n, summary.median, summary.p90, summary.maximum))
    untracked = ms(trivial.seconds("untracked"))
    rows.append(("  (its untracked round trip)", untracked.n, untracked.median, untracked.p90,
                 untracked.maximum))  # fmt: skip
    result.add(
        Figure(
            "trivial cell: overhead, median paired diff", summary.median, "ms", TRIVIAL_BUDGET_MS
        )
    )
    result.add(Figure("trivial cell: overhead, p90 paired diff", summary.p90, "ms"))
    result.add(Figure("trivial cell: overhead, max paired diff", summary.maximum, "ms"))


def report_cpu(result: Result, tally: CpuTally) -> None:
    medians = tally.medians()
    result.details["trivial"]["cpu_ms_per_cell"] = medians
    rows = [
        (name, cpu["untracked"], cpu["tracked"], cpu["tracked"] - cpu["untracked"])
        for name, cpu in medians.items()
        if max(cpu.values()) >= 0.005
    ]
    added = sum(cpu["tracked"] - cpu["untracked"] for cpu in medians.values())
    rows.append(("all threads", *(sum(cpu[v] for cpu in medians.values())
                                  for v in ("untracked", "tracked")), added))  # fmt: skip
    print(table(("CPU per trivial cell", "untracked ms", "tracked ms", "added ms"), rows))
    print()
    writer = medians.get("nbmodelbook-writer", {}).get("tracked", 0.0)
    result.add(
        Figure(
            "trivial cell: CPU added per tracked cell, kernel and client",
            added,
            "ms",
            note=f"{writer:.2f} ms of it on the writer thread, after the reply",
        )
    )


def report_handbook(
    result: Result,
    rows: list[tuple[object, ...]],
    handbook: dict[str, Pairs],
    collections: list[tuple[float, float]],
) -> None:
    pooled: list[float] = []
    per_cell: dict[str, float] = {}
    cells: dict[str, Any] = {}
    for name, pairs in handbook.items():
        diffs = pairs.diffs()
        pooled.extend(diffs)
        summary = ms(diffs)
        per_cell[name] = summary.median
        cells[name] = {
            "untracked_ms": ms(pairs.seconds("untracked")).as_dict(),
            "tracked_ms": ms(pairs.seconds("tracked")).as_dict(),
            "diff_ms": summary.as_dict(),
        }
        untracked = ms(pairs.seconds("untracked")).median
        rows.append((f"  {name} (untracked {untracked:.0f} ms)", summary.n, summary.median,
                     summary.p90, summary.maximum))  # fmt: skip
    summary = ms(pooled)
    slowest = max(per_cell, key=per_cell.__getitem__)
    over_2ms = sum(1 for value in pooled if value > 0.002) / len(pooled)
    rows.append(("handbook, pooled", summary.n, summary.median, summary.p90, summary.maximum))
    gcs = {
        variant: collections_in([run for pairs in handbook.values() for run in
                                 getattr(pairs, variant)], collections)
        for variant in ("untracked", "tracked")
    }  # fmt: skip
    result.details["handbook"] = {
        "cells": cells,
        "pooled_diff_ms": summary.as_dict(),
        "share_over_2ms": over_2ms,
        "full_gc_ms": {variant: [s * 1000 for s in found] for variant, found in gcs.items()},
        "full_gc_all_ms": [s * 1000 for _, s in collections],
    }
    result.add(
        Figure(
            "handbook cells: overhead, median paired diff", summary.median, "ms", HANDBOOK_BUDGET_MS
        )
    )
    result.add(Figure("handbook cells: overhead, p90 paired diff", summary.p90, "ms"))
    result.add(Figure("handbook cells: pairs more than 2 ms slower", over_2ms * 100, "%"))
    result.add(
        Figure(
            "handbook cells: slowest cell's median paired diff",
            per_cell[slowest],
            "ms",
            SLOWEST_CELL_BUDGET_MS,
            note=slowest,
        )
    )
    for variant, found in gcs.items():
        result.add(
            Figure(
                f"handbook cells: full GC passes during {variant} cells",
                len(found),
                "",
                note=f"{sum(found) * 1000:.0f} ms in all",
            )
        )


def report_first_cell(
    result: Result, rows: list[tuple[object, ...]], first: dict[str, list[float]], fresh: int
) -> None:
    plain = ms(first["plain"])
    loaded = ms(first["load_and_first"])
    result.details["first_cell"] = {
        "plain_first_cell_ms": plain.as_dict(),
        "load_ext_and_first_tracked_ms": loaded.as_dict(),
        "load_ext_ms": ms(first["load_ext"]).as_dict(),
    }
    rows.append(("first cell, plain", plain.n, plain.median, plain.p90, plain.maximum))
    rows.append(("load_ext + first tracked", loaded.n, loaded.median, loaded.p90, loaded.maximum))
    result.add(
        Figure(
            "load_ext + first tracked cell, over a plain first cell (median)",
            loaded.median - plain.median,
            "ms",
            FIRST_CELL_BUDGET_MS,
            note=f"{fresh} fresh kernels each",
        )
    )
    result.add(Figure("%load_ext nbmodelbook alone (median)", ms(first["load_ext"]).median, "ms"))
    next_cost = ms(first["tracked_next"]).median - ms(first["plain_next"]).median
    result.details["first_cell"]["next_cell_ms"] = {
        "plain": ms(first["plain_next"]).as_dict(),
        "after_first_tracked": ms(first["tracked_next"]).as_dict(),
    }
    result.add(
        Figure(
            "the cell after the first tracked one, over a plain second cell (median)",
            next_cost,
            "ms",
            note="waits for the rest of the store's opening",
        )
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pairs", type=int, default=1000, help="pairs of the trivial cell")
    parser.add_argument("--rounds", type=int, default=40, help="rounds over the handbook cells")
    parser.add_argument("--warmup", type=int, default=3, help="unmeasured rounds (x10 pairs)")
    parser.add_argument("--fresh", type=int, default=8, help="fresh kernels per first-cell side")
    parser.add_argument("--block", type=int, default=100, help="cells per back-to-back block")
    parser.add_argument("--blocks", type=int, default=3, help="back-to-back rounds")
    parser.add_argument("--profile", action="store_true", help="cProfile 200 tracked cells")
    parser.add_argument(
        "--load", type=int, default=0, help="busy processes running meanwhile (a busy machine)"
    )
    parser.add_argument("--only", nargs="*", choices=("trivial", "handbook", "first"), default=None)
    args = parser.parse_args(argv)
    quiet_third_party()
    parts = set(args.only or ("trivial", "handbook", "first"))

    result = Result("kernel_overhead")
    result.details["parameters"] = vars(args)
    rows: list[tuple[object, ...]] = []
    with (
        background_load(args.load),
        tempfile.TemporaryDirectory(prefix="nbmb-kernel-bench-") as tmp,
    ):
        workdir = Path(tmp)
        store = workdir / "store" / "runs.sqlite"
        kernel: Kernel | None = None
        try:
            expected: Counter[str] = Counter()
            if parts & {"trivial", "handbook"}:
                kernel = Kernel(workdir, store)
                kernel.run("%load_ext nbmodelbook")
            if "trivial" in parts:
                assert kernel is not None
                warmup = 10 * args.warmup
                report_trivial(result, rows, measure_trivial(kernel, args.pairs, warmup))
                expected["trivial"] += args.pairs + warmup
                costs, tally = back_to_back(kernel, args.block, args.blocks)
                expected["block"] += args.block * args.blocks
                result.details["trivial"]["back_to_back_ms_per_cell"] = [c * 1000 for c in costs]
                report_cpu(result, tally)
                result.add(
                    Figure(
                        "trivial cell: back-to-back incl. writer, per cell",
                        statistics.median(costs) * 1000,
                        "ms",
                        note=f"median of {args.blocks} blocks of {args.block}",
                    )
                )
            if "handbook" in parts:
                assert kernel is not None
                kernel.run(GC_WATCH)
                handbook = measure_handbook(kernel, args.rounds, args.warmup)
                report_handbook(result, rows, handbook, full_collections(kernel))
                for name in HANDBOOK_CELLS:
                    expected[name] += args.rounds + args.warmup
            if args.profile and kernel is not None:
                report = profile_tracked(kernel, 200)
                expected["profiled"] += 200
                print(report)
                result.details["profile"] = report
            if kernel is not None:
                kernel.run(FLUSH)
                kernel.shutdown()
                kernel = None
                result.details["runs_in_store"] = verify_store(store, expected)
            if "first" in parts:
                report_first_cell(result, rows, measure_first_cell(workdir, args.fresh), args.fresh)
            print(table(("cell", "n", "median ms", "p90 ms", "max ms"), rows))
        except BenchFailure as exc:
            result.error = str(exc)
        finally:
            if kernel is not None:
                kernel.shutdown()
    return finish(result)


if __name__ == "__main__":
    sys.exit(main())
