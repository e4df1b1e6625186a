"""Run every benchmark, each in its own process, and print one summary against the budgets.

Run: python bench/run_all.py [--quick] [--only NAME ...] [--skip-mlflow]

Each benchmark prints its own tables and writes bench/results/<name>.json; this runner reads
those back (bench_fingerprint.py prints a table only: its figures are parsed from its output
and saved as bench/results/fingerprint.json). Exit status 1 if any figure misses its budget or
any benchmark fails.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

from _common import (
    BENCH_DIR,
    RESULTS_DIR,
    Figure,
    Result,
    budget_text,
    table,
    verdict,
)


@dataclass(frozen=True, slots=True)
class Bench:
    name: str  # result file stem
    script: str
    args: tuple[str, ...] = ()
    quick_args: tuple[str, ...] = ()


BENCHES = (
    Bench("import", "bench_import.py", quick_args=("--reps", "5")),
    Bench(
        "overhead",
        "bench_overhead.py",
        quick_args=("--reps", "200", "--realistic-reps", "100", "--block", "50", "--rounds", "1"),
    ),
    Bench(
        "kernel_overhead",
        "bench_kernel_overhead.py",
        quick_args=(
            *("--pairs", "60", "--rounds", "2", "--warmup", "1", "--fresh", "2"),
            *("--block", "20", "--blocks", "1"),
        ),
    ),
    Bench(
        "record_vs_mlflow",
        "bench_record_vs_mlflow.py",
        quick_args=("--runs", "50", "--mlflow-runs", "20"),
    ),
    Bench(
        "runs_query",
        "bench_runs_query.py",
        quick_args=("--runs", "1000", "--calls", "3", "--mlflow-runs", "50"),
    ),
    Bench("fingerprint", "bench_fingerprint.py", quick_args=("--reps", "2")),
    Bench("export", "bench_export.py", quick_args=("--runs", "200", "--calls", "1")),
    Bench("docx", "bench_docx.py", quick_args=("--runs", "200", "--calls", "1", "--no-demo")),
    Bench("pdf", "bench_pdf.py", quick_args=("--runs", "100", "--calls", "1")),
    Bench("browse", "bench_browse.py", quick_args=("--runs", "5000", "--calls", "3")),
    Bench("lab_api", "bench_lab_api.py", quick_args=("--quick",)),
    Bench("evidence_overhead", "bench_evidence_overhead.py", quick_args=("--quick",)),
    Bench("review_evidence", "bench_review_evidence.py", quick_args=("--quick",)),
    Bench(
        "evidence_store",
        "bench_evidence_store.py",
        quick_args=("--runs", "1000", "--calls", "3"),
    ),
)
TIMEOUT_SECONDS = 600


def run_script(bench: Bench, extra: list[str]) -> tuple[int, str, float]:
    """Run one benchmark, echoing its output as it comes; returns (status, output, seconds)."""
    command = [sys.executable, str(BENCH_DIR / bench.script), *extra]
    print(f"\n=== {bench.script} {' '.join(extra)}".rstrip(), flush=True)
    start = time.perf_counter()
    lines: list[str] = []
    with subprocess.Popen(
        command,
        cwd=BENCH_DIR.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
    ) as process:
        assert process.stdout is not None
        try:
            for line in process.stdout:
                sys.stdout.write(line)
                lines.append(line)
            status = process.wait(timeout=TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            status = -9
    elapsed = time.perf_counter() - start
    print(f"=== {bench.script}: exit {status} in {elapsed:.0f} s", flush=True)
    return status, "".join(lines), elapsed


def fingerprint_result(output: str) -> Result:
    """Figures of bench_fingerprint.py, parsed from its table (frame, MB, method, s, GB/s)."""
    result = Result("fingerprint")
    timings: dict[tuple[str, str], float] = {}
    for line in output.splitlines():
        parts = line.split()
        if len(parts) < 5 or parts[0] == "frame":
            continue
        frame, method, gbps = parts[0], parts[2], parts[-1]
        if method == "fingerprint" and gbps != "-":
            result.add(Figure(f"fingerprint throughput, {frame} frame", float(gbps), "GB/s"))
        seconds = parts[3]
        try:
            timings[frame, method] = float(seconds) if parts[4] != "us" else float(seconds) / 1e6
        except ValueError:
            continue
    for frame in sorted({frame for frame, _ in timings}):
        ours, theirs = (
            timings.get((frame, "fingerprint")),
            timings.get((frame, "hash_pandas_object")),
        )
        if ours and theirs:
            result.add(Figure(f"fingerprint vs hash_pandas_object, {frame}", theirs / ours, "x"))
    result.details["raw_output"] = output
    if not result.figures:
        result.error = "could not parse bench_fingerprint.py output"
    return result


def load_result(name: str) -> dict[str, Any] | None:
    path = RESULTS_DIR / f"{name}.json"
    if not path.exists():
        return None
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="few repetitions: a smoke test")
    parser.add_argument("--only", nargs="*", choices=[b.name for b in BENCHES], default=None)
    parser.add_argument("--skip-mlflow", action="store_true", help="do not measure MLflow")
    args = parser.parse_args(argv)

    selected = [b for b in BENCHES if args.only is None or b.name in args.only]
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    rows: list[tuple[object, ...]] = []
    failures: list[str] = []
    durations: list[str] = []
    started = time.perf_counter()
    for bench in selected:
        extra = list(bench.quick_args if args.quick else bench.args)
        if args.skip_mlflow and bench.name == "record_vs_mlflow":
            extra.append("--skip-mlflow")
        if args.skip_mlflow and bench.name == "runs_query":
            extra += ["--mlflow-runs", "0"]
        stale = RESULTS_DIR / f"{bench.name}.json"
        stale.unlink(missing_ok=True)
        status, output, elapsed = run_script(bench, extra)
        if bench.name == "fingerprint" and status == 0:
            fingerprint_result(output).write()
        loaded = load_result(bench.name)
        if loaded is None:
            failures.append(f"{bench.script}: exit {status}, no result written")
            rows.append((bench.name, "(no result)", "-", "-", "-", "ERROR"))
            continue
        if loaded.get("error"):
            failures.append(f"{bench.script}: {loaded['error']}")
            rows.append((bench.name, f"ERROR: {loaded['error'][:70]}", "-", "-", "-", "ERROR"))
        for entry in loaded["figures"]:
            figure = Figure(
                entry["label"], entry["value"], entry["unit"], entry["budget"], entry["cmp"]
            )
            rows.append(
                (
                    bench.name,
                    figure.label,
                    figure.value,
                    figure.unit,
                    budget_text(figure),
                    verdict(figure),
                )
            )
            if figure.passed is False:
                failures.append(f"{bench.name}: {figure.label}")
        if status != 0 and not any(f.startswith(bench.name) for f in failures):
            failures.append(f"{bench.script}: exit status {status}")
        rows.append((None,) * 6)  # spacer between benchmarks
        durations.append(f"{bench.name} {elapsed:.0f} s")

    while rows and rows[-1][0] is None:
        rows.pop()
    print("\n" + "=" * 100)
    print(f"SUMMARY ({time.perf_counter() - started:.0f} s{', --quick' if args.quick else ''})\n")
    print(table(("bench", "figure", "value", "unit", "budget", "verdict"), rows))
    print(f"\ntime per benchmark: {', '.join(durations)}")
    print()
    if failures:
        print(f"{len(failures)} FAIL/ERROR:")
        for failure in failures:
            print(f"  - {failure}")
        return 1
    print("all budgets met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
