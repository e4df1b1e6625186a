"""The evidence behind metrics in the store: what it costs to keep, and that listing runs does
not pay for it.

Run: python bench/bench_evidence_store.py [--runs 10000] [--calls 9] [--big-rows 1000000]

Two SQLite stores are filled through `RunStore.finish_run` with the same realistic records
(bench/_records.py): one as they are, one with the evidence a tracked cell leaves, per run two
evaluations of ~150 rows (`roc_auc_score` on the scores, `accuracy_score` on the predicted
labels, both on the same test set, one declared segment) and a 12-candidate x 3-fold search.
Reported:

- `api.runs(all_notebooks=True, store=path)` on both stores (median of several calls after a
  warm-up): the query path of `nbmodelbook.runs()`, budget <= 100 ms with the evidence there;
- the store files' sizes, and the bytes of arrays kept once instead of once per use (the test
  set's labels and segment codes are shared by every run);
- writing one run with a 1,000,000-row evaluation (float scores + int labels), and reading its
  evidence back.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from _common import BenchFailure, Figure, Result, finish, ms, quiet_third_party, table
from _records import RecordFactory, grid_search_candidates

from nbmodelbook import api
from nbmodelbook.record import Evaluation, RunRecord, SegmentLabels
from nbmodelbook.store import codec
from nbmodelbook.store.backends import sqlite_sidecar
from nbmodelbook.store.store import RunStore

BUDGET_MS = 100.0
TEST_ROWS = 150
CANDIDATES = 12
FOLDS = 3
REGIONS = ["north", "south", "east", "west"]


class Evidence:
    """Evidence like a tracked model-fitting cell's: every run scores the same test set."""

    def __init__(self, seed: int, rows: int = TEST_ROWS) -> None:
        self.rng = np.random.default_rng(seed)
        self.rows = rows
        self.y_test = (self.rng.random(rows) < 0.3).astype(np.int64)
        self.regions = self.rng.integers(0, len(REGIONS), rows).astype(np.int8)

    def add(self, record: RunRecord) -> RunRecord:
        rng = self.rng
        scores = np.clip(self.y_test * 0.3 + rng.random(self.rows) * 0.7, 0.0, 1.0)
        segments = {"region": SegmentLabels(self.regions, list(REGIONS), "declared")}
        record.evaluations = [
            Evaluation(
                "roc_auc_score",
                "auc",
                record.metrics["auc"],
                y_true=self.y_test,
                y_score=scores,
                segments=segments,
                n_total=self.rows,
                rows_fingerprint="test-set",
            ),
            Evaluation(
                "accuracy_score",
                "accuracy",
                record.metrics["accuracy"],
                y_true=self.y_test,
                y_pred=(scores > 0.5).astype(np.int64),
                n_total=self.rows,
                rows_fingerprint="test-set",
            ),
        ]
        grid = [(depth, rate) for depth in (2, 3, 4, 6) for rate in (0.03, 0.1, 0.3)]
        record.candidates = grid_search_candidates(rng, grid[:CANDIDATES], (0.6, 0.8), FOLDS)
        return record


def fill(path: Path, runs: int, notebooks: list[str], evidence: Evidence | None) -> float:
    store = RunStore.open(str(path))
    factory = RecordFactory(notebooks, seed=7)
    start = time.perf_counter()
    for index in range(runs):
        record = factory.make(index)
        store.finish_run(evidence.add(record) if evidence is not None else record)
    elapsed = time.perf_counter() - start
    if store.count() != runs:
        raise BenchFailure(f"the store holds {store.count()} runs, expected {runs}")
    store.close()
    return elapsed


def store_bytes(path: Path) -> int:
    return sum(
        part.stat().st_size for part in (path, sqlite_sidecar(path, "-wal")) if part.exists()
    )


def dedup_figures(path: Path) -> dict[str, int]:
    """Bytes of the arrays as stored, before compression, and with a copy per use."""
    import sqlite3

    with sqlite3.connect(path) as connection:
        sizes = dict(connection.execute("SELECT hash, length(data) FROM nbmb_arrays"))
        raw = int(connection.execute("SELECT sum(nbytes) FROM nbmb_arrays").fetchone()[0] or 0)
        uses = connection.execute(
            "SELECT y_true, y_score, y_pred, sample_weight, segments FROM nbmb_evaluations"
        ).fetchall()
    used = 0
    for *hashes, segments in uses:
        named = [key for key in hashes if key] + [
            entry["codes"] for entry in codec.loads(segments, {}).values()
        ]
        used += sum(sizes[key] for key in named)
    stored = sum(sizes.values())
    connection.close()
    return {
        "arrays": len(sizes),
        "raw": raw,
        "stored": stored,
        "per_use": used,
        "saved": used - stored,
    }


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
        if len(frame) != rows or "metrics.auc" not in frame.columns:
            raise BenchFailure(f"runs() returned {len(frame)} rows, expected {rows}")

    return check


