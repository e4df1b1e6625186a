"""The per-kernel tracker: turns IPython's cell events into runs.

IPython executes a `%%track` cell's body as the cell itself (the magic line is stripped by an input
transformer), so outputs, `Out[n]`, tracebacks and the execute reply are exactly those of the
untracked cell. The tracker only observes: `pre_run_cell` opens a run, `post_run_cell` closes it.
Everything here is guarded: a failure in tracking costs one warning, never the user's cell.
"""

from __future__ import annotations

import os
import re
import sys
import time
import traceback
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nbmodelbook import redaction
from nbmodelbook.capture import environment
from nbmodelbook.capture.code_analysis import CellAnalysis, analyze_cell
from nbmodelbook.capture.evidence import (
    CallSnapshots,
    CollectedEvidence,
    collect_evidence,
    complete_evidence,
    logged_evaluation,
)
from nbmodelbook.capture.fingerprint import FingerprintCache
from nbmodelbook.capture.iopub import publish_behind_streams
from nbmodelbook.capture.lineage import CellHistory, ExecutedCell
from nbmodelbook.capture.metric_calls import CallObserver, ObservedCall
from nbmodelbook.capture.namespace import (
    data_inputs,
    extract_metrics,
    extract_params,
    failed_at_line,
    imported_modules,
    model_feature_inputs,
)
from nbmodelbook.capture.naming import default_run_name
from nbmodelbook.capture.notebook import NOTEBOOK_ENV_VAR, detect_notebook_path
from nbmodelbook.capture.outputs import OutputCollector
from nbmodelbook.capture.values import bounded_repr, numeric_value, to_json_safe
from nbmodelbook.config import ModelBook
from nbmodelbook.record import (
    ProcessIdentity,
    RunError,
    RunRecord,
    RunStatus,
    code_hash,
    new_run_id,
)
from nbmodelbook.repository import repository
from nbmodelbook.run_marker import marker_output, run_marker
from nbmodelbook.track_args import TrackArgs, parse_track_cell

if TYPE_CHECKING:
    from IPython.core.interactiveshell import ExecutionInfo, ExecutionResult, InteractiveShell

    from nbmodelbook.store.writer import StoreWriter

WARNING_PREFIX = "nbmodelbook: "


@dataclass(slots=True)
class ActiveRun:
    """The run of the cell now executing."""

    record: RunRecord
    args: TrackArgs
    analysis: CellAnalysis
    history_index: int
    started_perf: float
    extra_params: dict[str, Any] = field(default_factory=dict)
    extra_metrics: dict[str, float] = field(default_factory=dict)
    logged: CollectedEvidence = field(default_factory=CollectedEvidence)


