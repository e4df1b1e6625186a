"""Integrity-audit findings computed from the evidence figures: each fires on evidence that does
not support the claim, and stays quiet on the nearest evidence that does."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from nbformat import NotebookNode
from nbformat.v4 import new_markdown_cell, new_notebook
from scipy.stats import norm
from sklearn.naive_bayes import GaussianNB

from nbmodelbook.cli import main
from nbmodelbook.record import (
    Candidate,
    Evaluation,
    RunError,
    RunRecord,
    RunStatus,
    SegmentLabels,
)
from nbmodelbook.report.annotations import parse_annotations
from nbmodelbook.report.audit import (
    SELECTION_EFFECT_RUNS,
    UNEQUAL_EFFORT_CONFIGURATIONS,
    stated_uncertainties,
)
from nbmodelbook.report.build import build_review
from nbmodelbook.report.evidence import review_evidence
from nbmodelbook.report.evidence_view import format_difference, format_optimism, format_p
from nbmodelbook.report.model import Review, Severity
from nbmodelbook.report.render_json import review_payload
from nbmodelbook.stats.selection import expected_max_standard_normal
from nbmodelbook.store.store import RunStore
from tests.report.findings import codes, the_finding
from tests.report.test_review_evidence import (
    ALMOST,
    STRONG,
    STUMP,
    X_OTHER,
    Y_OTHER,
    auc_evaluation,
    evaluated_run,
    fingerprint,
    run_of,
    standard_runs,
    write_notebook,
)

EVIDENCE_CODES = {
    "margin-not-significant",
    "worse-than-alternative",
    "no-better-than-baseline",
    "weak-segment",
    "unstable-across-folds",
    "best-on-grid-edge",
    "selected-on-test-set",
    "unequal-tuning-effort",
    "rejected-on-usage-error",
    "hand-typed-uncertainty",
}
NOTEBOOK = "/nb/model.ipynb"


def annotation(kind: str, title: str, body: str = "") -> NotebookNode:
    lines = [f"> [!{kind}] {title}", *(f"> {line}" for line in body.splitlines())]
    return new_markdown_cell("\n".join(lines))


def review_of(*cells: NotebookNode, runs: Sequence[RunRecord], **options: Any) -> Review:
    notebook = new_notebook(cells=list(cells))
    annotations, problems = parse_annotations(notebook)
    assert problems == []
    by_id = {run.run_id: run for run in runs}
    return build_review(notebook, "model.ipynb", by_id, annotations, problems, **options)


def model_run(name: str, model: Any, offset: int, *evaluations: Evaluation) -> RunRecord:
    return run_of(
        name, model, list(evaluations) or [auc_evaluation(model)], notebook=NOTEBOOK, offset=offset
    )


def decide(chosen: str, *others: str, metric: str = "auc", extra: str = "") -> NotebookNode:
    over = " and ".join(f"run:{name}" for name in others)
    body = f"We chose run:{chosen}" + (f" over {over}" if others else "") + f". metric:{metric}"
    return annotation("DECISION", f"{chosen} for production", body + extra)


# ---------------------------------------------------------------------------------------------
# margin-not-significant, worse-than-alternative


def leader_and_follower() -> tuple[RunRecord, RunRecord]:
    """Two near-identical models; the one with the higher AUC first."""
    logreg, almost = model_run("logreg", STRONG, 0), model_run("almost", ALMOST, 1)
    return (logreg, almost) if logreg.metrics["auc"] > almost.metrics["auc"] else (almost, logreg)


def test_a_lead_that_is_not_significant_is_high_and_sized() -> None:
    logreg, almost = leader_and_follower()
    review = review_of(decide(logreg.name, almost.name), runs=[logreg, almost])
    finding = the_finding(review, "margin-not-significant")
    assert finding.severity is Severity.HIGH
    assert finding.run_ids == (logreg.run_id, almost.run_id)
    assert review.evidence is not None
    [comparison] = review.evidence.comparisons
    assert comparison.result is not None and comparison.result.interval is not None
    # Rounded as the report rounds: to what the interval supports, the method said once.
    shown = format_difference(comparison.result.difference, comparison.result.interval)
    assert f"{shown[:-1]}; DeLong paired on {comparison.result.n:,} rows)" in finding.detail
    assert f"Holm-adjusted {format_p(comparison.adjusted_p_value)}" in finding.detail
    assert finding.detail.count("DeLong paired") == 1
    assert "worse-than-alternative" not in codes(review)


@pytest.mark.parametrize(
    "says",
    [
        " On AUC this test set cannot tell them apart; we take the simpler model.",
        " The difference in auc is not significant, so we chose on cost.",
        " On that metric the two are on par; the linear model is easier to explain.",
        " The difference in AUC (0.99 vs. 0.98) is not significant, so we pick the simpler one.",
        " On AUC: the two are indistinguishable; we take the simplest.",
    ],
)
def test_a_decision_that_says_the_metric_cannot_separate_them_is_told_so_gently(
    says: str,
) -> None:
    logreg, almost = leader_and_follower()
    review = review_of(decide(logreg.name, almost.name, extra=says), runs=[logreg, almost])
    finding = the_finding(review, "margin-not-significant")
    assert finding.severity is Severity.LOW
    assert "as the decision says" in finding.title


@pytest.mark.parametrize(
    "claims",
    [
        " Its AUC is higher. Calibration differences are not significant.",
        " It is clearly better, and at least as good as the incumbent on cost.",
        " It wins. Differences in performance at the tails are not significant.",
    ],
)
def test_a_phrase_about_something_else_does_not_soften_a_claimed_lead(claims: str) -> None:
    logreg, almost = leader_and_follower()
    review = review_of(decide(logreg.name, almost.name, extra=claims), runs=[logreg, almost])
    assert the_finding(review, "margin-not-significant").severity is Severity.HIGH


def test_a_chosen_run_behind_an_indistinguishable_alternative_has_no_lead_to_question() -> None:
    leader, follower = leader_and_follower()
    review = review_of(decide(follower.name, leader.name), runs=[follower, leader])
    assert review.evidence is not None
    assert review.evidence.comparisons[0].verdict == "not distinguishable"
    assert "chosen-not-best" in codes(review)  # said there, from the recorded values
    assert not codes(review) & {"margin-not-significant", "worse-than-alternative"}


def test_a_significant_lead_raises_neither_finding() -> None:
    logreg, stump = model_run("logreg", STRONG, 0), model_run("stump", STUMP, 1)
    review = review_of(decide("logreg", "stump"), runs=[logreg, stump])
    assert review.evidence is not None
    assert review.evidence.comparisons[0].verdict == "significantly better"
    assert not codes(review) & {"margin-not-significant", "worse-than-alternative"}


def test_a_chosen_run_significantly_worse_than_its_alternative_is_high() -> None:
    logreg, stump = model_run("logreg", STRONG, 0), model_run("stump", STUMP, 1)
    review = review_of(decide("stump", "logreg"), runs=[stump, logreg])
    finding = the_finding(review, "worse-than-alternative")
    assert finding.severity is Severity.HIGH
    assert finding.run_ids == (stump.run_id, logreg.run_id)
    assert "significantly worse" in finding.detail and "Holm-adjusted p" in finding.detail
    assert "margin-not-significant" not in codes(review)


def test_runs_on_different_rows_give_no_verdict_finding() -> None:
    logreg = model_run("logreg", STRONG, 0)
    other = model_run("stump", STUMP, 1, auc_evaluation(STUMP, X_OTHER, Y_OTHER))
    review = review_of(decide("stump", "logreg"), runs=[other, logreg])
    assert not codes(review) & {"margin-not-significant", "worse-than-alternative"}


# ---------------------------------------------------------------------------------------------
# no-better-than-baseline

RNG = np.random.default_rng(11)
ROWS = 400
Y = RNG.integers(0, 2, ROWS)


def scored(scores: Any, y: Any = Y, **fields: Any) -> Evaluation:
    from sklearn.metrics import roc_auc_score

    return Evaluation(
        function="roc_auc_score",
        metric="auc",
        value=float(roc_auc_score(y, scores)),
        y_true=np.asarray(y),
        y_score=np.asarray(scores, dtype=float),
        n_total=len(y),
        rows_fingerprint=fingerprint(y),
        **fields,
    )


def plain_run(name: str, offset: int, *evaluations: Evaluation, **fields: Any) -> RunRecord:
    params = fields.pop("params", {"model": "LogisticRegression", "model.C": float(offset)})
    return evaluated_run(
        name, offset, list(evaluations), notebook=NOTEBOOK, params=params, **fields
    )


def test_a_model_no_better_than_the_prior_is_high() -> None:
    noise = plain_run("noise", 0, scored(RNG.random(ROWS)))
    review = review_of(decide("noise"), runs=[noise])
    finding = the_finding(review, "no-better-than-baseline")
    assert finding.severity is Severity.HIGH and finding.run_ids == (noise.run_id,)
    assert "prior" in finding.detail and "0.5" in finding.detail


def test_a_model_clearly_above_the_prior_is_not_flagged() -> None:
    signal = plain_run("signal", 0, scored(Y + RNG.normal(0, 0.8, ROWS)))
    review = review_of(decide("signal"), runs=[signal])
    assert review.evidence is not None and review.evidence.baseline is not None
    assert "no-better-than-baseline" not in codes(review)


# ---------------------------------------------------------------------------------------------
# weak-segment

REGION = np.repeat(np.arange(4), ROWS // 4)  # north, south, east, west: 100 rows each


def segmented(scores: Any) -> Evaluation:
    labels = SegmentLabels(REGION.astype(np.int8), ["north", "south", "east", "west"], "declared")
    return scored(scores, segments={"region": labels})


def test_a_segment_significantly_below_overall_is_weak() -> None:
    scores = Y + RNG.normal(0, 0.5, ROWS)
    east = REGION == 2
    scores[east] = RNG.random(int(east.sum()))  # no signal at all in the east
    run = plain_run("forest", 0, segmented(scores))
    review = review_of(decide("forest"), runs=[run])
    finding = the_finding(review, "weak-segment")
    assert finding.severity is Severity.MEDIUM
    assert "region is east" in finding.detail and "100 rows" in finding.detail
    assert review.evidence is not None
    [weak] = review.evidence.weak_segments
    assert (weak.segment, weak.level, weak.n) == ("region", "east", 100)
    assert weak.interval.high < weak.overall  # wholly below, at the Bonferroni level
    assert weak.interval.level == pytest.approx(1 - 0.05 / 4)
    payload = review_payload(review)
    assert payload["weak_segments"][0]["level"] == "east"


def test_weak_segments_agree_with_the_metricframe_rule_of_stats_segments() -> None:
    from sklearn.metrics import roc_auc_score

    from nbmodelbook.report.evidence import weak_segments_of
    from nbmodelbook.stats.auc import auc_estimate
    from nbmodelbook.stats.segments import weak_segments

    rng = np.random.default_rng(5)
    scores = Y + rng.normal(0, 0.6, ROWS)
    scores[REGION == 1] = Y[REGION == 1] + rng.normal(0, 2.0, int((REGION == 1).sum()))
    scores[REGION == 3] = rng.random(int((REGION == 3).sum()))
    evaluation = segmented(scores)

    def delong(y: Any, p: Any, /, *, sample_weight: Any, level: float) -> Any:
        return auc_estimate(y, p, level=level)

    reference = weak_segments(
        roc_auc_score,
        Y,
        scores,
        REGION,
        ["north", "south", "east", "west"],
        higher_is_better=True,
        column="region",
        interval_fn=delong,
    )
    found = weak_segments_of(evaluation)
    assert [w.level for w in found] == [w.level for w in reference.weak] != []
    for mine, theirs in zip(found, reference.weak, strict=True):
        assert mine.value == pytest.approx(theirs.value)
        assert theirs.interval is not None
        assert (mine.interval.low, mine.interval.high) == pytest.approx(
            (theirs.interval.low, theirs.interval.high)
        )
        assert mine.overall == pytest.approx(reference.overall)
        assert mine.test == reference.test


def test_even_segments_are_not_weak() -> None:
    run = plain_run("forest", 0, segmented(Y + RNG.normal(0, 0.5, ROWS)))
    review = review_of(decide("forest"), runs=[run])
    assert review.evidence is not None and review.evidence.weak_segments == []
    assert "weak-segment" not in codes(review)


# ---------------------------------------------------------------------------------------------
# unstable-across-folds


def cross_validated(folds: list[float], **fields: Any) -> RunRecord:
    run = model_run("logreg", STRONG, 0)
    run.candidates = [Candidate("cross_val_score", 0, 0, {}, "roc_auc", folds, **fields)]
    return run


def test_folds_far_apart_are_unstable_and_the_rule_is_stated() -> None:
    run = cross_validated([0.95, 0.96, 0.70, 0.94, 0.95])  # mean 0.90, worst 0.20 below
    review = review_of(decide("logreg"), runs=[run])
    finding = the_finding(review, "unstable-across-folds")
    assert finding.severity is Severity.MEDIUM
    assert "worst fold 0.7" in finding.detail and "more than 10%" in finding.detail


@pytest.mark.parametrize(
    ("folds", "unstable"),
    [
        ([0.95, 0.94, 0.93, 0.96, 0.95], False),
        ([1.0, 1.0, 0.83], True),  # mean 0.9433, drop 0.1133 > 0.0943
        ([1.0, 1.0, 0.88], False),  # mean 0.96, drop 0.08 < 0.096
        ([0.95, 0.60], False),  # two folds: too few to judge
        ([-0.30, -0.31, -0.45], True),  # neg_log_loss: the worst is the lowest
    ],
)
def test_the_fold_rule(folds: list[float], unstable: bool) -> None:
    review = review_of(decide("logreg"), runs=[cross_validated(folds)])
    assert ("unstable-across-folds" in codes(review)) is unstable


# ---------------------------------------------------------------------------------------------
# best-on-grid-edge

GRID = [0.01, 0.1, 1.0, 10.0, 100.0]


def searched(chosen_c: float, *, extra: dict[str, Any] | None = None) -> RunRecord:
    run = model_run("logreg", STRONG, 0)
    run.candidates = [
        Candidate(
            "GridSearchCV",
            0,
            index,
            {"C": c, **(extra or {})},
            "roc_auc",
            [0.9 + index / 100] * 3,
            chosen=c == chosen_c,
            mean_score=0.9 + index / 100 if c != chosen_c else 0.99,
        )
        for index, c in enumerate(GRID)
    ]
    return run


def test_a_refit_choice_on_the_grid_edge_is_flagged_with_its_rank() -> None:
    review = review_of(decide("logreg"), runs=[searched(100.0)])
    finding = the_finding(review, "best-on-grid-edge")
    assert finding.severity is Severity.LOW
    assert "C = 100, the highest of 0.01, 0.1, 1, 10, 100" in finding.detail
    assert "rank 1 of 5" in finding.detail
    assert review.evidence is not None
    [search] = review.evidence.searches
    assert (search.source, search.group, search.chosen_rank) == ("GridSearchCV", 0, 1)
    assert [c.rank for c in search.candidates] == [5, 4, 3, 2, 1]
    assert [(e.param, e.side) for e in search.edges] == [("C", "highest")]
    payload = review_payload(review)
    assert payload["searches"][0]["grid_edges"][0]["param"] == "C"
    assert payload["searches"][0]["chosen_rank"] == 1


def test_the_lowest_value_is_an_edge_too() -> None:
    review = review_of(decide("logreg"), runs=[searched(0.01)])
    assert "the lowest of" in the_finding(review, "best-on-grid-edge").detail


def test_a_choice_inside_the_grid_is_not_on_the_edge() -> None:
    review = review_of(decide("logreg"), runs=[searched(1.0)])
    assert "best-on-grid-edge" not in codes(review)
    assert review.evidence is not None and review.evidence.searches[0].edges == ()


def test_two_values_booleans_and_text_are_no_grid() -> None:
    run = searched(1.0, extra={"fit_intercept": True, "penalty": "l2"})
    for index, candidate in enumerate(run.candidates):
        candidate.params["tol"] = [1e-4, 1e-3][index % 2]
    run.candidates[2].params["tol"] = 1e-3  # the chosen one, at the top of two values
    review = review_of(decide("logreg"), runs=[run])
    assert "best-on-grid-edge" not in codes(review)


def test_tied_means_share_the_better_rank() -> None:
    run = searched(1.0)
    for candidate in run.candidates:
        candidate.mean_score = 0.9
    run.candidates[4].mean_score = math.nan
    review = review_of(decide("logreg"), runs=[run])
    assert review.evidence is not None
    assert [c.rank for c in review.evidence.searches[0].candidates] == [1, 1, 1, 1, None]


# ---------------------------------------------------------------------------------------------
# selected-on-test-set


def test_a_choice_made_on_the_reported_rows_is_sized() -> None:
    logreg, stump = model_run("logreg", STRONG, 0), model_run("stump", STUMP, 1)
    review = review_of(decide("logreg", "stump"), runs=[logreg, stump])
    finding = the_finding(review, "selected-on-test-set")
    assert finding.severity is Severity.LOW  # the lead over the stump dwarfs the optimism
    assert review.evidence is not None
    effect = review.evidence.selection_effect
    assert effect is not None and effect.same_rows and effect.runs_on_same_rows == 1
    assert effect.configurations == 2
    chosen = review.evidence.chosen_estimate()
    assert chosen is not None and chosen.estimate is not None
    interval = chosen.estimate.interval
    assert interval is not None
    # The wider half of the interval: an AUC interval cut at 1.0 is narrow on that side only.
    value = chosen.estimate.value
    se = max(value - interval.low, interval.high - value) / norm.ppf(0.975)
    assert effect.standard_error == pytest.approx(se)
    assert effect.k == 2
    assert effect.expected_max == pytest.approx(1 / math.sqrt(math.pi))
    assert effect.optimism == pytest.approx(se / math.sqrt(math.pi))
    assert "independent" in effect.method and "upper-side" in effect.method
    # At the headline figure's decimals, as page 1 shows it.
    assert f"optimistic by up to about {format_optimism(review.evidence)} " in finding.detail
    payload = review_payload(review)["selection_effect"]
    assert set(payload) >= {"configurations", "same_rows", "optimism", "method"}
    assert payload["configurations"] == 2 and payload["same_rows"] is True


def test_a_lead_the_selection_alone_could_explain_is_medium() -> None:
    leader, follower = leader_and_follower()
    review = review_of(decide(leader.name, follower.name), runs=[leader, follower])
    finding = the_finding(review, "selected-on-test-set")
    assert review.evidence is not None and review.evidence.selection_effect is not None
    [comparison] = review.evidence.comparisons
    assert comparison.result is not None
    assert 0 < comparison.result.difference <= (review.evidence.selection_effect.optimism or 0)
    assert finding.severity is Severity.MEDIUM
    assert "the selection alone could explain it" in finding.detail


def test_in_cell_candidates_count_among_the_configurations_not_among_the_test_set_choices() -> None:
    logreg, stump = searched(1.0), model_run("stump", STUMP, 1)
    review = review_of(decide("logreg", "stump"), runs=[logreg, stump])
    assert review.evidence is not None
    effect = review.evidence.selection_effect
    assert effect is not None and effect.configurations == 6  # five candidates and the stump
    # The candidates were chosen on training folds, not on the test rows: the choice on these
    # rows is between the two runs.
    assert effect.k == 2
    assert effect.expected_max == pytest.approx(expected_max_standard_normal(2))


def test_a_run_chosen_alone_or_on_other_rows_is_not_selected_on_its_test_set() -> None:
    alone = review_of(decide("logreg"), runs=[model_run("logreg", STRONG, 0)])
    assert "selected-on-test-set" not in codes(alone)
    other = model_run("stump", STUMP, 1, auc_evaluation(STUMP, X_OTHER, Y_OTHER))
    apart = review_of(decide("logreg", "stump"), runs=[model_run("logreg", STRONG, 0), other])
    assert apart.evidence is not None and apart.evidence.selection_effect is not None
    assert not apart.evidence.selection_effect.same_rows
    assert apart.evidence.selection_effect.optimism is None
    assert "selected-on-test-set" not in codes(apart)


def test_the_sized_finding_replaces_the_count_of_tries() -> None:
    runs = [
        plain_run(f"try-{i}", i, scored(Y + RNG.normal(0, 1 + i / 10, ROWS))) for i in range(10)
    ]
    best = max(runs, key=lambda run: run.metrics["auc"])
    others = [run.name for run in runs if run is not best]
    review = review_of(decide(best.name, *others), runs=runs)
    assert len(runs) == SELECTION_EFFECT_RUNS
    assert "selected-on-test-set" in codes(review)
    assert "selection-effect" not in codes(review)


# ---------------------------------------------------------------------------------------------
# unequal-tuning-effort


def tuned_and_untuned(tuned: int, untuned_bayes: int) -> list[RunRecord]:
    logreg = model_run("logreg", STRONG, 0)
    logreg.candidates = [
        Candidate("GridSearchCV", 0, i, {"C": 10.0**i}, "roc_auc", [0.9, 0.9, 0.9], chosen=i == 0)
        for i in range(tuned)
    ]
    bayes = [
        model_run(
            f"bayes-{i}", GaussianNB(var_smoothing=10.0 ** -(9 - i)), 1 + i, auc_evaluation(STUMP)
        )
        for i in range(untuned_bayes)
    ]
    return [logreg, *bayes]


def test_a_tuned_family_against_an_untuned_one_is_medium() -> None:
    runs = tuned_and_untuned(UNEQUAL_EFFORT_CONFIGURATIONS, 1)
    review = review_of(decide("logreg", "bayes-0"), runs=runs)
    finding = the_finding(review, "unequal-tuning-effort")
    assert finding.severity is Severity.MEDIUM
    assert f"over {UNEQUAL_EFFORT_CONFIGURATIONS} configurations" in finding.title
    assert "GaussianNB: 1 configuration" in finding.detail
    assert review.evidence is not None
    assert review.evidence.effort.family_configurations == (
        ("LogisticRegression", UNEQUAL_EFFORT_CONFIGURATIONS),
        ("GaussianNB", 1),
    )


def test_equal_enough_effort_is_not_flagged() -> None:
    few = review_of(
        decide("logreg", "bayes-0"), runs=tuned_and_untuned(UNEQUAL_EFFORT_CONFIGURATIONS - 1, 1)
    )
    assert "unequal-tuning-effort" not in codes(few)
    both = review_of(
        decide("logreg", "bayes-0"), runs=tuned_and_untuned(UNEQUAL_EFFORT_CONFIGURATIONS, 2)
    )
    assert "unequal-tuning-effort" not in codes(both)


def test_uncited_runs_candidates_count_from_the_store_counts() -> None:
    logreg = model_run("logreg", STRONG, 0)
    uncited = plain_run("sweep", 1, params={"model": "LogisticRegression", "model.C": 3.0})
    review = review_of(
        decide("logreg"), runs=[logreg, uncited], candidate_counts={uncited.run_id: 7}
    )
    assert review.evidence is not None
    effort = review.evidence.effort
    assert effort.candidates == 7 and effort.configurations == 1 + 7
    without = review_evidence(
        {logreg.run_id: logreg}, logreg.run_id, [], "auc", all_runs=[logreg, uncited]
    )
    assert without.effort.candidates == 0 and without.effort.configurations == 2


# ---------------------------------------------------------------------------------------------
# rejected-on-usage-error


def failed(message: str, kind: str = "TypeError") -> RunRecord:
    return plain_run(
        "svm",
        5,
        status=RunStatus.ERROR,
        error=RunError(kind, message, f"Traceback ...\n{kind}: {message}"),
        params={"model": "SVC"},
    )


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("TypeError", "SVC.__init__() got an unexpected keyword argument 'kernal'"),
        ("InvalidParameterError", "The 'C' parameter of SVC must be a float in (0, inf). Got -1"),
        ("ValueError", "Solver lbfgs supports only 'l2' or None penalties, got l1 penalty."),
    ],
)
def test_a_rejection_of_a_run_that_failed_on_its_arguments_is_high(kind: str, message: str) -> None:
    logreg, svm = model_run("logreg", STRONG, 0), failed(message, kind)
    review = review_of(
        decide("logreg"), annotation("REJECTED", "run:svm — it does not work."), runs=[logreg, svm]
    )
    finding = the_finding(review, "rejected-on-usage-error")
    assert finding.severity is Severity.HIGH and finding.run_ids == (svm.run_id,)
    assert kind in finding.detail and "never evaluated" in finding.detail


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("ValueError", "Input X contains NaN."),  # the data, not the call
        ("MemoryError", "Unable to allocate 12.0 GiB"),
        ("KeyboardInterrupt", ""),
    ],
)
def test_other_failures_are_not_usage_errors(kind: str, message: str) -> None:
    logreg, svm = model_run("logreg", STRONG, 0), failed(message, kind)
    review = review_of(
        decide("logreg"), annotation("REJECTED", "run:svm — it does not work."), runs=[logreg, svm]
    )
    assert "rejected-on-usage-error" not in codes(review)


def test_a_rejection_of_an_evaluated_run_is_not_a_usage_error() -> None:
    logreg, stump = model_run("logreg", STRONG, 0), model_run("stump", STUMP, 1)
    review = review_of(
        decide("logreg"), annotation("REJECTED", "run:stump — too weak."), runs=[logreg, stump]
    )
    assert "rejected-on-usage-error" not in codes(review)


def test_the_chosen_run_compared_in_a_rejection_is_not_what_it_cites() -> None:
    svm = failed("SVC.__init__() got an unexpected keyword argument 'kernal'")
    logreg = model_run("logreg", STRONG, 0)
    review = review_of(
        decide("svm"), annotation("REJECTED", "run:logreg — not chosen."), runs=[svm, logreg]
    )
    assert "rejected-on-usage-error" not in codes(review)


# ---------------------------------------------------------------------------------------------
# hand-typed-uncertainty


def chosen_interval() -> tuple[RunRecord, float, float, float]:
    run = model_run("logreg", STUMP, 0)
    figures = review_evidence({run.run_id: run}, run.run_id, [], "auc").chosen_estimate()
    assert figures is not None and figures.estimate is not None
    interval = figures.estimate.interval
    assert interval is not None
    return run, figures.estimate.value, interval.low, interval.high


def test_a_typed_interval_much_narrower_than_the_computed_one_is_medium() -> None:
    run, value, low, high = chosen_interval()
    half = (high - low) / 8  # a quarter of the computed width
    review = review_of(decide("logreg", extra=f"\nAUC {value:.3f} ± {half:.4f}."), runs=[run])
    finding = the_finding(review, "hand-typed-uncertainty")
    assert finding.severity is Severity.MEDIUM
    assert "overstates the certainty" in finding.detail and finding.run_ids == (run.run_id,)


def test_a_typed_interval_that_excludes_the_estimate_is_medium() -> None:
    run, value, low, high = chosen_interval()
    width = high - low
    stated = f"auc {value + width:.3f} ({value + width / 2:.3f}–{value + 1.5 * width:.3f})"
    review = review_of(decide("logreg", extra=f"\n{stated}"), runs=[run])
    finding = the_finding(review, "hand-typed-uncertainty")
    assert finding.severity is Severity.MEDIUM and "does not contain" in finding.detail


def test_a_typed_interval_far_wider_than_the_computed_one_is_low() -> None:
    run, _value, low, high = chosen_interval()
    review = review_of(
        decide("logreg", extra=f"\nROC AUC: [{low - (high - low):.3f}, {high + (high - low):.3f}]"),
        runs=[run],
    )
    assert the_finding(review, "hand-typed-uncertainty").severity is Severity.LOW


def test_a_typed_interval_that_agrees_is_not_flagged() -> None:
    run, value, low, high = chosen_interval()
    for text in (
        f"AUC {value:.3f} (95% CI {low:.3f}–{high:.3f})",
        f"auc = {value:.3f} ± {(high - low) / 2:.3f}",
        f"The AUC is {value:.3f} [{low:.3f}, {high:.3f}]",
    ):
        review = review_of(decide("logreg", extra=f"\n{text}"), runs=[run])
        assert "hand-typed-uncertainty" not in codes(review), text


@pytest.mark.parametrize(
    "text",
    [
        "AUC measured on 2024-01-05 (0.1-0.9 split).",
        "auc with scikit-learn 1.5.2 [1.4, 1.6]",
        "AUC improved when C in [0.01, 100] was searched.",
        "max_depth (3–10) and auc 0.99 on the test set.",
        "AUC 99.7% ± 1%.",
        "auc 0.9 (0.95–0.99)",  # the value outside its own bounds: not an interval
        "accuracy 0.9 ± 0.01",  # a metric the evidence did not compute
    ],
)
def test_dates_versions_and_hyperparameter_ranges_are_not_intervals(text: str) -> None:
    run, _value, _low, _high = chosen_interval()
    review = review_of(decide("logreg", extra=f"\n{text}"), runs=[run])
    assert "hand-typed-uncertainty" not in codes(review), text


def test_a_note_without_runs_speaks_of_the_chosen_run_but_one_citing_others_does_not() -> None:
    run, value, low, high = chosen_interval()
    svm = failed("SVC.__init__() got an unexpected keyword argument 'kernal'")
    typed = f"AUC {value:.3f} ± {(high - low) / 8:.4f}"
    note = review_of(decide("logreg"), annotation("RISK", "Typed", typed), runs=[run, svm])
    assert the_finding(note, "hand-typed-uncertainty").run_ids == (run.run_id,)
    about_svm = review_of(
        decide("logreg"), annotation("REJECTED", f"run:svm — {typed}"), runs=[run, svm]
    )
    assert "hand-typed-uncertainty" not in codes(about_svm)  # no figures of svm to hold it to


def test_the_parser_reads_the_usual_forms() -> None:
    read = stated_uncertainties(
        "AUC 0.997 ± 0.01; auc 0.99 (0.98–1.00), auc: [0.95, 0.99] and auc of 0.9 +/- 0.05",
        {"auc"},
    )
    assert [(s.value, s.low, s.high) for s in read] == [
        (0.997, pytest.approx(0.987), pytest.approx(1.007)),
        (0.99, 0.98, 1.0),
        (None, 0.95, 0.99),
        (0.9, pytest.approx(0.85), pytest.approx(0.95)),
    ]
    assert stated_uncertainties("sklearn 1.2.3 ± 0.1, auc v1.2 ± 0.1", {"auc"}) == []
    spelled = stated_uncertainties("ROC-AUC 0.9 ± 0.02 and roc_auc [0.8, 0.9]", {"roc auc"})
    assert [(s.metric, s.low, s.high) for s in spelled] == [
        ("roc auc", pytest.approx(0.88), pytest.approx(0.92)),
        ("roc auc", 0.8, 0.9),
    ]


def test_a_clean_review_of_a_well_supported_choice_raises_none_of_these() -> None:
    logreg = model_run("logreg", STRONG, 0)
    review = review_of(decide("logreg"), runs=[logreg])
    assert not codes(review) & EVIDENCE_CODES


# ---------------------------------------------------------------------------------------------
# `nbmodelbook check` on a real store


def test_check_reports_the_evidence_findings_with_their_severities(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    notebook = tmp_path / "model.ipynb"
    logreg, almost, _stump, _bayes = standard_runs(str(notebook.resolve()))
    svm = failed("SVC.__init__() got an unexpected keyword argument 'kernal'")
    svm.notebook = str(notebook.resolve())
    store_path = tmp_path / "runs.sqlite"
    store = RunStore.open(str(store_path))
    for record in (logreg, almost, svm):
        store.finish_run(record)
    store.close()
    write_notebook(
        notebook,
        [logreg, almost, svm],
        "> [!DECISION] Logistic regression\n> We chose run:logreg over run:logreg-c05. metric:auc"
        "\n\n> [!REJECTED] run:svm — it does not work.",
    )
    args = ["check", str(notebook), "--store", str(store_path)]
    assert main([*args, "--format", "json"]) == 1
    items = {item["code"]: item for item in json.loads(capsys.readouterr().out)["items"]}
    assert items["margin-not-significant"]["severity"] == "high"
    assert items["margin-not-significant"]["blocking"] is True
    assert items["rejected-on-usage-error"]["severity"] == "high"
    assert items["selected-on-test-set"]["severity"] == "medium"
    assert main(args) == 1
    out = capsys.readouterr().out
    assert "The lead over logreg-c05" in out and "[high]" in out and "[medium]" in out


def test_loop_candidates_scored_by_a_loss_rank_the_lowest_first() -> None:
    from nbmodelbook.report.evidence import FoldScores, searches_of

    def candidate(index: int, source: str, scorer: str, mean: float) -> FoldScores:
        return FoldScores(source, 0, index, {"alpha": index}, scorer, (mean,), mean, None, False)

    means = (1.05, 1.06, 1.6)
    [loop] = searches_of(
        "r", [candidate(i, "loop", "mean_squared_error", m) for i, m in enumerate(means)]
    )
    assert [c.rank for c in loop.candidates] == [1, 2, 3]
    # A scorer is greater-is-better, "neg_" losses included.
    [grid] = searches_of(
        "r",
        [candidate(i, "GridSearchCV", "neg_mean_squared_error", -m) for i, m in enumerate(means)],
    )
    assert [c.rank for c in grid.candidates] == [1, 2, 3]
