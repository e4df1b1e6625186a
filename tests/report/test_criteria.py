"""Acceptance criteria: read from `> [!CRITERION]` annotations, checked against the chosen run's
figures and their intervals (met / met on the point estimate only / not met / not evaluated),
and turned into findings that make `check` fail when a bar is missed."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from markdown_it import MarkdownIt
from nbformat.v4 import new_markdown_cell
from sklearn.metrics import log_loss

from nbmodelbook.record import Evaluation, RunRecord, SegmentLabels
from nbmodelbook.report.criteria import Rule, parse_rule
from nbmodelbook.report.criteria_view import check_figure, criterion_sentence, format_bar
from nbmodelbook.report.facts import captured_facts
from nbmodelbook.report.model import (
    Annotation,
    AnnotationKind,
    Criterion,
    CriterionCheck,
    CriterionStatus,
    Severity,
)
from nbmodelbook.report.readiness import is_ready, readiness
from nbmodelbook.report.render_markdown import render_markdown
from tests.report.findings import codes, the_finding
from tests.report.test_audit_evidence import annotation as cell
from tests.report.test_audit_evidence import review_of
from tests.report.test_review_evidence import (
    STRONG,
    STUMP,
    X_TEST,
    Y_TEST,
    accuracy_evaluation,
    auc_evaluation,
    fingerprint,
    run_of,
)

CRITERIA_CODES = {
    "criterion-not-met",
    "criterion-not-evaluated",
    "criterion-met-on-point-only",
    "no-acceptance-criterion",
}
NOTEBOOK = "/nb/model.ipynb"


def logreg_run(*evaluations: Evaluation) -> RunRecord:
    return run_of(
        "logreg",
        STRONG,
        list(evaluations) or [auc_evaluation(STRONG), accuracy_evaluation(STRONG)],
        notebook=NOTEBOOK,
        offset=0,
    )


CHOOSE = cell("DECISION", "Logistic regression", "We chose run:logreg. metric:auc")


def headline(run: RunRecord) -> tuple[float, float, float]:
    """The chosen run's AUC and its interval, as the review computes them."""
    review = review_of(CHOOSE, runs=[run])
    estimate = review.evidence.chosen_estimate() if review.evidence else None
    assert estimate is not None and estimate.estimate is not None
    assert estimate.estimate.interval is not None
    interval = estimate.estimate.interval
    return estimate.estimate.value, interval.low, interval.high


@pytest.mark.parametrize(
    ("written", "rule"),
    [
        ("auc >= 0.95", Rule("auc", ">=", 0.95, None)),
        ("AUC≥0.9", Rule("AUC", ">=", 0.9, None)),
        ("accuracy >= 90%", Rule("accuracy", ">=", 0.9, None, percent=True)),
        ("brier <= 0.1", Rule("brier", "<=", 0.1, None)),
        ("log_loss ≤ 0.25.", Rule("log_loss", "<=", 0.25, None)),
        ("metric:auc >= 0.9 on segment region", Rule("auc", ">=", 0.9, "region")),
        ("recall >= .8 on age_band", Rule("recall", ">=", 0.8, "age_band")),
        ("mae <= \u22121e-3", Rule("mae", "<=", -0.001, None)),
    ],
)
def test_rules_are_read_as_written(written: str, rule: Rule) -> None:
    assert parse_rule(written) == rule


@pytest.mark.parametrize(
    ("written", "says"),
    [
        ("auc > 0.9", "use >= (higher is better) or <= (lower is better)"),
        ("auc = 0.9", "use >= (higher is better) or <= (lower is better)"),
        ("auc", "write it as `METRIC >= NUMBER`"),
        ("auc >= high", "write it as `METRIC >= NUMBER`"),
        ("auc >= 0.9 for everyone", "write it as `METRIC >= NUMBER`"),
    ],
)
def test_an_unreadable_rule_says_how_to_write_it(written: str, says: str) -> None:
    problem = parse_rule(written)
    assert isinstance(problem, str) and says in problem


