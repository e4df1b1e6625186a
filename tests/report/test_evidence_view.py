"""The evidence as the report shows it: rounding to what the interval supports, verdicts in
words on page 1, the comparisons of each decision, the Performance evidence section, and the
same labels, numbers and finding codes in HTML, Markdown and JSON."""

from __future__ import annotations

import json
import math
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from markdown_it import MarkdownIt
from sklearn.metrics import roc_auc_score

from nbmodelbook.cli import main
from nbmodelbook.record import Candidate, Evaluation
from nbmodelbook.report.curves import MAX_CURVE_ROWS, review_curves
from nbmodelbook.report.evidence_view import (
    decimals_for,
    format_difference,
    format_estimate,
    format_interval,
    format_p,
)
from nbmodelbook.report.load import load_review
from nbmodelbook.report.model import Review
from nbmodelbook.report.render_html import render_html
from nbmodelbook.report.render_markdown import render_markdown
from nbmodelbook.stats.results import Interval
from nbmodelbook.store.store import RunStore
from tests.report.test_review_evidence import reviewed, standard_runs, write_notebook


def ci(low: float, high: float, method: str = "DeLong") -> Interval:
    return Interval(low, high, 0.95, method)


@pytest.mark.parametrize(
    ("interval", "value", "decimals"),
    [
        (ci(0.9933, 0.9999), None, 3),  # half-width 0.0033
        (ci(0.95, 0.99), None, 2),  # half-width 0.02
        (ci(0.90, 1.10), None, 1),  # half-width 0.1
        (ci(10.0, 30.0), None, 0),  # half-width 10
        (ci(0.5, 0.5), None, 4),  # no width: as precise as the report goes
        (ci(0.999999, 0.9999991), None, 4),  # never six digits
        (None, 0.99771, 3),
        (None, 123.456, 0),
        (None, 0.0181, 4),
    ],
)
def test_decimals_follow_the_interval(
    interval: Interval | None, value: float | None, decimals: int
) -> None:
    assert decimals_for(interval, value) == decimals


def test_estimates_differences_and_p_values_in_words() -> None:
    assert format_estimate(0.99771, ci(0.9933, 0.99999)) == "0.998 (95% CI 0.993–1.000)"
    assert (
        format_estimate(0.99771, ci(0.9933, 0.99999), method=True)
        == "0.998 (95% CI 0.993–1.000, DeLong)"
    )
    assert format_estimate(0.99771, None) == "0.998"
    assert format_estimate(None, None) == "—"
    assert format_difference(0.0025, ci(-0.0029, 0.0079)) == "+0.003 (95% CI −0.003 to +0.008)"
    assert format_difference(-0.0001, ci(-0.0002, 0.00001)).startswith("−0.0001 ")
    assert format_interval(ci(-0.2, 0.1)) == "−0.2 to 0.1"
    assert format_interval(None) == "—"
    # Rounded outwards, with more decimals where a bound would otherwise cross zero: a printed
    # interval never hides which side of 0 it lies on.
    assert format_difference(0.0096, ci(-0.0004, 0.0196)) == "+0.01 (95% CI −0.01 to +0.02)"
    assert format_difference(0.0104, ci(0.0004, 0.0204)) == "+0.0104 (95% CI +0.0004 to +0.0204)"
    assert format_estimate(0.99771, ci(0.99299, 1.0)) == "0.998 (95% CI 0.992–1.000)"
    # A bound that still rounds to zero keeps its side; a lead that is not zero never prints
    # as zero; a bound that is not a number prints as such, without failing the report.
    assert format_difference(-0.01, ci(-0.02, -1e-9)).endswith("to −0.0000)")
    assert format_difference(0.0044, ci(-0.01, 0.02)).startswith("+0.004 ")
    assert format_interval(ci(math.nan, 0.5)) == "nan–0.5000"
    assert format_p(0.3612) == "p = 0.36"
    assert format_p(0.0123) == "p = 0.012"
    assert format_p(0.00001) == "p < 0.001"
    assert format_p(None) == "—"


# --- reports of real stores -------------------------------------------------------------------


