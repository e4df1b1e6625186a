"""Failures around a run, in real kernels: Ctrl-C, a killed kernel, an unusable, damaged or
locked store, and several kernels writing one store at once. None of them may cost the user
their cell, and none may leave a run that claims something false (`running` or `ok` forever).
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import sqlite3
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest
from jupyter_client import KernelManager

from nbmodelbook.store.backends import store_exists
from nbmodelbook.store.store import RunStore

pytestmark = pytest.mark.integration

T = TypeVar("T")

WARNING_PREFIX = "nbmodelbook: "
STARTUP_TIMEOUT = 60.0
CELL_TIMEOUT = 60.0
POLL_DEADLINE = 20.0


# --- a real kernel, driven message by message -------------------------------------------------


@dataclass
class Reply:
    """What the user sees for one cell: the execute reply and the cell's iopub outputs."""

    code: str
    reply: dict[str, Any]
    messages: list[dict[str, Any]]

    @property
    def status(self) -> str:
        return str(self.reply["content"]["status"])

    def stream(self, name: str) -> str:
        return "".join(
            msg["content"]["text"]
            for msg in self.messages
            if msg["msg_type"] == "stream" and msg["content"]["name"] == name
        )

    @property
    def stdout(self) -> str:
        return self.stream("stdout")

    @property
    def stderr(self) -> str:
        return self.stream("stderr")

    @property
    def results(self) -> list[str]:
        """The text/plain of every Out[n] the cell produced."""
        return [
            msg["content"]["data"].get("text/plain", "")
            for msg in self.messages
            if msg["msg_type"] == "execute_result"
        ]

    @property
    def errors(self) -> list[dict[str, Any]]:
        return [msg["content"] for msg in self.messages if msg["msg_type"] == "error"]

    def warnings(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.startswith(WARNING_PREFIX)]


@dataclass
class Kernel:
    """An ipykernel process with NBMODELBOOK_STORE set, as a notebook server would start it."""

    store: Path
    workdir: Path
    name: str = "reliability"
    km: KernelManager = field(init=False)
    _iopub: dict[str, list[dict[str, Any]]] = field(default_factory=dict, init=False)
    _idle: set[str] = field(default_factory=set, init=False)
    _replies: dict[str, dict[str, Any]] = field(default_factory=dict, init=False)
    _codes: dict[str, str] = field(default_factory=dict, init=False)

    def launch(self) -> Kernel:
        """Start the process without waiting for it (so several kernels boot in parallel)."""
        env = dict(os.environ)
        env.update(
            {
                "NBMODELBOOK_STORE": str(self.store),
                "NBMODELBOOK_NOTEBOOK": str(self.workdir / f"{self.name}.ipynb"),
                "PYDEVD_DISABLE_FILE_VALIDATION": "1",
            }
        )
        self.km = KernelManager(kernel_name="python3")
        self.km.start_kernel(env=env, cwd=str(self.workdir))
        self.client = self.km.client()
        self.client.start_channels()
        return self

    def wait_ready(self) -> Kernel:
        self.client.wait_for_ready(timeout=STARTUP_TIMEOUT)
        return self

    @property
    def pid(self) -> int:
        return int(self.km.provisioner.process.pid)  # type: ignore[union-attr]

    def submit(self, code: str) -> str:
        msg_id = str(self.client.execute(code, stop_on_error=False))
        self._codes[msg_id] = code
        return msg_id

    def collect(self, msg_id: str, timeout: float = CELL_TIMEOUT) -> Reply:
        """Everything the kernel sent for one request (messages of others are kept for later)."""
        deadline = time.monotonic() + timeout
        while msg_id not in self._idle:
            msg = self.client.get_iopub_msg(timeout=_remaining(deadline, msg_id))
            parent = msg["parent_header"].get("msg_id")
            if parent is None:
                continue
            if msg["msg_type"] == "status":
                if msg["content"]["execution_state"] == "idle":
                    self._idle.add(parent)
                continue
            self._iopub.setdefault(parent, []).append(msg)
        while msg_id not in self._replies:
            msg = self.client.get_shell_msg(timeout=_remaining(deadline, msg_id))
            self._replies[msg["parent_header"].get("msg_id")] = msg
        return Reply(self._codes[msg_id], self._replies[msg_id], self._iopub.get(msg_id, []))

    def run(self, code: str, timeout: float = CELL_TIMEOUT) -> Reply:
        return self.collect(self.submit(code), timeout)

    def shutdown(self) -> None:
        client = getattr(self, "client", None)
        try:
            if client is not None:
                client.stop_channels()
        finally:
            if self.km.has_kernel:
                self.km.shutdown_kernel(now=True)


