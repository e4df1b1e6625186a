"""The JupyterLab extension's REST API as a user's browser sees it, on a notebook of 20,000 runs.

Run: python bench/bench_lab_api.py [--runs 20000] [--quick] [--requests 15] [--fresh]

A real `jupyter server` is started from this interpreter on a free local port, with a random
token and throwaway config, data and runtime directories (the environment's own config path
stays, so the nbmodelbook server extension loads as it does for a user; `/nbmodelbook/api/info`
must answer before anything is timed). Its root folder holds:

- `team/model.ipynb` (a decision citing one of its runs, a risk, a limitation) and its store
  `team/.nbmodelbook/runs.sqlite` with N runs (realistic records, ~4% failed), all filed under
  the notebook's real path, written through `RunStore.finish_run`. The filled store is kept in
  bench/results/stores/ (keyed by N, a version and the notebook's path, which the records hold:
  the root is therefore a fixed folder in the system's temp dir) and copied into place, so a
  re-run does not refill it (`--fresh` does);
- `small/review.ipynb` and its store with 300 runs, for the export: the report reads every run
  of the notebook, so at 20,000 runs it would time the report (bench_export.py does that).

Requests go over one kept-alive HTTP/1.1 connection (`http.client`), as a browser tab reuses
its connection, with `Authorization: token ...` (so the POST passes the XSRF check) and
`Accept-Encoding: gzip`. A sample is the time from sending the request to having its whole
body (decoded); JSON parsing is not included. Each figure is the median (and max) of
`--requests` requests after 2 warm-ups:

(a) `GET runs?path=team/model.ipynb&limit=200`: the newest 200 runs, a full 200 answer;
(b) the same with `If-None-Match: <its ETag>`: 304, what the panel pays after a cell finished
    when nothing changed;
(c) the same after another `RunStore` wrote one new run (written between samples, not timed):
    a full 200 again, with a new ETag;
(d) `GET runs/ID`: one run in full (a different run of the listing each time);
(e) `GET compare?ids=...`: 5 runs compared (a different 5 each time);
(f) `POST export {"path": "small/review.ipynb"}`: the review report of 300 runs written.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import hashlib
import http.client
import json
import os
import random
import secrets
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import nbformat
from _common import (
    RESULTS_DIR,
    BenchFailure,
    Figure,
    Result,
    finish,
    ms,
    quiet_third_party,
    table,
)
from _records import RecordFactory, fail
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from nbmodelbook import __version__
from nbmodelbook.record import RunRecord
from nbmodelbook.store.backends import STORE_ENV_VAR, sqlite_path, store_for_notebook
from nbmodelbook.store.query import RunQuery
from nbmodelbook.store.store import RunStore
from tests.browser.jupyterlab import (
    SERVER_CONFIG,
    free_port,
    server_arguments,
    stop_server_process,
)

STORE_VERSION = 1  # bump when the records or the schema change
FAILED_SHARE = 0.04
NOTEBOOK = "team/model.ipynb"
SMALL_NOTEBOOK = "small/review.ipynb"
SMALL_RUNS = 300
LIMIT = 200
COMPARED = 5
WARMUPS = 2
API = "/nbmodelbook/api"
# A fixed folder: the cached store's records name the notebook by its real path.
BASE_DIR = Path(tempfile.gettempdir()) / "nbmodelbook-bench-lab-api"
READY_TIMEOUT_S = 90.0
REQUEST_TIMEOUT_S = 120.0

LISTING_BUDGET_MS = 200.0
NOT_MODIFIED_BUDGET_MS = 20.0
RUN_BUDGET_MS = 100.0
COMPARE_BUDGET_MS = 300.0
EXPORT_BUDGET_S = 5.0


# --- the root folder -------------------------------------------------------------------------


def write_notebook(path: Path, title: str, cited: list[str]) -> None:
    """A model notebook: data and tracked cells, a decision citing runs, a risk, a limitation."""
    chosen, *others = cited
    compared = " and ".join(f"run:{name}" for name in others) or "the other runs"
    cells = [
        new_markdown_cell(f"# {title}"),
        new_code_cell("%load_ext nbmodelbook\nimport pandas as pd"),
        new_code_cell(
            "df = pd.read_parquet('data/loans.parquet')\n"
            "X_train, X_test, y_train, y_test = train_test_split(df[FEATURES], df['default'])"
        ),
        new_code_cell(
            f"%%track {chosen} --tag candidate\n"
            "model = GradientBoostingClassifier(max_depth=3).fit(X_train, y_train)\n"
            "auc = roc_auc_score(y_test, model.predict_proba(X_test)[:, 1])"
        ),
        new_markdown_cell(
            f"> [!DECISION] Chose run:{chosen} as the production model\n"
            f"> It beats {compared} on metric:auc and its log loss is lower."
        ),
        new_markdown_cell(
            "> [!RISK] Applicants under 21 are too few to measure the model's performance."
        ),
        new_markdown_cell("> [!LIMITATION] No out-of-time test: the data covers one year."),
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(new_notebook(cells=cells), path)


def store_file(notebook: Path) -> Path:
    """Where the server looks for the notebook's runs (the folder's default store)."""
    path = sqlite_path(store_for_notebook(notebook))
    if path is None:
        raise BenchFailure(f"the store of {notebook} is not a SQLite file")
    return path


def make_record(
    factory: RecordFactory, index: int, notebook: str, chance: random.Random
) -> RunRecord:
    record = factory.make(index)
    record.notebook = notebook  # the notebook's real path, as the tracker files it
    record.repo = None  # the root folder is not in a git repository
    return fail(record) if chance.random() < FAILED_SHARE else record


def fill(path: Path, notebook: str, runs: int, seed: int) -> float:
    """`runs` runs of `notebook` written one by one through `RunStore.finish_run`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    for leftover in path.parent.glob(path.name + "*"):
        leftover.unlink()
    store = RunStore.open(str(path))
    factory = RecordFactory([notebook], seed=seed)
    chance = random.Random(seed + 1)
    start = time.perf_counter()
    try:
        for index in range(runs):
            store.finish_run(make_record(factory, index, notebook, chance))
            if index and index % 10_000 == 0:
                print(f"  {index:,} runs written", flush=True)
        elapsed = time.perf_counter() - start
        if store.count() != runs:
            raise BenchFailure(f"{path} holds {store.count()} runs, expected {runs}")
    finally:
        store.close()
    return elapsed


