"""Throughput of nbmodelbook.capture.fingerprint vs pandas.util.hash_pandas_object.

Run: python bench/bench_fingerprint.py [--reps N]
Throughput is in-memory bytes of the frame (``memory_usage(deep=True)``, values
and index) divided by the median wall time over N repetitions.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from nbmodelbook.capture.fingerprint import FingerprintCache, fingerprint


def numeric_frame(rows: int = 1_100_000) -> pd.DataFrame:
    """~80 MB: 10 columns of float64/int64/datetime64/bool."""
    rng = np.random.default_rng(0)
    cols: dict[str, Any] = {f"f{i}": rng.standard_normal(rows) for i in range(6)}
    cols.update({f"i{i}": rng.integers(0, 1 << 40, rows) for i in range(2)})
    cols["ts"] = pd.date_range("2020-01-01", periods=rows, freq="s")
    cols["flag"] = rng.random(rows) < 0.5
    return pd.DataFrame(cols)


def mixed_frame(rows: int = 1_000_000) -> pd.DataFrame:
    """Numeric columns plus str (default and python storage), category and object."""
    rng = np.random.default_rng(1)
    words = np.array([f"customer-{i:07d}" for i in range(50_000)], dtype=object)
    names = words[rng.integers(0, len(words), rows)]
    names[rng.random(rows) < 0.05] = None
    return pd.DataFrame(
        {
            "x": rng.standard_normal(rows),
            "y": rng.integers(0, 100, rows),
            # Default str dtype: Arrow-backed if pyarrow is installed, else python.
            "name": pd.array(names, dtype="str"),
            "name_py": pd.array(names, dtype=pd.StringDtype("python", na_value=np.nan)),
            "segment": pd.Categorical(rng.choice(["retail", "sme", "corporate"], rows)),
            "note": pd.Series(names, dtype=object),
        }
    )


def median_time(fn: Callable[[], object], reps: int) -> float:
    fn()  # warm-up: first-call imports and page faults are not steady state
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reps", type=int, default=7)
    args = parser.parse_args(argv)

    rows = [("frame", "MB", "method", "median s", "GB/s")]
    mixed = mixed_frame()
    for label, df in (("numeric", numeric_frame()), ("mixed+strings", mixed)):
        size = int(df.memory_usage(index=True, deep=True).sum())
        cache = FingerprintCache()
        cache.get(df)
        cases: list[tuple[str, Callable[[], object]]] = [
            ("fingerprint", lambda df=df: fingerprint(df)),
            ("hash_pandas_object", lambda df=df: pd.util.hash_pandas_object(df).values),
            ("cache hit", lambda df=df, cache=cache: cache.get(df)),
        ]
        for name, fn in cases:
            t = median_time(fn, args.reps)
            gbps = f"{size / t / 1e9:.2f}" if name != "cache hit" else "-"
            t_str = f"{t:.4f}" if t >= 1e-3 else f"{t * 1e6:.0f} us"
            rows.append((label, f"{size / 1e6:.0f}", name, t_str, gbps))

    arrow = "name" in mixed and type(mixed["name"].array).__name__.startswith("Arrow")
    sys.stdout.write(f"default str storage: {'pyarrow' if arrow else 'python'}\n")
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        sys.stdout.write("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
