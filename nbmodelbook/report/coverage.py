"""Framework coverage: which elements of a governance framework (a model card, SR 11-7, Annex IV
of the EU AI Act, an organisation's own template) the review covers, and what is still to write.

A framework is a data file (TOML, read with the standard library): its elements, each with the
clause it comes from, the evidence it requires and what to write when that evidence is missing.
The built-in ones live in `report/frameworks/`; `--framework path.toml` reads any other.

Evidence is named by key and looked up by a registered probe, `probe(review) -> str | None`: a
short description of what in the review covers it, or None. All of an element's keys found: it
is covered; some: partly covered; none: missing. An element a notebook cannot hold (a
declaration of conformity) is listed as outside the notebook, with its clause, and never counts
as missing. Pure: loading reads only the framework file; evaluating reads only the review.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

from nbmodelbook.errors import UsageError
from nbmodelbook.report.evidence_view import format_level
from nbmodelbook.report.model import (
    AnnotationKind,
    CoverageStatus,
    ElementCoverage,
    FrameworkCoverage,
    Review,
)

__all__ = [
    "PROBES",
    "ElementSpec",
    "Framework",
    "FrameworkError",
    "Probe",
    "builtin_frameworks",
    "coverage_view",
    "evaluate_framework",
    "frameworks_coverage",
    "load_framework",
    "missing_elements",
    "notebook_frameworks",
]


class FrameworkError(UsageError):
    """A framework that cannot be used: an unknown name, an unreadable or malformed file."""


# ---------------------------------------------------------------------------
# The evidence vocabulary

Find = Callable[[Review], str | None]


@dataclass(frozen=True, slots=True)
class Probe:
    key: str  # "annotation:intended-use", "fact:training-data", "evidence:interval", ...
    find: Find
    fix: str  # what to do when it is missing, naming the annotation kind or the call


PROBES: dict[str, Probe] = {}


def register_probe(key: str, fix: str) -> Callable[[Find], Find]:
    def register(find: Find) -> Find:
        PROBES[key] = Probe(key, find, fix)
        return find

    return register


def _cells(cells: Sequence[int | None]) -> str:
    numbers = sorted({cell + 1 for cell in cells if cell is not None})
    if not numbers:
        return ""
    word = "cell" if len(numbers) == 1 else "cells"
    return f" ({word} {', '.join(str(n) for n in numbers)})"


def _annotations_of(review: Review, kind: AnnotationKind) -> list[int | None]:
    """The cells of the review's annotations of `kind`, wherever the review keeps them."""
    if kind is AnnotationKind.DECISION:
        return [decision.annotation.cell_index for decision in review.decisions]
    if kind is AnnotationKind.REJECTED:
        return [rejection.annotation.cell_index for rejection in review.rejections]
    if kind is AnnotationKind.CRITERION:
        return [criterion.annotation.cell_index for criterion in review.criteria]
    cells: list[int | None] = [note.cell_index for note in review.notes if note.kind is kind]
    cells += [
        fact.cell_index
        for fact in review.facts
        if fact.source == "annotation" and fact.key == kind.value
    ]
    return cells


def _annotation_probe(kind: AnnotationKind) -> Find:
    def find(review: Review) -> str | None:
        cells = _annotations_of(review, kind)
        if not cells:
            return None
        count = len(cells)
        what = (
            f"the {kind.marker} annotation" if count == 1 else f"{count} {kind.marker} annotations"
        )
        return what + _cells(cells)

    return find