def _remaining(deadline: float, msg_id: str) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError(f"no complete answer from the kernel for request {msg_id}")
    return left


@pytest.fixture
def kernels(tmp_path: Path) -> Iterator[Callable[..., Kernel]]:
    """Launch kernels for a test; every one of them is shut down afterwards, whatever happens."""
    started: list[Kernel] = []

    def launch(store: Path, name: str = "reliability") -> Kernel:
        kernel = Kernel(store, tmp_path, name)
        started.append(kernel)
        return kernel.launch()

    yield launch
    for kernel in started:
        with contextlib.suppress(Exception):
            kernel.shutdown()


# --- reading the store from outside, as the CLI or the Jupyter server would --------------------


def summaries(store: Path) -> list[dict[str, Any]]:
    """The runs as a fresh `RunStore.open` sees them (which also recovers orphaned runs)."""
    opened = RunStore.open(str(store))
    try:
        return opened.run_summaries()
    finally:
        opened.close()


def by_name(store: Path) -> dict[str, dict[str, Any]]:
    return {run["name"]: run for run in summaries(store)}


def wait_for(probe: Callable[[], T | None], what: str, timeout: float = POLL_DEADLINE) -> T:
    """Poll until `probe` returns something truthy; fail with `what` after the deadline."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what} (last: {last!r})")


def run_in_state(store: Path, name: str, status: str) -> Callable[[], dict[str, Any] | None]:
    def probe() -> dict[str, Any] | None:
        if not store.exists():
            return None
        run = by_name(store).get(name)
        return run if run is not None and run["status"] == status else None

    return probe


def all_warnings(replies: list[Reply]) -> list[str]:
    return [line for reply in replies for line in reply.warnings()]


# --- 1. Ctrl-C ----------------------------------------------------------------------------------


def test_interrupted_cell_is_recorded_as_interrupted_and_kernel_stays_usable(
    tmp_path: Path, kernels: Callable[..., Kernel]
) -> None:
    store = tmp_path / "store" / "runs.sqlite"
    kernel = kernels(store).wait_ready()
    setup = [kernel.run("%load_ext nbmodelbook"), kernel.run("%%track warmup\nvalue = 1")]
    assert [reply.status for reply in setup] == ["ok", "ok"]

    started = time.monotonic()
    msg_id = kernel.submit("%%track sleepy\nimport time\ntime.sleep(30)")
    wait_for(run_in_state(store, "sleepy", "running"), "the sleeping run to show as running")
    kernel.km.interrupt_kernel()
    interrupted = kernel.collect(msg_id)

    # The user sees exactly what Ctrl-C gives without nbmodelbook, and well before 30 s.
    assert time.monotonic() - started < 25
    assert interrupted.status == "error"
    assert interrupted.reply["content"]["ename"] == "KeyboardInterrupt"
    assert [error["ename"] for error in interrupted.errors] == ["KeyboardInterrupt"]
    assert interrupted.warnings() == []

    # The kernel is still usable, and still tracking.
    after = kernel.run("%%track after\nprint('still here')\n20 + 22")
    assert after.status == "ok"
    assert after.stdout == "still here\n"
    assert after.results == ["42"]
    assert after.warnings() == []

    run = wait_for(run_in_state(store, "sleepy", "interrupted"), "the run to end interrupted")
    assert run["error_type"] == "KeyboardInterrupt"
    assert run["ended_at"] is not None and run["ended_at"] >= run["started_at"]
    wait_for(run_in_state(store, "after", "ok"), "the next run to be saved")


# --- 2. SIGKILL mid-cell ------------------------------------------------------------------------


def test_killed_kernel_leaves_a_crashed_run_not_a_running_one(
    tmp_path: Path, kernels: Callable[..., Kernel]
) -> None:
    store = tmp_path / "store" / "runs.sqlite"
    doomed = kernels(store, "doomed").wait_ready()
    assert doomed.run("%load_ext nbmodelbook").status == "ok"
    doomed.submit("%%track doomed\nimport time\ntime.sleep(60)")
    wait_for(run_in_state(store, "doomed", "running"), "the doomed run to show as running")

    os.kill(doomed.pid, signal.SIGKILL)
    wait_for(lambda: doomed.km.provisioner.process.poll() is not None, "the kernel to die")  # type: ignore[union-attr]

    # A kernel started afterwards opens the store and reports the run as crashed.
    survivor = kernels(store, "survivor").wait_ready()
    replies = [
        survivor.run("%load_ext nbmodelbook"),
        survivor.run("%%track survivor\nvalue = 2"),
        survivor.run(
            "import nbmodelbook\n"
            "frame = nbmodelbook.runs(all=True)\n"
            "for row in frame.itertuples():\n"
            "    print(row.name, row.status, row.error_type if row.status != 'ok' else '-')"
        ),
    ]
    assert [reply.status for reply in replies] == ["ok", "ok", "ok"]
    assert all_warnings(replies) == []
    listed = sorted(line.split() for line in replies[-1].stdout.splitlines())
    assert listed == [["doomed", "crashed", "KernelDied"], ["survivor", "ok", "-"]]

    # A fresh open from outside agrees: crashed, with a reason, and an end time.
    runs = by_name(store)
    assert set(runs) == {"doomed", "survivor"}
    doomed_run = runs["doomed"]
    assert doomed_run["status"] == "crashed"
    assert doomed_run["error_type"] == "KernelDied"
    assert "kernel stopped" in doomed_run["error_message"]
    assert doomed_run["ended_at"] is not None
    opened = RunStore.open(str(store))
    try:
        record = opened.get_run(doomed_run["run_id"])
    finally:
        opened.close()
    assert record is not None and record.status.value == "crashed"
    assert record.code.startswith("%%track doomed")


def test_a_kernel_killed_while_writing_leaves_a_sound_store_and_no_half_run(
    tmp_path: Path, kernels: Callable[..., Kernel]
) -> None:
    """SIGKILL lands while the writer thread is inside a transaction (cells that finish every
    few milliseconds, each with 40 params and an output): SQLite's journal rolls it back."""
    import random

    store = tmp_path / "store" / "runs.sqlite"
    params = "\n".join(f"p{n} = {n}" for n in range(40))
    chance = random.Random(11)
    for round_ in range(3):
        kernel = kernels(store, f"killed-{round_}").wait_ready()
        assert kernel.run("%load_ext nbmodelbook").status == "ok"
        for i in range(300):
            kernel.submit(f"%%track r{round_}-{i}\n{params}\nscore = {i} / 7\nprint('x' * 2000)")
        time.sleep(chance.uniform(0.8, 2.0))
        os.kill(kernel.pid, signal.SIGKILL)
        wait_for(lambda k=kernel: k.km.provisioner.process.poll() is not None, "the kernel to die")  # type: ignore[union-attr]

    with sqlite3.connect(store) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        # A run the kill caught mid-cell was begun, never finished: the next kernel marks it
        # crashed, with no details to have. Every run that finished has all of its parts.
        finished = connection.execute(
            "SELECT run_id, params, metrics FROM nbmb_runs"
            " WHERE status NOT IN ('running', 'crashed')"
        ).fetchall()
        assert len(finished) > 10  # the kernels did get some runs written before dying
        for run_id, params_json, metrics_json in finished:
            # Every part of a finished run is there, or the run is not there at all.
            details = connection.execute(
                "SELECT COUNT(*) FROM nbmb_run_details WHERE run_id = ?", (run_id,)
            ).fetchone()[0]
            stored_params = connection.execute(
                "SELECT COUNT(*) FROM nbmb_run_params WHERE run_id = ?", (run_id,)
            ).fetchone()[0]
            stored_metrics = connection.execute(
                "SELECT COUNT(*) FROM nbmb_run_metrics WHERE run_id = ?", (run_id,)
            ).fetchone()[0]
            outputs = connection.execute(
                "SELECT COUNT(*) FROM nbmb_run_outputs WHERE run_id = ?", (run_id,)
            ).fetchone()[0]
            assert details == 1
            assert stored_params == len(json.loads(params_json)) >= 40
            assert stored_metrics == len(json.loads(metrics_json))
            assert outputs == 1
    # A later open marks the runs the dead kernels left running as crashed; none stay running.
    assert {run["status"] for run in summaries(store)} <= {"ok", "crashed"}


