"""Static analysis of one notebook cell: reads, writes, params, metrics and mutations."""

from __future__ import annotations

import ast
import keyword
import textwrap
import time
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from IPython.core.inputtransformer2 import TransformerManager

from nbmodelbook.capture.code_analysis import (
    CellAnalysis,
    LiteralKwarg,
    analyze_cell,
    is_literal,
    literal_value,
)


@dataclass(frozen=True)
class Expected:
    reads: set[str] = field(default_factory=set)
    writes: set[str] = field(default_factory=set)
    literals: dict[str, Any] = field(default_factory=dict)
    kwargs: list[tuple[str, str, Any]] = field(default_factory=list)
    computed: set[str] = field(default_factory=set)
    loop_targets: set[str] = field(default_factory=set)
    mutated: set[str] = field(default_factory=set)
    fitted: set[str] = field(default_factory=set)


def check(code: str, expected: Expected) -> CellAnalysis:
    result = analyze_cell(textwrap.dedent(code))
    assert result.syntax_ok
    assert result.reads == expected.reads, "reads"
    assert result.writes == expected.writes, "writes"
    assert dict(result.literal_assignments) == expected.literals, "literal_assignments"
    kwargs = [(k.callee, k.keyword, k.value) for k in result.literal_kwargs]
    assert kwargs == expected.kwargs, "literal_kwargs"
    assert result.computed == expected.computed, "computed"
    assert result.loop_targets == expected.loop_targets, "loop_targets"
    assert result.maybe_mutated == expected.mutated, "maybe_mutated"
    assert result.fitted == expected.fitted, "fitted"
    return result


def ipython(raw: str) -> str:
    """A cell as IPython hands it to the tracker: magics already turned into calls."""
    return str(TransformerManager().transform_cell(textwrap.dedent(raw)))