def cached_store(runs: int, notebook: str) -> Path:
    key = hashlib.sha256(notebook.encode()).hexdigest()[:10]
    return RESULTS_DIR / "stores" / f"lab_api-{runs}-v{STORE_VERSION}-{key}.sqlite"


def copy_store(source: Path, target: Path) -> None:
    """A consistent copy of a SQLite store (its write-ahead log included) as one file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with (
        contextlib.closing(sqlite3.connect(source)) as origin,
        contextlib.closing(sqlite3.connect(target)) as copy,
    ):
        origin.backup(copy)


def cited_names(store: RunStore, notebook: str) -> list[str]:
    """Names of the notebook's newest successful runs, three different ones."""
    rows = store.query_runs(RunQuery(notebook=notebook, statuses=("ok",), limit=100)).rows
    names = list(dict.fromkeys(str(row["name"]) for row in rows))[:3]
    if not names:
        raise BenchFailure(f"no successful run of {notebook} to cite")
    return names


@dataclass(slots=True)
class Workspace:
    root: Path
    notebook: Path
    small_notebook: Path
    store_file: Path
    runs: int


def prepare(root: Path, runs: int, fresh: bool, details: dict[str, Any]) -> Workspace:
    notebook = (root / NOTEBOOK).resolve()
    small = (root / SMALL_NOTEBOOK).resolve()
    notebook.parent.mkdir(parents=True, exist_ok=True)
    small.parent.mkdir(parents=True, exist_ok=True)

    cache = cached_store(runs, str(notebook))
    if fresh or not cache.exists():
        print(f"filling {runs:,} runs into {cache} (kept for later runs)…", flush=True)
        details["fill_s"] = round(fill(cache, str(notebook), runs, seed=11), 2)
    target = store_file(notebook)
    copy_store(cache, target)
    store = RunStore.open(str(target))
    try:
        if store.count() != runs:
            raise BenchFailure(f"{cache} holds {store.count()} runs, not {runs}: use --fresh")
        write_notebook(notebook, "Loan default model", cited_names(store, str(notebook)))
    finally:
        store.close()

    small_store = store_file(small)
    details["small_fill_s"] = round(fill(small_store, str(small), SMALL_RUNS, seed=23), 2)
    store = RunStore.open(str(small_store))
    try:
        write_notebook(small, "Loan default model, review", cited_names(store, str(small)))
    finally:
        store.close()
    return Workspace(root, notebook, small, target, runs)


# --- the server ------------------------------------------------------------------------------