# --- 3. a store nobody can write ----------------------------------------------------------------


def _sysfs_store(tmp_path: Path) -> Path:
    """A file directly in /sys: the folder exists, yet not even root may create a file there."""
    if not Path("/sys/kernel").is_dir():
        pytest.skip("no sysfs here")
    probe = Path("/sys") / f"nbmodelbook-probe-{os.getpid()}"
    try:
        probe.touch()
    except OSError:
        return Path("/sys") / f"nbmodelbook-{os.getpid()}.sqlite"
    probe.unlink()
    pytest.skip("/sys is writable here")


def _file_in_the_way(tmp_path: Path) -> Path:
    """The store folder's name is taken by a regular file."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the store folder should be\n")
    return blocker / "runs.sqlite"


def _read_only_folder(tmp_path: Path) -> Path:
    if os.geteuid() == 0:
        pytest.skip("root ignores folder permissions")
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    return folder / "runs.sqlite"


@pytest.mark.parametrize(
    "unwritable",
    [_sysfs_store, _file_in_the_way, _read_only_folder],
    ids=["sysfs", "file-in-the-way", "chmod-555"],
)
def test_unwritable_store_costs_one_warning_and_never_the_cell(
    tmp_path: Path,
    kernels: Callable[..., Kernel],
    unwritable: Callable[[Path], Path],
) -> None:
    store = unwritable(tmp_path)
    try:
        kernel = kernels(store).wait_ready()
        replies = [
            kernel.run("%load_ext nbmodelbook"),
            kernel.run("%%track first\nprint('hello from the cell')\n6 * 7"),
            kernel.run("%%track second\nprint('again')\n'two'"),
            kernel.run("%%track third\nimport time\ntime.sleep(0.1)\nvalue = 3"),
            kernel.run("value"),
        ]
    finally:
        if store.parent.name == "read-only":
            store.parent.chmod(0o755)

    assert [reply.status for reply in replies] == ["ok"] * 5
    load, first, second, third, last = replies
    # The cells keep their output and Out[n].
    assert first.stdout == "hello from the cell\n" and first.results == ["42"]
    assert second.stdout == "again\n" and second.results == ["'two'"]
    assert last.results == ["3"]
    for reply in replies:
        assert reply.errors == []
        assert "Traceback" not in reply.stderr and "Traceback" not in reply.stdout
    # One short warning that says what is wrong and what to do: on the first tracked cell, or
    # (the store still opening in the background as that cell ended) on the cell just after.
    assert load.stderr == ""
    [warning] = all_warnings(replies)
    assert first.stderr + second.stderr == warning + "\n"
    assert len(warning) < 300
    assert str(store.parent) in warning
    assert "writable" in warning
    assert "NBMODELBOOK_STORE" in warning
    assert third.stderr == last.stderr == ""
    assert not store.exists()


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 4 MB file system (tmpfs), so a full disk is really full; skipped where the
    tests cannot mount one (the simulated write failure in tests/store covers it there)."""
    mount_point = tmp_path / "small-disk"
    mount_point.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], capture_output=True)