class Tracker:
    """One per kernel: owns the session's cell history, the fingerprint cache and the writer."""

    def __init__(self, shell: InteractiveShell, settings: ModelBook) -> None:
        self.shell = shell
        self.settings = settings
        self.session_id = uuid.uuid4().hex
        self.identity = ProcessIdentity.current()
        self.history = CellHistory()
        self.fingerprints = FingerprintCache()
        self.outputs = OutputCollector(settings.max_output_bytes, settings.max_run_output_bytes)
        self.current: ActiveRun | None = None
        self.secrets = SecretNames()
        self.environments = EnvironmentCache()
        self.snapshots = CallSnapshots()
        self.calls = CallObserver(snapshot=self.snapshots)
        # `%modelbook segments COL...`: the columns every evaluation is also cut by.
        self.declared_segments: list[str] = []
        self._writer: StoreWriter | None = None
        self._store_url: str | None = settings.store
        self._reported: set[str] = set()
        # The store opens in the background from %load_ext on. Its outcome (e.g. one warning
        # that it cannot be opened) is told on the first tracked cell if known by its end, else
        # on the cell just after, which waits for it; later problems on tracked cells.
        self._tracked_any = False
        self._first_tracked = False
        self._open_reported = False
        self._notebook_cache: tuple[tuple[str, ...], str | None] | None = None
        self._imported: list[str] = []
        self._in_kernel = hasattr(shell, "kernel")
        self.kernel_id = _kernel_id() if self._in_kernel else None
        manager = shell.history_manager
        self.history.seed(
            getattr(manager, "input_hist_raw", None) or [],
            getattr(manager, "input_hist_parsed", None) or [],
        )

    # --- store -------------------------------------------------------------------------------

    @property
    def writer(self) -> StoreWriter:
        if self._writer is None:
            from nbmodelbook.store.writer import StoreWriter

            self._writer = StoreWriter(self._store_url, self.session_id)
        return self._writer

    def start_store(self) -> None:
        """Open the store in the background now, so the first tracked cell does not wait."""
        _ = self.writer

    def use_store(self, url: str | None) -> None:
        """Switch to another store (after saving everything pending in the current one)."""
        if self._writer is not None:
            self._writer.flush()
            self._writer.close()
        self._writer = None
        self._store_url = url
        self._reported.clear()
        self._tracked_any = self._open_reported = False

    def flush(self, timeout: float = 30.0) -> None:
        if self._writer is not None:
            self._writer.flush(timeout)

    @property
    def notebook(self) -> str | None:
        # Resolving the path costs file-system calls on every tracked cell; each one lets the
        # kernel's other threads take the GIL. An absolute path resolves the same way all
        # session long, so it is resolved again only when what the frontend says changes.
        said = _notebook_said(self.shell.user_ns)
        if self._notebook_cache is not None and self._notebook_cache[0] == said:
            return self._notebook_cache[1]
        found = detect_notebook_path(self.shell.user_ns)
        absolute = all(not value or os.path.isabs(value) for value in said)
        self._notebook_cache = (said, found) if absolute else None
        return found

    # --- IPython events ------------------------------------------------------------------------

    def pre_run_cell(self, info: ExecutionInfo) -> None:
        try:
            self._pre_run_cell(info)
        except Exception as exc:
            self.current = None
            self._warn_internal("prepare", exc)

    def post_run_cell(self, result: ExecutionResult | None) -> None:
        tracked = self.current is not None
        observed = self._stop_observing()
        try:
            self._post_run_cell(result, observed)
        except Exception as exc:
            self._warn_internal("record", exc)
        finally:
            self.current = None
            if self.outputs.active:
                self.outputs.stop()
        try:
            self._report_problems(tracked)
        except Exception as exc:
            self._warn_internal("report the store's state for", exc)

    def _pre_run_cell(self, info: ExecutionInfo) -> None:
        raw = info.raw_cell or ""
        cell_id = getattr(info, "cell_id", None)
        execution_count = self.shell.execution_count - 1 if info.store_history else None
        tracked = parse_track_cell(raw)
        code = _transformed(self.shell, info, raw)
        index = self.history.record(ExecutedCell(execution_count, cell_id, code, raw))
        if tracked is None:
            return
        args, body = tracked
        started_at = time.time()
        analysis = analyze_cell(code)
        fallback = f"cell-{cell_id[:8]}" if cell_id else f"cell-{execution_count or index}"
        user_ns = self.shell.user_ns
        # A cell calling notebook functions may read globals it never names: look at all.
        opaque = not analysis.syntax_ok or _runs_opaque_code(analysis, code, user_ns)
        since = self.secrets.since()
        secrets = self.secrets.values(
            user_ns, analysis.reads | analysis.writes, new_names=None if opaque else since
        )
        # Redacted here already: the run marker shows the name in the notebook.
        name = redaction.redact_text(
            args.name or default_run_name(body, analysis, fallback), secrets
        )
        record = RunRecord(
            run_id=new_run_id(started_at),
            name=name,
            started_at=started_at,
            code=raw,
            code_hash=code_hash(raw),
            notebook=self.notebook,
            cell_id=cell_id,
            execution_count=execution_count,
            session_id=self.session_id,
            user=self.identity.user,
            host=self.identity.host,
            tags=list(dict.fromkeys(args.tags)),
            note=args.note,
            extra={"kernel_id": self.kernel_id} if self.kernel_id else {},
        )
        self.history.cells[index].run_id = record.run_id
        record.inputs = data_inputs(analysis, self.shell.user_ns, self.fingerprints)
        self.current = ActiveRun(record, args, analysis, index, time.perf_counter())
        if not self._tracked_any:
            self._tracked_any = self._first_tracked = True
        self.writer.begin(
            replace(record, inputs={}, params={}, metrics={}, tags=list(record.tags)),
            partial(redaction.redact_record, known_secrets=secrets),
        )
        self.outputs.start()
        if self.settings.evidence:
            # Last: from here on nothing can fail before post_run_cell puts the originals back.
            try:
                if not self.calls.active:
                    self.snapshots.reset()
                self.calls.watch(self.shell.user_ns, code, analysis.reads, analysis.loop_targets)
            except BaseException as exc:
                self.calls.stop()
                if not isinstance(exc, Exception):
                    raise
                self._warn_internal("observe the metric calls of", exc)

    def stop_observing(self) -> list[ObservedCall]:
        """Put the observed functions back (whatever else fails); the calls they saw."""
        return self._stop_observing()

    def _stop_observing(self) -> list[ObservedCall]:
        if not self.calls.installed:
            return []
        active = self.current
        try:
            return self.calls.stop(active.analysis.writes if active is not None else ())
        except Exception as exc:
            self._warn_internal("observe the metric calls of", exc)
            return []

    def _post_run_cell(
        self, result: ExecutionResult | None, observed: list[ObservedCall] | None = None
    ) -> None:
        active = self.current
        if active is None:
            self._follow_untracked(result)
            return
        captured = self.outputs.stop()
        elapsed = time.perf_counter() - active.started_perf
        record = active.record
        record.ended_at = record.started_at + elapsed
        record.status, record.error = _outcome(result)
        record.outputs = captured
        secrets: frozenset[str] = frozenset()
        evidence = CollectedEvidence()
        self.secrets.lose_track()  # until told below what the cell bound
        try:
            evidence = self._describe(active, record, observed or [])
            analysis = active.analysis
            # Unless the cell ran code that binds names unseen (a star import, exec, a magic,
            # a notebook function), the names it bound are the only new ones since its
            # pre-run look.
            user_ns = self.shell.user_ns
            code = self.history.cells[active.history_index].code
            plain = _binds_only_what_it_says(analysis, code, user_ns)
            secrets = self.secrets.values(
                user_ns,
                analysis.reads | analysis.writes,
                new_names=analysis.writes if plain else None,
            )
        except Exception as exc:
            # The run still ends with its true status; only some details are missing.
            record.extra["capture_error"] = f"{type(exc).__name__}: {bounded_repr(exc)}"
            self._warn_internal("capture every detail of", exc)
        # Whatever failed above: the run marker shows metric names in the notebook, and no
        # secret may be among them (names that cannot be checked are not shown).
        try:
            record.metrics = redaction.redact_keys(record.metrics, secrets)
        except Exception:
            record.metrics = {}
        notebook_dir = str(Path(record.notebook).parent) if record.notebook else os.getcwd()
        prepare = partial(self.environments.prepare, self._modules(), notebook_dir, secrets)
        # The cells before this one no longer change: their lineage is the writer thread's work.
        prepare = partial(
            _with_lineage, prepare, self.history, active.analysis.reads, active.history_index
        )
        if evidence:
            prepare = partial(
                _with_evidence,
                prepare,
                evidence,
                self.settings.max_evaluation_rows,
                tuple(self.declared_segments),
            )
        # Built before the writer thread takes the record over (and redacts it).
        marker = run_marker(record) if self._in_kernel and self.settings.run_marker else None
        wait_ms = self.settings.wait_for_save_after_ms
        wait = wait_ms >= 0 and elapsed * 1000 >= wait_ms
        saved = self.writer.finish(record, prepare, urgent=wait)
        if marker is not None:
            self._publish_marker(marker)
        if wait:
            saved.wait(1.0)
        if active.args.verbose or self.settings.verbose:
            print(_summary_line(record, evidence), file=sys.stderr)

    def _describe(
        self, active: ActiveRun, record: RunRecord, observed: list[ObservedCall]
    ) -> CollectedEvidence:
        """Params, metrics, lineage and evidence of the finished cell, read off the namespace."""
        user_ns = self.shell.user_ns
        # A failed cell counts only as far as it got: what it did not get to bind is an
        # earlier cell's.
        stopped_at = (
            failed_at_line(
                self.shell.last_execution_result, record.code, record.execution_count, user_ns
            )
            if record.status.failed
            else None
        )
        params, models = extract_params(
            active.analysis, user_ns, active.args.params, stopped_at=stopped_at
        )
        if not record.status.failed:
            # A failed cell may not have refitted: the model in the namespace could be the
            # one an earlier execution left.
            record.inputs.update(model_feature_inputs(models, user_ns))
        params.update(active.extra_params)
        metrics = extract_metrics(
            active.analysis,
            user_ns,
            active.args.metrics,
            exclude=params.keys(),
            stopped_at=stopped_at,
            models=models,
        )
        metrics.update(active.extra_metrics)
        evidence = active.logged
        if observed or models:
            analysis = active.analysis
            found = collect_evidence(
                observed,
                user_ns,
                bound=analysis.writes,
                searches=[name for name in models if _has_search_results(user_ns.get(name))],
                declared_segments=self.declared_segments,
                frames=sorted(analysis.reads | analysis.writes),
                inputs=record.inputs,
                skipped=self.calls.skipped,
            )
            evidence = _merged(evidence, found)
        for key, value in evidence.metrics.items():
            metrics.setdefault(key, value)
        for evaluation in active.logged.evaluations:
            if evaluation.value is None:
                evaluation.value = metrics.get(evaluation.metric)
        record.params, record.metrics = params, metrics
        self._forget_objects(active.analysis, self.history.cells[active.history_index].code)
        return evidence

    def _modules(self) -> list[str]:
        """The imported modules' names; the last snapshot while none were imported since (the
        environment is rebuilt only when their number changes)."""
        if len(sys.modules) != len(self._imported):
            self._imported = imported_modules()
        return self._imported

    # --- explicit logging ------------------------------------------------------------------------

    def log_metrics(self, metrics: dict[str, object]) -> None:
        active = self._require_active("log_metrics")
        for key, value in metrics.items():
            number = numeric_value(value)
            if number is None:
                raise TypeError(f"metric {key!r} must be a real number, got {type(value).__name__}")
            active.extra_metrics[str(key)] = number

    def log_predictions(
        self,
        y_true: object,
        y_score: object = None,
        y_pred: object = None,
        *,
        metric: str,
        value: float | None = None,
        sample_weight: object = None,
        segments: Mapping[str, object] | None = None,
    ) -> None:
        active = self._require_active("log_predictions")
        logged_evaluation(
            active.logged,
            y_true,
            y_score=y_score,
            y_pred=y_pred,
            metric=metric,
            value=value,
            sample_weight=sample_weight,
            segments=segments,
        )

    def log_params(self, params: dict[str, object]) -> None:
        active = self._require_active("log_params")
        for key, value in params.items():
            active.extra_params[str(key)] = to_json_safe(value)

    def _require_active(self, caller: str) -> ActiveRun:
        if self.current is None:
            raise RuntimeError(
                f"nbmodelbook.{caller}() records into the run of the cell being tracked: call it "
                "inside a cell that starts with %%track"
            )
        return self.current

    # --- helpers ---------------------------------------------------------------------------------

    def _follow_untracked(self, result: ExecutionResult | None) -> None:
        """After an untracked cell: note the names it bound (so the next tracked cell looks
        only at those for secrets, not at a namespace of thousands of history entries), and
        drop cached fingerprints of objects it may have changed."""
        if not self.history.cells:
            self.secrets.lose_track()
            return
        cell = self.history.cells[-1]
        code = cell.code
        analysis = analyze_cell(code)
        user_ns = self.shell.user_ns
        # The history's last cell is this one unless its pre-run look failed.
        this_cell = getattr(getattr(result, "info", None), "raw_cell", None) == cell.raw
        if this_cell and _binds_only_what_it_says(analysis, code, user_ns):
            self.secrets.bound_elsewhere(analysis.writes)
        else:
            self.secrets.lose_track()
        self._forget_objects(analysis, code)

    def _forget_objects(self, analysis: CellAnalysis, code: str) -> None:
        """A cached fingerprint is reused only while nothing could have changed its object.

        In-place changes the analysis cannot see (a user function mutating a global, a magic
        running a script, unparsable code) clear the whole cache: re-hashing costs time,
        a stale fingerprint would be a false statement about the data.
        """
        if not self.fingerprints:
            return
        user_ns = self.shell.user_ns
        if not analysis.syntax_ok or _runs_opaque_code(analysis, code, user_ns):
            self.fingerprints.clear()
            return
        names = analysis.maybe_mutated
        self.fingerprints.invalidate(id(user_ns[name]) for name in names if name in user_ns)

    def _publish_marker(self, marker: dict[str, Any]) -> None:
        in_vs_code = "__vsc_ipynb_file__" in self.shell.user_ns  # see run_marker's notes
        data, metadata = marker_output(marker, plain_text=in_vs_code)
        display_pub = self.shell.display_pub
        if not publish_behind_streams(display_pub, data, metadata):
            display_pub.publish(data=data, metadata=metadata)

    def _report_problems(self, tracked: bool) -> None:
        """Print the writer's new problems once each; see __init__ for when."""
        writer = self._writer
        first, self._first_tracked = self._first_tracked, False
        if writer is None or not self._tracked_any:
            return
        if not self._open_reported:
            if not writer.ready.is_set():
                if first:
                    return  # the first tracked cell never waits for the store
                writer.wait_ready(30.0)
            self._open_reported = True
        elif not tracked:
            return
        for problem in writer.take_problems():
            if problem not in self._reported:
                self._reported.add(problem)
                print(WARNING_PREFIX + problem, file=sys.stderr)

    def _warn_internal(self, stage: str, exc: BaseException) -> None:
        message = (
            f"could not {stage} this run ({type(exc).__name__}: {exc}); your cell ran normally"
        )
        if message not in self._reported:
            self._reported.add(message)
            print(WARNING_PREFIX + message, file=sys.stderr)