_ANNOTATION_FIXES: dict[AnnotationKind, str] = {
    AnnotationKind.DECISION: "write a `> [!DECISION]` annotation: the model chosen, citing its "
    "run (`run:NAME`) and the metric it is judged on (`metric:NAME`)",
    AnnotationKind.REJECTED: "write a `> [!REJECTED]` annotation for each alternative set "
    "aside, citing its run and saying why",
    AnnotationKind.RISK: "write a `> [!RISK]` annotation: what could go wrong when the model is "
    "used, and for whom",
    AnnotationKind.LIMITATION: "write a `> [!LIMITATION]` annotation: where the model is known "
    "not to work, or was not tested",
    AnnotationKind.ASSUMPTION: "write an `> [!ASSUMPTION]` annotation: what the model takes for "
    "granted about its data and its use",
    AnnotationKind.DATA: "write a `> [!DATA]` annotation: where the data come from, how they "
    "were selected, labelled and cleaned",
    AnnotationKind.METHOD: "write a `> [!METHOD]` annotation: the modelling approach and why it "
    "suits the problem",
    AnnotationKind.CONTEXT: "write a `> [!CONTEXT]` annotation: the setting the model is built for",
    AnnotationKind.INTENDED_USE: "write an `> [!INTENDED-USE]` annotation: what the model is for "
    "and who uses its outputs",
    AnnotationKind.OUT_OF_SCOPE: "write an `> [!OUT-OF-SCOPE]` annotation: the uses the model is "
    "not meant for",
    AnnotationKind.TARGET: "write a `> [!TARGET]` annotation: what the model predicts, and how "
    "that outcome is defined",
    AnnotationKind.OWNER: "write an `> [!OWNER]` annotation: the person or team who answers for "
    "the model",
    AnnotationKind.VERSION: "write a `> [!VERSION]` annotation: the model's version and how it "
    "relates to earlier ones",
    AnnotationKind.OVERSIGHT: "write an `> [!OVERSIGHT]` annotation: how people oversee the "
    "model's outputs and when they override them",
    AnnotationKind.MONITORING: "write a `> [!MONITORING]` annotation: what is monitored once the "
    "model is in use, how often, and what triggers a review",
    AnnotationKind.CRITERION: "write a `> [!CRITERION]` annotation: an acceptance criterion the "
    "report checks, e.g. `auc >= 0.95`",
}

for _kind in AnnotationKind:
    register_probe(f"annotation:{_kind.value}", _ANNOTATION_FIXES[_kind])(_annotation_probe(_kind))


# Facts the review fills in from the runs (`Fact.source == "captured"`).
_CAPTURED_FIXES: dict[str, str] = {
    "training-data": "fit the chosen model inside its `%%track` cell on data the cell reads, and "
    "cite the run in a `> [!DECISION]` annotation: the training data are then captured",
    "evaluation-data": "score the chosen run with a `sklearn.metrics` call inside its `%%track` "
    "cell: the evaluation rows are then captured",
    "class-balance": "score the chosen classifier with a `sklearn.metrics` call on its labels "
    "(`y_true`) inside its `%%track` cell: the class balance is then captured",
    "code": "record the chosen model's cell with `%%track` and cite the run in a "
    "`> [!DECISION]` annotation: its code and lineage are then captured",
    "environment": "record the chosen model's cell with `%%track` and cite the run in a "
    "`> [!DECISION]` annotation: its environment is then captured",
    "run-date": "record the chosen model's cell with `%%track` and cite the run in a "
    "`> [!DECISION]` annotation: the date of its run is then captured",
}


def _clip(text: str, limit: int = 160) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _captured_probe(key: str) -> Find:
    def find(review: Review) -> str | None:
        for fact in review.facts:
            if fact.source == "captured" and fact.key == key:
                return f"{fact.label} (captured): {_clip(fact.text)}" if fact.text else fact.label
        return None

    return find


for _key, _fix in _CAPTURED_FIXES.items():
    register_probe(f"fact:{_key}", _fix)(_captured_probe(_key))


@register_probe(
    "evidence:interval",
    "score the chosen run with a `sklearn.metrics` call inside its `%%track` cell (or "
    "`mb.log_predictions`), and name that metric in the `> [!DECISION]` annotation "
    "(`metric:NAME`): the headline figure then gets its interval",
)
def _interval(review: Review) -> str | None:
    evidence = review.evidence
    headline = evidence.chosen_estimate() if evidence is not None else None
    estimate = headline.estimate if headline is not None else None
    if estimate is None or estimate.interval is None:
        return None
    interval = estimate.interval
    metric = headline.metric if headline else ""
    return (
        f"the headline {metric} with its {format_level(interval.level)} interval "
        f"({interval.method}), in Performance of the chosen model"
    )