CELLS = [
    pytest.param(
        """
        model = RandomForestClassifier(n_estimators=500, max_depth=8, random_state=0)
        model.fit(X_train, y_train)
        auc = roc_auc_score(y_test, model.predict_proba(X_test)[:, 1])
        """,
        Expected(
            reads={
                "RandomForestClassifier",
                "X_train",
                "y_train",
                "roc_auc_score",
                "y_test",
                "X_test",
            },
            writes={"model", "auc"},
            kwargs=[
                ("RandomForestClassifier", "n_estimators", 500),
                ("RandomForestClassifier", "max_depth", 8),
                ("RandomForestClassifier", "random_state", 0),
            ],
            computed={"model", "auc"},
            mutated={"model"},
            fitted={"model"},
        ),
        id="sklearn-train-evaluate",
    ),
    pytest.param(
        """
        import numpy as np
        import os.path
        import matplotlib.pyplot as plt
        from sklearn.model_selection import train_test_split as tts, GridSearchCV
        from pathlib import *
        np.random.seed(0)
        os.makedirs(OUT_DIR, exist_ok=True)
        """,
        Expected(
            reads={"OUT_DIR"},
            writes={"np", "os", "plt", "tts", "GridSearchCV"},
            kwargs=[("os.makedirs", "exist_ok", True)],
            # os.makedirs is no read-only method, so its argument counts as modified.
            mutated={"OUT_DIR"},
        ),
        id="imports",
    ),
    pytest.param(
        """
        df = raw.copy()
        df["age"] = df["age"].fillna(df["age"].median())
        df.loc[df["income"] < 0, "income"] = 0
        df.drop(columns=["id"], inplace=True)
        counts = df["segment"].value_counts()
        del df["tmp"]
        raw.head()
        lookup.update(extra)
        """,
        Expected(
            reads={"raw", "lookup", "extra"},
            writes={"df", "counts"},
            kwargs=[("df.drop", "columns", ["id"]), ("df.drop", "inplace", True)],
            computed={"df", "counts"},
            mutated={"df", "lookup", "extra"},
        ),
        id="pandas-preprocessing",
    ),
    pytest.param(
        """
        train["x"].fillna(0, inplace=True)
        test["x"].fillna(0, inplace=False)
        valid.sort_values("x", inplace=flag)
        arr.reshape(-1, 1)
        np.log(a, out=b)
        np.log(c, d)
        """,
        Expected(
            reads={"train", "test", "valid", "flag", "arr", "np", "a", "b", "c", "d"},
            kwargs=[("", "inplace", True), ("", "inplace", False)],
            mutated={"train", "valid", "b", "d"},
        ),
        id="inplace-and-out-arguments",
    ),
    pytest.param(
        """
        X = df[features]
        X["ratio"] = X["a"] / X["b"]
        view = arr[:10]
        view += 1
        first = frames[0]
        first.loc[:, "z"] = 0
        """,
        Expected(
            reads={"df", "features", "arr", "frames"},
            writes={"X", "view", "first"},
            computed={"X", "view", "first"},
            # A view or element modified in place modifies the object it came from.
            mutated={"X", "df", "view", "arr", "first", "frames"},
        ),
        id="views-and-aliases",
    ),
    pytest.param(
        """
        clean = df.dropna()
        clean["y"] = 1
        copy_ = df.copy()
        copy_.x = 2
        """,
        Expected(
            reads={"df"},
            writes={"clean", "copy_"},
            computed={"clean", "copy_"},
            mutated={"clean", "copy_"},
        ),
        id="fresh-results-do-not-alias",
    ),
    pytest.param(
        """
        scaler = StandardScaler()
        pipe = Pipeline([("scale", scaler), ("clf", clf)])
        pipe.fit(X, y)
        pipe.named_steps["clf"].set_params(C=0.5)
        preds = pipe.predict(X_test)
        """,
        Expected(
            reads={"StandardScaler", "Pipeline", "clf", "X", "y", "X_test"},
            writes={"scaler", "pipe", "preds"},
            kwargs=[("", "C", 0.5)],
            computed={"scaler", "pipe", "preds"},
            # Pipeline.fit fits the step objects in place.
            mutated={"pipe", "scaler", "clf"},
            fitted={"pipe"},
        ),
        id="pipeline-holds-its-steps",
    ),
    pytest.param(
        """
        fig, axes = plt.subplots(1, 2, figsize=(10, 4))
        axes[0].hist(df["age"], bins=30)
        axes[1].scatter(df["x"], df["y"], alpha=0.5)
        axes[1].set_title("x vs y")
        sns.heatmap(corr, annot=True, ax=heat_ax)
        plt.tight_layout()
        plt.show()
        """,
        Expected(
            reads={"plt", "df", "sns", "corr", "heat_ax"},
            writes={"fig", "axes"},
            kwargs=[
                ("plt.subplots", "figsize", [10, 4]),
                ("", "bins", 30),
                ("", "alpha", 0.5),
                ("sns.heatmap", "annot", True),
            ],
            computed={"fig", "axes"},
            mutated={"axes", "heat_ax"},
        ),
        id="matplotlib",
    ),
    pytest.param(
        """
        def evaluate(model, X=X_valid):
            preds = model.predict(X)
            return metric(y_valid, preds) * SCALE

        SCALE = 100
        score = evaluate(clf)
        """,
        Expected(
            reads={"X_valid", "metric", "y_valid", "clf"},
            writes={"evaluate", "SCALE", "score"},
            literals={"SCALE": 100},
            computed={"score"},
            # Arguments of unknown callables may be modified.
            mutated={"clf", "y_valid"},
        ),
        id="function-reads-globals-when-called",
    ),
    pytest.param(
        """
        def scaled(v):
            return v * factor + helper(v)
        first = scaled(1)
        factor = 3
        def helper(v):
            return v - offset
        """,
        Expected(
            reads={"factor", "helper", "offset"},
            writes={"scaled", "first", "factor", "helper"},
            literals={"factor": 3},
            computed={"first"},
        ),
        id="function-called-before-its-globals-are-bound",
    ),
    pytest.param(
        """
        def outer(data):
            total = 0
            def inner(x):
                nonlocal total
                total += x * weight
                return [total for _ in range(x)]
            results = [inner(v) for v in data]
            lam = lambda t: t + bias
            return results, lam
        """,
        Expected(reads={"weight", "bias"}, writes={"outer"}),
        id="nested-scopes",
    ),
    pytest.param(
        """
        def bump():
            global counter, history
            counter += 1
            history = []
            cache.clear()
        bump()
        """,
        Expected(
            reads={"counter", "cache"},
            writes={"bump", "counter", "history"},
            mutated={"counter", "cache"},
        ),
        id="global-declarations",
    ),
    pytest.param(
        """
        class Wrapper(BaseEstimator):
            threshold = DEFAULT_THRESHOLD
            margin = threshold * 2
            def __init__(self, model):
                self.model = model
            def predict(self, X):
                return (self.model.predict_proba(X)[:, 1] > self.threshold + margin).astype(int)
            def clone(self):
                return Wrapper(clone(self.model))
        w = Wrapper(base_model)
        w.model.fit(X, y)
        """,
        Expected(
            # Methods do not see class attributes: `margin` in predict is a global.
            reads={"BaseEstimator", "DEFAULT_THRESHOLD", "margin", "clone", "base_model", "X", "y"},
            writes={"Wrapper", "w"},
            computed={"w"},
            mutated={"w", "base_model"},
            fitted={"w"},
        ),
        id="class-scope",
    ),
    pytest.param(
        """
        names = [c for c in df.columns if c.startswith("f_")]
        lookup = {name: i for i, name in enumerate(names)}
        if any((bad := n) in blacklist for n in names):
            print(bad)
        total = sum(x for row in grid for x in row)
        """,
        Expected(
            reads={"df", "blacklist", "bad", "grid"},
            writes={"names", "lookup", "bad", "total"},
            computed={"names", "lookup", "bad", "total"},
            loop_targets={"c", "i", "name", "n", "row", "x"},
        ),
        id="comprehensions-and-walrus",
    ),
    pytest.param(
        """
        if (n := len(data)) > LIMIT:
            data = data[:LIMIT]
        print(n, data)
        threshold = (t := 0.5)
        """,
        Expected(
            reads={"data", "LIMIT"},
            writes={"n", "data", "threshold", "t"},
            literals={"threshold": 0.5, "t": 0.5},
            computed={"n", "data"},
        ),
        id="walrus-at-module-level",
    ),
    pytest.param(
        """
        x = x + 1
        y: int = 3
        z: float
        a, b = 1, 2
        (c, d), e = (1, [2, 3]), {"k": -1.5}
        f = g = 10 ** -3
        h, *rest = 1, 2, 3
        lr = 1e-3
        seed = 42
        seed = SEEDS[0]
        name = "rf"
        del x
        """,
        Expected(
            reads={"x", "SEEDS"},
            writes={"x", "y", "a", "b", "c", "d", "e", "f", "g", "h", "rest", "lr", "seed", "name"},
            literals={
                "y": 3,
                "a": 1,
                "b": 2,
                "c": 1,
                "d": [2, 3],
                "e": {"k": -1.5},
                "f": 0.001,
                "g": 0.001,
                "lr": 0.001,
                "name": "rf",
            },
            computed={"seed"},
        ),
        id="assignments-and-literals",
    ),
    pytest.param(
        """
        n_folds = 5
        for fold in range(n_folds):
            lr = 0.1
            score = cv_score(fold, lr=lr)
            best = max(best, score)
        else:
            done = True
        while running:
            step += 1
        print(score)
        """,
        Expected(
            reads={"cv_score", "best", "running", "step", "score"},
            writes={"n_folds", "fold", "lr", "score", "best", "done", "step"},
            literals={"n_folds": 5, "done": True},
            computed={"score", "best", "step"},
            loop_targets={"fold"},
            # cv_score(fold) is a metric-like callee (`*_score`): its arguments are left alone.
            mutated={"step"},
        ),
        id="loops",
    ),
    pytest.param(
        """
        if use_gpu:
            device = "cuda"
        else:
            device = "cpu"
        if verbose:
            level = 2
        print(device, level)
        if mode == "a":
            result = 1
        elif mode == "b":
            raise ValueError(mode)
        else:
            result = 2
        print(result)
        """,
        Expected(
            reads={"use_gpu", "verbose", "level", "mode"},
            writes={"device", "level", "result"},
            literals={"device": "cpu", "level": 2, "result": 2},
        ),
        id="branches-bind-definitely-only-on-every-path",
    ),
    pytest.param(
        """
        try:
            booster = xgb.train(params, dtrain, num_boost_round=100)
        except xgb.core.XGBoostError as err:
            booster = None
            failure = str(err)
        else:
            failure = None
        finally:
            elapsed = clock() - start
        print(booster, failure, err, elapsed)
        """,
        Expected(
            reads={"xgb", "params", "dtrain", "err", "clock", "start"},
            writes={"booster", "err", "failure", "elapsed"},
            literals={"booster": None, "failure": None},
            kwargs=[("xgb.train", "num_boost_round", 100)],
            computed={"elapsed"},
            mutated={"params", "dtrain"},
        ),
        id="try-except-else-finally",
    ),
    pytest.param(
        """
        try:
            import lightgbm as lgb
        except ImportError:
            lgb = None
        with open(CONFIG_PATH) as fh:
            cfg = yaml.safe_load(fh)
        with torch.no_grad(), timer() as t:
            logits = net(batch)
        print(lgb, cfg, t)
        """,
        Expected(
            reads={"CONFIG_PATH", "yaml", "torch", "timer", "net", "batch"},
            writes={"lgb", "fh", "cfg", "t", "logits"},
            literals={"lgb": None},
            computed={"cfg", "logits"},
            mutated={"batch"},
        ),
        id="try-import-and-with",
    ),
    pytest.param(
        """
        match config:
            case {"kind": "rf", "depth": depth}:
                model = make_forest(depth)
            case [first, *others]:
                model = first
            case Point(x=0, y=yy) if yy > LIMIT:
                model = None
            case _:
                raise ValueError(config)
        print(model, depth)
        """,
        Expected(
            reads={"config", "make_forest", "Point", "LIMIT", "depth"},
            writes={"depth", "model", "first", "others", "yy"},
            literals={"model": None},
            mutated={"depth", "config"},
        ),
        id="match",
    ),
    pytest.param(
        """
        resp = await client.fetch(URL, timeout=10)
        async for chunk in resp.stream():
            sizes.append(len(chunk))
        async with lock:
            shared["n"] = len(sizes)
        data = [x async for x in agen()]
        """,
        Expected(
            reads={"client", "URL", "sizes", "lock", "shared", "agen"},
            writes={"resp", "chunk", "data"},
            kwargs=[("client.fetch", "timeout", 10)],
            computed={"resp", "data"},
            loop_targets={"chunk", "x"},
            mutated={"client", "URL", "resp", "sizes", "shared"},
        ),
        id="top-level-await",
    ),
    pytest.param(
        """
        len = 3
        print(len, max(values), range)
        print(__name__, display, get_ipython)
        """,
        Expected(reads={"values"}, writes={"len"}, literals={"len": 3}),
        id="builtins-are-not-reads",
    ),
    pytest.param(
        """
        @functools.lru_cache(maxsize=128)
        def cached(n, k=K):
            return n * FACTOR
        @dataclass
        class Config:
            depth: int = DEPTH
        """,
        Expected(
            reads={"functools", "K", "FACTOR", "dataclass", "DEPTH"},
            writes={"cached", "Config"},
            kwargs=[("functools.lru_cache", "maxsize", 128)],
        ),
        id="decorators",
    ),
    pytest.param(
        """
        models = {"rf": rf, "lr": lr_model}
        for name, m in models.items():
            m.fit(X, y)
            scores[name] = m.score(X_test, y_test)
        best = sorted(models.values(), key=lambda m: -scores[m])[0]
        """,
        Expected(
            reads={"rf", "lr_model", "X", "y", "scores", "X_test", "y_test"},
            writes={"models", "name", "m", "best"},
            computed={"models", "best"},
            loop_targets={"name", "m"},
            mutated={"m", "models", "rf", "lr_model", "scores"},
            fitted={"m"},
        ),
        id="loop-over-models",
    ),
]