# Magics that cannot change the notebook's data objects.
_HARMLESS_MAGICS = frozenset(
    {"matplotlib", "load_ext", "reload_ext", "config", "pip", "conda", "modelbook", "who",
     "whos", "env", "pwd", "ls", "lsmagic", "precision", "pinfo", "pinfo2", "track"}
)  # fmt: skip
_MAGIC_CALL = re.compile(r"get_ipython\(\)\.(?:run_line_magic|run_cell_magic)\(\s*'([^']+)'")


def _runs_opaque_code(analysis: CellAnalysis, code: str, user_ns: dict[str, Any]) -> bool:
    """Does the cell call code defined in the notebook, or a magic that runs arbitrary code?"""
    for name in analysis.reads:
        value = user_ns.get(name)
        if getattr(value, "__module__", None) == "__main__" and callable(value):
            return True
    if "get_ipython()" in code:
        magics = set(_MAGIC_CALL.findall(code))
        if not magics or not magics <= _HARMLESS_MAGICS:
            return True
    return False


def _binds_only_what_it_says(analysis: CellAnalysis, code: str, user_ns: dict[str, Any]) -> bool:
    """Are the names the cell's analysis lists as bound the only new ones it can have bound
    (no star import, exec, magic or notebook function binding names unseen)?"""
    return (
        analysis.syntax_ok
        and not _BINDS_UNSEEN.search(code)
        and not _runs_opaque_code(analysis, code, user_ns)
    )