@register_probe(
    "evidence:comparisons",
    "cite the alternatives in the `> [!DECISION]` annotation (`run:NAME`), scored on the same "
    "test rows as the chosen run: each then gets a paired comparison",
)
def _comparisons(review: Review) -> str | None:
    evidence = review.evidence
    done = [c for c in evidence.comparisons if c.result is not None] if evidence else []
    if not done:
        return None
    count = len(done)
    methods = ", ".join(dict.fromkeys(c.result.method for c in done if c.result is not None))
    plural = "s" if count != 1 else ""
    return f"paired comparison{plural} with {count} alternative{plural} ({methods}), in Decisions"


@register_probe(
    "evidence:baseline",
    "score the chosen run with a `sklearn.metrics` call on its test labels inside its "
    "`%%track` cell: it is then compared with a model that ignores its inputs",
)
def _baseline(review: Review) -> str | None:
    baseline = review.evidence.baseline if review.evidence is not None else None
    if baseline is None:
        return None
    return f"the trivial baseline ({baseline.strategy}) on {baseline.metric}"


@register_probe(
    "evidence:segments",
    "name the columns to break the figures down by with `%modelbook segments COL ...` before "
    "the chosen run's cell (or score a DataFrame's rows that carry them)",
)
def _segments(review: Review) -> str | None:
    figures = _chosen_figures(review)
    columns = dict.fromkeys(
        segment.segment
        for evaluation in (figures.evaluations if figures else [])
        for segment in evaluation.segments
    )
    if not columns:
        return None
    return f"figures by segment ({', '.join(columns)}), in Performance of the chosen model"


@register_probe(
    "evidence:folds",
    "cross-validate the chosen configuration (`cross_val_score`, `cross_validate` or a "
    "`GridSearchCV`) inside its `%%track` cell: its fold scores are then captured",
)
def _folds(review: Review) -> str | None:
    figures = _chosen_figures(review)
    if figures is None:
        return None
    folds = next((len(e.folds) for e in figures.evaluations if e.folds), 0)
    if not folds and figures.folds:
        folds = len(figures.folds[0].scores)
    return f"{folds} cross-validation folds of the chosen configuration" if folds else None


@register_probe(
    "evidence:calibration",
    "score the chosen classifier's probabilities (e.g. `roc_auc_score(y_test, proba)`) inside "
    "its `%%track` cell: the reliability diagram is then drawn",
)
def _calibration(review: Review) -> str | None:
    evidence = review.evidence
    if evidence is None or evidence.chosen_run_id is None:
        return None
    curves = evidence.curves.get(evidence.chosen_run_id)
    if curves is None or curves.calibration is None:
        return None
    return "the reliability diagram with its expected calibration error"


@register_probe(
    "evidence:selection-effect",
    "score the alternatives on the same test rows as the chosen run inside their `%%track` "
    "cells: the selection effect of choosing on those rows is then estimated",
)
def _selection_effect(review: Review) -> str | None:
    effect = review.evidence.selection_effect if review.evidence is not None else None
    if effect is None:
        return None
    return f"the selection effect over {effect.configurations} configurations tried"


@register_probe(
    "evidence:search",
    "run the hyperparameter search (`GridSearchCV`, `RandomizedSearchCV`) inside a `%%track` "
    "cell cited by the decision: its candidates are then captured",
)
def _search(review: Review) -> str | None:
    searches = review.evidence.searches if review.evidence is not None else []
    if not searches:
        return None
    candidates = sum(len(search.candidates) for search in searches)
    return f"{len(searches)} search(es), {candidates} candidates ranked"


@register_probe(
    "review:history",
    "record the experiments with `%%track` and run the notebook (`nbmodelbook execute NB`): "
    "every run is then in the experiment history",
)
def _history(review: Review) -> str | None:
    count = len(review.history)
    return f"the experiment history ({count} run{'s' if count != 1 else ''})" if count else None


@register_probe(
    "review:audit",
    "track the experiments with `%%track`: the integrity audit then reads their runs",
)
def _audit(review: Review) -> str | None:
    if not review.history:
        return None  # an audit of nothing covers nothing
    count = len(review.findings)
    return f"the integrity audit ({count} finding{'s' if count != 1 else ''})"


@register_probe(
    "review:criteria-met",
    "write `> [!CRITERION]` annotations (e.g. `auc >= 0.95`) and meet every one: those not met "
    "are listed under Acceptance criteria",
)
def _criteria_met(review: Review) -> str | None:
    criteria = review.criteria
    if not criteria or not all(criterion.status.passes for criterion in criteria):
        return None
    count = len(criteria)
    return f"{'every one of the' if count != 1 else 'the'} {count} acceptance criteri" + (
        "a met" if count != 1 else "on met"
    )


