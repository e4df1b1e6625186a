"""Recording one run (10 params, 5 metrics, 3 tags): nbmodelbook's store against MLflow 3.

Run: python bench/bench_record_vs_mlflow.py [--runs 300] [--mlflow-runs 100]

(a) ours, durable: `RunStore.finish_run(record)` on a SQLite store, one full record (code,
    lineage, inputs, environment) in one transaction. The store runs SQLite in WAL mode with
    synchronous=NORMAL (a commit survives a crash of the process, not of the machine); (a')
    repeats it with synchronous=FULL, the durability MLflow's SQLite gets by default.
(b) ours as the notebook sees it: `StoreWriter.finish(record)`, the enqueue done on the kernel's
    thread; the writer thread saves it later. Also the enqueue-to-saved latency.
(c) MLflow 3, SQLite backend: `with mlflow.start_run(): log_params; log_metrics; set_tags`.
(d) MLflow 3, file store (in maintenance mode in MLflow 3: enabled with MLFLOW_ALLOW_FILE_STORE
    for this measurement; skipped if it refuses).

Every variant checks afterwards that all its runs are in its store.
"""

from __future__ import annotations

import argparse
import logging
import os
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

from nbmodelbook.record import RunRecord
from nbmodelbook.store.store import RunStore

RATIO_GOAL = 30.0
MLFLOW_MISSING = "skipped: pip install 'nbmodelbook[bench]' (MLflow is not installed)"


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def ours_direct(
    path: Path, factory: RecordFactory, runs: int, warmup: int, *, synchronous_full: bool
) -> list[float]:
    store = RunStore.open(str(path))
    if synchronous_full:
        from sqlalchemy import event

        def _full(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.execute("PRAGMA synchronous=FULL")

        event.listen(store.engine, "connect", _full)
        store.engine.dispose()  # pooled connections reconnect with the listener in place
    try:
        for index in range(warmup):
            store.finish_run(factory.make(index))
        samples = []
        for index in range(runs):
            record = factory.make(index)
            samples.append(timed(lambda r=record: store.finish_run(r)))  # type: ignore[misc]
        if store.count() != warmup + runs:
            raise BenchFailure(
                f"{path.name}: {store.count()} runs stored, expected {warmup + runs}"
            )
        if synchronous_full:
            with store.engine.connect() as connection:
                level = connection.exec_driver_sql("PRAGMA synchronous").scalar()
            if level != 2:
                raise BenchFailure(f"could not set synchronous=FULL (got {level})")
    finally:
        store.close()
    return samples


def profile_finish_run(path: Path, factory: RecordFactory, calls: int = 200) -> str:
    store = RunStore.open(str(path))
    try:
        for index in range(20):
            store.finish_run(factory.make(index))
        records = iter([factory.make(index) for index in range(calls)])
        return profile_text(lambda: store.finish_run(next(records)), calls, "cumulative", 30)
    finally:
        store.close()


def ours_writer(
    path: Path, factory: RecordFactory, runs: int, warmup: int
) -> tuple[list[float], list[float]]:
    """Enqueue cost on the caller's thread, and the latency until the writer has saved it.

    Each run is enqueued once the previous one is saved, as cells typically are seconds apart.
    """
    from nbmodelbook.store.writer import StoreWriter

    writer = StoreWriter(f"sqlite:///{path}", uuid.uuid4().hex)
    if writer.wait_ready(60.0) is None:
        raise BenchFailure(f"the writer could not open its store: {writer.open_error}")
    enqueue: list[float] = []
    saved: list[float] = []
    try:
        for index in range(warmup + runs):
            record: RunRecord = factory.make(index)
            start = time.perf_counter()
            done = writer.finish(record)
            queued = time.perf_counter()
            if not done.wait(30.0):
                raise BenchFailure("the writer did not save a run within 30 s")
            end = time.perf_counter()
            if index >= warmup:
                enqueue.append(queued - start)
                saved.append(end - start)
        if not writer.flush(60.0):
            raise BenchFailure("the writer did not flush")
        problems = writer.take_problems()
        if problems or writer.unsaved_count:
            raise BenchFailure(f"writer problems: {problems}, unsaved: {writer.unsaved_count}")
        assert writer.store is not None
        if writer.store.count() != warmup + runs:
            raise BenchFailure(f"writer store has {writer.store.count()} runs, not {warmup + runs}")
    finally:
        writer.close()
    return enqueue, saved


def mlflow_runs(
    uri: str, factory: RecordFactory, runs: int, warmup: int
) -> tuple[list[float], float]:
    """Per-run times of the fluent API against `uri`, and the one-off setup time."""
    import mlflow
    from mlflow.tracking import MlflowClient

    setup_start = time.perf_counter()
    mlflow.set_tracking_uri(uri)
    experiment = mlflow.set_experiment(f"bench-{uuid.uuid4().hex[:8]}")
    setup = time.perf_counter() - setup_start
    payloads = [mlflow_payload(factory.make(index)) for index in range(warmup + runs)]

    def one(params: dict[str, Any], metrics: dict[str, float], tags: dict[str, str]) -> None:
        with mlflow.start_run(experiment_id=experiment.experiment_id):
            mlflow.log_params(params)
            mlflow.log_metrics(metrics)
            mlflow.set_tags(tags)

    samples = []
    for index, (params, metrics, tags) in enumerate(payloads):
        elapsed = timed(lambda p=params, m=metrics, t=tags: one(p, m, t))  # type: ignore[misc]
        if index >= warmup:
            samples.append(elapsed)
    stored = MlflowClient(uri).search_runs([experiment.experiment_id], max_results=50_000)
    if len(stored) != warmup + runs:
        raise BenchFailure(f"MLflow {uri}: {len(stored)} runs stored, expected {warmup + runs}")
    complete = [r for r in stored if len(r.data.params) == 10 and len(r.data.metrics) == 5]
    if len(complete) != len(stored):
        raise BenchFailure(f"MLflow {uri}: {len(stored) - len(complete)} runs incomplete")
    return samples, setup


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=300, help="timed runs for ours")
    parser.add_argument("--mlflow-runs", type=int, default=100, help="timed runs for MLflow")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--skip-mlflow", action="store_true")
    parser.add_argument("--profile", action="store_true", help="cProfile 200 finish_run calls")
    args = parser.parse_args(argv)
    quiet_third_party()

    result = Result("record_vs_mlflow")
    result.details["parameters"] = vars(args)
    rows: list[tuple[object, ...]] = []
    summaries: dict[str, float] = {}

    def report(label: str, samples: list[float], key: str) -> None:
        summary = ms(samples)
        result.details[key] = summary.as_dict()
        summaries[key] = summary.median
        rows.append((label, summary.n, summary.median, summary.p90, summary.mean))

    with tempfile.TemporaryDirectory(prefix="nbmb-bench-") as tmp:
        workdir = Path(tmp)
        notebooks = [str(workdir / f"notebook-{n}.ipynb") for n in range(3)]
        try:
            report(
                "(a)  ours: RunStore.finish_run, SQLite WAL synchronous=NORMAL",
                ours_direct(
                    workdir / "a.sqlite",
                    RecordFactory(notebooks, 1),
                    args.runs,
                    args.warmup,
                    synchronous_full=False,
                ),
                "ours_finish_run_ms",
            )
            report(
                "(a') ours: RunStore.finish_run, synchronous=FULL",
                ours_direct(
                    workdir / "a-full.sqlite",
                    RecordFactory(notebooks, 2),
                    args.runs,
                    args.warmup,
                    synchronous_full=True,
                ),
                "ours_finish_run_sync_full_ms",
            )
            enqueue, saved = ours_writer(
                workdir / "b.sqlite", RecordFactory(notebooks, 3), args.runs, args.warmup
            )
            report(
                "(b)  ours: StoreWriter.finish enqueue (kernel thread)", enqueue, "ours_enqueue_ms"
            )
            report("(b') ours: enqueue until saved by the writer thread", saved, "ours_saved_ms")

            if args.profile:
                result.details["profile"] = profile_finish_run(
                    workdir / "profile.sqlite", RecordFactory(notebooks, 6)
                )
                print(result.details["profile"])
            mlflow_note = ""
            mlflow_version = None
            if args.skip_mlflow:
                mlflow_note = "skipped: --skip-mlflow"
            else:
                try:
                    import mlflow

                    mlflow_version = mlflow.__version__
                except ImportError:
                    mlflow_note = MLFLOW_MISSING
            if mlflow_version is not None:
                for name in ("mlflow", "alembic", "sqlalchemy.engine"):
                    logging.getLogger(name).setLevel(logging.WARNING)
                samples, setup = mlflow_runs(
                    f"sqlite:///{workdir / 'mlflow.db'}",
                    RecordFactory(notebooks, 4),
                    args.mlflow_runs,
                    args.warmup,
                )
                result.details["mlflow_sqlite_setup_s"] = setup
                report(f"(c)  MLflow {mlflow_version}, SQLite backend", samples, "mlflow_sqlite_ms")
                os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
                try:
                    samples, setup = mlflow_runs(
                        (workdir / "mlruns").as_uri(),
                        RecordFactory(notebooks, 5),
                        args.mlflow_runs,
                        args.warmup,
                    )
                    report(f"(d)  MLflow {mlflow_version}, file store", samples, "mlflow_file_ms")
                except BenchFailure:
                    raise
                except Exception as exc:
                    result.details["mlflow_file_store"] = f"skipped: {type(exc).__name__}: {exc}"
                    rows.append(
                        ("(d)  MLflow file store: skipped (not supported)", "-", "-", "-", "-")
                    )
                result.details["mlflow_version"] = mlflow_version
        except BenchFailure as exc:
            result.error = str(exc)

    print(table(("variant", "n", "median ms", "p90 ms", "mean ms"), rows))
    if mlflow_note:
        print(mlflow_note)
        result.details["mlflow"] = mlflow_note
    if "mlflow_file_store" in result.details:
        print(f"(d) {result.details['mlflow_file_store']}")

    ours = summaries.get("ours_finish_run_ms")
    if ours is not None:
        result.add(Figure("ours: finish_run, median per run", ours, "ms"))
        result.add(
            Figure("ours: enqueue on the kernel thread, median", summaries["ours_enqueue_ms"], "ms")
        )
    mlflow_sqlite = summaries.get("mlflow_sqlite_ms")
    if ours is not None and mlflow_sqlite is not None:
        print()
        ratios = [
            ("MLflow SQLite / ours finish_run", mlflow_sqlite / ours),
            (
                "MLflow SQLite / ours finish_run synchronous=FULL",
                mlflow_sqlite / summaries["ours_finish_run_sync_full_ms"],
            ),
        ]
        if "mlflow_file_ms" in summaries:
            ratios.append(
                ("MLflow file store / ours finish_run", summaries["mlflow_file_ms"] / ours)
            )
        ratios.append(
            (
                "MLflow SQLite / ours enqueue (notebook-visible)",
                mlflow_sqlite / summaries["ours_enqueue_ms"],
            )
        )
        print(table(("ratio (medians)", "x"), ratios))
        result.details["ratios"] = dict(ratios)
        result.add(Figure("MLflow SQLite: log one run, median", mlflow_sqlite, "ms"))
        result.add(
            Figure(
                "ratio MLflow SQLite / ours end-to-end", mlflow_sqlite / ours, "x", RATIO_GOAL, ">="
            )
        )
        result.add(
            Figure(
                "ratio MLflow SQLite / ours, both synchronous=FULL",
                ratios[1][1],
                "x",
            )
        )
    return finish(result)


if __name__ == "__main__":
    sys.exit(main())
