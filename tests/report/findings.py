"""Reading a review's audit findings in tests."""

from __future__ import annotations

from nbmodelbook.report.model import Finding, Review


def findings_of(review: Review, code: str) -> list[Finding]:
    return [finding for finding in review.findings if finding.code == code]


def the_finding(review: Review, code: str) -> Finding:
    found = findings_of(review, code)
    assert len(found) == 1, (code, review.findings)
    return found[0]


def codes(review: Review) -> set[str]:
    return {finding.code for finding in review.findings}