def test_a_bar_below_the_whole_interval_is_met() -> None:
    run = logreg_run()
    _, low, _ = headline(run)
    review = review_of(CHOOSE, cell("CRITERION", f"auc >= {low - 0.01:.4f}"), runs=[run])
    [criterion] = review.criteria
    assert criterion.status is CriterionStatus.MET
    assert criterion.run_id == run.run_id and criterion.metric == "auc"
    assert criterion.checks[0].method == "DeLong"
    assert not codes(review) & CRITERIA_CODES


def test_a_bar_inside_the_interval_is_met_on_the_point_estimate_only() -> None:
    run = logreg_run()
    value, low, _ = headline(run)
    bar = round((value + low) / 2, 4)
    assert low < bar <= value
    review = review_of(CHOOSE, cell("CRITERION", f"auc >= {bar}"), runs=[run])
    [criterion] = review.criteria
    assert criterion.status is CriterionStatus.MET_ON_POINT
    finding = the_finding(review, "criterion-met-on-point-only")
    assert finding.severity is Severity.MEDIUM
    assert "its interval reaches past the bar" in finding.detail
    blocking = [item.code for item in readiness(review) if item.blocking]
    assert "criterion-met-on-point-only" not in blocking, "it does not block check"


def test_a_bar_above_the_figure_is_not_met_and_blocks_check() -> None:
    run = logreg_run()
    value, _, _ = headline(run)
    bar = round(min(1.0, value + 0.001), 4)
    review = review_of(CHOOSE, cell("CRITERION", f"auc >= {bar}"), runs=[run])
    [criterion] = review.criteria
    assert criterion.status is CriterionStatus.NOT_MET
    finding = the_finding(review, "criterion-not-met")
    assert finding.severity is Severity.HIGH and finding.run_ids == (run.run_id,)
    assert finding.cell_index == 1
    assert not is_ready(readiness(review))


def test_a_lower_is_better_bar_is_checked_on_the_upper_bound() -> None:
    """A log loss's bar between its interval's bounds: the figure meets it, the upper bound
    does not (with the lower bound checked instead, it would be 'met')."""
    probe = logreg_run(log_loss_evaluation(STRONG))
    review = review_of(CHOOSE, cell("CRITERION", "log_loss <= 10"), runs=[probe])
    low, high = review.criteria[0].checks[0].lower, review.criteria[0].checks[0].upper
    value = review.criteria[0].checks[0].value
    assert low is not None and high is not None and value is not None and low < value < high
    between = round((value + high) / 2, 4)
    above = round(high + 0.01, 4)
    review = review_of(
        CHOOSE,
        cell("CRITERION", f"log_loss <= {between}"),
        cell("CRITERION", f"log_loss <= {above}"),
        cell("CRITERION", f"log_loss <= {round(value / 2, 4)}"),
        runs=[probe],
    )
    inside, clear, missed = review.criteria
    assert inside.status is CriterionStatus.MET_ON_POINT
    assert clear.status is CriterionStatus.MET
    assert missed.status is CriterionStatus.NOT_MET


def log_loss_evaluation(model: Any) -> Evaluation:
    scores = model.predict_proba(X_TEST)[:, 1]
    return Evaluation(
        function="log_loss",
        metric="log_loss",
        value=float(log_loss(Y_TEST, scores)),
        y_true=np.asarray(Y_TEST),
        y_score=scores,
        n_total=len(Y_TEST),
        rows_fingerprint=fingerprint(Y_TEST),
    )


def test_a_figure_without_an_interval_is_met_on_the_point_estimate_only() -> None:
    run = logreg_run(auc_evaluation(STRONG))
    run.metrics["recall"] = 0.97  # recorded, with no predictions kept behind it
    review = review_of(CHOOSE, cell("CRITERION", "recall >= 0.9"), runs=[run])
    [criterion] = review.criteria
    assert criterion.status is CriterionStatus.MET_ON_POINT
    assert criterion.checks[0].lower is None
    assert "no interval" in criterion.reason
    level = review.evidence.level if review.evidence else 0.95
    assert "the evidence cannot show the bar is reached" in criterion_sentence(
        criterion, level, "logreg"
    )


