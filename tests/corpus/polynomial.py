"""Model validation on noisy data: polynomial regressions of growing degree, a validation curve
and a grid search over the degree (Python Data Science Handbook, "Hyperparameters and Model
Validation")."""

from __future__ import annotations

from tests.corpus import Expected

CELLS = [
    # 0
    """\
import matplotlib.pyplot as plt
import numpy as np
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import GridSearchCV, validation_curve
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import PolynomialFeatures


def PolynomialRegression(degree=2, **kwargs):
    return make_pipeline(PolynomialFeatures(degree), LinearRegression(**kwargs))""",
    # 1
    """\
def make_data(N, err=1.0, rseed=1):
    # randomly sample the data
    rng = np.random.RandomState(rseed)
    X = rng.rand(N, 1) ** 2
    y = 10 - 1.0 / (X.ravel() + 0.1)
    if err > 0:
        y += err * rng.randn(N)
    return X, y


X, y = make_data(40)""",
    # 2
    """\
X_test = np.linspace(-0.1, 1.1, 500)[:, None]

plt.scatter(X.ravel(), y, color="black")
axis = plt.axis()
for degree in [1, 3, 5]:
    y_test = PolynomialRegression(degree).fit(X, y).predict(X_test)
    plt.plot(X_test.ravel(), y_test, label="degree={0}".format(degree))
plt.xlim(-0.1, 1.0)
plt.ylim(-2, 12)
plt.legend(loc="best");""",
    # 3
    """\
degree = np.arange(0, 21)
train_score, val_score = validation_curve(
    PolynomialRegression(), X, y, param_name="polynomialfeatures__degree", param_range=degree, cv=7
)
plt.plot(degree, np.median(train_score, 1), color="blue", label="training score")
plt.plot(degree, np.median(val_score, 1), color="red", label="validation score")
plt.legend(loc="best")
plt.ylim(0, 1)
plt.xlabel("degree")
plt.ylabel("score");""",
    # 4
    """\
param_grid = {"polynomialfeatures__degree": np.arange(21),
              "linearregression__fit_intercept": [True, False]}
grid = GridSearchCV(PolynomialRegression(), param_grid, cv=7)
grid.fit(X, y)
grid.best_params_""",
    # 5
    """\
model = grid.best_estimator_

plt.scatter(X.ravel(), y)
lim = plt.axis()
y_test = model.fit(X, y).predict(X_test)
plt.plot(X_test.ravel(), y_test, linewidth=2, linestyle="--")
plt.axis(lim);""",
]

FAILING: frozenset[int] = frozenset()

NOISE_ROOTS = frozenset({"plt", "np"})

EXPECTED = {
    3: Expected(params={"cv": 7, "param_name": "polynomialfeatures__degree"}),
    4: Expected(
        params={
            "grid": "GridSearchCV",
            "grid.cv": 7,
            "grid.best_params.polynomialfeatures__degree": 4,
            "grid.best_params.linearregression__fit_intercept": False,
        },
        # the pipeline's default degree of 2 never ran: degrees 0 to 20 were searched
        absent=frozenset({"grid.estimator__polynomialfeatures__degree"}),
        metrics=frozenset({"grid.best_score"}),
        candidates=42,  # 21 degrees x 2 intercepts, each on 7 folds
        folds=294,
    ),
    5: Expected(params={"model": "Pipeline", "model.polynomialfeatures__degree": 4}),
}