@dataclass(slots=True)
class Server:
    process: subprocess.Popen[bytes]
    port: int
    token: str
    log_path: Path

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no server log)"
        return "\n".join(text.splitlines()[-lines:])

    def get_json(self, path: str, timeout: float = 5.0) -> Any:
        """One GET on a fresh connection (for start-up checks, not timed)."""
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}",
            headers={"Authorization": f"token {self.token}"},
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read())

    def stop(self) -> None:
        """SIGTERM, then SIGKILL to this server's own process group if it lingers."""
        stop_server_process(self.process)


def wait_until_up(server: Server, timeout: float) -> None:
    """Until `/api/status` answers (as tests/browser/jupyterlab.py waits), then check that the
    nbmodelbook extension answers `/nbmodelbook/api/info`."""
    deadline = time.monotonic() + timeout
    last_error = "no answer yet"
    while True:
        if server.process.poll() is not None:
            raise BenchFailure(
                f"jupyter server exited with code {server.process.returncode} before answering "
                f"/api/status.\n--- server log (tail) ---\n{server.log_tail()}"
            )
        try:
            status = server.get_json("/api/status")
        except (OSError, urllib.error.URLError, ValueError) as error:
            last_error = str(error)
        else:
            if isinstance(status, dict) and "started" in status:
                break
            last_error = f"unexpected /api/status body: {status!r}"
        if time.monotonic() > deadline:
            raise BenchFailure(
                f"jupyter server did not answer /api/status within {timeout:.0f} s "
                f"(last error: {last_error}).\n--- server log (tail) ---\n{server.log_tail()}"
            )
        time.sleep(0.25)
    try:
        info = server.get_json(f"{API}/info")
    except (OSError, urllib.error.URLError, ValueError) as error:
        raise BenchFailure(
            f"the nbmodelbook server extension does not answer {API}/info ({error}): is it "
            f"enabled in this environment?\n--- server log (tail) ---\n{server.log_tail()}"
        ) from None
    if info.get("version") != __version__:
        raise BenchFailure(f"{API}/info answered {info!r}, expected version {__version__}")


@contextlib.contextmanager
def jupyter_server(base: Path, root: Path) -> Iterator[Server]:
    """`jupyter server` on ROOT from this interpreter, fresh user dirs under BASE; stopped on
    exit, also on error."""
    dirs = {name: base / name for name in ("config", "data", "runtime", "ipython")}
    for path in dirs.values():
        path.mkdir(parents=True, exist_ok=True)
    (dirs["config"] / "jupyter_server_config.json").write_text(
        json.dumps(SERVER_CONFIG), encoding="utf-8"
    )
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"JUPYTER_TOKEN", STORE_ENV_VAR}
    }
    env.update(
        {
            # User-level dirs only: the environment's etc/jupyter (which enables the
            # nbmodelbook server extension) stays on the config path.
            "JUPYTER_CONFIG_DIR": str(dirs["config"]),
            "JUPYTER_DATA_DIR": str(dirs["data"]),
            "JUPYTER_RUNTIME_DIR": str(dirs["runtime"]),
            "IPYTHONDIR": str(dirs["ipython"]),
            "JUPYTER_PLATFORM_DIRS": "1",
            "PYTHONUNBUFFERED": "1",
        }
    )
    port = free_port()
    token = secrets.token_hex(24)
    log_path = base / "jupyter-server.log"
    command = [sys.executable, "-m", "jupyter_server", *server_arguments(port, token, root)]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            cwd=root,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(process, port, token, log_path)
    try:
        wait_until_up(server, READY_TIMEOUT_S)
        yield server
    finally:
        server.stop()


# --- the client ------------------------------------------------------------------------------


@dataclass(slots=True)
class Reply:
    status: int
    etag: str | None
    body: bytes  # decoded
    wire_bytes: int  # as sent (compressed if the server compressed it)
    seconds: float  # request sent to whole body received and decoded

    def json(self) -> Any:
        return json.loads(self.body)


class Client:
    """One kept-alive HTTP/1.1 connection, as a browser tab keeps one to its server."""

    def __init__(self, port: int, token: str) -> None:
        self.port = port
        self.token = token
        self.connection: http.client.HTTPConnection | None = None
        self.connections_opened = 0

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> Reply:
        sent = {
            "Authorization": f"token {self.token}",
            "Accept": "application/json",
            "Accept-Encoding": "gzip",
            **(headers or {}),
        }
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        for attempt in range(2):
            if self.connection is None:
                self.connection = http.client.HTTPConnection(
                    "127.0.0.1", self.port, timeout=REQUEST_TIMEOUT_S
                )
                self.connections_opened += 1
            start = time.perf_counter()
            try:
                self.connection.request(method, path, body=data, headers=sent)
                response = self.connection.getresponse()
                raw = response.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                # The server closed the idle connection: a browser opens a new one.
                self.close()
                if attempt:
                    raise
                continue
            wire = len(raw)
            if response.getheader("Content-Encoding") == "gzip":
                raw = gzip.decompress(raw)
            elapsed = time.perf_counter() - start
            if response.will_close:
                self.close()
            return Reply(response.status, response.getheader("ETag"), raw, wire, elapsed)
        raise AssertionError("unreachable")