def test_an_unknown_metric_is_not_evaluated_with_a_suggestion() -> None:
    run = logreg_run()
    review = review_of(CHOOSE, cell("CRITERION", "acuracy >= 0.9"), runs=[run])
    [criterion] = review.criteria
    assert criterion.status is CriterionStatus.NOT_EVALUATED
    assert "did you mean accuracy?" in criterion.reason
    assert the_finding(review, "criterion-not-evaluated").severity is Severity.HIGH


def test_metric_names_match_ignoring_case() -> None:
    run = logreg_run()
    review = review_of(CHOOSE, cell("CRITERION", "AUC >= 0.5"), runs=[run])
    assert review.criteria[0].metric == "auc"
    assert review.criteria[0].status is CriterionStatus.MET


def test_without_a_chosen_run_a_criterion_is_not_evaluated() -> None:
    run = logreg_run()
    review = review_of(cell("CRITERION", "auc >= 0.9"), runs=[run])
    [criterion] = review.criteria
    assert criterion.status is CriterionStatus.NOT_EVALUATED
    assert "no run was chosen" in criterion.reason


def test_an_unreadable_rule_is_a_finding_naming_its_cell() -> None:
    run = logreg_run()
    review = review_of(CHOOSE, cell("CRITERION", "good enough for production"), runs=[run])
    finding = the_finding(review, "criterion-not-evaluated")
    assert finding.cell_index == 1
    assert "could not be read" in finding.detail


def test_a_decision_without_any_criterion_is_a_finding() -> None:
    run = logreg_run()
    review = review_of(CHOOSE, runs=[run])
    finding = the_finding(review, "no-acceptance-criterion")
    assert finding.severity is Severity.MEDIUM
    assert "> [!CRITERION]" in finding.detail
    with_one = review_of(CHOOSE, cell("CRITERION", "auc >= 0.5"), runs=[run])
    assert "no-acceptance-criterion" not in codes(with_one)


def _segmented_run(random: bool = False) -> tuple[RunRecord, np.ndarray]:
    """AUC on the test rows, with a segment whose level "hard" holds the rows the model is least
    sure of, where its AUC is lowest (or, `random`, two halves drawn with a fixed seed)."""
    evaluation = auc_evaluation(STRONG)
    scores = np.asarray(evaluation.y_score)
    uncertain = np.abs(scores - 0.5) < np.quantile(np.abs(scores - 0.5), 0.3)
    if random:
        uncertain = np.random.default_rng(3).random(len(scores)) < 0.5
    region = np.where(uncertain, 1, 0).astype(np.int8)
    evaluation.segments = {"region": SegmentLabels(region, ["easy", "hard"], "declared")}
    return logreg_run(evaluation), region


def test_on_segment_every_level_must_meet_the_bar() -> None:
    run, _ = _segmented_run()
    review = review_of(
        CHOOSE,
        cell("CRITERION", "auc >= 0.9 on segment region"),
        runs=[run],
    )
    [strict] = review.criteria
    scopes = [check.scope for check in strict.checks]
    assert scopes == ["overall", "region = easy", "region = hard"]
    by_scope = {check.scope: check for check in strict.checks}
    assert by_scope["region = hard"].value is not None
    assert by_scope["region = hard"].value < 0.9, "the hard level misses the bar"
    assert strict.status is CriterionStatus.NOT_MET
    assert by_scope["overall"].status is not CriterionStatus.NOT_MET
    level = review.evidence.level if review.evidence else 0.95
    sentence = criterion_sentence(strict, level, "logreg")
    assert "levels of region fall short" in sentence
    hard = check_figure(by_scope["region = hard"], strict, level)
    assert f"1 of 2 levels of region fall short (region = hard: {hard})" in sentence
    halves, _ = _segmented_run(random=True)
    lenient = review_of(
        CHOOSE, cell("CRITERION", "auc >= 0.5 on segment region"), runs=[halves]
    ).criteria[0]
    assert all(check.lower is not None for check in lenient.checks)
    assert lenient.status is CriterionStatus.MET
    assert "met on all 2 levels of region" in criterion_sentence(lenient, level, "logreg")


