"""An output area that draws its charts off the notebook's thread when that would be slow.

Building the first chart in a kernel imports Altair, which takes seconds in an environment
with JupyterLab (its JSON-schema format checkers load a grammar at import). The tables a person
came for are shown at once; the charts follow when they are ready.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import ipywidgets as widgets

ChartBuilder = Callable[[], Sequence[Any]]


def _altair_loaded() -> bool:
    """Imported and finished importing (a module is in sys.modules while it is being imported)."""
    module = sys.modules.get("altair")
    spec = getattr(module, "__spec__", None)
    return module is not None and not getattr(spec, "_initializing", False)


class ChartArea(widgets.Output):  # type: ignore[misc]
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._thread: threading.Thread | None = None
        self._generation = 0
        self._drawing_lock = threading.RLock()
        self.error: str | None = None

    def draw(
        self,
        build: ChartBuilder,
        *,
        waiting: str = "Drawing charts…",
        background: bool = False,
        settle: float = 0.0,
    ) -> None:
        """Replace the charts with what `build` returns (display objects).

        Built on this thread when that is quick (Altair already imported), unless `background`:
        for builds that read many runs, so the interaction that asked returns at once. `settle`
        waits that long first and gives up if another drawing was asked for meanwhile: while
        someone types, the chart is built once, after the last keystroke.
        """
        with self._drawing_lock:
            self._generation += 1
            generation = self._generation
        if _altair_loaded() and not background:
            self._show(build, generation)
            return
        with self._drawing_lock:
            if not self.outputs:  # otherwise the old chart stays until the new one is ready
                self.append_stdout(waiting + "\n")
        self._thread = threading.Thread(
            target=self._show,
            args=(build, generation, settle),
            name="nbmodelbook-charts",
            daemon=True,
        )
        self._thread.start()

    def _show(self, build: ChartBuilder, generation: int, settle: float = 0.0) -> None:
        if settle:
            time.sleep(settle)
            if generation != self._generation:
                return
        error: str | None = None
        try:
            charts = build()
        except Exception as exc:  # a chart is a bonus: never break the widget for one
            charts = []
            error = f"{type(exc).__name__}: {exc}"
        with (
            self._drawing_lock
        ):  # one drawing at a time: a newer one may be drawn on another thread
            if generation != self._generation:
                return  # a newer drawing replaced this one while it was being built
            self.error = error
            self.outputs = ()
            if error is not None:
                self.append_stdout(f"The charts could not be drawn ({error}).\n")
            for chart in charts:
                self.append_display_data(chart)

    def wait(self, timeout: float | None = None) -> None:
        """Block until the charts are drawn (tests, and scripts that save the widget state)."""
        if self._thread is not None:
            self._thread.join(timeout)
