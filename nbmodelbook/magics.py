"""`%%track` and `%modelbook`: thin IPython glue; the work happens in `capture/`."""

from __future__ import annotations

import contextlib
import os
import shlex
from collections.abc import Callable
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class

from nbmodelbook.capture.notebook import NOTEBOOK_ENV_VAR, resolve_notebook_path
from nbmodelbook.capture.tracker import Tracker
from nbmodelbook.config import ModelBook
from nbmodelbook.errors import TrackUsageError
from nbmodelbook.track_args import (
    TRACK_PREFIX,
    is_track_line,
    parse_track_line,
)

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell

_TRACKER_ATTRIBUTE = "_nbmodelbook_tracker"


@magics_class
class ModelBookMagics(Magics):
    """Registers `%%track` (record a run) and `%modelbook` (status and settings)."""

    def __init__(self, shell: InteractiveShell, tracker: Tracker) -> None:
        super().__init__(shell)
        self.tracker = tracker

    @cell_magic
    def track(self, line: str, cell: str) -> None:
        """Record this cell's execution as a run.

        %%track [NAME] [-t/--tag TAG]... [--note TEXT] [-p/--param NAME]...
                [-m/--metric NAME]... [-v/--verbose]

        As the first line of a cell, the cell runs exactly as it would without the magic
        (same outputs, Out[n] and traceback); nbmodelbook only observes it.
        """
        try:
            parse_track_line(line)
        except TrackUsageError as exc:
            raise UsageError(str(exc)) from None
        # Only reached when the magic is called indirectly (run_cell_magic): run the body
        # in the user's namespace and record it, letting its exceptions reach the caller.
        self._run_nested(line, cell)

    def _run_nested(self, line: str, cell: str) -> None:
        shell = self.shell
        assert shell is not None
        if self.tracker.current is not None:
            # Already inside a tracked cell: its run covers this code too.
            shell.ex(shell.transform_cell(cell))
            return
        raw = f"{TRACK_PREFIX} {line}\n{cell}"
        info = SimpleNamespace(raw_cell=raw, store_history=False, cell_id=None)
        result = SimpleNamespace(error_before_exec=None, error_in_exec=None)
        self.tracker.pre_run_cell(info)  # type: ignore[arg-type]
        try:
            shell.ex(shell.transform_cell(cell))
        except BaseException as exc:
            result.error_in_exec = exc
            raise
        finally:
            self.tracker.post_run_cell(result)  # type: ignore[arg-type]

    @line_magic
    def modelbook(self, line: str) -> Any:
        """nbmodelbook status and settings.

        %modelbook                  where runs go, this notebook, this session's runs
        %modelbook store [URL]      show, or switch to another store (path or SQLAlchemy URL)
        %modelbook notebook [PATH]  show, or set the notebook path runs are filed under
        %modelbook segments [COL...] show, or set the columns every evaluation is cut by
                                    (numeric ones into quartiles; `--clear` forgets them)
        """
        words = line.split(None, 1)
        command = words[0] if words else "status"
        argument = words[1].strip() if len(words) > 1 else ""
        handler = _LINE_COMMANDS.get(command)
        if handler is None:
            raise UsageError(
                f"unknown %modelbook command {command!r}; use one of: "
                + ", ".join(sorted(_LINE_COMMANDS))
            )
        return handler(self.tracker, argument)


def _status(tracker: Tracker, _argument: str) -> None:
    writer = tracker.writer
    store = writer.wait_ready(10.0)
    session_runs = sum(1 for cell in tracker.history.cells if cell.run_id)
    lines = [
        f"store:     {store.location if store else writer.open_error}",
        f"notebook:  {tracker.notebook or '(unknown: set with %modelbook notebook PATH)'}",
        f"session:   {tracker.session_id[:12]}, {session_runs} tracked cell(s) run",
    ]
    if writer.unsaved_count:
        lines.append(f"unsaved:   {writer.unsaved_count} run(s) held back, retrying")
    print("\n".join(lines))


def _store(tracker: Tracker, argument: str) -> None:
    if argument:
        tracker.use_store(argument)
        tracker.start_store()
    _status(tracker, "")


def _notebook(tracker: Tracker, argument: str) -> None:
    if argument:
        resolved = resolve_notebook_path(argument)
        if resolved is None:
            raise UsageError(f"not a notebook path: {argument!r}")
        os.environ[NOTEBOOK_ENV_VAR] = resolved
    print(tracker.notebook or "(unknown)")