def _notebook_said(user_ns: Mapping[str, Any]) -> tuple[str, ...]:
    """What the frontend says the notebook is (the candidates `detect_notebook_path` reads)."""
    said = (
        os.environ.get(NOTEBOOK_ENV_VAR),
        user_ns.get("__vsc_ipynb_file__"),
        user_ns.get("__session__"),
        os.environ.get("JPY_SESSION_NAME"),
    )
    return tuple(value.strip() if isinstance(value, str) else "" for value in said)


def _kernel_id() -> str | None:
    """The Jupyter kernel's id (from its connection file name), which frontends know it by."""
    try:
        from ipykernel import get_connection_file

        name = Path(get_connection_file()).stem
    except Exception:
        return None
    return name.removeprefix("kernel-") or None


def _transformed(shell: InteractiveShell, info: ExecutionInfo, raw: str) -> str:
    transformed = getattr(info, "transformed_cell", None)
    if isinstance(transformed, str):
        return transformed
    try:
        return str(shell.transform_cell(raw))
    except Exception:
        return raw


def _outcome(result: ExecutionResult | None) -> tuple[RunStatus, RunError | None]:
    if result is None:
        return RunStatus.INTERRUPTED, RunError("CancelledError", "the cell was cancelled", "")
    error = result.error_before_exec or result.error_in_exec
    if error is None:
        return RunStatus.OK, None
    try:
        message = str(error)[:2_000]
        trace = "".join(traceback.format_exception(error))[-20_000:]
    except Exception:  # an exception whose __str__ fails must not cost the run
        message, trace = bounded_repr(error), ""
    described = RunError(type=type(error).__qualname__, message=message, traceback=trace)
    if isinstance(error, KeyboardInterrupt):
        return RunStatus.INTERRUPTED, described
    return RunStatus.ERROR, described


