"""`%%track` overhead: the same cell run with and without the magic, in one IPython shell.

Run: python bench/bench_overhead.py [--reps 2000] [--realistic-reps 1000] [--profile]

Paired design: each repetition runs the untracked cell and the tracked cell back to back (the
order alternates between pairs, so neither variant always follows the other), each timed with
perf_counter around `shell.run_cell(..., store_history=True)`. The budgeted figure is the median
of the per-pair differences: what a tracked cell costs the user on top of the same cell.

The run is written by a background thread, whose work can land on whichever cell runs next. The
"back-to-back" figure charges it too: blocks of tracked cells (plus the final flush) against
blocks of the same untracked cell, as in "Run All" of a notebook of tracked cells.

At the end the writer is flushed and the store must hold exactly the runs that were tracked,
complete with params, metrics and inputs; otherwise the script exits non-zero.

IPython's input history is kept in memory (as in IPython's own test shell) so that its SQLite
writes, identical for both variants, do not add noise.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from _common import BenchFailure, Figure, Result, finish, ms, table

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell

    from nbmodelbook.capture.tracker import Tracker

BUDGET_MS = 2.0

TRIVIAL_UNTRACKED = "x = 1"
TRIVIAL_TRACKED = "%%track t\nx = 1"

SETUP_REALISTIC = """\
import numpy as np
import pandas as pd
_rng = np.random.default_rng(0)
df = pd.DataFrame({
    "amount": _rng.normal(100.0, 50.0, 1_000),
    "score": _rng.random(1_000),
    "label": _rng.random(1_000) < 0.3,
    "segment": _rng.choice(["retail", "sme", "corporate"], 1_000),
})
"""
REALISTIC_BODY = """\
threshold = 0.5
positive = df[df["amount"] > 0]
predicted = positive["score"] > threshold
accuracy = float((predicted == positive["label"]).mean())
"""
REALISTIC_UNTRACKED = REALISTIC_BODY
REALISTIC_TRACKED = "%%track realistic\n" + REALISTIC_BODY


def start_shell(workdir: Path) -> InteractiveShell:
    """A fresh in-process IPython shell; the store is a temp file."""
    os.environ["IPYTHONDIR"] = str(workdir / "ipython")  # never touch the user's profile
    os.environ["NBMODELBOOK_STORE"] = str(workdir / "runs.sqlite")
    os.environ.pop("NBMODELBOOK_NOTEBOOK", None)
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    return InteractiveShell.instance(config=config)


def new_session(shell: InteractiveShell, workdir: Path) -> Tracker:
    """Reset the shell to a new session (empty namespace and history) and load the extension,
    so that each measured cell starts from the same session length."""
    from nbmodelbook.magics import active_tracker

    previous = active_tracker()
    if previous is not None:
        previous.writer.close()
        shell.run_line_magic("unload_ext", "nbmodelbook")
    shell.reset(new_session=True)  # type: ignore[no-untyped-call]
    notebook = workdir / "bench.ipynb"
    notebook.write_text("{}", encoding="utf-8")
    shell.user_ns["__session__"] = str(notebook)  # what ipykernel sets under a Jupyter server
    run(shell, "%load_ext nbmodelbook")
    tracker = active_tracker()
    if tracker is None or tracker is previous:
        raise BenchFailure("the extension did not attach a new tracker to the shell")
    return tracker


def run(shell: InteractiveShell, code: str) -> float:
    start = time.perf_counter()
    result = shell.run_cell(code, store_history=True)  # type: ignore[no-untyped-call]
    elapsed = time.perf_counter() - start
    if not result.success:
        error = result.error_before_exec or result.error_in_exec
        raise BenchFailure(f"cell failed: {code!r}: {error!r}")
    return elapsed


def paired(
    shell: InteractiveShell, untracked: str, tracked: str, reps: int, warmup: int
) -> tuple[list[float], list[float]]:
    for _ in range(warmup):
        run(shell, untracked)
        run(shell, tracked)
    plain: list[float] = []
    magic: list[float] = []
    for index in range(reps):
        if index % 2 == 0:
            plain.append(run(shell, untracked))
            magic.append(run(shell, tracked))
        else:
            magic.append(run(shell, tracked))
            plain.append(run(shell, untracked))
    return plain, magic


def back_to_back(
    shell: InteractiveShell, tracker: Tracker, untracked: str, tracked: str, block: int, rounds: int
) -> list[float]:
    """Per-cell cost of tracking when tracked cells follow each other, writer work included."""
    overheads = []
    for _ in range(rounds):
        tracker.flush()
        start = time.perf_counter()
        for _ in range(block):
            run(shell, untracked)
        plain = time.perf_counter() - start
        start = time.perf_counter()
        for _ in range(block):
            run(shell, tracked)
        tracker.flush()
        magic = time.perf_counter() - start
        overheads.append((magic - plain) / block)
    return overheads


def profile_tracked(shell: InteractiveShell, code: str, reps: int) -> str:
    """cProfile of `reps` tracked cells on the kernel thread (top 25 nbmodelbook functions)."""
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(reps):
        shell.run_cell(code, store_history=True)  # type: ignore[no-untyped-call]
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(r"nbmodelbook", 25)
    return out.getvalue()


def session_diagnostics(shell: InteractiveShell, tracker: Tracker) -> dict[str, float]:
    """Direct timings of the tracker steps whose cost grows with the session (internal APIs:
    skipped silently if they change)."""
    found: dict[str, float] = {"cells_in_session": float(len(tracker.history.cells))}
    found["user_ns_entries"] = float(len(shell.user_ns))

    def median_ms(action: Any) -> float:
        samples = []
        for _ in range(30):
            start = time.perf_counter()
            action()
            samples.append(time.perf_counter() - start)
        return statistics.median(samples) * 1000

    # What a tracked cell pays twice: the secret values of the namespace (the secret-named
    # variables, and the containers the cell uses; here `df`).
    found["secret_values_ms"] = median_ms(lambda: tracker.secrets.values(shell.user_ns, {"df"}))
    try:
        cells = len(tracker.history.cells)
        found["lineage_of_df_ms"] = median_ms(lambda: tracker.history.lineage({"df"}, cells))
    except Exception:
        pass
    return found


def verify_store(tracker: Tracker, expected: dict[str, int]) -> dict[str, Any]:
    """Flush the writer and check that every tracked cell is a complete run in the store."""
    flush_start = time.perf_counter()
    if not tracker.writer.flush(120.0):
        raise BenchFailure("the writer did not flush within 120 s")
    flush_ms = (time.perf_counter() - flush_start) * 1000
    store = tracker.writer.store
    if store is None:
        raise BenchFailure(f"the store did not open: {tracker.writer.open_error}")
    problems = tracker.writer.take_problems()
    if problems or tracker.writer.unsaved_count:
        raise BenchFailure(
            f"writer problems: {problems}, unsaved runs: {tracker.writer.unsaved_count}"
        )
    summaries = store.run_summaries(session_id=tracker.session_id)
    found = Counter(row["name"] for row in summaries)
    statuses = Counter(row["status"] for row in summaries)
    if dict(found) != expected:
        raise BenchFailure(
            f"runs missing or unexpected in the store: expected {expected}, found {dict(found)}"
        )
    if set(statuses) != {"ok"}:
        raise BenchFailure(f"runs not all ok: {dict(statuses)}")
    realistic = [row for row in summaries if row["name"] == "realistic"]
    incomplete = [
        row["run_id"]
        for row in realistic
        if "accuracy" not in row["metrics"] or row["params"].get("threshold") != 0.5
    ]
    if incomplete:
        raise BenchFailure(
            f"{len(incomplete)} realistic runs lack their param/metric: {incomplete[:3]}"
        )
    if realistic:
        last = store.get_run(realistic[-1]["run_id"])
        if last is None or "df" not in last.inputs:
            raise BenchFailure("the realistic run did not record its input DataFrame `df`")
    return {
        "runs_in_store": sum(found.values()),
        "by_name": dict(found),
        "final_flush_ms": flush_ms,
    }


def describe(plain: list[float], magic: list[float]) -> dict[str, Any]:
    diffs = [m - p for m, p in zip(magic, plain, strict=True)]
    tenth = max(1, len(diffs) // 10)
    return {
        "untracked_ms": ms(plain).as_dict(),
        "tracked_ms": ms(magic).as_dict(),
        "diff_ms": ms(diffs).as_dict(),
        "diff_first_10pct_median_ms": ms(diffs[:tenth]).median,
        "diff_last_10pct_median_ms": ms(diffs[-tenth:]).median,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--reps", type=int, default=2000, help="pairs for the trivial cell")
    parser.add_argument("--realistic-reps", type=int, default=1000, help="pairs, realistic cell")
    parser.add_argument("--warmup", type=int, default=50, help="unmeasured pairs per cell")
    parser.add_argument("--block", type=int, default=100, help="cells per back-to-back block")
    parser.add_argument("--rounds", type=int, default=3, help="back-to-back rounds per cell")
    parser.add_argument("--profile", action="store_true", help="also cProfile 300 tracked cells")
    args = parser.parse_args(argv)

    result = Result("overhead")
    result.details["parameters"] = vars(args)
    with tempfile.TemporaryDirectory(prefix="nbmb-bench-") as tmp:
        try:
            shell = start_shell(Path(tmp))
            cases = [
                ("trivial", TRIVIAL_UNTRACKED, TRIVIAL_TRACKED, args.reps),
                ("realistic", REALISTIC_UNTRACKED, REALISTIC_TRACKED, args.realistic_reps),
            ]
            rows: list[tuple[object, ...]] = []
            for label, untracked, tracked, reps in cases:
                tracker = new_session(shell, Path(tmp))
                run(shell, SETUP_REALISTIC)
                run_name = tracked.split("\n", 1)[0].split()[1]
                plain, magic = paired(shell, untracked, tracked, reps, args.warmup)
                stats = describe(plain, magic)
                amortized = back_to_back(
                    shell, tracker, untracked, tracked, args.block, args.rounds
                )
                stats["back_to_back_ms_per_cell"] = [value * 1000 for value in amortized]
                if args.profile and label == "realistic":
                    report = profile_tracked(shell, tracked, 300)
                    print(report)
                    stats["profile"] = report
                stats["session_end"] = session_diagnostics(shell, tracker)
                runs_made = reps + args.warmup + args.block * args.rounds
                runs_made += 300 if args.profile and label == "realistic" else 0
                stats["store"] = verify_store(tracker, {run_name: runs_made})
                result.details[label] = stats
                for kind in ("untracked_ms", "tracked_ms", "diff_ms"):
                    part = stats[kind]
                    rows.append(
                        (
                            label,
                            kind.removesuffix("_ms"),
                            *(part[key] for key in ("n", "median", "p90", "mean")),
                        )
                    )
                result.add(
                    Figure(
                        f"{label} cell: overhead, median paired diff",
                        stats["diff_ms"]["median"],
                        "ms",
                        BUDGET_MS,
                    )
                )
                result.add(
                    Figure(
                        f"{label} cell: overhead, p90 paired diff", stats["diff_ms"]["p90"], "ms"
                    )
                )
                tenth = max(1, reps // 10)
                result.add(
                    Figure(
                        f"{label} cell: overhead, first 10% of pairs (median)",
                        stats["diff_first_10pct_median_ms"],
                        "ms",
                        note=f"session of <= {2 * (tenth + args.warmup) + 2} cells",
                    )
                )
                result.add(
                    Figure(
                        f"{label} cell: overhead, last 10% of pairs (median)",
                        stats["diff_last_10pct_median_ms"],
                        "ms",
                        note=f"session of ~{2 * (reps + args.warmup)} cells",
                    )
                )
                result.add(
                    Figure(
                        f"{label} cell: overhead back-to-back incl. writer",
                        statistics.median(amortized) * 1000,
                        "ms",
                        note=f"median of {args.rounds} blocks of {args.block}",
                    )
                )

            print(table(("cell", "variant", "n", "median ms", "p90 ms", "mean ms"), rows))
            print()
            for label, *_ in cases:
                d = result.details[label]
                blocks = ", ".join(f"{v:.2f}" for v in d["back_to_back_ms_per_cell"])
                print(
                    f"{label}: paired-diff median over the first 10% of pairs "
                    f"{d['diff_first_10pct_median_ms']:.3f} ms, last 10% "
                    f"{d['diff_last_10pct_median_ms']:.3f} ms; back-to-back blocks "
                    f"{blocks} ms/cell"
                )
                end = d["session_end"]
                store_info = d["store"]
                print(
                    "  at the end ({:.0f} cells, {:.0f} names in user_ns): ".format(
                        end["cells_in_session"], end["user_ns_entries"]
                    )
                    + ", ".join(f"{k} {v:.3f}" for k, v in end.items() if k.endswith("_ms"))
                )
                print(
                    f"  store check: {store_info['runs_in_store']} runs of this session, as "
                    f"expected (final flush {store_info['final_flush_ms']:.1f} ms)"
                )
        except BenchFailure as exc:
            result.error = str(exc)
        finally:
            from nbmodelbook.magics import active_tracker

            active = active_tracker()
            if active is not None:
                active.writer.close()
    return finish(result)


if __name__ == "__main__":
    sys.exit(main())