def big_run(path: Path, rows: int, writes: int) -> dict[str, Any]:
    """Write `writes` runs, each with a fresh `rows`-row evaluation, into the evidence store;
    time each write, and reading one back."""
    store = RunStore.open(str(path))
    factory = RecordFactory(["/bench/big.ipynb"], seed=99)
    rng = np.random.default_rng(5)
    write_s: list[float] = []
    record = None
    for index in range(writes):
        y_true = (rng.random(rows) < 0.3).astype(np.int64)
        scores = rng.random(rows)
        record = factory.make(index)
        record.evaluations = [
            Evaluation("roc_auc_score", "auc", 0.7, y_true=y_true, y_score=scores, n_total=rows)
        ]
        start = time.perf_counter()
        store.finish_run(record)
        write_s.append(time.perf_counter() - start)
    assert record is not None
    start = time.perf_counter()
    [read], _ = store.evidence(record.run_id)
    read_s = time.perf_counter() - start
    if not np.array_equal(read.y_score, record.evaluations[0].y_score):
        raise BenchFailure("the large evaluation did not read back as written")
    store.close()
    return {"write_ms": ms(write_s), "read_ms": read_s * 1000}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--calls", type=int, default=9, help="timed calls per query")
    parser.add_argument("--big-rows", type=int, default=1_000_000)
    parser.add_argument("--big-writes", type=int, default=3, help="large runs written")
    args = parser.parse_args(argv)
    quiet_third_party()

    result = Result("evidence_store")
    result.details["parameters"] = vars(args)
    rows: list[tuple[object, ...]] = []
    with tempfile.TemporaryDirectory(prefix="nbmb-bench-") as tmp:
        workdir = Path(tmp).resolve()
        notebooks = [str(workdir / f"notebook-{n}.ipynb") for n in range(3)]
        plain, kept = workdir / "plain.sqlite", workdir / "evidence.sqlite"
        try:
            plain_s = fill(plain, args.runs, notebooks, None)
            kept_s = fill(kept, args.runs, notebooks, Evidence(seed=3))
            per_run = (kept_s - plain_s) / args.runs * 1000
            print(
                f"filled {args.runs:,} runs via RunStore.finish_run: {plain_s:.1f} s without "
                f"evidence, {kept_s:.1f} s with it (+{per_run:.2f} ms/run)"
            )
            result.details.update(fill_plain_s=plain_s, fill_evidence_s=kept_s)
            sizes = {"plain": store_bytes(plain), "evidence": store_bytes(kept)}
            dedup = dedup_figures(kept)
            result.details.update(store_bytes=sizes, dedup=dedup)

            timings: dict[str, float] = {}
            for label, path in (("without evidence", plain), ("with evidence", kept)):
                summary = ms(
                    repeat(
                        lambda p=path: api.runs(all_notebooks=True, store=str(p)),  # type: ignore[misc]
                        args.calls,
                        expect_frame(args.runs),
                    )
                )
                timings[label] = summary.median
                result.details[f"api_runs_{label.replace(' ', '_')}_ms"] = summary.as_dict()
                rows.append((f"api.runs(all) {label}", summary.n, summary.median, summary.p90))
            result.add(
                Figure(
                    f"api.runs(all_notebooks=True) [{args.runs:,} runs with evidence]",
                    timings["with evidence"],
                    "ms",
                    BUDGET_MS,
                )
            )
            result.add(
                Figure(
                    "  the same without evidence (for comparison)",
                    timings["without evidence"],
                    "ms",
                )
            )
            result.add(Figure("store size, with evidence", sizes["evidence"] / 1e6, "MB"))
            result.add(Figure("store size, without evidence", sizes["plain"] / 1e6, "MB"))
            result.add(
                Figure("arrays stored once instead of per use: saved", dedup["saved"] / 1e6, "MB")
            )

            big = big_run(kept, args.big_rows, args.big_writes)
            result.details["big_run"] = {
                "write_ms": big["write_ms"].as_dict(),
                "read_ms": big["read_ms"],
            }
            rows.append(
                (
                    f"finish_run, {args.big_rows:,}-row evaluation",
                    big["write_ms"].n,
                    big["write_ms"].median,
                    big["write_ms"].p90,
                )
            )
            rows.append((f"evidence(), {args.big_rows:,}-row evaluation", 1, big["read_ms"], None))
            result.add(
                Figure(
                    f"write one run with a {args.big_rows:,}-row evaluation",
                    big["write_ms"].median,
                    "ms",
                )
            )
            note = (
                f"arrays: {dedup['arrays']:,} stored, {dedup['stored'] / 1e6:.1f} MB "
                f"({dedup['raw'] / 1e6:.1f} MB before compression) "
                f"(one copy per use: {dedup['per_use'] / 1e6:.1f} MB, "
                f"saved {dedup['saved'] / 1e6:.1f} MB = "
                f"{dedup['saved'] / max(dedup['per_use'], 1):.0%})\n"
                f"store files: {sizes['plain'] / 1e6:.1f} MB without evidence, "
                f"{sizes['evidence'] / 1e6:.1f} MB with it "
                f"({(sizes['evidence'] - sizes['plain']) / args.runs / 1e3:.1f} kB/run)"
            )
        except BenchFailure as exc:
            result.error = str(exc)
            note = ""

    print(table(("measure", "calls", "median ms", "p90 ms"), rows))
    if note:
        print(note)
    return finish(result)


if __name__ == "__main__":
    sys.exit(main())