@pytest.mark.parametrize(("code", "expected"), CELLS)
def test_realistic_cells(code: str, expected: Expected) -> None:
    check(code, expected)


@pytest.mark.parametrize(
    ("code", "reads"),
    [
        ("x = 1\ndel x\nprint(x)\n", {"x"}),
        ("for i in r:\n    v = i\nelse:\n    w = 1\nprint(i, v, w)\n", {"r", "i", "v", "w"}),
        ("while c:\n    v = 1\nprint(v)\n", {"c", "v"}),
        ("with cm() as v:\n    w = v\nprint(v, w)\n", {"cm"}),
        ("try:\n    v = f()\nexcept E:\n    raise\nprint(v)\n", {"f", "E"}),
        ("try:\n    v = f()\nexcept E:\n    pass\nprint(v)\n", {"f", "E", "v"}),
        ("try:\n    pass\nfinally:\n    v = 1\nprint(v)\n", set()),
        (
            "for i in r:\n    if i:\n        continue\n    else:\n        v = i\n    print(v)\n",
            {"r"},
        ),
    ],
)
def test_reads_need_a_binding_on_every_path(code: str, reads: set[str]) -> None:
    assert analyze_cell(code).reads == reads


def test_decorated_function_may_run_at_definition() -> None:
    plain = "def f():\n    return later\nlater = 1\n"
    assert analyze_cell(plain).reads == frozenset()
    assert analyze_cell("@register\n" + plain).reads == {"register", "later"}


