"""`nbmodelbook check`: would a reviewer accept this notebook as it is?"""

from __future__ import annotations

from dataclasses import dataclass

from nbmodelbook.report.model import AnnotationKind, Review, Severity


@dataclass(frozen=True, slots=True)
class ReadinessItem:
    code: str
    blocking: bool
    message: str
    cell_index: int | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "blocking": self.blocking,
            "message": self.message,
            "cell": self.cell_index + 1 if self.cell_index is not None else None,
        }


def readiness(review: Review) -> list[ReadinessItem]:
    """What a reviewer would miss; blocking items make the notebook not ready."""
    items: list[ReadinessItem] = []
    if not review.decisions:
        items.append(
            ReadinessItem(
                "no-decision",
                True,
                "no decision annotation: add a markdown cell '> [!DECISION] ...' citing the "
                "chosen run with run:NAME",
            )
        )
    kinds = {note.kind for note in review.notes}
    if not kinds & {AnnotationKind.RISK, AnnotationKind.LIMITATION}:
        items.append(
            ReadinessItem(
                "no-risks",
                True,
                "no risk or limitation is documented: add '> [!RISK] ...' or "
                "'> [!LIMITATION] ...' (a reviewer will ask what could go wrong)",
            )
        )
    for problem in review.annotation_problems:
        items.append(ReadinessItem("annotation", True, problem.message, problem.cell_index))
    for finding in review.findings:
        items.append(
            ReadinessItem(
                finding.code,
                finding.severity is Severity.HIGH,
                f"{finding.title}: {finding.detail}",
                finding.cell_index,
            )
        )
    return sorted(items, key=lambda item: (not item.blocking, item.cell_index or 0))


def is_ready(items: list[ReadinessItem]) -> bool:
    return not any(item.blocking for item in items)