def _fill(folder: Path) -> Path:
    filler = folder / "filler"
    with filler.open("wb") as handle, contextlib.suppress(OSError):
        while True:
            handle.write(b"\0" * 65536)
            handle.flush()
    return filler


def test_a_really_full_disk_costs_one_warning_and_no_run(
    small_disk: Path, kernels: Callable[..., Kernel]
) -> None:
    store = small_disk / "runs.sqlite"
    kernel = kernels(store).wait_ready()
    before = [kernel.run("%load_ext nbmodelbook"), kernel.run("%%track first\nvalue = 1")]
    kernel.run("import nbmodelbook\nnbmodelbook.runs()")  # the first run is on disk
    filler = _fill(small_disk)
    # A large output: the write needs new pages, not just room the files already hold.
    full = kernel.run("%%track while-full\nprint('still runs')\nprint('x' * 400_000)\nvalue = 2")
    # The writer works in the background: let it try (and fail) while the disk is full.
    flushed = kernel.run("_ = nbmodelbook.runs()")
    filler.unlink()
    after = [
        kernel.run("%%track after\nvalue = 3"),
        kernel.run("print(sorted(nbmodelbook.runs()['name']))"),
    ]
    replies = [*before, full, flushed, *after]
    assert [reply.status for reply in replies] == ["ok"] * 6
    assert full.stdout.startswith("still runs\nxxx")
    [warning] = all_warnings(replies)
    assert "disk is full" in warning
    # Nothing lost: the held-back run is saved once there is room again.
    assert after[-1].stdout == "['after', 'first', 'while-full']\n"
    with sqlite3.connect(store) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]


