"""nbmodelbook: turn notebook model exploration into evidence a review committee accepts.

%load_ext nbmodelbook

%%track rf-500 --tag baseline
model = RandomForestClassifier(n_estimators=500).fit(X_train, y_train)
auc = roc_auc_score(y_test, model.predict_proba(X_test)[:, 1])

import nbmodelbook as mb
mb.runs()
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "browse",
    "compare",
    "evaluations",
    "load_ipython_extension",
    "log_metrics",
    "log_params",
    "log_predictions",
    "runs",
    "unload_ipython_extension",
]

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    import pandas as pd
    from IPython.core.interactiveshell import InteractiveShell

    from nbmodelbook.widgets.browser import RunBrowser
    from nbmodelbook.widgets.compare_view import CompareView


def load_ipython_extension(ipython: InteractiveShell) -> None:
    """Called by `%load_ext nbmodelbook`."""
    from nbmodelbook.magics import load_ipython_extension as load

    load(ipython)


def unload_ipython_extension(ipython: InteractiveShell) -> None:
    from nbmodelbook.magics import unload_ipython_extension as unload

    unload(ipython)


def runs(
    notebook: str | None = None, *, all: bool = False, store: str | None = None
) -> pd.DataFrame:
    """Runs as a DataFrame, one row per run, oldest first, with `params.*` and `metrics.*`.

    In a notebook: this notebook's runs (`all=True` for every notebook in the store).
    `notebook` selects another notebook's runs; `store` reads another store.
    """
    from nbmodelbook.api import runs as query_runs

    return query_runs(notebook, all_notebooks=all, store=store)


def browse(
    notebook: str | None = None,
    *,
    all: bool = False,
    store: str | None = None,
    page_size: int = 25,
    metrics: Sequence[str] | None = None,
    params: Sequence[str] | None = None,
) -> RunBrowser:
    """A widget to filter, sort and page through runs; tick two or more to compare them.

    In a notebook: this notebook's runs (`all=True`, or the checkbox, for every notebook).
    Columns show the key metrics and the params that vary; `metrics=[...]` / `params=[...]`
    choose them.
    """
    from nbmodelbook.api import browse as browse_runs

    return browse_runs(
        notebook,
        all_notebooks=all,
        store=store,
        page_size=page_size,
        metrics=metrics,
        params=params,
    )


def compare(*refs: str, store: str | None = None, notebook: str | None = None) -> CompareView:
    """Compare runs side by side: the params that differ, metrics (best marked) with charts,
    a code diff, how their data differ, and their figures.

    Refs are run names (the latest run of that name, this notebook's first) or run ids, up
    to 20; one list of them works too.
    """
    from nbmodelbook.api import compare as compare_runs

    return compare_runs(refs, store=store, notebook=notebook)


def log_metrics(**metrics: Any) -> None:
    """Add metrics to the run of the `%%track` cell being executed."""
    from nbmodelbook.api import require_tracker

    require_tracker("log_metrics").log_metrics(metrics)


def log_params(**params: Any) -> None:
    """Add params to the run of the `%%track` cell being executed."""
    from nbmodelbook.api import require_tracker

    require_tracker("log_params").log_params(params)


def log_predictions(
    y_true: Any,
    y_score: Any = None,
    y_pred: Any = None,
    *,
    metric: str,
    value: float | None = None,
    sample_weight: Any = None,
    segments: Mapping[str, Any] | None = None,
) -> None:
    """Keep the predictions behind a metric of the `%%track` cell being executed, for what
    the automatic capture cannot see (a PyTorch loop, a metric computed by hand).

    `y_score`: scores or probabilities; `y_pred`: predicted labels or values (one of them at
    least). `metric` names the run metric they back (its value is taken from the run when
    `value` is not given); `segments` maps a name to one label per row.
    """
    from nbmodelbook.api import require_tracker

    require_tracker("log_predictions").log_predictions(
        y_true,
        y_score,
        y_pred,
        metric=metric,
        value=value,
        sample_weight=sample_weight,
        segments=segments,
    )


def evaluations(
    run: str, *, store: str | None = None, notebook: str | None = None
) -> dict[str, pd.DataFrame]:
    """The evidence behind a run's metrics, for computing statistics of your own.

    `run` is a run name (the latest run of that name) or id, as `compare` takes. One frame per
    evaluation, keyed by the metric it backs, with columns `y_true`, `y_score` or `y_pred`,
    `sample_weight` when given and one per segment (`frame.attrs` holds the function, the
    value, the full row count and whether the rows are a sample); and `folds` for
    cross-validations and searches: one row per candidate and fold, with its params.
    """
    from nbmodelbook.api import evaluations as run_evaluations

    return run_evaluations(run, store=store, notebook=notebook)


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    """Jupyter Server loads `nbmodelbook.server` (the REST API of the JupyterLab extension)."""
    return [{"module": "nbmodelbook.server"}]


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """The prebuilt JupyterLab extension, for `jupyter labextension develop`."""
    return [{"src": "labextension", "dest": "nbmodelbook"}]
