"""Realistic run records for the store benchmarks: what a tracked model-fitting cell leaves."""

from __future__ import annotations

import platform
import random
import sys
import time
import uuid
from typing import TYPE_CHECKING, Any

import xxhash

if TYPE_CHECKING:
    import numpy as np

from nbmodelbook.record import (
    Candidate,
    LineageCell,
    RunError,
    RunRecord,
    RunStatus,
    new_run_id,
)

PARAM_NAMES = (
    "n_estimators",
    "max_depth",
    "learning_rate",
    "min_samples_leaf",
    "subsample",
    "criterion",
    "class_weight",
    "random_state",
    "bootstrap",
    "feature_set",
)
METRIC_NAMES = ("auc", "accuracy", "f1", "log_loss", "brier")
TAG_POOL = ("baseline", "candidate", "champion", "challenger", "tuned", "review", "v2")

CODE_TEMPLATE = """\
%%track {name} --tag {tag}
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.metrics import accuracy_score, brier_score_loss, f1_score, log_loss, roc_auc_score

n_estimators = {n_estimators}
max_depth = {max_depth}
learning_rate = {learning_rate}
min_samples_leaf = {min_samples_leaf}
subsample = {subsample}
criterion = "friedman_mse"
class_weight = None
random_state = 42
bootstrap = True
feature_set = "{feature_set}"
features = FEATURE_SETS[feature_set]
model = GradientBoostingClassifier(n_estimators=n_estimators, max_depth=max_depth,
    learning_rate=learning_rate, subsample=subsample, random_state=random_state)
model.fit(X_train[features], y_train)
proba = model.predict_proba(X_test[features])[:, 1]
auc = roc_auc_score(y_test, proba)
accuracy = accuracy_score(y_test, proba > 0.5)
f1 = f1_score(y_test, proba > 0.5)
log_loss_, brier = log_loss(y_test, proba), brier_score_loss(y_test, proba)
"""

LINEAGE_CODE = (
    "df = pd.read_parquet('data/loans.parquet')\n"
    "X_train, X_test, y_train, y_test = train_test_split(df[FEATURES], df['default'], "
    "random_state=0)\n",
    "FEATURE_SETS = {'base': FEATURES[:8], 'full': FEATURES}\n",
)


def _code_hash(code: str) -> str:
    return xxhash.xxh3_128_hexdigest(code.encode("utf-8"))


def environment_snapshot() -> dict[str, Any]:
    """An environment like the one the tracker captures (interpreter, ~25 packages, git)."""
    packages = {
        name: f"{random.Random(name).randint(0, 9)}.{random.Random(name + 'm').randint(0, 30)}.0"
        for name in [
            "numpy",
            "pandas",
            "scipy",
            "sklearn",
            "matplotlib",
            "seaborn",
            "xgboost",
            "lightgbm",
            "statsmodels",
            "pyarrow",
            "sqlalchemy",
            "IPython",
            "ipykernel",
            "jupyter_client",
            "traitlets",
            "tornado",
            "zmq",
            "dateutil",
            "pytz",
            "tzdata",
            "joblib",
            "threadpoolctl",
            "packaging",
            "six",
            "nbformat",
        ]
    }
    return {
        "python": {
            "version": platform.python_version(),
            "implementation": platform.python_implementation(),
            "executable": sys.executable,
            "platform": platform.platform(),
        },
        "packages": packages,
        "git": {
            "root": "/home/analyst/credit-models",
            "remote": "https://git.example.com/risk/credit-models.git",
            "commit": "3f2c9a1b7e4d5c6f8a9b0c1d2e3f4a5b6c7d8e9f",
            "branch": "main",
            "dirty": True,
        },
    }