# --- 4. a damaged store file ---------------------------------------------------------------------


def test_damaged_store_is_moved_aside_intact_and_a_new_one_started(
    tmp_path: Path, kernels: Callable[..., Kernel]
) -> None:
    store = tmp_path / "store" / "runs.sqlite"
    store.parent.mkdir()
    garbage = b"this is not a SQLite database \x00\xff\xfe" * 300
    store.write_bytes(garbage)

    kernel = kernels(store).wait_ready()
    replies = [
        kernel.run("%load_ext nbmodelbook"),
        kernel.run("%%track after-damage\nprint('fine')\n1 + 1"),
        kernel.run("%%track next\nvalue = 2"),
    ]
    assert [reply.status for reply in replies] == ["ok"] * 3
    assert replies[1].stdout == "fine\n" and replies[1].results == ["2"]
    assert all(reply.errors == [] for reply in replies)

    [warning] = all_warnings(replies)
    assert "damaged" in warning and "moved" in warning
    [moved] = sorted(store.parent.glob("runs.sqlite.corrupt-*"))
    assert moved.name in warning
    assert moved.read_bytes() == garbage

    wait_for(run_in_state(store, "next", "ok"), "the runs to reach the new store")
    assert {run["name"]: run["status"] for run in summaries(store)} == {
        "after-damage": "ok",
        "next": "ok",
    }


# --- 5. a store locked by someone else -----------------------------------------------------------


def test_store_locked_for_seconds_is_waited_out_silently(
    tmp_path: Path, kernels: Callable[..., Kernel]
) -> None:
    store = tmp_path / "store" / "runs.sqlite"
    kernel = kernels(store).wait_ready()
    replies = [kernel.run("%load_ext nbmodelbook"), kernel.run("%%track warmup\nvalue = 0")]
    kernel.run("%modelbook")  # the status waits for the store, which opens in the background
    assert store.exists()

    hold_seconds = 3.0
    locker = sqlite3.connect(store, isolation_level=None, timeout=30)
    try:
        locker.execute("BEGIN EXCLUSIVE")
        locked_at = time.monotonic()
        during = kernel.run("%%track during-lock\nimport time\ntime.sleep(0.2)\nvalue = 1")
        answered_after = time.monotonic() - locked_at
        # The write is really held back by the lock; readers still get the committed state.
        names = set(by_name(store))
        time.sleep(max(0.0, hold_seconds - (time.monotonic() - locked_at)))
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    assert "during-lock" not in names
    # The cell did not sit waiting for the lock.
    assert during.status == "ok"
    assert answered_after < hold_seconds

    replies += [
        during,
        kernel.run("%%track after-lock\nvalue = 2"),
        kernel.run("import nbmodelbook\nprint(sorted(nbmodelbook.runs()['name']))"),
    ]
    assert [reply.status for reply in replies] == ["ok"] * 5
    for reply in replies:
        assert reply.stderr == ""
        assert "locked" not in reply.stdout
    assert replies[-1].stdout == "['after-lock', 'during-lock', 'warmup']\n"
    assert {run["name"]: run["status"] for run in summaries(store)} == {
        "warmup": "ok",
        "during-lock": "ok",
        "after-lock": "ok",
    }


# --- 6. two kernels writing one store, with a reader polling it ----------------------------------


