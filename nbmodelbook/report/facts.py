"""Model facts: what the model is for and who answers for it, written or captured. Pure.

Authored facts are the notebook's `INTENDED-USE`, `OUT-OF-SCOPE`, `TARGET`, `OWNER`, `VERSION`,
`OVERSIGHT` and `MONITORING` annotations. Captured facts are what the runs already know about the
chosen model, filled in so nobody types them: the data it was fitted and scored on (fingerprints
and sizes), the class balance of the rows it was scored on, its code, its environment and the date
it ran. A captured fact says it was captured (`source == "captured"`).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from nbmodelbook.metric_names import REGRESSION_METRIC_FUNCTIONS
from nbmodelbook.record import FEATURES_KIND, Evaluation, RunRecord
from nbmodelbook.report.model import FACT_KINDS, Annotation, Fact

__all__ = ["CAPTURED_FACTS", "MAX_CLASSES", "authored_facts", "captured_facts", "model_facts"]

MAX_CLASSES = 20  # more distinct labels than this is a regression target, not classes
_MODELLING = {
    name: rank
    for rank, name in enumerate(
        (
            "sklearn",
            "scikit-learn",
            "xgboost",
            "lightgbm",
            "catboost",
            "torch",
            "tensorflow",
            "keras",
            "statsmodels",
            "numpy",
            "pandas",
            "scipy",
        )
    )
}


def model_facts(annotations: Sequence[Annotation], chosen: RunRecord | None) -> list[Fact]:
    """The authored facts in FACT_KINDS order (then notebook order), then the captured ones."""
    return authored_facts(annotations) + (captured_facts(chosen) if chosen is not None else [])


def authored_facts(annotations: Sequence[Annotation]) -> list[Fact]:
    order = {kind: position for position, kind in enumerate(FACT_KINDS)}
    written = sorted(
        (a for a in annotations if a.kind in order), key=lambda a: (order[a.kind], a.cell_index)
    )
    return [
        Fact(
            key=annotation.kind.value,
            label=annotation.kind.label,
            text=annotation.title.strip() or _first_line(annotation.body),
            body=annotation.body if annotation.title.strip() else _rest(annotation.body),
            source="annotation",
            cell_index=annotation.cell_index,
        )
        for annotation in written
    ]


def captured_facts(chosen: RunRecord) -> list[Fact]:
    facts = []
    for key, (label, read) in CAPTURED_FACTS.items():
        text = read(chosen)
        if text:
            facts.append(Fact(key=key, label=label, text=text, source="captured"))
    return facts


def _training_data(run: RunRecord) -> str | None:
    parts = []
    for name in sorted(run.inputs):
        found = run.inputs[name]
        if not isinstance(found, Mapping) or found.get("kind") == FEATURES_KIND:
            continue
        shape = found.get("shape")
        size = (
            " × ".join(f"{int(d):,}" for d in shape)
            if isinstance(shape, list) and shape and all(isinstance(d, int) for d in shape)
            else "size unknown"
        )
        digest = found.get("hash")
        fingerprint = f", fingerprint {digest[:12]}" if isinstance(digest, str) and digest else ""
        parts.append(f"{name} ({size}{fingerprint})")
    return "; ".join(parts) or None


def _scored_rows(run: RunRecord) -> dict[str, list[Evaluation]]:
    """The chosen run's evaluations by the rows they were scored on (same rows, one entry)."""
    groups: dict[str, list[Evaluation]] = {}
    for position, evaluation in enumerate(run.evaluations):
        key = evaluation.rows_fingerprint or f"#{position}"
        groups.setdefault(key, []).append(evaluation)
    return groups


def _evaluation_data(run: RunRecord) -> str | None:
    parts = []
    for key, evaluations in _scored_rows(run).items():
        first = evaluations[0]
        metrics = ", ".join(dict.fromkeys(e.metric for e in evaluations))
        rows = max(first.n_total, first.n)
        fingerprint = f", fingerprint {key[:12]}" if not key.startswith("#") else ""
        parts.append(f"{rows:,} rows scored by {metrics}{fingerprint}")
    return "; ".join(parts) or None


