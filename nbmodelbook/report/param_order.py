"""Which parameters define a model family and which only keep a run's books: the order of the
parameter tables, and the settings whose differences between families mean nothing.

Data, not code: supporting another family is one entry in `DEFINING` (by class name, as the
tracker records it), another bookkeeping setting one name in `BOOKKEEPING`.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["BOOKKEEPING", "DEFINING", "defining_rank", "is_bookkeeping", "leaf_name"]

_LOGISTIC = ("C", "penalty", "l1_ratio", "solver", "class_weight", "max_iter")
_FOREST = (
    "n_estimators",
    "max_depth",
    "max_features",
    "min_samples_leaf",
    "min_samples_split",
    "class_weight",
    "criterion",
    "bootstrap",
    "max_samples",
)
_TREE = (
    "max_depth",
    "min_samples_leaf",
    "min_samples_split",
    "max_features",
    "criterion",
    "class_weight",
    "ccp_alpha",
)
_BOOSTING = (
    "learning_rate",
    "n_estimators",
    "max_depth",
    "subsample",
    "min_samples_leaf",
    "max_features",
    "loss",
)
_HIST_BOOSTING = (
    "learning_rate",
    "max_iter",
    "max_depth",
    "max_leaf_nodes",
    "min_samples_leaf",
    "l2_regularization",
    "class_weight",
    "early_stopping",
    "loss",
)
_SVM = ("C", "kernel", "gamma", "degree", "class_weight")
_SVR = ("C", "epsilon", "kernel", "gamma", "degree")
_NEIGHBOURS = ("n_neighbors", "weights", "metric", "p")
_MLP = (
    "hidden_layer_sizes",
    "activation",
    "alpha",
    "learning_rate_init",
    "solver",
    "batch_size",
    "max_iter",
    "early_stopping",
)
_XGBOOST = (
    "n_estimators",
    "learning_rate",
    "max_depth",
    "subsample",
    "colsample_bytree",
    "min_child_weight",
    "gamma",
    "reg_alpha",
    "reg_lambda",
    "scale_pos_weight",
    "objective",
)
_LIGHTGBM = (
    "n_estimators",
    "learning_rate",
    "num_leaves",
    "max_depth",
    "min_child_samples",
    "subsample",
    "colsample_bytree",
    "reg_alpha",
    "reg_lambda",
    "class_weight",
    "objective",
)
_CATBOOST = (
    "iterations",
    "learning_rate",
    "depth",
    "l2_leaf_reg",
    "border_count",
    "loss_function",
    "auto_class_weights",
    "class_weights",
)

# The parameters that define each family, most telling first: a reviewer reads these rows
# before the rest of a table.
DEFINING: Mapping[str, tuple[str, ...]] = {
    "LogisticRegression": _LOGISTIC,
    "LogisticRegressionCV": ("Cs", "penalty", "l1_ratios", "solver", "class_weight", "cv"),
    "LinearRegression": ("fit_intercept", "positive"),
    "Ridge": ("alpha", "solver", "fit_intercept"),
    "RidgeClassifier": ("alpha", "solver", "class_weight"),
    "Lasso": ("alpha", "max_iter"),
    "ElasticNet": ("alpha", "l1_ratio", "max_iter"),
    "SGDClassifier": ("loss", "penalty", "alpha", "l1_ratio", "learning_rate", "eta0"),
    "SGDRegressor": ("loss", "penalty", "alpha", "l1_ratio", "learning_rate", "eta0"),
    "RandomForestClassifier": _FOREST,
    "RandomForestRegressor": _FOREST,
    "ExtraTreesClassifier": _FOREST,
    "ExtraTreesRegressor": _FOREST,
    "DecisionTreeClassifier": _TREE,
    "DecisionTreeRegressor": _TREE,
    "GradientBoostingClassifier": _BOOSTING,
    "GradientBoostingRegressor": _BOOSTING,
    "HistGradientBoostingClassifier": _HIST_BOOSTING,
    "HistGradientBoostingRegressor": _HIST_BOOSTING,
    "AdaBoostClassifier": ("n_estimators", "learning_rate", "estimator"),
    "AdaBoostRegressor": ("n_estimators", "learning_rate", "loss", "estimator"),
    "SVC": _SVM,
    "NuSVC": ("nu", "kernel", "gamma", "degree", "class_weight"),
    "SVR": _SVR,
    "LinearSVC": ("C", "penalty", "loss", "class_weight", "max_iter"),
    "KNeighborsClassifier": _NEIGHBOURS,
    "KNeighborsRegressor": _NEIGHBOURS,
    "MLPClassifier": _MLP,
    "MLPRegressor": _MLP,
    "GaussianNB": ("var_smoothing", "priors"),
    "MultinomialNB": ("alpha", "fit_prior"),
    "BernoulliNB": ("alpha", "binarize", "fit_prior"),
    "XGBClassifier": _XGBOOST,
    "XGBRegressor": _XGBOOST,
    "LGBMClassifier": _LIGHTGBM,
    "LGBMRegressor": _LIGHTGBM,
    "CatBoostClassifier": _CATBOOST,
    "CatBoostRegressor": _CATBOOST,
}

# Settings that say how a run was carried out, not which model it fitted: last in a table,
# and no difference when only models of different families spell them differently.
BOOKKEEPING = frozenset(
    {
        "random_state",
        "random_seed",
        "seed",
        "verbose",
        "verbosity",
        "silent",
        "logging_level",
        "n_jobs",
        "nthread",
        "thread_count",
        "pre_dispatch",
        "warm_start",
        "copy",
        "copy_X",
        "memory",
        "cache_size",
        "transform_input",
        "allow_writing_files",
        "train_dir",
        "save_snapshot",
        "snapshot_file",
        "metric_period",
        "importance_type",
        "error_score",
        "return_train_score",
    }
)


def leaf_name(name: str) -> str:
    """The parameter's own name: `model.logisticregression__C` is a `C`."""
    return name.rsplit(".", 1)[-1].rsplit("__", 1)[-1]


def is_bookkeeping(name: str) -> bool:
    return leaf_name(name) in BOOKKEEPING


def defining_rank(family: str | None, name: str) -> int | None:
    """Where `name` comes among the parameters that define `family`; None when it is not one."""
    if family is None:
        return None
    defining = DEFINING.get(family.rsplit(".", 1)[-1], ())
    leaf = leaf_name(name)
    return defining.index(leaf) if leaf in defining else None
