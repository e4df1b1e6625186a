"""Tutorial-style notebooks (tests/corpus) run untracked and with every code cell tracked, in a
real kernel: the same outputs cell by cell, and runs that record the model's configuration
(hyperparameters, cv and test_size, positional arguments, a search's best params) and nothing
of the plotting or pandas calls around it."""

from __future__ import annotations

import ast
import types
from collections.abc import Iterator

import pytest

from nbmodelbook.record import Candidate, Evaluation, RunRecord
from tests.corpus import Expected, breast_cancer, digits, iris, polynomial
from tests.integration.conftest import Runner
from tests.integration.same_outputs import assert_same_outputs, tracked

pytestmark = pytest.mark.integration

CORPUS = [digits, iris, breast_cancer, polynomial]


def _short_name(module: types.ModuleType) -> str:
    return module.__name__.rsplit(".", 1)[-1]


def _cells(module: types.ModuleType, *, track: bool) -> list[tuple[str, list[str]]]:
    name = _short_name(module)
    first = "%load_ext nbmodelbook" if track else "pass"
    cells = [(first, [])]
    for index, source in enumerate(module.CELLS):
        tags = ["raises-exception"] if index in module.FAILING else []
        cells.append((tracked(source, f"{name}-{index}") if track else source, tags))
    return cells


def _calls(node: ast.AST) -> Iterator[ast.Call]:
    for child in ast.walk(node):
        if isinstance(child, ast.Call):
            yield child


def _root(func: ast.expr) -> str | None:
    while True:
        if isinstance(func, ast.Name):
            return func.id
        if isinstance(func, ast.Attribute | ast.Subscript):
            func = func.value
        elif isinstance(func, ast.Call):
            func = func.func
        else:
            return None


def _dotted(func: ast.expr) -> str:
    parts = []
    while isinstance(func, ast.Attribute):
        parts.append(func.attr)
        func = func.value
    if not isinstance(func, ast.Name):
        return "call"
    return ".".join([func.id, *reversed(parts)])


def noise_keys(source: str, noise_roots: frozenset[str]) -> set[str]:
    """The keys a literal argument of a plotting, display or pandas call in `source` would be
    recorded under: the keyword, or the keyword qualified by the callee."""
    keys = set()
    for call in _calls(ast.parse(source)):
        if _root(call.func) in noise_roots:
            for keyword in call.keywords:
                if keyword.arg is not None:
                    keys |= {keyword.arg, f"{_dotted(call.func)}.{keyword.arg}"}
    return keys


def check_expected(
    run: RunRecord, expected: Expected, evidence: tuple[list[Evaluation], list[Candidate]]
) -> None:
    for key, value in expected.params.items():
        assert key in run.params, (run.name, key, sorted(run.params))
        assert run.params[key] == value, (run.name, key)
    assert not expected.absent & set(run.params), run.name
    for prefix in expected.absent_prefixes:
        leaked = [key for key in [*run.params, *run.metrics] if key.startswith(prefix)]
        assert not leaked, (run.name, leaked)
    assert expected.metrics <= set(run.metrics), (run.name, sorted(run.metrics))
    evaluations, candidates = evidence
    assert {e.metric for e in evaluations} == expected.evaluations, run.name
    assert len(candidates) == expected.candidates, run.name
    assert sum(len(c.fold_scores) for c in candidates) == expected.folds, run.name


@pytest.mark.parametrize("module", CORPUS, ids=_short_name)
def test_corpus_notebook_tracked_and_untracked(
    run_notebook: Runner, module: types.ModuleType
) -> None:
    name = _short_name(module)
    plain = run_notebook(*_cells(module, track=False), name=f"{name}-plain.ipynb")
    with_track = run_notebook(*_cells(module, track=True), name=f"{name}-tracked.ipynb")
    assert_same_outputs(plain, with_track)
    assert with_track.stderr() == plain.stderr()  # no message of ours

    store = with_track.store()
    runs = {}
    for run_id in with_track.run_ids():
        run = store.get_run(run_id)
        assert run is not None
        runs[run.name] = run
    assert set(runs) == {f"{name}-{index}" for index in range(len(module.CELLS))}

    noise_seen = 0
    for index, source in enumerate(module.CELLS):
        run = runs[f"{name}-{index}"]
        assert (run.status.value == "error") is (index in module.FAILING), run.name
        noise = noise_keys(source, module.NOISE_ROOTS)
        noise_seen += len(noise)
        assert not noise & set(run.params), (run.name, sorted(noise & set(run.params)))
        expected = module.EXPECTED.get(index, Expected())
        check_expected(run, expected, store.evidence(run.run_id))
    assert noise_seen >= 10  # the notebook does plot and reshape
