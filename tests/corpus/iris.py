"""Iris: exploring and reshaping a data frame with pandas, plotting it, then cross-validating two
classifiers (pandas' user guide, scikit-learn's cross-validation guide)."""

from __future__ import annotations

from tests.corpus import Expected

CELLS = [
    # 0
    """\
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn import svm
from sklearn.datasets import load_iris
from sklearn.model_selection import KFold, cross_val_score, cross_validate
from sklearn.neighbors import KNeighborsClassifier""",
    # 1
    """\
iris = load_iris(as_frame=True)
df = iris.frame.rename(columns=lambda name: name.replace(" (cm)", "").replace(" ", "_"))
df["species"] = pd.Categorical.from_codes(
    iris.target, categories=["setosa", "versicolor", "virginica"]
)
df.head()""",
    # 2
    """\
df.describe().round(decimals=2)""",
    # 3
    """\
clean = df.dropna(how="any").drop_duplicates(keep="first")
long = clean.melt(id_vars="species", value_vars=["sepal_length", "petal_length"],
                  var_name="measurement", value_name="cm")
means = long.pivot_table(index="species", columns="measurement", values="cm",
                         aggfunc="mean", observed=True)
means""",
    # 4
    """\
means.plot(kind="bar", figsize=(8, 4), title="Mean length by species", rot=0)
plt.legend(loc="upper left", ncol=2)
plt.tight_layout()""",
    # 5
    """\
fig, axes = plt.subplots(1, 2, figsize=(10, 4))
for species, group in df.groupby("species", observed=True):
    axes[0].scatter(group.sepal_length, group.sepal_width, alpha=0.5, label=species)
axes[0].set(xlabel="sepal length", ylabel="sepal width", title="Sepals")
axes[0].legend(frameon=False)
df.boxplot(column="petal_length", by="species", ax=axes[1], grid=False)
fig.suptitle("")""",
    # 6
    """\
summary = (
    df.groupby("species", observed=True)
    .agg(petal_mean=("petal_length", "mean"), petal_max=("petal_length", "max"))
    .reset_index(drop=False)
    .sort_values(by="petal_mean", ascending=False)
)
wide = pd.concat([summary, summary.rank(numeric_only=True)], axis=1)
summary""",
    # 7
    """\
X = df.drop(columns=["species", "target"]).to_numpy()
y = iris.target.to_numpy()
clf = svm.SVC(kernel="linear", C=1, random_state=42)
scores = cross_val_score(clf, X, y, cv=5)
print("%0.2f accuracy with a standard deviation of %0.2f" % (scores.mean(), scores.std()))
mean_accuracy = scores.mean()""",
    # 8
    """\
knn = KNeighborsClassifier(n_neighbors=5, weights="uniform")""",
    # 9
    """\
folds = KFold(n_splits=4, shuffle=True, random_state=0)
results = cross_validate(knn, X, y, cv=folds, scoring="accuracy", return_train_score=True)
test_accuracy = results["test_score"].mean()
print(f"{test_accuracy:.3f}")""",
    # 10
    """\
plt.hist(results["test_score"], bins=5, color="steelblue", edgecolor="white")
plt.xlabel("accuracy per fold")""",
]

FAILING: frozenset[int] = frozenset()

NOISE_ROOTS = frozenset(
    {"pd", "df", "clean", "long", "means", "plt", "fig", "axes", "summary", "iris", "np"}
)

EXPECTED = {
    7: Expected(
        params={"clf": "SVC", "clf.kernel": "linear", "clf.C": 1, "cv": 5},
        metrics=frozenset({"mean_accuracy"}),
        candidates=1,
        folds=5,
    ),
    # knn comes from cell 8: this cell uses it, so its params are this run's too.
    9: Expected(
        params={
            "knn": "KNeighborsClassifier",
            "knn.n_neighbors": 5,
            "n_splits": 4,
            "shuffle": True,
            "random_state": 0,
            "scoring": "accuracy",
        },
        metrics=frozenset({"test_accuracy"}),
        candidates=1,
        folds=4,
    ),
}