def test_a_segment_the_run_did_not_capture_is_not_evaluated() -> None:
    run, _ = _segmented_run()
    review = review_of(CHOOSE, cell("CRITERION", "auc >= 0.5 on segment country"), runs=[run])
    [criterion] = review.criteria
    assert criterion.status is CriterionStatus.NOT_EVALUATED
    assert "no segment 'country'" in criterion.reason and "captured: region" in criterion.reason


def _criterion(operator: str, threshold: float) -> Criterion:
    annotation = Annotation(AnnotationKind.CRITERION, "", "", (), 0, None)
    return Criterion(annotation, "", "auc", operator, threshold, None, CriterionStatus.MET, (), "")


@pytest.mark.parametrize(
    ("check", "operator", "threshold", "shown"),
    [
        # 0.9496 would print as 0.950 at 3 decimals: on the wrong side of a bar of 0.95.
        (
            CriterionCheck("overall", 0.9496, None, None, CriterionStatus.NOT_MET),
            ">=",
            0.95,
            "0.9496",
        ),
        # The lower bound 0.95004 rounded down to 0.95 at 2 decimals is still on its side.
        (
            CriterionCheck("overall", 0.96, 0.95004, 0.97, CriterionStatus.MET),
            ">=",
            0.95,
            "0.960 (95% CI 0.950–0.970)",
        ),
        # A lower bound of 0.9501 meets a bar of 0.9501, but rounded down to 0.95 it would not.
        (
            CriterionCheck("overall", 0.97, 0.9501, 0.99, CriterionStatus.MET),
            ">=",
            0.9501,
            "0.9700 (95% CI 0.9501–0.9900)",
        ),
        # An upper bound of 0.0999 meets a bar of 0.0999, but rounded up to 0.10 it would not.
        (
            CriterionCheck("overall", 0.08, 0.07, 0.0999, CriterionStatus.MET),
            "<=",
            0.0999,
            "0.0800 (95% CI 0.0700–0.0999)",
        ),
    ],
)
def test_a_figure_prints_on_the_same_side_of_the_bar(
    check: CriterionCheck, operator: str, threshold: float, shown: str
) -> None:
    assert check_figure(check, _criterion(operator, threshold), 0.95) == shown


def test_the_figures_are_the_evidence_figures() -> None:
    """The criterion reads the same estimate the evidence section shows, not a recomputation."""
    run = logreg_run()
    value, low, high = headline(run)
    review = review_of(CHOOSE, cell("CRITERION", "auc >= 0.5"), runs=[run])
    overall = review.criteria[0].checks[0]
    assert (overall.value, overall.lower, overall.upper) == (value, low, high)
    assert overall.rows == len(Y_TEST)


def test_the_stump_misses_a_bar_the_logreg_meets() -> None:
    """The same rule on two real models: only the chosen run is checked."""
    logreg = logreg_run()
    stump = run_of("stump", STUMP, [auc_evaluation(STUMP)], notebook=NOTEBOOK, offset=1)
    bar = cell("CRITERION", "auc >= 0.95")
    choose_stump = cell("DECISION", "Stump", "We chose run:stump. metric:auc")
    assert review_of(CHOOSE, bar, runs=[logreg, stump]).criteria[0].status is CriterionStatus.MET
    missed = review_of(choose_stump, bar, runs=[logreg, stump]).criteria[0]
    assert missed.status is CriterionStatus.NOT_MET and missed.run_id == stump.run_id


# ---------------------------------------------------------------------------------------------
# What a reviewer tripped over


def test_a_figure_the_statement_transformed_is_not_checked_on_the_calls_interval() -> None:
    """`gini = 2 * roc_auc_score(...) - 1`: the evaluation holds the AUC, not the Gini."""
    evaluation = auc_evaluation(STRONG, metric="gini")
    run = logreg_run(evaluation)
    run.metrics["gini"] = 2 * run.metrics["gini"] - 1
    review = review_of(CHOOSE, cell("CRITERION", "gini >= 0.9"), runs=[run])
    [criterion] = review.criteria
    assert criterion.checks[0].value == run.metrics["gini"]
    assert criterion.checks[0].lower is None
    assert criterion.status is CriterionStatus.MET_ON_POINT
    assert "what roc_auc_score returned" in criterion.reason