BEATS_STUMP = (
    "> [!DECISION] Logistic regression\n"
    "> We chose run:logreg over run:stump and run:bayes. metric:auc"
)
BEATS_ALMOST = (
    "> [!DECISION] Logistic regression\n> We chose run:logreg over run:logreg-c05. metric:auc"
)


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def text_of_html(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


def text_of_markdown(markdown: str) -> str:
    return text_of_html(MarkdownIt("commonmark").enable("table").render(markdown))


def _sections(text: str, start: str, end: str) -> str:
    """The text between two section headings (their last mention: the contents list comes
    first)."""
    return text[text.rindex(start) : text.rindex(end)]


def test_page_one_says_in_words_whether_the_lead_is_real(tmp_path: Path) -> None:
    notebook, store_path, _ = reviewed(tmp_path, BEATS_STUMP)
    review = load_review(notebook, str(store_path), progress=lambda _m: None)
    html = text_of_html(render_html(review))
    page_one = _sections(html, "1. Summary", "2. Model facts")
    assert re.search(r"scores 0\.\d+ \(95% CI 0\.\d+–[01]\.\d+, DeLong\)", page_one)
    assert "lead over stump" in page_one and "is real" in page_one
    assert "A model that ignores its inputs (prior) scores auc = 0.5" in page_one
    assert re.search(r"At the threshold used, it misses \d+ of \d+ positive cases", page_one)
    # The risk by name, not a count.
    assert "Risk: Breast cancer data only." in page_one
    decisions = _sections(html, "4. Decisions", "5. Rejected alternatives")
    assert "Is the lead real?" in decisions and "significantly better" in decisions
    assert "Holm" in decisions


def test_a_lead_within_the_noise_is_called_so(tmp_path: Path) -> None:
    notebook, store_path, _ = reviewed(tmp_path, BEATS_ALMOST)
    review = load_review(notebook, str(store_path), progress=lambda _m: None)
    markdown, _ = render_markdown(review, None)
    page_one = _sections(text_of_markdown(markdown), "1. Summary", "2. Model facts")
    assert "is not distinguishable from chance" in page_one
    assert "after Holm" not in page_one  # one alternative: nothing to adjust for
    assert "significantly" not in page_one


def test_performance_evidence_of_the_chosen_run(tmp_path: Path) -> None:
    notebook, store_path, _ = reviewed(tmp_path, BEATS_STUMP)
    review = load_review(notebook, str(store_path), progress=lambda _m: None)
    for text in (
        text_of_html(render_html(review)),
        text_of_markdown(render_markdown(review, None)[0]),
    ):
        section = _sections(text, "8. Performance", "9. Risks")
        assert "Evidence behind the figures" in section
        assert re.search(r"auc roc_auc_score 0\.\d+ 0\.\d+–[01]\.\d+ DeLong 143", section)
        assert re.search(r"accuracy accuracy_score 0\.\d+ 0\.\d+–[01]\.\d+ Wilson 143", section)
        assert "Errors at the threshold used" in section
        assert re.search(r"Actually positive \d+ \d+ Actually negative \d+ \d+", section)
        assert "Against a model that ignores its inputs" in section


def test_a_cited_run_without_evidence_says_why_it_has_no_interval(tmp_path: Path) -> None:
    notebook, store_path, records = reviewed(tmp_path, BEATS_STUMP)
    store = RunStore.open(str(store_path))
    stump = records[2]
    store.remove_runs([stump.run_id])
    stump.evaluations = []
    store.finish_run(stump)
    store.close()
    review = load_review(notebook, str(store_path), progress=lambda _m: None)
    decisions = _sections(text_of_html(render_html(review)), "4. Decisions", "5. Rejected")
    assert re.search(r"stump \(\w+\): no interval for auc: no evaluations recorded", decisions)
    page_one = _sections(text_of_html(render_html(review)), "1. Summary", "2. Model facts")
    assert "cannot be compared with stump" in page_one


_NUMBER = re.compile(r"[−+-]?\d+\.\d+")


def test_html_markdown_and_json_carry_the_same_labels_numbers_and_findings(
    tmp_path: Path,
) -> None:
    notebook, store_path, _ = reviewed(
        tmp_path,
        BEATS_STUMP + "\n\n> [!DECISION] Also\n> run:logreg over run:missing-run. metric:auc",
    )
    outputs = {}
    for suffix in ("html", "md", "json"):
        out = tmp_path / f"review.{suffix}"
        assert main(["report", str(notebook), "--store", str(store_path), "-o", str(out)]) == 0
        outputs[suffix] = out.read_text(encoding="utf-8")
    payload = json.loads(outputs["json"])
    html = text_of_html(outputs["html"])
    markdown = text_of_markdown(outputs["md"])
    codes = {finding["code"] for finding in payload["findings"]}
    assert codes, "the dangling reference is a finding"
    for text in (html, markdown):
        for run in payload["runs"]:
            assert run["name"] in text and run["run_id"][:12] in text
        for code in codes:
            assert code in text
    # The same figures, rounded the same way, in every section the two formats share.
    label = re.compile(r"[\w.-]+ \([0-9a-f]{12}\)")
    assert sorted(label.findall(html)) == sorted(label.findall(markdown))
    for start, end in (("1. Summary", "2. Model facts"), ("8. Performance", "9. Risks")):
        assert sorted(_NUMBER.findall(_sections(html, start, end))) == sorted(
            _NUMBER.findall(_sections(markdown, start, end))
        )
    chosen = payload["chosen"]
    low, high = chosen["interval"]["low"], chosen["interval"]["high"]
    digits = decimals_for(Interval(low, high, 0.95, "DeLong"))
    scale = 10**digits  # bounds rounded outwards
    shown = (
        f"{chosen['value']:.{digits}f} (95% CI {math.floor(low * scale) / scale:.{digits}f}–"
        f"{math.ceil(high * scale) / scale:.{digits}f}"
    )
    assert shown in html and shown in markdown
    for comparison in payload["comparisons"]:
        assert f"p = {comparison['p_value']:.2g}" in html or "p < 0.001" in html


def test_curves_and_interval_bars_are_drawn_for_the_decision(tmp_path: Path) -> None:
    notebook, store_path, _ = reviewed(tmp_path, BEATS_STUMP)
    review = load_review(notebook, str(store_path), progress=lambda _m: None)
    assert review.evidence is not None
    assert len(review.evidence.curves) == 3  # the chosen run and both alternatives
    chosen = review.evidence.curves[review.evidence.chosen_run_id or ""]
    assert chosen.calibration is not None and chosen.roc is not None
    others = [c for r, c in review.evidence.curves.items() if r != chosen_id(review)]
    assert all(c.calibration is None and c.roc is not None for c in others)
    html = render_html(review)
    for alt in (
        "ROC curves of 3 runs",
        "Precision-recall curves of 3 runs",
        "Reliability diagram of the chosen run",
        "Confusion matrix of the chosen run",
        "auc of each compared run with its 95% interval",
    ):
        assert f'alt="{alt}"' in html
    markdown, files = render_markdown(review, Path("r_files"))
    for name in ("chart-roc", "chart-precision-recall", "chart-calibration", "chart-confusion"):
        assert f"r_files/{name}.svg" in files and f"(r_files/{name}.svg)" in markdown
    assert "r_files/chart-decision-1-intervals.svg" in files
    # The interval chart takes the place of the plain bars of the decision.
    assert "r_files/chart-decision-1.svg" not in files


def chosen_id(review: Review) -> str:
    assert review.evidence is not None and review.evidence.chosen_run_id is not None
    return review.evidence.chosen_run_id


def test_curves_of_a_large_evaluation_are_drawn_from_a_bounded_sample() -> None:
    rng = np.random.default_rng(0)
    n = MAX_CURVE_ROWS + 50_000
    y_true = rng.integers(0, 2, n)
    scores = np.clip(y_true * 0.3 + rng.random(n) * 0.7, 0, 1)
    evaluation = Evaluation(
        function="roc_auc_score", metric="auc", value=0.8, y_true=y_true, y_score=scores, n_total=n
    )
    first = review_curves({"a": evaluation}, "a", level=0.95, seed=0)["a"]
    again = review_curves({"a": evaluation}, "a", level=0.95, seed=0)["a"]
    assert first == again
    assert first.n == MAX_CURVE_ROWS and first.n_total == n and first.sampled
    assert first.roc is not None and len(first.roc.fpr) <= 200
    full = roc_auc_score(y_true, scores)
    assert abs(first.roc.auc - full) < 0.01  # a sample's curve, close to every row's


def test_the_search_behind_the_chosen_run_and_the_selection_effect(tmp_path: Path) -> None:
    notebook = tmp_path / "model.ipynb"
    records = standard_runs(str(notebook.resolve()))
    logreg = records[0]
    logreg.candidates = [
        Candidate("GridSearchCV", 0, index, {"C": c}, "roc_auc", folds, chosen=index == 2)
        for index, (c, folds) in enumerate(
            [(0.01, [0.90, 0.91, 0.92]), (0.1, [0.95, 0.96, 0.94]), (1.0, [0.99, 0.98, 0.99])]
        )
    ]
    store_path = tmp_path / "runs.sqlite"
    store = RunStore.open(str(store_path))
    for record in records:
        store.finish_run(record)
    store.close()
    write_notebook(notebook, records, BEATS_STUMP)
    review = load_review(notebook, str(store_path), progress=lambda _m: None)
    for text in (
        text_of_html(render_html(review)),
        text_of_markdown(render_markdown(review, None)[0]),
    ):
        section = _sections(text, "8. Performance", "9. Risks")
        assert "The search behind the chosen run (GridSearchCV, by roc_auc)" in section
        assert re.search(r"1 C=1\.0 refitted 0\.987", section.replace("(refitted)", "refitted"))
        assert "The refitted configuration ranks 1 of 3 by mean roc_auc." in section
        assert "C = 1 is the highest value searched (0.01, 0.1, 1): the best may lie" in section
        page_one = _sections(text, "1. Summary", "2. Model facts")
        assert re.search(
            r"The choice was made among (3) runs scored on the same rows that report its auc \(6 "
            r"configurations were tried in all\): picking the best of \1 makes the figure "
            r"optimistic by up to about 0\.\d+\.",
            page_one,
        ), page_one


def test_the_confidence_level_is_the_users(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    notebook, store_path, _ = reviewed(tmp_path, BEATS_STUMP)
    intervals = {}
    for level in ("0.95", "90%"):
        out = tmp_path / f"review-{level.rstrip('%')}.json"
        args = ["report", str(notebook), "--store", str(store_path), "-o", str(out)]
        assert main([*args, "--confidence", level]) == 0
        intervals[level] = json.loads(out.read_text())["chosen"]["interval"]
    assert intervals["90%"]["level"] == 0.9 and intervals["0.95"]["level"] == 0.95
    assert intervals["90%"]["low"] > intervals["0.95"]["low"]  # a lower level, a narrower one
    html = tmp_path / "review.html"
    args = ["report", str(notebook), "--store", str(store_path), "-o", str(html)]
    assert main([*args, "--confidence", "0.9"]) == 0
    assert "(90% CI " in html.read_text() and "(95% CI " not in html.read_text()
    capsys.readouterr()
    main(["check", str(notebook), "--store", str(store_path), "--confidence", "0.9"])
    checked = capsys.readouterr().out
    assert "(90% CI " in checked and "95% CI" not in checked
    assert main([*args, "--confidence", "99.9%"]) == 0  # 99.9 / 100 is 0.9990000000000001
    with pytest.raises(SystemExit) as exit_info:
        main([*args, "--confidence", "95"])
    assert exit_info.value.code == 2
    assert "between 0.5 and 0.999" in capsys.readouterr().err


def test_the_worst_fold_of_a_scorer_is_its_lowest_score_even_for_a_loss() -> None:
    from nbmodelbook.report.evidence import FoldScores, RunFigures
    from nbmodelbook.report.evidence_view import _fold_rows

    scores = (-0.865, -1.181, -0.9)
    folds = [
        FoldScores("cross_val_score", 0, 0, {}, "neg_mean_squared_error", scores, -0.98, 0.1, True),
        FoldScores("loop", 1, 0, {}, "mean_squared_error", (0.8, 1.2), 1.0, 0.2, False),
    ]
    rows = _fold_rows(RunFigures("r", folds=folds))
    assert [row["worst"] for row in rows] == ["−1.181", "1.200"]