def _class_balance(run: RunRecord) -> str | None:
    parts = []
    for evaluations in _scored_rows(run).values():
        if any(e.function in REGRESSION_METRIC_FUNCTIONS for e in evaluations):
            continue  # few distinct values of a regression target are not classes
        first = evaluations[0]
        counts = _class_counts(first.y_true)
        if counts is None:
            continue
        total = sum(counts.values())
        metrics = ", ".join(dict.fromkeys(e.metric for e in evaluations))
        if first.sampled:
            # A stratified sample keeps the shares, not the counts of the rows scored.
            shares = ", ".join(f"{label}: {100 * n / total:.1f}%" for label, n in counts.items())
            parts.append(
                f"rows scored by {metrics} (shares in a sample of {first.n:,} of "
                f"{first.n_total:,}): {shares}"
            )
            continue
        shares = ", ".join(
            f"{label}: {count:,} ({100 * count / total:.1f}%)" for label, count in counts.items()
        )
        parts.append(f"rows scored by {metrics}: {shares}")
    return "; ".join(parts) or None


def _class_counts(y_true: Any) -> dict[str, int] | None:
    """Label counts, most common first, when `y_true` holds classes (few distinct labels)."""
    try:
        values = np.asarray(y_true).ravel()
    except (TypeError, ValueError):
        return None
    if values.size == 0:
        return None
    if values.dtype.kind == "f" and not np.all(np.mod(values[np.isfinite(values)], 1) == 0):
        return None  # fractional values: a regression target
    counts = Counter(str(value) for value in values.tolist())
    if len(counts) > MAX_CLASSES:
        return None
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def _code(run: RunRecord) -> str | None:
    cell = f"In[{run.execution_count}]" if run.execution_count else "a tracked cell"
    earlier = len(run.lineage)
    depends = (
        f", after {earlier} earlier cell{'s' if earlier != 1 else ''} it depends on"
        if earlier
        else ""
    )
    return f"{run.name}: {cell}{depends} (code {run.code_hash[:12]})"


def _environment(run: RunRecord) -> str | None:
    env = run.environment or {}
    python = env.get("python") if isinstance(env.get("python"), Mapping) else {}
    packages = env.get("packages") if isinstance(env.get("packages"), Mapping) else {}
    assert isinstance(python, Mapping) and isinstance(packages, Mapping)
    parts = []
    if python.get("version"):
        parts.append(f"Python {python['version']}")
    # The modelling libraries first: they decide what the model computes.
    named = sorted(packages, key=lambda name: (_MODELLING.get(name.lower(), len(_MODELLING)), name))
    shown = named[:8]
    parts.extend(f"{name} {packages[name]}" for name in shown)
    more = len(packages) - len(shown)
    if more > 0:
        parts.append(f"and {more} more package{'s' if more != 1 else ''} (see the appendix)")
    return ", ".join(str(part) for part in parts) or None


def _run_date(run: RunRecord) -> str | None:
    try:
        started = dt.datetime.fromtimestamp(run.started_at, tz=dt.UTC)
    except (OverflowError, OSError, ValueError, TypeError):
        return None
    return started.strftime("%Y-%m-%d %H:%M UTC")


# Captured facts by key, in the order they are shown: (label, reader of the chosen run).
CAPTURED_FACTS: dict[str, tuple[str, Callable[[RunRecord], str | None]]] = {
    "training-data": ("Data the chosen cell read", _training_data),
    "evaluation-data": ("Rows it was scored on", _evaluation_data),
    "class-balance": ("Class balance of those rows", _class_balance),
    "code": ("Code", _code),
    "environment": ("Environment", _environment),
    "run-date": ("Date of the chosen run", _run_date),
}


def _first_line(text: str) -> str:
    return text.strip().split("\n", 1)[0].strip()


def _rest(text: str) -> str:
    parts = text.strip().split("\n", 1)
    return parts[1].strip() if len(parts) > 1 else ""