def test_a_segment_of_a_metric_without_level_intervals_says_so() -> None:
    evaluation = log_loss_evaluation(STRONG)
    halves = (np.arange(len(Y_TEST)) % 2).astype(np.int8)
    evaluation.segments = {"site": SegmentLabels(halves, ["A", "B"], "declared")}
    review = review_of(
        CHOOSE, cell("CRITERION", "log_loss <= 5 on segment site"), runs=[logreg_run(evaluation)]
    )
    [criterion] = review.criteria
    assert criterion.status is CriterionStatus.NOT_EVALUATED
    assert "segment figures need DeLong or Wilson" in criterion.reason
    level = review.evidence.level if review.evidence else 0.95
    sentence = criterion_sentence(criterion, level, "logreg")
    assert "2 of 2 levels of site could not be checked" in sentence
    assert "fall short" not in sentence


def test_a_segment_with_too_many_levels_is_named_as_captured() -> None:
    evaluation = auc_evaluation(STRONG)
    codes = (np.arange(len(Y_TEST)) % 60).astype(np.int16)
    evaluation.segments = {"branch": SegmentLabels(codes, [f"b{i}" for i in range(60)])}
    review = review_of(
        CHOOSE, cell("CRITERION", "auc >= 0.5 on segment branch."), runs=[logreg_run(evaluation)]
    )
    [criterion] = review.criteria
    assert criterion.segment == "branch", "a full stop ends the sentence, not the name"
    assert criterion.status is CriterionStatus.NOT_EVALUATED
    assert "has 60 levels, more than the 50 checked one by one" in criterion.reason


def test_a_percentage_bar_on_a_0_to_100_figure_is_not_evaluated() -> None:
    run = logreg_run()
    run.metrics["acc_pct"] = 61.0
    review = review_of(CHOOSE, cell("CRITERION", "acc_pct >= 90%"), runs=[run])
    [criterion] = review.criteria
    assert criterion.status is CriterionStatus.NOT_EVALUATED
    assert "write the bar without %" in criterion.reason


@pytest.mark.parametrize(
    ("written", "says"),
    [
        ("log_loss >= 0.2", "log_loss is lower-is-better"),
        ("auc <= 0.99", "auc is higher-is-better"),
    ],
)
def test_a_bar_against_the_metrics_direction_is_refused(written: str, says: str) -> None:
    problem = parse_rule(written)
    assert isinstance(problem, str) and says in problem


def test_the_evidences_own_reason_for_no_interval_is_quoted() -> None:
    predictions = STRONG.predict(X_TEST)
    logged = Evaluation(
        function="log_predictions",
        metric="f1",
        value=0.95,
        y_true=np.asarray(Y_TEST),
        y_pred=predictions,
        n_total=len(Y_TEST),
        rows_fingerprint=fingerprint(Y_TEST),
    )
    run = logreg_run(auc_evaluation(STRONG), logged)
    review = review_of(CHOOSE, cell("CRITERION", "f1 >= 0.9"), runs=[run])
    [criterion] = review.criteria
    assert "no predictions were kept" not in criterion.reason
    assert "f1 has no interval (" in criterion.reason and "log_predictions" in criterion.reason


def test_an_infinite_loss_misses_its_bar() -> None:
    run = logreg_run()
    run.metrics["rmse"] = float("inf")
    [criterion] = review_of(CHOOSE, cell("CRITERION", "rmse <= 1"), runs=[run]).criteria
    assert criterion.status is CriterionStatus.NOT_MET
    assert "rmse of logreg is ∞" in criterion_sentence(criterion, 0.95, "logreg")