class Reader(threading.Thread):
    """Reads the store in a loop, as the Jupyter server's run list would, until stopped."""

    def __init__(self, store: Path) -> None:
        super().__init__(name="store-reader", daemon=True)
        self.store = store
        self.stop = threading.Event()
        self.reads = 0
        self.failures: queue.SimpleQueue[BaseException] = queue.SimpleQueue()
        self.duplicated: list[list[str]] = []
        self.vanished: set[str] = set()

    def run(self) -> None:
        seen: set[str] = set()
        while not self.stop.is_set():
            if not store_exists(str(self.store)):
                time.sleep(0.02)
                continue
            try:
                ids = [run["run_id"] for run in summaries(self.store)]
            except BaseException as exc:
                self.failures.put(exc)
                time.sleep(0.05)
                continue
            self.reads += 1
            if len(ids) != len(set(ids)):
                self.duplicated.append(ids)
            self.vanished |= seen - set(ids)  # a run once listed must stay listed
            seen |= set(ids)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_four_kernels_and_a_reader_share_one_store(
    tmp_path: Path, kernels: Callable[..., Kernel], request: pytest.FixtureRequest, backend: str
) -> None:
    """4 kernels × 250 tracked cells at once, and a reader polling: every run once."""
    store: Any = tmp_path / "store" / "runs.sqlite"
    if backend == "postgresql":
        store = request.getfixturevalue("postgres_server").new_database()
    cells, count = 250, 4
    group = [kernels(store, f"k{k}") for k in range(count)]
    for kernel in group:
        kernel.wait_ready()
    reader = Reader(store)
    reader.start()
    try:
        # Every request is queued at once: the kernels run their cells back to back.
        requests = []
        for k, kernel in enumerate(group):
            ids = [kernel.submit("%load_ext nbmodelbook")]
            ids += [kernel.submit(f"%%track k{k}-{i}\nvalue = {i} * 2.0") for i in range(cells)]
            ids.append(kernel.submit("import nbmodelbook\nprint(len(nbmodelbook.runs()))"))
            requests.append(ids)
        replies = [
            [kernel.collect(msg_id, timeout=300) for msg_id in ids]
            for kernel, ids in zip(group, requests, strict=True)
        ]
    finally:
        reader.stop.set()
        reader.join(timeout=30)

    failures = []
    while not reader.failures.empty():
        failures.append(reader.failures.get())
    assert failures == []
    assert reader.duplicated == []
    assert reader.vanished == set()
    assert reader.reads > 0

    for own in replies:
        assert [reply.status for reply in own] == ["ok"] * (cells + 2)
        assert all_warnings(own) == []
        assert all(reply.stderr == "" for reply in own)
        assert own[-1].stdout == f"{cells}\n"  # each kernel sees its own notebook's runs

    runs = summaries(store)
    names = [run["name"] for run in runs]
    assert len(runs) == count * cells
    assert len(set(names)) == len(names) == len({run["run_id"] for run in runs})
    assert set(names) == {f"k{k}-{i}" for k in range(count) for i in range(cells)}
    assert {run["status"] for run in runs} == {"ok"}


# --- 7. two kernels creating a new store at the same moment --------------------------------------


def test_two_kernels_create_a_new_store_at_the_same_moment(
    tmp_path: Path, kernels: Callable[..., Kernel]
) -> None:
    store = tmp_path / "fresh" / "runs.sqlite"
    pair = [kernels(store, f"new{k}") for k in range(2)]
    for kernel in pair:
        kernel.wait_ready()
    assert not store.parent.exists()

    # Both kernels load the extension and run a tracked cell together, so both open (and so
    # create) the missing store at once.
    loads = [kernel.submit("%load_ext nbmodelbook") for kernel in pair]
    tracked = [kernel.submit(f"%%track new-{k}\nvalue = {k}") for k, kernel in enumerate(pair)]
    replies = [
        kernel.collect(msg_id)
        for kernel, ids in zip(pair, zip(loads, tracked, strict=True), strict=True)
        for msg_id in ids
    ]
    assert [reply.status for reply in replies] == ["ok"] * 4
    assert all(reply.stderr == "" for reply in replies)

    def both_saved() -> list[dict[str, Any]] | None:
        found = summaries(store)
        return found if len(found) == 2 else None

    runs = wait_for(both_saved, "both runs to be saved")
    assert sorted((run["name"], run["status"]) for run in runs) == [
        ("new-0", "ok"),
        ("new-1", "ok"),
    ]
    # Neither kernel mistook the other's half-created store for a damaged one.
    assert sorted(path.name for path in store.parent.iterdir() if "corrupt" in path.name) == []
