"""Breast cancer: a scaled logistic regression in a pipeline, a failed attempt, then a grid search
over an SVC pipeline (scikit-learn's pipeline and parameter-tuning guides)."""

from __future__ import annotations

from tests.corpus import Expected

CELLS = [
    # 0
    """\
import pandas as pd
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import classification_report, roc_auc_score
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC""",
    # 1
    """\
cancer = load_breast_cancer(as_frame=True)
frame = cancer.frame
frame.iloc[:, :4].describe(percentiles=[0.5]).T""",
    # 2
    """\
counts = frame["target"].value_counts(normalize=False).rename(index={0: "malignant", 1: "benign"})
counts.to_frame(name="patients")""",
    # 3
    """\
X_train, X_test, y_train, y_test = train_test_split(
    cancer.data, cancer.target, test_size=0.25, random_state=0, stratify=cancer.target
)
pipe = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=1000))
pipe.fit(X_train, y_train)
auc = roc_auc_score(y_test, pipe.predict_proba(X_test)[:, 1])
print(f"AUC {auc:.3f}")""",
    # 4
    """\
print(classification_report(y_test, pipe.predict(X_test), target_names=["malignant", "benign"]))""",
    # 5
    """\
model = make_pipeline(StandardScaler(), SVC(C=10.0, gamma="scale"))
model.fit(X_train, y_train)
svc_accuracy = model.score(X_test, y_test)""",
    # 6: the regularisation strength was meant to be set in a cell that was never run
    """\
kernel = "rbf"
model = make_pipeline(StandardScaler(), SVC(C=c_value, kernel=kernel))
model.fit(X_train, y_train)
retry_accuracy = model.score(X_test, y_test)""",
    # 7
    """\
param_grid = {"svc__C": [0.1, 1, 10], "svc__gamma": [0.001, 0.01]}
search = GridSearchCV(make_pipeline(StandardScaler(), SVC()), param_grid, cv=3, n_jobs=1)
search.fit(X_train, y_train)
search.best_params_""",
    # 8
    """\
results = pd.DataFrame(search.cv_results_)[["param_svc__C", "param_svc__gamma", "mean_test_score"]]
results.sort_values(by="mean_test_score", ascending=False).head(n=3)""",
    # 9
    """\
test_accuracy = search.score(X_test, y_test)""",
]

FAILING = frozenset({6})

NOISE_ROOTS = frozenset(
    {"pd", "frame", "counts", "classification_report", "results", "load_breast_cancer"}
)

EXPECTED = {
    3: Expected(
        params={
            "test_size": 0.25,
            "random_state": 0,
            "pipe": "Pipeline",
            "pipe.logisticregression__C": 1.0,
            "pipe.logisticregression__max_iter": 1000,
        },
        metrics=frozenset({"auc"}),
        evaluations=frozenset({"auc"}),
    ),
    4: Expected(evaluations=frozenset({"classification_report"})),  # printed, still kept
    5: Expected(params={"model": "Pipeline", "model.svc__C": 10.0}),
    # NameError on line 2: line 1 ran; nothing from the model cell 5 left, nor from the lines
    # never reached.
    6: Expected(
        params={"kernel": "rbf"},
        absent_prefixes=("model", "retry_accuracy", "svc_accuracy", "C", "gamma"),
    ),
    7: Expected(
        params={
            "search": "GridSearchCV",
            "search.cv": 3,
            "search.best_params.svc__C": 10,
            "search.best_params.svc__gamma": 0.01,
            "param_grid": {"svc__C": [0.1, 1, 10], "svc__gamma": [0.001, 0.01]},
        },
        absent=frozenset({"search.estimator__svc__C", "search.estimator__svc__gamma"}),
        metrics=frozenset({"search.best_score"}),
        candidates=6,
        folds=18,
    ),
    9: Expected(
        params={"search": "GridSearchCV", "search.best_params.svc__C": 10},
        metrics=frozenset({"test_accuracy"}),
    ),
}