def test_methods_resolve_globals_when_the_class_is_used() -> None:
    code = "class A:\n    def m(self):\n        return cfg\nobj = A()\ncfg = 1\n"
    assert analyze_cell(code).reads == {"cfg"}
    assert analyze_cell(code.replace("obj = A()\n", "")).reads == frozenset()


def test_time_magic_code_is_analysed() -> None:
    code = ipython("%time model.fit(X, y)\n")
    assert code == "get_ipython().run_line_magic('time', 'model.fit(X, y)')\n"
    check(code, Expected(reads={"model", "X", "y"}, mutated={"model"}, fitted={"model"}))


def test_timeit_options_are_skipped() -> None:
    code = ipython("%timeit -n 10 -r 3 pipe.fit(X, y)\n")
    check(code, Expected(reads={"pipe", "X", "y"}, mutated={"pipe"}, fitted={"pipe"}))


def test_cell_magics_running_python() -> None:
    code = ipython("%%capture out\nmodel.fit(X, y)\nacc = model.score(Xt, yt)\n")
    check(
        code,
        Expected(
            reads={"model", "X", "y", "Xt", "yt"},
            writes={"acc", "out"},
            computed={"acc"},
            mutated={"model"},
            fitted={"model"},
        ),
    )
    check(
        ipython("%%time\nn = 10\nd[n] = f(n)\n"),
        Expected(reads={"d", "f"}, writes={"n"}, literals={"n": 10}, mutated={"d", "n"}),
    )