class SecretNames:
    """Which notebook variables hold secrets, kept up to date incrementally.

    A long session's namespace holds thousands of IPython history entries (`_i42`, `_42`);
    classifying only names not seen before keeps the cost per cell flat.
    """

    # However well the cells' own bindings are followed, the whole namespace is compared
    # again now and then: callbacks (widgets, comms) can bind names between cells.
    FULL_LOOK_EVERY = 20

    def __init__(self) -> None:
        self._seen: set[str] = set()
        self._secret: set[str] = set()
        self._followed = False  # the last call was told every name the last cell bound
        self._pending: set[str] = set()  # bound since by untracked cells
        self._looks = 0

    def bound_elsewhere(self, names: Iterable[str]) -> None:
        """An untracked cell bound these names (and, as far as can be seen, no other): look at
        them too next time."""
        self._pending.update(names)

    def lose_track(self) -> None:
        """Code ran whose bindings are not known (an untracked cell; a tracked one whose
        capture failed): compare everything next time."""
        self._followed = False

    def since(self) -> Iterable[str] | None:
        """The names that can be new since the last call: those the untracked cells since
        bound, when it was told what the last tracked cell bound and nothing ran since that
        binds names unseen; None (compare everything) otherwise."""
        self._looks += 1
        if self._followed and self._looks % self.FULL_LOOK_EVERY:
            return set(self._pending)
        return None

    def values(
        self,
        user_ns: dict[str, Any],
        used: Iterable[str] = (),
        *,
        new_names: Iterable[str] | None = None,
    ) -> frozenset[str]:
        """The secret values to hide: those of secret-named variables, and those under
        secret-named keys in the containers of the variables the cell uses (`used`).

        `new_names`: the only names that can be new since the last call (after a cell, those it
        bound), which spares comparing the whole namespace with the names already seen."""
        used = set(used)
        if new_names is None:
            new = user_ns.keys() - self._seen
        else:
            # And the names the cell uses: bound by anything (a silent execution, a
            # callback, `locals()[...] = ...`), they must not go unclassified.
            new = (set(new_names) | (used & user_ns.keys())) - self._seen
        self._followed = new_names is not None
        self._pending.clear()
        if new:
            self._seen |= new
            self._secret |= {
                name
                for name in new
                if isinstance(name, str)
                and not _IPYTHON_HISTORY.match(name)
                and redaction.is_secret_name(name)
            }
        present = {name: user_ns[name] for name in self._secret if name in user_ns}
        for name in used:
            value = user_ns.get(name)
            if isinstance(value, _CONTAINERS) and not _IPYTHON_HISTORY.match(name):
                present.setdefault(name, value)
        return redaction.collect_secret_values(present)


