"""Shared helpers for the benchmarks: statistics, tables and JSON results.

Every benchmark writes `bench/results/<name>.json` with this shape, which `run_all.py` reads:

    {"name": ..., "ok": bool, "figures": [{"label", "value", "unit", "budget", "cmp", "passed"}],
     "details": {...}, "environment": {...}}

`budget` is None for figures that are only reported; `cmp` is "<=" or ">=".
"""

from __future__ import annotations

import contextlib
import cProfile
import io
import json
import os
import platform
import pstats
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"
REPO_ROOT = BENCH_DIR.parent

if str(REPO_ROOT) not in sys.path:
    # Runnable from a checkout even when the package is not installed in the interpreter.
    sys.path.insert(0, str(REPO_ROOT))


class BenchFailure(RuntimeError):
    """A benchmark's own correctness check failed (e.g. runs missing from the store)."""


def quiet_third_party() -> None:
    """No telemetry or update checks from third-party libraries during a measurement."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("DO_NOT_TRACK", "true")
    os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")


@contextlib.contextmanager
def background_load(processes: int) -> Iterator[None]:
    """`processes` busy processes (one core's worth each) while the block runs: what a
    measurement looks like on a machine that is doing something else as well."""
    import subprocess

    spinners = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(processes)
    ]
    try:
        yield
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait()


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) with linear interpolation between closest ranks."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    position = (len(ordered) - 1) * q / 100.0
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass(slots=True)
class Summary:
    """Summary statistics of samples, in the unit the samples were given in."""

    n: int
    median: float
    p90: float
    mean: float
    minimum: float
    maximum: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Summary:
        if not values:
            nan = float("nan")
            return cls(0, nan, nan, nan, nan, nan)
        return cls(
            n=len(values),
            median=statistics.median(values),
            p90=percentile(values, 90),
            mean=statistics.fmean(values),
            minimum=min(values),
            maximum=max(values),
        )

    def scaled(self, factor: float) -> Summary:
        return Summary(
            self.n,
            self.median * factor,
            self.p90 * factor,
            self.mean * factor,
            self.minimum * factor,
            self.maximum * factor,
        )

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def ms(seconds: Sequence[float]) -> Summary:
    """Summary of durations given in seconds, expressed in milliseconds."""
    return Summary.of(seconds).scaled(1000.0)


@dataclass(slots=True)
class Figure:
    label: str
    value: float
    unit: str
    budget: float | None = None
    cmp: str = "<="
    note: str = ""

    @property
    def passed(self) -> bool | None:
        if self.budget is None:
            return None
        if self.value != self.value:  # NaN never passes
            return False
        return self.value <= self.budget if self.cmp == "<=" else self.value >= self.budget

    def as_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "value": self.value,
            "unit": self.unit,
            "budget": self.budget,
            "cmp": self.cmp,
            "passed": self.passed,
            "note": self.note,
        }


@dataclass(slots=True)
class Result:
    name: str
    figures: list[Figure] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    started: float = field(default_factory=time.time)
    error: str | None = None

    def add(self, figure: Figure) -> Figure:
        self.figures.append(figure)
        return figure

    @property
    def ok(self) -> bool:
        return self.error is None and all(f.passed is not False for f in self.figures)

    def write(self) -> Path:
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        path = RESULTS_DIR / f"{self.name}.json"
        payload = {
            "name": self.name,
            "ok": self.ok,
            "error": self.error,
            "figures": [f.as_dict() for f in self.figures],
            "details": self.details,
            "environment": environment(),
            "started_at": self.started,
            "elapsed_s": round(time.time() - self.started, 2),
        }
        path.write_text(json.dumps(payload, indent=2, default=str) + "\n", encoding="utf-8")
        return path


def profile_text(
    action: Callable[[], object], calls: int, sort: str = "tottime", top: int = 15
) -> str:
    """cProfile of `calls` calls of `action` (this thread only), as pstats text."""
    profiler = cProfile.Profile()
    for _ in range(calls):
        profiler.runcall(action)
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats(sort).print_stats(top)
    return out.getvalue()


def environment() -> dict[str, Any]:
    info: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
    }
    with contextlib.suppress(OSError):
        info["loadavg"] = os.getloadavg()
    for name in ("nbmodelbook", "IPython", "pandas", "sqlalchemy", "mlflow"):
        module = sys.modules.get(name)
        version = getattr(module, "__version__", None)
        if version is not None:
            info[name] = version
    return info


def format_number(value: float | None, digits: int = 3) -> str:
    if value is None:
        return "-"
    value = float(value)
    if value != value:
        return "nan"
    magnitude = abs(value)
    if value.is_integer() and magnitude < 1e6:
        return f"{int(value):,}"
    if magnitude >= 100:
        return f"{value:,.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    if magnitude >= 1:
        return f"{value:.2f}"
    return f"{value:.{digits}f}"


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain left/right-aligned text table (numbers right-aligned)."""
    cells = [[str(h) for h in headers]] + [
        [format_number(c) if isinstance(c, float) else "" if c is None else str(c) for c in row]
        for row in rows
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    numeric = [
        all(isinstance(row[i], int | float) for row in rows if row[i] is not None)
        for i in range(len(headers))
    ]
    lines = []
    for index, row in enumerate(cells):
        parts = [
            cell.rjust(width) if numeric[i] and index else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(parts).rstrip())
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def verdict(figure: Figure) -> str:
    if figure.passed is None:
        return "info"
    return "PASS" if figure.passed else "FAIL"


def budget_text(figure: Figure) -> str:
    if figure.budget is None:
        return "-"
    return f"{figure.cmp} {format_number(figure.budget)} {figure.unit}"


def figures_table(figures: Sequence[Figure]) -> str:
    return table(
        ("figure", "value", "unit", "budget", "verdict"),
        [(f.label, f.value, f.unit, budget_text(f), verdict(f)) for f in figures],
    )


def finish(result: Result) -> int:
    """Print the figures, write the JSON, return the exit status (1 on any FAIL or error)."""
    if result.figures:
        print()
        print(figures_table(result.figures))
    if result.error:
        print(f"\nERROR: {result.error}", file=sys.stderr)
    path = result.write()
    print(f"\nresult: {path.relative_to(REPO_ROOT)}")
    return 0 if result.ok else 1
