"""Which calls' literal arguments are params: those that configure or run a model, or split and
validate its data. Never those of plotting, display or data-frame reshaping calls.

A registry: an ordered tuple of rules, the first that applies decides. A call is judged by what
the callee is, found after the cell ran: the object its name chain starts from is looked up in
the notebook's namespace (through modules only, so no code runs) and the modules defining it (a
class, a function, or the class of an instance, with its base classes) are matched against the
rules. When that says nothing (the name is not found, a class of the notebook's own with no
known base, a library no rule names) the callee's name decides (`*Classifier`, `fit`, ...).
Supporting another library is one `register_call_rule(...)`.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import BuiltinFunctionType, FunctionType, MethodType, ModuleType

__all__ = [
    "CallRule",
    "call_rules",
    "callee_modules",
    "positional_names",
    "records_params",
    "register_call_rule",
    "resolve_callee",
]


@dataclass(frozen=True, slots=True)
class CallRule:
    """Calls whose literal arguments are params (`records`), or are not.

    A rule applies to a call whose callee is defined in one of `modules` (or inside one: "sklearn"
    covers "sklearn.svm._classes"), when given, and whose last name is one of `names`, starts with
    one of `prefixes` or ends with one of `suffixes`, when any of those is given.
    """

    records: bool
    reason: str
    modules: tuple[str, ...] = ()
    names: frozenset[str] = frozenset()
    prefixes: tuple[str, ...] = ()
    suffixes: tuple[str, ...] = ()

    def applies(self, modules: Sequence[str], name: str) -> bool:
        if self.modules and not any(_inside(module, self.modules) for module in modules):
            return False
        if not (self.names or self.prefixes or self.suffixes):
            return True
        return name in self.names or name.startswith(self.prefixes) or name.endswith(self.suffixes)


def _inside(module: str, packages: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


_MODEL_LIBRARIES = (
    *("sklearn", "imblearn", "xgboost", "lightgbm", "catboost", "torch", "keras", "tensorflow"),
    "statsmodels",
)

_MODEL_CALL_NAMES = frozenset(
    {"fit", "fit_transform", "fit_predict", "partial_fit", "set_params", "train",
     "train_test_split", "learning_curve", "validation_curve", "permutation_test_score"}
)  # fmt: skip

BUILTIN_RULES: tuple[CallRule, ...] = (
    CallRule(
        records=False,
        reason="plotting, display and data frames: a picture or a reshaping, not a model",
        modules=(
            *("matplotlib", "seaborn", "pandas", "altair", "plotly", "bokeh", "IPython"),
            *("ipywidgets", "PIL", "builtins"),
        ),
    ),
    CallRule(
        records=False,
        reason="scikit-learn's scores, inspection plots and dataset loaders: scores are metrics, "
        "the data is an input",
        modules=("sklearn.metrics", "sklearn.inspection", "sklearn.datasets"),
    ),
    CallRule(
        records=False,
        reason="figures, text views and output settings of any library",
        names=frozenset({"set_output", "set_config", "config_context", "get_params"}),
        prefixes=("plot_", "export_", "display", "show", "print"),
        suffixes=("Display",),
    ),
    CallRule(
        records=True,
        reason="model libraries: estimators, their fitting and tuning, data splits, validation",
        modules=_MODEL_LIBRARIES,
    ),
    CallRule(
        records=True,
        reason="by name, when what the callee is cannot be told",
        names=_MODEL_CALL_NAMES,
        prefixes=("cross_val", "cross_validate"),
        suffixes=(
            *("Classifier", "Regressor", "Regression", "Clustering", "Estimator", "SearchCV"),
            *("CV", "_split", "Split", "KFold"),
        ),
    ),
)

_registered: list[CallRule] = []


def register_call_rule(rule: CallRule) -> None:
    """Add a rule, checked before the built-in ones (and before rules registered earlier)."""
    _registered.insert(0, rule)
    _decide.cache_clear()


def call_rules() -> tuple[CallRule, ...]:
    return (*_registered, *BUILTIN_RULES)


def records_params(modules: Sequence[str], name: str) -> bool:
    """Are the literal arguments of a call of `name`, defined in `modules`, params?"""
    return _decide(tuple(modules), name)


@functools.lru_cache(maxsize=2048)  # the same few callees, cell after cell
def _decide(modules: tuple[str, ...], name: str) -> bool:
    for rule in call_rules():
        if rule.applies(modules, name):
            return rule.records
    return False


def resolve_callee(
    callee: str, root: str, user_ns: Mapping[str, object]
) -> tuple[object | None, object | None]:
    """(the object the call's name chain starts from, the called object itself or None).

    `callee` is the dotted name (`sklearn.svm.SVC`, `model.fit`; "" when the chain holds calls
    or subscripts) and `root` its first name. Attributes are followed through modules only,
    where reading one runs no code.
    """
    start = user_ns.get(root) if root else None
    if start is None:
        return None, None
    parts = callee.split(".")[1:] if callee.partition(".")[0] == root else None
    if parts is None:
        return start, None
    found: object = start
    for part in parts:
        if not isinstance(found, ModuleType):
            return start, None  # a method of an object: its class tells what it is
        found = vars(found).get(part)
        if found is None:
            return start, None
    return start, found


def callee_modules(start: object | None, called: object | None) -> tuple[str, ...]:
    """The modules defining what is called: the called object when known, else the start of its
    chain; for a class (or an instance's class) with every base class's module too."""
    target = called if called is not None else start
    if target is None:
        return ()
    if isinstance(target, ModuleType):
        return (target.__name__,)
    if isinstance(target, FunctionType | BuiltinFunctionType | MethodType):
        return (str(getattr(target, "__module__", None) or ""),)
    kind = target if isinstance(target, type) else type(target)
    return _class_modules(kind)


@functools.lru_cache(maxsize=512)
def _class_modules(kind: type) -> tuple[str, ...]:
    return tuple(dict.fromkeys(str(base.__module__) for base in kind.__mro__ if base is not object))


def positional_names(called: object) -> tuple[str, ...]:
    """The names positional arguments bind to when calling `called` (a class or function),
    up to a `*args`; empty if unknown."""
    try:
        return _positional_names(called)
    except TypeError:  # unhashable: look it up uncached
        return _positional_names.__wrapped__(called)


@functools.lru_cache(maxsize=512)
def _positional_names(called: object) -> tuple[str, ...]:
    if not isinstance(called, type | FunctionType | BuiltinFunctionType | MethodType):
        return ()
    try:
        signature = inspect.signature(called)
    except Exception:  # builtins without a signature; anything odd a class does
        return ()
    names = []
    for parameter in signature.parameters.values():
        if parameter.kind not in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD):
            break
        names.append(parameter.name)
    return tuple(names)