def _segments(tracker: Tracker, argument: str) -> None:
    try:
        names = shlex.split(argument.replace(",", " "))
    except ValueError as exc:
        raise UsageError(f"%modelbook segments: {exc} (quote names with spaces)") from None
    if names == ["--clear"]:
        tracker.declared_segments = []
    elif names:
        bad = [name for name in names if name.startswith("-")]
        if bad:
            raise UsageError(f"%modelbook segments takes column names or --clear, not {bad[0]!r}")
        tracker.declared_segments = list(dict.fromkeys(names))
    shown = ", ".join(tracker.declared_segments) or "(none declared: automatic segments only)"
    print(f"segments:  {shown}")


_LINE_COMMANDS: dict[str, Callable[[Tracker, str], None]] = {
    "status": _status,
    "store": _store,
    "notebook": _notebook,
    "segments": _segments,
}


def strip_track_line(lines: list[str]) -> list[str]:
    """Input transformer: a valid `%%track` first line is removed, so IPython runs the body as
    the cell itself. Bad options are left in place for the magic to report as a usage error."""
    if not lines:
        return lines
    first = lines[0].rstrip("\r\n")
    if not is_track_line(first):
        return lines
    try:
        parse_track_line(first.strip()[len(TRACK_PREFIX) :].strip())
    except TrackUsageError:
        return lines
    except Exception:
        return lines
    return lines[1:]


def active_tracker() -> Tracker | None:
    """The tracker of the running IPython kernel, if the extension is loaded there."""
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    shell = get_ipython()
    tracker = getattr(shell, _TRACKER_ATTRIBUTE, None) if shell is not None else None
    return tracker if isinstance(tracker, Tracker) else None


def load_ipython_extension(shell: InteractiveShell) -> None:
    """`%load_ext nbmodelbook`: register the magics, the transformer and the cell events."""
    if isinstance(getattr(shell, _TRACKER_ATTRIBUTE, None), Tracker):
        return
    tracker = Tracker(shell, ModelBook(parent=shell))
    setattr(shell, _TRACKER_ATTRIBUTE, tracker)
    configurables = getattr(shell, "configurables", None)
    if isinstance(configurables, list):  # so `%config ModelBook.verbose = True` reaches it
        configurables.append(tracker.settings)
    shell.register_magics(ModelBookMagics(shell, tracker))
    shell.input_transformers_cleanup.append(strip_track_line)
    shell.events.register("pre_run_cell", tracker.pre_run_cell)
    shell.events.register("post_run_cell", tracker.post_run_cell)
    _observe_displays(shell, tracker)
    tracker.start_store()


def unload_ipython_extension(shell: InteractiveShell) -> None:
    tracker = getattr(shell, _TRACKER_ATTRIBUTE, None)
    if not isinstance(tracker, Tracker):
        return
    tracker.stop_observing()  # unloaded from inside a tracked cell: put the originals back
    tracker.flush()
    if strip_track_line in shell.input_transformers_cleanup:
        shell.input_transformers_cleanup.remove(strip_track_line)
    for event, callback in (
        ("pre_run_cell", tracker.pre_run_cell),
        ("post_run_cell", tracker.post_run_cell),
    ):
        with contextlib.suppress(ValueError):
            shell.events.unregister(event, callback)
    for owner, attribute in _OBSERVED:
        original = getattr(owner, f"_nbmodelbook_original_{attribute}", None)
        if original is not None:
            setattr(owner, attribute, original)
    configurables = getattr(shell, "configurables", None)
    if isinstance(configurables, list) and tracker.settings in configurables:
        configurables.remove(tracker.settings)
    delattr(shell, _TRACKER_ATTRIBUTE)


_OBSERVED: list[tuple[Any, str]] = []


def _observe_displays(shell: InteractiveShell, tracker: Tracker) -> None:
    """Let the tracker see what a tracked cell displays, on its way to the frontend."""
    collector = tracker.outputs

    def observe(owner: Any, attribute: str, bundle_of: Callable[..., Any]) -> None:
        original = getattr(owner, attribute, None)
        if original is None:
            return

        def observed(*args: Any, **kwargs: Any) -> Any:
            if collector.active:
                try:
                    bundle = bundle_of(*args, **kwargs)
                    if isinstance(bundle, dict):
                        collector.add_bundle(bundle)
                except Exception:
                    pass
            return original(*args, **kwargs)

        setattr(owner, f"_nbmodelbook_original_{attribute}", original)
        setattr(owner, attribute, observed)
        _OBSERVED.append((owner, attribute))

    observe(shell.display_pub, "publish", lambda data=None, *a, **k: k.get("data", data))
    observe(
        shell.displayhook,
        "write_format_data",
        lambda format_dict=None, *a, **k: k.get("format_dict", format_dict),
    )