def test_other_magics_and_shell_escapes() -> None:
    code = ipython("%matplotlib inline\nfiles = !ls {folder}\ndf?\n")
    assert "get_ipython()" in code
    check(code, Expected(writes={"files"}, computed={"files"}))


def test_get_ipython_is_never_a_read() -> None:
    result = analyze_cell("get_ipython().system('ls')\n")
    assert result.reads == frozenset()


def test_syntax_error() -> None:
    result = analyze_cell("def f(:\n    return 1\n")
    assert result == CellAnalysis(
        syntax_ok=False,
        reads=frozenset(),
        writes=frozenset(),
        literal_assignments={},
        literal_kwargs=(),
        computed=frozenset(),
        loop_targets=frozenset(),
        maybe_mutated=frozenset(),
        fitted=frozenset(),
        lines=2,
    )


@pytest.mark.parametrize(
    "code",
    ["x = 1\0\n", "x = '\ud800'\n", "(" * 500 + ")" * 500, "%time x\n", "if x:\n  y\n z\n"],
)
def test_unparseable_inputs(code: str) -> None:
    result = analyze_cell(code)
    assert not result.syntax_ok
    assert result.reads == result.writes == result.maybe_mutated == frozenset()


def test_pathologically_deep_code_does_not_raise() -> None:
    deep = "x = " + "-" * 50_000 + "1\n"
    result = analyze_cell(deep)
    assert result.lines == 1
    chained = "y = a" + ".b" * 20_000 + "\n"
    assert analyze_cell(chained).lines == 1