_CONTAINERS = (Mapping, list, tuple, set, frozenset)
# Code that can bind names the cell's analysis cannot list.
_BINDS_UNSEEN = re.compile(
    r"import\s*\*|\b(?:exec|eval|globals|vars|setattr|__import__|push|user_ns|__main__|__dict__)\b"
)
_IPYTHON_HISTORY = re.compile(r"^(_+\d*|_i+\d*|_[iod]h|In|Out|_exit_code)$")
ENVIRONMENT_REFRESH_SECONDS = 10.0


class EnvironmentCache:
    """The (redacted) environment, rebuilt only when imports change or it is 10 s old.

    Runs on the writer thread; reusing the same dict lets the store skip re-encoding it.
    """

    def __init__(self) -> None:
        self._key: tuple[int, str, frozenset[str]] | None = None
        self._built_at = 0.0
        self._environment: dict[str, Any] = {}
        self._repo: str | None = None

    def prepare(
        self, modules: list[str], notebook_dir: str, secrets: frozenset[str], record: RunRecord
    ) -> RunRecord:
        """Add the environment to the run, then redact everything textual."""
        key = (len(modules), notebook_dir, secrets)
        now = time.monotonic()
        if key != self._key or now - self._built_at > ENVIRONMENT_REFRESH_SECONDS:
            env = environment.capture_environment(modules, notebook_dir)
            self._repo = repository(env.get("git"))
            self._environment = redaction.redact_value(None, env, secrets)
            self._key, self._built_at = key, now
        record.repo = self._repo
        # The cached environment is redacted already (with these secrets: they are in its key);
        # walking its hundreds of package names again for every run is writer-thread time.
        redacted = redaction.redact_record(replace(record, environment={}), secrets)
        redacted.environment = self._environment
        return redacted


