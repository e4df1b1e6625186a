"""Cost of `import nbmodelbook` + `%load_ext nbmodelbook`, each time in a fresh interpreter.

Run: python bench/bench_import.py [--reps 15]

Each repetition starts a new Python process that imports IPython and creates an
InteractiveShell first (not timed), then times exactly two steps:

1. `import nbmodelbook`
2. loading the extension into the shell, as `%load_ext nbmodelbook` does
   (`shell.extension_manager.load_extension("nbmodelbook")`)

and lists the modules those two steps imported. pandas, sqlalchemy and altair must not be among
them (the store opens on a background thread a moment later; one extra run reports what that
thread imports). One more run with `python -X importtime` names the slowest imports.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from _common import REPO_ROOT, BenchFailure, Figure, Result, finish, ms, table

BUDGET_MS = 300.0
HEAVY = ("pandas", "sqlalchemy", "altair", "numpy")
FORBIDDEN = ("pandas", "sqlalchemy", "altair")
MARKER = "--nbmb-bench-import-start--"

CHILD = r"""
import json, os, sys, time
from IPython.core.interactiveshell import InteractiveShell
from traitlets.config import Config

config = Config()
config.HistoryManager.hist_file = ":memory:"
shell = InteractiveShell.instance(config=config)
before = set(sys.modules)
sys.stderr.write("MARKER\n")
sys.stderr.flush()
t0 = time.perf_counter()
import nbmodelbook
t1 = time.perf_counter()
shell.extension_manager.load_extension("nbmodelbook")
t2 = time.perf_counter()
after_load = set(sys.modules)
loaded = getattr(shell, "_nbmodelbook_tracker", None) is not None and "track" in (
    shell.magics_manager.magics["cell"]
)
background = []
if os.environ.get("NBMB_BENCH_WAIT"):
    tracker = shell._nbmodelbook_tracker
    tracker.writer.wait_ready(30.0)
    background = sorted(set(sys.modules) - after_load)
print(json.dumps({
    "import_s": t1 - t0,
    "load_s": t2 - t1,
    "new_modules": sorted(after_load - before),
    "preloaded": sorted(m for m in before if m.split(".")[0] in HEAVY),
    "background_modules": background,
    "extension_loaded": loaded,
}))
sys.stdout.flush()
os._exit(0)  # skip atexit: the writer would open the store just to close it
""".replace("MARKER", MARKER).replace("HEAVY", repr(HEAVY))


def child_env(workdir: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["IPYTHONDIR"] = str(workdir / "ipython")
    env["NBMODELBOOK_STORE"] = str(workdir / "runs.sqlite")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(extra)
    return env


def run_child(workdir: Path, *flags: str, **extra: str) -> tuple[dict[str, Any], str]:
    done = subprocess.run(
        [sys.executable, *flags, "-c", CHILD],
        env=child_env(workdir, **extra),
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode != 0 or not done.stdout.strip():
        raise BenchFailure(f"child failed ({done.returncode}): {done.stderr[-2000:]}")
    payload: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    if not payload["extension_loaded"]:
        raise BenchFailure("the extension did not register %%track in the child shell")
    return payload, done.stderr


def top_level(modules: list[str]) -> list[str]:
    return sorted({name.split(".")[0] for name in modules})


def slowest_imports(stderr: str, count: int = 12) -> list[tuple[str, float, float]]:
    """(module, self ms, cumulative ms) of the slowest imports after the marker."""
    _, _, tail = stderr.partition(MARKER)
    found = []
    for line in tail.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        parts = [part.strip() for part in line.removeprefix("import time:").split("|")]
        if not parts[0].isdigit():
            continue
        found.append((parts[2], int(parts[0]) / 1000, int(parts[1]) / 1000))
    return sorted(found, key=lambda item: item[2], reverse=True)[:count]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--reps", type=int, default=15)
    args = parser.parse_args(argv)

    result = Result("import")
    result.details["parameters"] = vars(args)
    with tempfile.TemporaryDirectory(prefix="nbmb-bench-") as tmp:
        workdir = Path(tmp)
        try:
            run_child(workdir)  # warm the OS file cache and write .pyc files
            imports, loads, totals = [], [], []
            heavy_seen: Counter[str] = Counter()
            module_counts = []
            for _ in range(args.reps):
                payload, _ = run_child(workdir)
                imports.append(payload["import_s"])
                loads.append(payload["load_s"])
                totals.append(payload["import_s"] + payload["load_s"])
                tops = top_level(payload["new_modules"])
                heavy_seen.update(name for name in HEAVY if name in tops)
                module_counts.append(len(payload["new_modules"]))
            background, _ = run_child(workdir, NBMB_BENCH_WAIT="1")
            _, stderr = run_child(workdir, "-X", "importtime")
        except BenchFailure as exc:
            result.error = str(exc)
            return finish(result)

    rows = []
    for label, samples in (
        ("import nbmodelbook", imports),
        ("load extension", loads),
        ("both", totals),
    ):
        summary = ms(samples)
        rows.append((label, summary.n, summary.median, summary.p90, summary.minimum))
        result.details[label.replace(" ", "_") + "_ms"] = summary.as_dict()
    print(table(("step (fresh process)", "n", "median ms", "p90 ms", "min ms"), rows))

    last_tops = top_level(payload["new_modules"])
    result.details["new_top_level_modules"] = last_tops
    result.details["new_module_count"] = module_counts
    result.details["preloaded_by_ipython"] = payload["preloaded"]
    result.details["heavy_imported"] = dict(heavy_seen)
    bg_tops = top_level(background["background_modules"])
    result.details["background_thread_top_level_modules"] = bg_tops
    print()
    print(
        "heavy modules imported by the two steps: "
        + ", ".join(f"{name}: {'YES' if heavy_seen[name] else 'no'}" for name in HEAVY)
    )
    already = top_level(payload["preloaded"])
    if already:
        print(f"  (already imported by IPython before the steps: {', '.join(already)})")
    print(f"top-level packages newly imported ({len(last_tops)}): {', '.join(last_tops)}")
    print(
        "imported afterwards by the writer thread when the store opens: "
        + (", ".join(name for name in bg_tops if not name.startswith("_")) or "nothing")
    )
    slow = slowest_imports(stderr)
    result.details["slowest_imports"] = slow
    print()
    print(table(("slowest imports (-X importtime)", "self ms", "cumulative ms"), slow))

    result.add(
        Figure("import nbmodelbook + load extension, median", ms(totals).median, "ms", BUDGET_MS)
    )
    forbidden = [name for name in FORBIDDEN if heavy_seen[name]]
    result.add(
        Figure(
            "pandas/sqlalchemy/altair imported at load",
            float(len(forbidden)),
            "modules",
            0.0,
            note=", ".join(forbidden),
        )
    )
    result.add(
        Figure("numpy imported at load (reported only)", float(bool(heavy_seen["numpy"])), "yes=1")
    )
    return finish(result)


if __name__ == "__main__":
    sys.exit(main())