def test_huge_constant_expressions_are_not_folded() -> None:
    started = time.perf_counter()
    result = analyze_cell("a = 9 ** 9 ** 9 ** 9\nb = 2 ** 64\nc = 10 ** 400 * 10 ** 4000\n")
    assert time.perf_counter() - started < 1.0
    assert dict(result.literal_assignments) == {"b": 2**64}
    assert result.computed == {"a", "c"}


def test_lines() -> None:
    assert analyze_cell("").lines == 0
    assert analyze_cell("x = 1").lines == 1
    assert analyze_cell("x = 1\n").lines == 1
    assert analyze_cell("x = 1\n\ny = 2\n").lines == 3
    assert analyze_cell("x = 1\r\ny = 2").lines == 2


def test_results_are_cached_by_source_text() -> None:
    code = "cache_probe_value = 12345\n"
    first = analyze_cell(code)
    hits = analyze_cell.cache_info().hits
    assert analyze_cell(code) is first
    assert analyze_cell.cache_info().hits == hits + 1
    other = analyze_cell(code.replace("12345", "54321"))
    assert other is not first
    assert dict(other.literal_assignments) == {"cache_probe_value": 54321}
    assert analyze_cell.cache_info().maxsize == 1024


def test_results_are_immutable() -> None:
    result = analyze_cell("lr = 0.1\n")
    with pytest.raises(TypeError):
        result.literal_assignments["lr"] = 1.0  # type: ignore[index]
    with pytest.raises(AttributeError):
        result.reads = frozenset()  # type: ignore[misc]


def test_literal_kwargs_keep_source_order_and_skip_double_star() -> None:
    result = analyze_cell(
        "pipe = make_pipeline(StandardScaler(with_mean=False), SVC(C=1.0, **opts), verbose=True)\n"
        "f(k=1, *g(j=2))\n"
    )
    assert result.literal_kwargs == (
        LiteralKwarg("StandardScaler", "with_mean", False, 1, "StandardScaler", "StandardScaler"),
        LiteralKwarg("SVC", "C", 1.0, 1, "SVC", "SVC"),
        LiteralKwarg("make_pipeline", "verbose", True, 1, "make_pipeline", "make_pipeline"),
        LiteralKwarg("f", "k", 1, 2, "f", "f"),
        LiteralKwarg("g", "j", 2, 2, "g", "g"),
    )


def test_literal_kwargs_only_where_the_cell_runs_them() -> None:
    code = "def train():\n    return fit(epochs=3)\nlam = lambda: f(a=1)\nx = [g(b=2) for _ in r]\n"
    assert analyze_cell(code).literal_kwargs == (LiteralKwarg("g", "b", 2, 4, "g", "g"),)


