"""Exporting 1,000 runs to MLflow 3 (SQLite tracking store), exporting them again, and importing.

Run: python bench/bench_mlflow_export.py [--runs 1000] [--changed 100]

A store of realistic runs (10 params, 5 metrics, 3 tags, a data fingerprint, lineage, environment
each) is exported with `export_runs` into a new MLflow SQLite tracking store: each run is one
MLflow run with its params, metrics, tags, status, times, a dataset input and two artifacts
(code.py, run.json). Then: the same export again (every run already up to date: one lookup per
run), an export after `--changed` runs changed (updated in place), and an import of the exported
runs into a new store (each restored whole from its run.json). Each step checks its counts.
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from _common import BenchFailure, Figure, Result, finish, quiet_third_party, table
from _records import RecordFactory

from nbmodelbook.store.store import RunStore

T = TypeVar("T")
MLFLOW_MISSING = "skipped: pip install 'nbmodelbook[mlflow]' (MLflow is not installed)"


def filled_store(path: Path, runs: int) -> tuple[RunStore, list[str]]:
    store = RunStore.open(str(path))
    factory = RecordFactory(["/home/analyst/credit-models/loans.ipynb"], seed=9)
    ids = []
    for index in range(runs):
        record = factory.make(index)
        for found in record.inputs.values():
            found["hash"] = found.pop("fingerprint")  # the key capture writes
        store.finish_run(record)
        ids.append(record.run_id)
    return store, ids


def change(store: RunStore, run_ids: list[str]) -> None:
    for record in store.get_runs(run_ids).values():
        record.note = "reviewed"
        record.metrics["auc"] = 0.5
        store.finish_run(record)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--changed", type=int, default=100)
    args = parser.parse_args()
    quiet_third_party()
    result = Result("mlflow_export")
    try:
        import mlflow  # noqa: F401
    except ImportError:
        print(MLFLOW_MISSING)
        result.details["skipped"] = MLFLOW_MISSING
        return finish(result)
    from nbmodelbook.interop.mlflow_client import mlflow_client
    from nbmodelbook.interop.mlflow_export import export_runs
    from nbmodelbook.interop.mlflow_import import import_runs

    logging.getLogger("mlflow").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        os.chdir(folder)  # the SQLite tracking store keeps its artifacts under ./mlruns
        store, ids = filled_store(folder / "runs.sqlite", args.runs)
        client = mlflow_client(f"sqlite:///{folder / 'mlflow.db'}")
        client.search_experiments()  # create MLflow's tables before timing

        steps: list[tuple[str, float, int]] = []

        def timed(label: str, action: Callable[[], T]) -> T:
            start = time.perf_counter()
            outcome = action()
            steps.append((label, time.perf_counter() - start, args.runs))
            return outcome

        first = timed("first export", lambda: export_runs(store, ids, client))
        again = timed("export again", lambda: export_runs(store, ids, client))
        change(store, ids[: args.changed])
        updated = timed(
            f"export after {args.changed} changed", lambda: export_runs(store, ids, client)
        )
        fresh = RunStore.open(str(folder / "fresh.sqlite"))
        imported = timed("import into a new store", lambda: import_runs(client, fresh))
        checks = [
            (first.exported, args.runs),
            (again.unchanged, args.runs),
            (updated.updated, args.changed),
            (imported.imported, args.runs),
            (fresh.count(), args.runs),
        ]
        if any(got != wanted for got, wanted in checks):
            raise BenchFailure(f"unexpected counts (got, wanted): {checks}")
        os.chdir(Path.home())
    print(
        table(
            ("step", "total s", "ms per run"),
            [(label, seconds, seconds * 1000 / count) for label, seconds, count in steps],
        )
    )
    for label, seconds, count in steps:
        result.add(Figure(f"{label}, {count} runs", seconds, "s"))
        result.add(Figure(f"{label}, per run", seconds * 1000 / count, "ms"))
    result.details = {"runs": args.runs, "changed": args.changed}
    return finish(result)


if __name__ == "__main__":
    raise SystemExit(main())