def _chosen_figures(review: Review) -> Any:
    evidence = review.evidence
    if evidence is None or evidence.chosen_run_id is None:
        return None
    return evidence.runs.get(evidence.chosen_run_id)


# ---------------------------------------------------------------------------
# Frameworks: data files


@dataclass(frozen=True, slots=True)
class ElementSpec:
    element_id: str
    title: str
    clause: str  # the exact citation, e.g. "Annex IV, point 2(g)"
    requires: tuple[str, ...]  # evidence keys: all found -> covered, some -> partly
    fixes: Mapping[str, str] = field(default_factory=dict)  # key -> what to write, in its words
    outside: str | None = None  # set: the notebook cannot hold it; what to document, and where

    def fix_for(self, key: str) -> str:
        return self.fixes.get(key) or PROBES[key].fix


@dataclass(frozen=True, slots=True)
class Framework:
    framework_id: str
    title: str
    source: str  # the full citation of the document the clauses cite
    elements: tuple[ElementSpec, ...]
    url: str | None = None


_FRAMEWORK_KEYS = frozenset({"id", "title", "source", "url", "element"})
_ELEMENT_KEYS = frozenset({"id", "title", "clause", "requires", "fix", "outside"})
_PATH_HINT = re.compile(r"[\\/]|\.toml$", re.IGNORECASE)


def builtin_frameworks() -> dict[str, Any]:
    """The frameworks shipped with nbmodelbook, by name (the file's stem) -> resource."""
    from importlib.resources import files

    folder = files("nbmodelbook.report").joinpath("frameworks")
    return {
        entry.name.removesuffix(".toml"): entry
        for entry in sorted(folder.iterdir(), key=lambda entry: entry.name)
        if entry.name.endswith(".toml")
    }