def _has_search_results(value: object) -> bool:
    """A fitted search (`cv_results_`), refitted or not."""
    try:
        return not isinstance(value, type) and isinstance(getattr(value, "cv_results_", None), dict)
    except Exception:
        return False


def _merged(first: CollectedEvidence, second: CollectedEvidence) -> CollectedEvidence:
    if not first:
        return second
    offset = 1 + max((candidate.group for candidate in first.candidates), default=-1)
    for candidate in second.candidates:
        candidate.group += offset
    given = dict(first.given_segments)
    for position, names in second.given_segments.items():
        given[position + len(first.evaluations)] = names
    return CollectedEvidence(
        given_segments=given,
        evaluations=first.evaluations + second.evaluations,
        segment_columns=first.segment_columns + second.segment_columns,
        candidates=first.candidates + second.candidates,
        metrics={**second.metrics, **first.metrics},
        notes=first.notes + second.notes,
    )


def _with_evidence(
    prepare: Callable[[RunRecord], RunRecord],
    evidence: CollectedEvidence,
    max_rows: int,
    declared_segments: tuple[str, ...],
    record: RunRecord,
) -> RunRecord:
    """The writer thread's part: finish the evidence, then the usual preparation."""
    try:
        record = complete_evidence(
            record, evidence, max_rows=max_rows, declared_segments=declared_segments
        )
    except Exception as exc:
        record.evaluations, record.candidates = [], []
        record.extra["evidence_notes"] = [f"evidence not kept ({type(exc).__name__}: {exc})"]
    return prepare(record)


def _with_lineage(
    prepare: Callable[[RunRecord], RunRecord],
    history: CellHistory,
    reads: frozenset[str],
    position: int,
    record: RunRecord,
) -> RunRecord:
    """The writer thread's part: the cells this one's state came from, then the rest."""
    try:
        record.lineage = history.lineage(reads, position)
    except Exception as exc:  # the run matters more than its lineage
        record.lineage = []
        record.extra["capture_error"] = f"lineage: {type(exc).__name__}: {bounded_repr(exc)}"
    return prepare(record)


def _summary_line(record: RunRecord, evidence: CollectedEvidence | None = None) -> str:
    duration = record.duration or 0.0
    parts = [
        f"{WARNING_PREFIX}run {record.name!r} ({record.short_id}) {record.status.value} "
        f"in {duration:.2f} s",
        f"{len(record.params)} params",
        f"{len(record.metrics)} metrics",
        f"{len(record.inputs)} inputs",
    ]
    if evidence:
        parts.append(f"{len(evidence.evaluations)} evaluations")
        if evidence.candidates:
            parts.append(f"{len(evidence.candidates)} candidates")
    return ", ".join(parts)