def expect(reply: Reply, status: int, what: str) -> Reply:
    if reply.status != status:
        text = reply.body[:500].decode("utf-8", errors="replace")
        raise BenchFailure(f"{what}: HTTP {reply.status}, expected {status}: {text}")
    return reply


def sample(
    action: Callable[[int], Reply], requests: int, before: Callable[[int], None] | None = None
) -> list[Reply]:
    """`WARMUPS` + `requests` requests; the replies of the timed ones."""
    replies = []
    for index in range(WARMUPS + requests):
        if before is not None:
            before(index)  # not timed
        reply = action(index)
        if index >= WARMUPS:
            replies.append(reply)
    return replies


# --- the measurement -------------------------------------------------------------------------


def measure(
    workspace: Workspace, server: Server, requests: int, result: Result
) -> list[tuple[object, ...]]:
    client = Client(server.port, server.token)
    rows: list[tuple[object, ...]] = []
    runs = workspace.runs
    listing_url = f"{API}/runs?{urlencode({'path': NOTEBOOK, 'limit': LIMIT})}"

    def record(
        key: str, label: str, replies: list[Reply], budget: float | None, unit: str = "ms"
    ) -> None:
        summary = ms([reply.seconds for reply in replies])
        statuses = sorted({reply.status for reply in replies})
        size_kb = max(reply.wire_bytes for reply in replies) / 1024
        rows.append(
            (
                label,
                "/".join(map(str, statuses)),
                f"{summary.median:.1f}",
                f"{summary.maximum:.1f}",
                len(replies),
                f"{size_kb:.1f}",
            )
        )
        value = summary.median if unit == "ms" else summary.median / 1000
        result.add(Figure(f"{label}, median", value, unit, budget))
        result.details[key] = {
            "label": label,
            "ms": summary.as_dict(),
            "statuses": statuses,
            "wire_kb": round(size_kb, 1),
        }

    try:
        # (a) the full listing
        def listing(_index: int) -> Reply:
            return expect(client.request("GET", listing_url), 200, "runs listing")

        replies = sample(listing, requests)
        payload = replies[-1].json()
        if payload["total"] != runs or len(payload["runs"]) != LIMIT:
            raise BenchFailure(
                f"the listing has {len(payload['runs'])} of {payload['total']} runs, "
                f"expected {LIMIT} of {runs}"
            )
        record("a_listing", f"(a) runs, newest {LIMIT} of {runs:,}", replies, LISTING_BUDGET_MS)
        result.add(Figure("(a) listing body", replies[-1].wire_bytes / 1024, "KB"))
        etag = replies[-1].etag
        if not etag:
            raise BenchFailure("the listing has no ETag")
        listed = payload["runs"]

        # (b) nothing changed: 304
        def unchanged(_index: int) -> Reply:
            reply = client.request("GET", listing_url, headers={"If-None-Match": etag})
            return expect(reply, 304, "runs listing with If-None-Match")

        record(
            "b_not_modified",
            "(b) same, If-None-Match → 304",
            sample(unchanged, requests),
            NOT_MODIFIED_BUDGET_MS,
        )

        # (c) another RunStore wrote a run: a full 200 again, with a new ETag
        writer = RunStore.open(str(workspace.store_file))
        factory = RecordFactory([str(workspace.notebook)], seed=97, start=time.time())
        chance = random.Random(98)
        seen = {"etag": etag}  # the panel's last ETag
        written = [runs]  # runs in the notebook's store
        try:

            def write_run(index: int) -> None:
                writer.finish_run(make_record(factory, index, str(workspace.notebook), chance))
                written[0] += 1

            def changed(_index: int) -> Reply:
                previous = seen["etag"]
                reply = client.request("GET", listing_url, headers={"If-None-Match": previous})
                expect(reply, 200, "runs listing after a new run")
                total = reply.json()["total"]
                if not reply.etag or reply.etag == previous or total != written[0]:
                    raise BenchFailure(
                        f"after a new run the listing has total {total} (expected "
                        f"{written[0]}) and ETag {reply.etag!r} (was {previous!r})"
                    )
                seen["etag"] = reply.etag
                return reply

            record(
                "c_after_new_run",
                "(c) same after a new run → 200",
                sample(changed, requests, before=write_run),
                LISTING_BUDGET_MS,
            )
        finally:
            writer.close()

        # (d) one run in full, a different one each time
        ids = [run["run_id"] for run in listed if not run["failed"]]
        needed = (WARMUPS + requests) * COMPARED
        if len(ids) < needed:
            raise BenchFailure(f"{len(ids)} successful runs listed, {needed} needed")

        def one_run(index: int) -> Reply:
            run_id = ids[index]
            url = f"{API}/runs/{run_id}?{urlencode({'path': NOTEBOOK})}"
            reply = expect(client.request("GET", url), 200, f"run {run_id}")
            if reply.json().get("run_id") != run_id:
                raise BenchFailure(f"runs/{run_id} answered another run")
            return reply

        record("d_run", "(d) runs/ID, one run", sample(one_run, requests), RUN_BUDGET_MS)

        # (e) five runs compared, a different five each time
        def compare(index: int) -> Reply:
            chosen = ids[index * COMPARED : (index + 1) * COMPARED]
            url = f"{API}/compare?{urlencode({'path': NOTEBOOK, 'ids': ','.join(chosen)})}"
            reply = expect(client.request("GET", url), 200, "compare")
            if [run["run_id"] for run in reply.json()["runs"]] != chosen:
                raise BenchFailure(f"compare of {chosen} answered other runs")
            return reply

        record(
            "e_compare",
            f"(e) compare, {COMPARED} runs",
            sample(compare, requests),
            COMPARE_BUDGET_MS,
        )

        # (f) the review report of the small notebook
        def export(_index: int) -> Reply:
            reply = client.request("POST", f"{API}/export", body={"path": SMALL_NOTEBOOK})
            return expect(reply, 200, "export")

        replies = sample(export, requests)
        answer = replies[-1].json()
        report = workspace.root / answer["report"]
        size_kb = report.stat().st_size / 1024
        record("f_export", f"(f) export, {SMALL_RUNS} runs", replies, EXPORT_BUDGET_S, unit="s")
        result.add(Figure("(f) report size", size_kb, "KB"))
        result.details["f_export"].update(
            {"report": answer["report"], "ready": answer["ready"], "report_kb": size_kb}
        )
        if not answer["ready"]:
            blocking = sorted({item["code"] for item in answer["items"] if item["blocking"]})
            print(f"note: the report was written, not ready ({', '.join(blocking)})")
    finally:
        result.details["connections_opened"] = client.connections_opened
        client.close()
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=None, help="runs of team/model.ipynb")
    parser.add_argument("--quick", action="store_true", help="2,000 runs instead of 20,000")
    parser.add_argument("--requests", type=int, default=15, help="timed requests per figure")
    parser.add_argument("--fresh", action="store_true", help="refill the cached store")
    parser.add_argument("--keep", action="store_true", help=f"keep {BASE_DIR} afterwards")
    args = parser.parse_args(argv)
    if args.runs is None:
        args.runs = 2_000 if args.quick else 20_000
    if args.requests < 15:
        parser.error("--requests must be at least 15")
    quiet_third_party()
    os.environ.pop(STORE_ENV_VAR, None)  # every notebook's runs in its own folder's store
    result = Result("lab_api")
    result.details["parameters"] = vars(args)
    result.details["connection"] = (
        "one kept-alive HTTP/1.1 connection (http.client), token header, Accept-Encoding gzip"
    )
    started = time.perf_counter()

    shutil.rmtree(BASE_DIR, ignore_errors=True)
    root = BASE_DIR / "root"
    root.mkdir(parents=True)
    rows: list[tuple[object, ...]] = []
    try:
        workspace = prepare(root, args.runs, args.fresh, result.details)
        print(f"starting jupyter server on {root}…", flush=True)
        with jupyter_server(BASE_DIR, root) as server:
            result.details["server_port"] = server.port
            rows = measure(workspace, server, args.requests, result)
    except Exception as error:
        traceback.print_exc()
        result.error = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
    finally:
        if not args.keep:
            shutil.rmtree(BASE_DIR, ignore_errors=True)

    if rows:
        print()
        print(table(("request", "status", "median ms", "max ms", "n", "wire KB"), rows))
        connections = result.details.get("connections_opened")
        print(
            f"\nrequests over one kept-alive HTTP/1.1 connection (connections opened: "
            f"{connections}), {WARMUPS} warm-ups each"
        )
    print(f"bench time {time.perf_counter() - started:.1f} s")
    return finish(result)


if __name__ == "__main__":
    sys.exit(main())