def load_framework(name: str, base: Path | None = None) -> Framework:
    """A built-in framework by name (`sr-11-7`), or the framework file at `name` (a path ending
    in `.toml`, relative to `base` when not absolute)."""
    builtins = builtin_frameworks()
    if name in builtins:
        return parse_framework(builtins[name].read_text(encoding="utf-8"), name, name)
    if not _PATH_HINT.search(name):
        raise FrameworkError(
            f"unknown framework {name!r}: use one of {', '.join(builtins)}, or the path of a "
            "framework file (.toml)"
        )
    path = Path(name).expanduser()
    if base is not None and not path.is_absolute():
        path = base / path
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FrameworkError(
            f"no framework file {path}: give the path of a .toml file, or one of "
            f"{', '.join(builtins)}"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise FrameworkError(f"cannot read the framework file {path}: {exc}") from exc
    return parse_framework(text, str(path), path.stem)


def parse_framework(text: str, where: str, default_id: str) -> Framework:
    """A framework from its TOML text; `where` names the file in error messages."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise FrameworkError(f"{where}: not valid TOML: {exc}") from None
    problem = _Problems(text, where)
    unknown = sorted(set(data) - _FRAMEWORK_KEYS)
    if unknown:
        problem(
            f"unknown key {unknown[0]!r} (a framework has {', '.join(sorted(_FRAMEWORK_KEYS))})",
            unknown[0],
        )
    title = _string(data, "title", problem, "the framework")
    source = _string(data, "source", problem, "the framework")
    framework_id = data.get("id", default_id)
    if not isinstance(framework_id, str) or not framework_id.strip():
        problem("'id' must be a non-empty string", "id")
    url = data.get("url")
    if url is not None and not isinstance(url, str):
        problem("'url' must be a string", "url")
    raw = data.get("element")
    if not isinstance(raw, list) or not raw:
        problem("no elements: list them as [[element]] tables", "[[element]]")
    elements: list[ElementSpec] = []
    for position, entry in enumerate(raw, start=1):
        element = _element(entry, position, problem)
        if any(seen.element_id == element.element_id for seen in elements):
            problem(
                f"element id {element.element_id!r} is used twice",
                f'"{element.element_id}"',
                after=problem.element_line(position),
            )
        elements.append(element)
    return Framework(framework_id, title, source, tuple(elements), url)


class _Problems:
    """Raises a FrameworkError naming the file and, when it can be found, the line."""

    def __init__(self, text: str, where: str) -> None:
        self.lines = text.splitlines()
        self.where = where

    def line_of(self, needle: str, after: int = 0) -> int | None:
        for number, line in enumerate(self.lines, start=1):
            if number > after and needle in line.split("#", 1)[0]:
                return number
        return None

    def element_line(self, position: int) -> int:
        seen = 0
        for number, line in enumerate(self.lines, start=1):
            if line.strip().startswith("[[element]]"):
                seen += 1
                if seen == position:
                    return number
        return 0

    def __call__(self, message: str, needle: str | None = None, after: int = 0) -> NoReturn:
        line = self.line_of(needle, after) if needle else None
        at = f", line {line}" if line else ""
        raise FrameworkError(f"{self.where}{at}: {message}")


def _string(data: Mapping[str, Any], key: str, problem: _Problems, what: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        problem(f"{what} needs {key!r}, a non-empty string", key)
    return str(value).strip()


def _element(entry: Any, position: int, problem: _Problems) -> ElementSpec:
    start = problem.element_line(position)
    what = f"element {position}"

    def fail(message: str, needle: str | None = None) -> NoReturn:
        line = (problem.line_of(needle, start) if needle else None) or start or None
        at = f", line {line}" if line else ""
        raise FrameworkError(f"{problem.where}{at}: {message}")

    if not isinstance(entry, dict):
        fail(f"{what} is not a table: write it as [[element]]")
    unknown = sorted(set(entry) - _ELEMENT_KEYS)
    if unknown:
        fail(
            f"{what} has an unknown key {unknown[0]!r} (an element has "
            f"{', '.join(sorted(_ELEMENT_KEYS))})",
            unknown[0],
        )
    texts = {}
    for key in ("id", "title", "clause"):
        value = entry.get(key)
        if not isinstance(value, str) or not value.strip():
            fail(f"{what} needs {key!r}, a non-empty string", key)
        texts[key] = str(value).strip()
    what = f"element {texts['id']!r}"
    requires = entry.get("requires", [])
    if not isinstance(requires, list) or not all(isinstance(key, str) for key in requires):
        fail(f"{what}: 'requires' must be a list of evidence keys", "requires")
    for key in requires:
        if key not in PROBES:
            fail(f"{what} requires unknown evidence {key!r}{_close(key)}", f'"{key}"')
    fixes = entry.get("fix", {})
    if not isinstance(fixes, dict) or not all(isinstance(v, str) for v in fixes.values()):
        fail(f"{what}: 'fix' must be a table of evidence key = \"what to write\"", "fix")
    for key in fixes:
        if key not in requires:
            fail(f"{what} has a fix for {key!r}, which it does not require", f'"{key}"')
    outside = entry.get("outside")
    if outside is not None and (not isinstance(outside, str) or not outside.strip()):
        fail(f"{what}: 'outside' must say what to document outside the notebook", "outside")
    if not requires and outside is None:
        fail(
            f"{what} requires nothing: list its evidence keys in 'requires', or say in "
            "'outside' what to document outside the notebook",
            f'"{texts["id"]}"',
        )
    return ElementSpec(
        texts["id"],
        texts["title"],
        texts["clause"],
        tuple(dict.fromkeys(requires)),
        dict(fixes),
        outside.strip() if isinstance(outside, str) else None,
    )


def _close(key: str) -> str:
    import difflib

    close = difflib.get_close_matches(key, list(PROBES), 1, 0.6)
    if close:
        return f"; did you mean {close[0]!r}?"
    return "; known keys: " + ", ".join(PROBES)


# ---------------------------------------------------------------------------
# Evaluation


def evaluate_element(element: ElementSpec, review: Review) -> ElementCoverage:
    found = [(key, PROBES[key].find(review)) for key in element.requires]
    covered_by = tuple(text for _, text in found if text)
    if element.outside is not None:
        return ElementCoverage(
            element.element_id,
            element.title,
            element.clause,
            CoverageStatus.OUTSIDE,
            covered_by,
            (element.outside,),
        )
    missing = tuple(element.fix_for(key) for key, text in found if text is None)
    if not missing:
        status = CoverageStatus.COVERED
    elif covered_by:
        status = CoverageStatus.PARTLY
    else:
        status = CoverageStatus.MISSING
    return ElementCoverage(
        element.element_id, element.title, element.clause, status, covered_by, missing
    )


def evaluate_framework(framework: Framework, review: Review) -> FrameworkCoverage:
    return FrameworkCoverage(
        framework.framework_id,
        framework.title,
        framework.source,
        tuple(evaluate_element(element, review) for element in framework.elements),
    )


def frameworks_coverage(frameworks: Sequence[Framework], review: Review) -> list[FrameworkCoverage]:
    return [evaluate_framework(framework, review) for framework in frameworks]


def missing_elements(coverage: Sequence[FrameworkCoverage]) -> int:
    """How many elements, over every framework, are missing (the ones `check` fails on)."""
    return sum(framework.count(CoverageStatus.MISSING) for framework in coverage)


def notebook_frameworks(notebook: Mapping[str, Any]) -> list[str]:
    """`metadata.nbmodelbook.frameworks`: a list of framework names or paths."""
    metadata = notebook.get("metadata") or {}
    settings = metadata.get("nbmodelbook") if isinstance(metadata, Mapping) else None
    if not isinstance(settings, Mapping) or "frameworks" not in settings:
        return []
    names = settings["frameworks"]
    if isinstance(names, str):
        names = [names]
    if not isinstance(names, list) or not all(isinstance(n, str) and n.strip() for n in names):
        raise FrameworkError(
            "the notebook's metadata.nbmodelbook.frameworks must be a list of framework names "
            f'or .toml paths, e.g. ["sr-11-7"]; it is {names!r}'
        )
    return [name.strip() for name in names]


# ---------------------------------------------------------------------------
# The report's view of it

_STATUS_KEYS = {
    CoverageStatus.COVERED: "covered",
    CoverageStatus.PARTLY: "partly",
    CoverageStatus.MISSING: "missing",
    CoverageStatus.OUTSIDE: "outside",
}


def segments(text: str) -> list[dict[str, Any]]:
    """Text with `code spans` as pieces a template writes as text or as code."""
    pieces = text.split("`")
    if len(pieces) % 2 == 0:  # an unpaired backtick: all of it is text
        return [{"text": text, "code": False}]
    return [{"text": piece, "code": index % 2 == 1} for index, piece in enumerate(pieces) if piece]


def count_line(framework: FrameworkCoverage) -> str:
    total = len(framework.elements)
    parts = [
        f"{framework.count(status)} {status.value}"
        for status in CoverageStatus
        if status is not CoverageStatus.OUTSIDE or framework.count(status)
    ]
    return f"{total} element{'s' if total != 1 else ''}: " + ", ".join(parts)


def coverage_view(coverage: Sequence[FrameworkCoverage]) -> list[dict[str, Any]] | None:
    """The report's Framework coverage section (None: no framework named, section left out)."""
    if not coverage:
        return None
    return [
        {
            "id": framework.framework_id,
            "title": framework.title,
            "source": framework.source,
            "counts": count_line(framework),
            "missing": framework.count(CoverageStatus.MISSING),
            "rows": [
                {
                    "id": element.element_id,
                    "title": element.title,
                    "clause": element.clause,
                    "status": element.status.value,
                    "key": _STATUS_KEYS[element.status],
                    "covered_by": [segments(text) for text in element.covered_by],
                    "missing": [segments(text) for text in element.missing],
                }
                for element in framework.elements
            ],
        }
        for framework in coverage
    ]


def coverage_payload(coverage: Sequence[FrameworkCoverage]) -> list[dict[str, Any]]:
    """The coverage as JSON-ready values (the review's JSON and `check --format json`)."""
    return [
        {
            "framework": framework.framework_id,
            "title": framework.title,
            "source": framework.source,
            "counts": {status.value: framework.count(status) for status in CoverageStatus},
            "elements": [
                {
                    "id": element.element_id,
                    "title": element.title,
                    "clause": element.clause,
                    "status": element.status.value,
                    "covered_by": list(element.covered_by),
                    "missing": list(element.missing),
                }
                for element in framework.elements
            ],
        }
        for framework in coverage
    ]