@pytest.mark.parametrize(
    ("source", "value"),
    [
        ("1", 1),
        ("-1", -1),
        ("+2.5", 2.5),
        ("1e-3", 0.001),
        ("10 ** -3", 0.001),
        ("2 ** 10", 1024),
        ("60 * 60 * 24", 86400),
        ("1 / 4", 0.25),
        ("7 // 2 % 3", 0),
        ("'a' 'b'", "ab"),
        ("'a' + 'b'", "ab"),
        ("f'plain'", "plain"),
        ("True", True),
        ("None", None),
        ("(1, 2)", [1, 2]),
        ("[1, (2, 'x')]", [1, [2, "x"]]),
        ("{3, 1, 3, True}", [3, 1]),
        ("{'a': [1, {'b': None}]}", {"a": [1, {"b": None}]}),
        ("-(-3)", 3),
    ],
)
def test_literal_value(source: str, value: Any) -> None:
    node = ast.parse(source, mode="eval").body
    assert is_literal(node)
    result = literal_value(node)
    assert result == value
    assert type(result) is type(value)


@pytest.mark.parametrize(
    "source",
    [
        "x",
        "-x",
        "f(1)",
        "b'bytes'",
        "1j",
        "...",
        "1e999",
        "-1e999",
        "1e308 * 10",
        "1 / 0",
        "(-8) ** 0.5",
        "'a' * 3",
        "not True",
        "-True",
        "{1: 'a'}",
        "{**d}",
        "[*xs]",
        "{[1]}",
        "f'{x}'",
        "2 ** 100000",
        "1 << 3",
    ],
)
def test_not_literal(source: str) -> None:
    node = ast.parse(source, mode="eval").body
    assert not is_literal(node)
    with pytest.raises(ValueError, match="not a literal"):
        literal_value(node)


REALISTIC_CELL = """
import numpy as np
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import roc_auc_score, accuracy_score

SEED = 42
features = ["age", "income", "tenure", "balance"]
df = raw.copy()
df["income"] = df["income"].fillna(df["income"].median())
df.dropna(subset=features, inplace=True)
X = df[features].to_numpy()
y = (df["churn"] == "yes").astype(int).to_numpy()
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=SEED)

def evaluate(model, name):
    proba = model.predict_proba(X_test)[:, 1]
    scores[name] = roc_auc_score(y_test, proba)
    return scores[name]

scores = {}
for depth in [4, 8, None]:
    model = RandomForestClassifier(n_estimators=300, max_depth=depth, random_state=SEED)
    model.fit(X_train, y_train)
    evaluate(model, f"rf-{depth}")
best = max(scores, key=scores.get)
auc = scores[best]
acc = accuracy_score(y_test, model.predict(X_test))
summary = {k: round(v, 3) for k, v in scores.items() if v > 0.5}
fig, ax = plt.subplots(figsize=(6, 4))
ax.bar(list(summary), list(summary.values()))
plt.show()
"""


def test_realistic_cell_summary() -> None:
    result = analyze_cell(REALISTIC_CELL)
    assert result.reads == {"raw", "train_test_split", "model", "plt"}
    assert result.fitted == {"model"}
    assert result.maybe_mutated == {"df", "model", "scores", "depth", "SEED", "ax"}
    assert result.loop_targets == {"depth", "k", "v"}
    assert {"auc", "acc", "best", "summary"} <= result.computed
    assert dict(result.literal_assignments) == {
        "SEED": 42,
        "features": ["age", "income", "tenure", "balance"],
        "scores": {},
    }


def test_analysis_is_fast() -> None:
    analyze = analyze_cell.__wrapped__
    for _ in range(5):
        analyze(REALISTIC_CELL)
    best = min(_cpu_time(analyze, REALISTIC_CELL) for _ in range(20))
    # Typically well under a millisecond for this 30-line cell; the bound only catches
    # accidental quadratic behaviour on a loaded machine.
    assert best < 0.02


def _cpu_time(fn: Any, arg: str) -> float:
    started = time.process_time()
    fn(arg)
    return time.process_time() - started


# --------------------------------------------------------------------------- properties

