"""Reading runs back: `nbmodelbook.runs()` over a store of 10,000 runs, 3 notebooks.

Run: python bench/bench_runs_query.py [--runs 10000] [--calls 9] [--mlflow-runs 1000]

The store is filled through `RunStore.finish_run` with realistic records (10 params, 5 metrics,
3 tags, ~20 lines of code, lineage, inputs, environment). Timed, each as the median of several
calls after one warm-up call:

- `api.runs(all_notebooks=True, store=path)`: what `nbmodelbook.runs(all=True, store=...)` costs,
  opening the store included;
- `runs_frame(store.run_summaries())` on an open store, split into its SQL + decoding part and
  its DataFrame part;
- the same for one notebook (a third of the runs).

Optionally MLflow's `search_runs` over MLflow runs logged for the occasion (capped in time: MLflow
logs a few dozen runs a second, so 10,000 would take minutes; the figure for 10,000 is then the
14 s reference from the design notes, not a measurement).
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _common import (
    BenchFailure,
    Figure,
    Result,
    finish,
    ms,
    profile_text,
    quiet_third_party,
    table,
)
from _records import RecordFactory, mlflow_payload

from nbmodelbook import api
from nbmodelbook.store.frames import runs_frame
from nbmodelbook.store.store import RunStore

BUDGET_MS = 100.0
MLFLOW_REFERENCE_S = 14.0  # mlflow.search_runs over 10,000 runs, quoted from the design notes


def fill(path: Path, runs: int, notebooks: list[str]) -> float:
    store = RunStore.open(str(path))
    factory = RecordFactory(notebooks, seed=7)
    start = time.perf_counter()
    for index in range(runs):
        store.finish_run(factory.make(index))
    elapsed = time.perf_counter() - start
    if store.count() != runs:
        raise BenchFailure(f"the store holds {store.count()} runs, expected {runs}")
    store.close()
    return elapsed


def repeat(action: Callable[[], Any], calls: int, check: Callable[[Any], None]) -> list[float]:
    check(action())  # warm-up, and a correctness check of what is timed
    samples = []
    for _ in range(calls):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return samples


def expect_frame(rows: int) -> Callable[[Any], None]:
    def check(frame: Any) -> None:
        if len(frame) != rows:
            raise BenchFailure(f"runs() returned {len(frame)} rows, expected {rows}")
        missing = {"params.max_depth", "metrics.auc", "tags", "started_at"} - set(frame.columns)
        if missing:
            raise BenchFailure(f"runs() lacks columns {sorted(missing)}")

    return check


def expect_rows(rows: int) -> Callable[[Any], None]:
    def check(summaries: Any) -> None:
        if len(summaries) != rows:
            raise BenchFailure(f"run_summaries() returned {len(summaries)} rows, expected {rows}")

    return check


def mlflow_search(workdir: Path, runs: int, time_cap: float, calls: int) -> dict[str, Any] | None:
    """Log up to `runs` MLflow runs (stop at `time_cap` seconds), then time search_runs."""
    try:
        import mlflow
        from mlflow.tracking import MlflowClient
    except ImportError:
        return None
    for name in ("mlflow", "alembic", "sqlalchemy.engine"):
        logging.getLogger(name).setLevel(logging.WARNING)
    uri = f"sqlite:///{workdir / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    client = MlflowClient(uri)
    experiment_id = client.create_experiment(f"bench-{uuid.uuid4().hex[:8]}")
    factory = RecordFactory([str(workdir / "nb.ipynb")], seed=11)
    from mlflow.entities import Metric, Param, RunTag

    start = time.perf_counter()
    logged = 0
    while logged < runs and time.perf_counter() - start < time_cap:
        record = factory.make(logged)
        params, metrics, tags = mlflow_payload(record)
        run = client.create_run(experiment_id, start_time=int(record.started_at * 1000))
        now = int(time.time() * 1000)
        client.log_batch(
            run.info.run_id,
            metrics=[Metric(k, v, now, 0) for k, v in metrics.items()],
            params=[Param(k, v) for k, v in params.items()],
            tags=[RunTag(k, v) for k, v in tags.items()],
        )
        client.set_terminated(run.info.run_id)
        logged += 1
    fill_s = time.perf_counter() - start

    def search() -> Any:
        return mlflow.search_runs(experiment_ids=[experiment_id], max_results=100_000)

    def check(frame: Any) -> None:
        if len(frame) != logged:
            raise BenchFailure(f"mlflow.search_runs returned {len(frame)} rows, not {logged}")

    samples = repeat(search, calls, check)
    return {
        "version": mlflow.__version__,
        "runs": logged,
        "fill_s": fill_s,
        "search_runs_ms": ms(samples).as_dict(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--calls", type=int, default=9, help="timed calls per query")
    parser.add_argument("--mlflow-runs", type=int, default=1000, help="0 to skip MLflow")
    parser.add_argument("--profile", action="store_true", help="cProfile run_summaries()")
    parser.add_argument("--mlflow-time-cap", type=float, default=20.0, help="seconds to log")
    args = parser.parse_args(argv)
    quiet_third_party()

    result = Result("runs_query")
    result.details["parameters"] = vars(args)
    rows: list[tuple[object, ...]] = []
    with tempfile.TemporaryDirectory(prefix="nbmb-bench-") as tmp:
        workdir = Path(tmp).resolve()
        notebooks = [str(workdir / f"notebook-{n}.ipynb") for n in range(3)]
        path = workdir / "runs.sqlite"
        try:
            fill_s = fill(path, args.runs, notebooks)
            result.details["fill_s"] = fill_s
            print(
                f"filled {args.runs:,} runs via RunStore.finish_run in {fill_s:.1f} s "
                f"({fill_s / args.runs * 1000:.2f} ms/run); store file "
                f"{path.stat().st_size / 1e6:.1f} MB"
            )
            per_notebook = len(range(0, args.runs, len(notebooks)))
            store = RunStore.open(str(path))
            every = f"{args.runs:,} runs"
            one = f"{per_notebook:,} runs, 1 notebook"
            all_frame, one_frame = expect_frame(args.runs), expect_frame(per_notebook)
            rows_read = store.run_summaries()
            # (label, result key, action, check, scope: budgeted when not None)
            cases: list[tuple[str, str, Callable[[], Any], Callable[[Any], None], str | None]] = [
                (
                    "api.runs(all_notebooks=True, store=path)",
                    "api_runs_all_ms",
                    lambda: api.runs(all_notebooks=True, store=str(path)),
                    all_frame,
                    every,
                ),
                (
                    "runs_frame(store.run_summaries())",
                    "frame_all_ms",
                    lambda: runs_frame(store.run_summaries()),
                    all_frame,
                    None,  # row dicts, for callers that want them; runs() reads columns
                ),
                (
                    "  of which store.run_summaries()",
                    "summaries_all_ms",
                    store.run_summaries,
                    expect_rows(args.runs),
                    None,
                ),
                (
                    "  of which runs_frame(rows)",
                    "frame_only_all_ms",
                    lambda: runs_frame(rows_read),
                    all_frame,
                    None,
                ),
            ]
            run_table = getattr(store, "run_table", None)
            if run_table is not None:  # the column-wise read path, when the store has it
                table_read = run_table()
                cases += [
                    (
                        "runs_frame(store.run_table())",
                        "table_frame_all_ms",
                        lambda: runs_frame(run_table()),
                        all_frame,
                        every,
                    ),
                    (
                        "  of which store.run_table()",
                        "table_all_ms",
                        run_table,
                        lambda table: expect_rows(args.runs)(table["run_id"]),
                        None,
                    ),
                    (
                        "  of which runs_frame(table)",
                        "table_frame_only_all_ms",
                        lambda: runs_frame(table_read),
                        all_frame,
                        None,
                    ),
                ]
            cases += [
                (
                    "api.runs(notebook, store=path)",
                    "api_runs_one_ms",
                    lambda: api.runs(notebooks[0], store=str(path)),
                    one_frame,
                    one,
                ),
                (
                    "runs_frame(store.run_summaries(notebook=...))",
                    "frame_one_ms",
                    lambda: runs_frame(store.run_summaries(notebook=notebooks[0])),
                    one_frame,
                    None,
                ),
            ]
            summaries_ms: dict[str, float] = {}
            for label, key, action, check, scope in cases:
                summary = ms(repeat(action, args.calls, check))
                result.details[key] = summary.as_dict()
                summaries_ms[key] = summary.median
                rows.append((label, summary.n, summary.median, summary.p90))
                if scope is not None:
                    result.add(Figure(f"{label} [{scope}]", summary.median, "ms", BUDGET_MS))
            if args.profile:
                target = run_table if run_table is not None else store.run_summaries
                result.details["profile"] = profile_text(
                    lambda: runs_frame(target()), 3, "tottime", 20
                )
                print(result.details["profile"])
            store.close()

            mlflow_info = None
            if args.mlflow_runs > 0:
                mlflow_info = mlflow_search(workdir, args.mlflow_runs, args.mlflow_time_cap, 5)
            if args.mlflow_runs <= 0:
                note = "MLflow: skipped (--mlflow-runs 0)"
            elif mlflow_info is None:
                note = "MLflow: skipped (pip install 'nbmodelbook[bench]' to compare)"
            else:
                result.details["mlflow"] = mlflow_info
                search = mlflow_info["search_runs_ms"]
                rows.append(
                    (
                        f"mlflow.search_runs ({mlflow_info['runs']:,} MLflow runs)",
                        search["n"],
                        search["median"],
                        search["p90"],
                    )
                )
                result.add(
                    Figure(
                        f"mlflow.search_runs [{mlflow_info['runs']:,} runs, measured]",
                        search["median"],
                        "ms",
                    )
                )
                minutes = mlflow_info["fill_s"] / mlflow_info["runs"] * 10_000 / 60
                note = (
                    f"MLflow {mlflow_info['version']}: logged {mlflow_info['runs']:,} runs in "
                    f"{mlflow_info['fill_s']:.0f} s (capped at {args.mlflow_time_cap:.0f} s); "
                    f"10,000 would take ~{minutes:.0f} min"
                )
            reference = MLFLOW_REFERENCE_S * 1000
            note += (
                f"\nmlflow.search_runs over 10,000 runs: {MLFLOW_REFERENCE_S:.0f} s reference from "
                f"the design notes (not measured here) = "
                f"{reference / summaries_ms['api_runs_all_ms']:.0f}x ours"
            )
            result.details["mlflow_reference_10k_s"] = MLFLOW_REFERENCE_S
        except BenchFailure as exc:
            result.error = str(exc)
            note = ""

    print(table(("query", "calls", "median ms", "p90 ms"), rows))
    if note:
        print(note)
    return finish(result)


if __name__ == "__main__":
    sys.exit(main())
