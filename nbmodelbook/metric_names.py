"""What a metric's name says: which way is better, and which metric a review leads with.

Light on purpose: a tracked cell's run marker uses it, so importing it costs the kernel nothing.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nbmodelbook.record import RunRecord

_LOWER_IS_BETTER = re.compile(
    r"(loss|error|err$|^err|rmse|mse|mae|mape|brier|deviance|perplexity|latency|duration|time|"
    r"seconds|"
    r"(^|[._])(fpr|fnr|far|frr)($|[._])|cost|regret|bias)",
    re.IGNORECASE,
)

# scikit-learn's regression metrics: the y_pred they are given are predictions, not labels.
REGRESSION_METRIC_FUNCTIONS = frozenset(
    {
        "r2_score",
        "mean_squared_error",
        "root_mean_squared_error",
        "mean_absolute_error",
        "median_absolute_error",
        "mean_absolute_percentage_error",
        "mean_squared_log_error",
        "root_mean_squared_log_error",
        "explained_variance_score",
        "max_error",
        "mean_pinball_loss",
        "mean_poisson_deviance",
        "mean_gamma_deviance",
        "mean_tweedie_deviance",
        "d2_absolute_error_score",
    }
)

# When a decision does not name its metric, the first of these the chosen run has.
HEADLINE_PREFERENCE = (
    "auc",
    "roc_auc",
    "val_auc",
    "test_auc",
    "gini",
    "average_precision",
    "f1",
    "accuracy",
    "balanced_accuracy",
    "r2",
    "rmse",
    "mae",
    "log_loss",
    "loss",
)


def lower_is_better(metric: str) -> bool:
    return bool(_LOWER_IS_BETTER.search(metric))


def conventional_headline(names: Collection[str]) -> str | None:
    """The first of the conventional headline metrics among `names`."""
    return next((name for name in HEADLINE_PREFERENCE if name in names), None)


def headline_metric(run: RunRecord, explicit: str | None = None) -> str | None:
    """The metric a decision is judged on: named explicitly, else a conventional one."""
    if explicit and explicit in run.metrics:
        return explicit
    conventional = conventional_headline(run.metrics.keys())
    if conventional is not None:
        return conventional
    finite = sorted(name for name, value in run.metrics.items() if math.isfinite(value))
    return finite[0] if finite else None