class RecordFactory:
    """Deterministic stream of realistic records, spread over notebooks and sessions."""

    def __init__(self, notebooks: list[str], seed: int = 0, start: float | None = None) -> None:
        self.rng = random.Random(seed)
        self.notebooks = notebooks
        self.sessions = [uuid.UUID(int=self.rng.getrandbits(128)).hex for _ in range(30)]
        self.environment = environment_snapshot()
        self.clock = start if start is not None else time.time() - 90 * 24 * 3600
        self.lineage = [
            LineageCell(
                execution_count=number + 1,
                cell_id=f"cell-{number}",
                code_hash=_code_hash(code),
                code=code,
                defines=["df", "X_train", "X_test", "y_train", "y_test"]
                if number == 0
                else ["FEATURE_SETS"],
                reads=["pd", "train_test_split"] if number == 0 else ["FEATURES"],
            )
            for number, code in enumerate(LINEAGE_CODE)
        ]

    def make(self, index: int) -> RunRecord:
        rng = self.rng
        self.clock += rng.uniform(5.0, 600.0)
        started = self.clock
        params: dict[str, Any] = {
            "n_estimators": rng.choice((100, 200, 300, 500, 800)),
            "max_depth": rng.randint(2, 8),
            "learning_rate": round(rng.uniform(0.01, 0.3), 3),
            "min_samples_leaf": rng.choice((1, 5, 10, 20)),
            "subsample": round(rng.uniform(0.5, 1.0), 2),
            "criterion": "friedman_mse",
            "class_weight": None,
            "random_state": 42,
            "bootstrap": True,
            "feature_set": rng.choice(("base", "full")),
        }
        metrics = {name: rng.random() for name in METRIC_NAMES}
        tags = rng.sample(TAG_POOL, 3)
        name = f"gbm-{params['feature_set']}-{params['max_depth']}"
        code = CODE_TEMPLATE.format(name=name, tag=tags[0], **params)
        duration = rng.uniform(0.5, 120.0)
        notebook = self.notebooks[index % len(self.notebooks)]
        return RunRecord(
            run_id=new_run_id(started),
            name=name,
            started_at=started,
            code=code,
            code_hash=_code_hash(code),
            status=RunStatus.OK,
            notebook=notebook,
            repo="https://git.example.com/risk/credit-models.git",
            cell_id=f"cell-{rng.randint(0, 40)}",
            execution_count=index % 300 + 1,
            session_id=rng.choice(self.sessions),
            user="analyst",
            host="workstation-17",
            ended_at=started + duration,
            tags=tags,
            params=params,
            metrics=metrics,
            inputs={
                "X_train": {
                    "kind": "DataFrame",
                    "shape": [80_000, 24],
                    "fingerprint": f"{rng.getrandbits(128):032x}",
                },
            },
            lineage=list(self.lineage),
            environment=self.environment,
        )


def fail(record: RunRecord) -> RunRecord:
    """The record as a cell that raised before computing its metrics."""
    record.status = RunStatus.ERROR
    record.error = RunError("ValueError", "Input contains NaN", "Traceback ...")
    record.metrics = {}
    return record


def mlflow_payload(record: RunRecord) -> tuple[dict[str, Any], dict[str, float], dict[str, str]]:
    """The same params, metrics and tags in MLflow's shapes (params and tags are strings)."""
    params = {key: str(value) for key, value in record.params.items()}
    tags = {tag: "true" for tag in record.tags}
    return params, dict(record.metrics), tags


def grid_search_candidates(
    rng: np.random.Generator,
    grid: list[tuple[int, float]],
    scores: tuple[float, float],
    folds: int,
) -> list[Candidate]:
    """A fitted GridSearchCV's candidates over (max_depth, learning_rate): fold scores drawn
    uniformly from `scores`, one of them (drawn first) refitted."""
    best = int(rng.integers(0, len(grid)))
    candidates = []
    for index, (depth, rate) in enumerate(grid):
        fold_scores = [float(score) for score in rng.uniform(*scores, folds)]
        candidates.append(
            Candidate(
                "GridSearchCV",
                0,
                index,
                {"max_depth": depth, "learning_rate": rate},
                "roc_auc",
                fold_scores,
                chosen=index == best,
                mean_score=sum(fold_scores) / folds,
            )
        )
    return candidates