def test_metric_names_with_spaces_and_rules_in_the_body() -> None:
    run = logreg_run()
    run.metrics["accuracy (2)"] = 0.93
    review = review_of(
        CHOOSE,
        cell("CRITERION", "accuracy (2) >= 0.9"),
        cell("CRITERION", "Discrimination", "auc >= 0.9\nThe department's bar."),
        runs=[run],
    )
    spaced, in_body = review.criteria
    assert spaced.metric == "accuracy (2)" and spaced.status is CriterionStatus.MET_ON_POINT
    assert in_body.text == "auc >= 0.9" and in_body.status is CriterionStatus.MET


@pytest.mark.parametrize(
    ("check", "operator", "threshold", "shown"),
    [
        # Tiny figures in significant digits: never "0.0000" for a figure that is not zero.
        (
            CriterionCheck("overall", 4e-5, 2e-6, 8e-5, CriterionStatus.MET),
            "<=",
            0.001,
            "4e\u221205 (95% CI 2e\u221206–8e\u221205)",
        ),
        # 0.94999999 misses 0.95: printed with the digits that show it.
        (
            CriterionCheck("overall", 0.94999999, None, None, CriterionStatus.NOT_MET),
            ">=",
            0.95,
            "0.94999999",
        ),
        # Huge figures neither crash nor print 300 digits.
        (
            CriterionCheck("overall", 1e305, 1e305, 1e305, CriterionStatus.NOT_MET),
            "<=",
            1.0,
            "1e+305 (95% CI 1e+305–1e+305)",
        ),
    ],
)
def test_odd_figures_print_readably(
    check: CriterionCheck, operator: str, threshold: float, shown: str
) -> None:
    assert check_figure(check, _criterion(operator, threshold), 0.95) == shown


def test_the_bar_is_shown_as_written() -> None:
    assert format_bar(_criterion(">=", 0.95000001)) == "auc ≥ 0.95000001"


def test_a_facts_body_stays_inert_in_the_markdown_report() -> None:
    hostile = (
        "> [!INTENDED-USE] Scoring loans\n> ```html\n> <script>alert(1)</script>\n"
        "> <img src=x onerror=alert(2)>\n> ```"
    )
    review = review_of(CHOOSE, new_markdown_cell(hostile), runs=[logreg_run()])
    markdown, _ = render_markdown(review, None)
    html = MarkdownIt("commonmark").render(markdown)
    assert "<script" not in html and "onerror" not in html.replace("onerror=alert(2)&gt;", "")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_class_balance_is_not_read_from_a_regression_target() -> None:
    ratings = np.random.default_rng(0).integers(1, 6, 200)
    evaluation = Evaluation(
        function="mean_squared_error",
        metric="mse",
        value=1.0,
        y_true=ratings,
        y_pred=ratings + 0.5,
        n_total=200,
        rows_fingerprint=fingerprint(ratings),
    )
    run = logreg_run(evaluation)
    assert "class-balance" not in {fact.key for fact in captured_facts(run)}


def test_class_balance_of_a_sample_gives_shares_not_counts() -> None:
    evaluation = auc_evaluation(STRONG)
    evaluation.n_total = 100 * len(Y_TEST)  # kept: a sample of the rows scored
    [balance] = [f for f in captured_facts(logreg_run(evaluation)) if f.key == "class-balance"]
    assert f"shares in a sample of {len(Y_TEST):,} of {100 * len(Y_TEST):,}" in balance.text
    assert "(" not in balance.text.split("): ", 1)[1], "shares only, no counts"


def test_an_evaluation_without_a_single_figure_falls_back_to_the_recorded_metric() -> None:
    """A curve display backs a metric name but returns no number: the recorded value is used."""
    curve = auc_evaluation(STRONG)
    curve.function, curve.value = "RocCurveDisplay.from_predictions", None
    run = logreg_run(curve)
    run.metrics["auc"] = 0.99
    [criterion] = review_of(CHOOSE, cell("CRITERION", "auc >= 0.9"), runs=[run]).criteria
    assert criterion.checks[0].value == 0.99
    assert criterion.status in (CriterionStatus.MET, CriterionStatus.MET_ON_POINT)