_SNIPPETS = [
    "x = 1",
    "y = x + z",
    "for i in range(n):",
    "    acc += i",
    "if flag:",
    "    model.fit(X, y)",
    "else:",
    "    del x",
    "def f(a, b=c):",
    "    global g",
    "    g = a",
    "    return [k for k in a if (w := k)]",
    "class C(Base):",
    "    attr = other",
    "    def m(self): return attr",
    "try:",
    "    import numpy as np",
    "except Exception as e:",
    "    pass",
    "finally:",
    "    df['c'] = 1",
    "with open(p) as fh:",
    "    data = fh.read()",
    "match v:",
    "    case [a, *rest]: b = a",
    "    case {'k': kk, **more}: pass",
    "    case _: pass",
    "await thing(timeout=3)",
    "lam = lambda q: q + outer",
    "get_ipython().run_line_magic('time', 'x = f(y)')",
    "while x: x -= 1",
    "a, *b = c",
    "print(*args, **kw)",
    "obj.attr[i:j] = vals",
    "@deco(arg=1)",
    "async def coro(): await other()",
    "nonlocal zz",
    "return 5",
    "yield 1",
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text())
def test_never_raises_on_arbitrary_text(code: str) -> None:
    result = analyze_cell(code)
    assert isinstance(result, CellAnalysis)
    assert result.lines == analyze_cell(code).lines


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(_SNIPPETS), max_size=25))
def test_invariants_on_python_like_cells(lines: list[str]) -> None:
    code = "\n".join(lines) + "\n"
    result = analyze_cell(code)
    assert isinstance(result, CellAnalysis)
    if not result.syntax_ok:
        return
    names = (
        result.reads | result.writes | result.computed | result.loop_targets
        | result.maybe_mutated | result.fitted | set(result.literal_assignments)
    )  # fmt: skip
    assert all(name.isidentifier() and not keyword.iskeyword(name) for name in names)
    assert not result.computed & set(result.literal_assignments)
    assert result.computed <= result.writes
    assert set(result.literal_assignments) <= result.writes
    assert "get_ipython" not in result.reads
    assert not result.reads & {"print", "len", "range", "Exception", "open"}


def test_lines_of_calls_bindings_and_uses() -> None:
    code = (
        "model = SVC(\n"
        "    C=1.0,\n"
        ")\n"
        "for k in [1, 2]:\n"
        "    km = KMeans(k, 0, *rest, 5, n_init=1)\n"
        "scores = cross_val_score(model, X, y=labels, cv=5)\n"
        "print(model)\n"
        "search.best_estimator_.predict(X)\n"
        "def later():\n"
        "    return f(unused, 3)\n"
        "del km\n"
    )
    result = analyze_cell(code)
    assert [(k.callee, k.keyword, k.line) for k in result.literal_kwargs] == [
        ("SVC", "C", 3),
        ("KMeans", "n_init", 5),
        ("cross_val_score", "cv", 6),
    ]
    # `k` is a name; after `*rest` the positions are unknown; `f(unused, 3)` may never run.
    assert [(p.callee, p.position, p.value, p.line) for p in result.literal_positionals] == [
        ("KMeans", 1, 0, 5),
    ]
    assert dict(result.used) == {"k": 5, "model": 6, "X": 6, "labels": 6, "search": 8}
    assert dict(result.bound_lines) == {
        "model": (3, 3), "k": (4, 4), "km": (5, 11), "scores": (6, 6), "later": (9, 9),
    }  # fmt: skip


def test_code_inside_a_magic_counts_as_the_magic_call_line() -> None:
    code = ipython("x = 1\n%time model = SVC(C=2.0).fit(X, y)\n")
    result = analyze_cell(code)
    assert [(k.keyword, k.line) for k in result.literal_kwargs] == [("C", 2)]
    assert result.bound_lines["model"] == (2, 2) and result.used["X"] == 2


def test_positional_literals_only_for_named_callees_and_small_values() -> None:
    code = "KMeans(6)\nmake()(7)\nnp.array([" + "0, " * 40 + "])\nf(-1, 'a', [1, 2])\n"
    result = analyze_cell(code)
    assert [(p.callee, p.position, p.value) for p in result.literal_positionals] == [
        ("KMeans", 0, 6),
        ("f", 0, -1),
        ("f", 1, "a"),
        ("f", 2, [1, 2]),
    ]
