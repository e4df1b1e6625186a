"""Annotations from markdown cells: alert blocks, tagged cells, run refs, problems, odd input."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nbmodelbook.report.annotations import (
    MAX_CELL_CHARS,
    find_run_refs,
    parse_annotations,
    parse_cell,
)
from nbmodelbook.report.model import Annotation, AnnotationKind, AnnotationProblem

CORPUS = Path("/work/shared/corpus")


def alert(
    kind: AnnotationKind,
    title: str,
    body: str = "",
    refs: tuple[str, ...] = (),
    cell_index: int = 0,
    cell_id: str | None = None,
    source: str = "alert",
) -> Annotation:
    return Annotation(kind, title, body, refs, cell_index, cell_id, source)


def problems_of(source: Any, tags: Any = ()) -> list[str]:
    return [problem.message for problem in parse_cell(source, 0, None, tags)[1]]


# --- alert blocks -------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(AnnotationKind))
def test_each_kind_is_an_annotation(kind: AnnotationKind) -> None:
    source = f"> [!{kind.name}] Title for run:a\n> Body citing run:b."
    assert parse_cell(source, 3, "cell-3") == (
        [alert(kind, "Title for run:a", "Body citing run:b.", ("a", "b"), 3, "cell-3")],
        [],
    )


def test_the_documented_example() -> None:
    source = (
        "> [!DECISION] Gradient boosting as the production model\n"
        "> We chose run:gbm-tuned over run:rf-500 and run:logreg because it has the best "
        "validation AUC\n"
        "> and its calibration is acceptable.\n"
        "\n"
        "> [!REJECTED] run:svm-rbf — too slow to score 2M applications a night.\n"
        "> [!RISK] Performance on applicants under 21 is not measured: too few samples.\n"
    )
    annotations, problems = parse_cell(source, 11, "c11")
    assert problems == []
    assert annotations == [
        alert(
            AnnotationKind.DECISION,
            "Gradient boosting as the production model",
            "We chose run:gbm-tuned over run:rf-500 and run:logreg because it has the best "
            "validation AUC\nand its calibration is acceptable.",
            ("gbm-tuned", "rf-500", "logreg"),
            11,
            "c11",
        ),
        alert(
            AnnotationKind.REJECTED,
            "run:svm-rbf — too slow to score 2M applications a night.",
            "",
            ("svm-rbf",),
            11,
            "c11",
        ),
        alert(
            AnnotationKind.RISK,
            "Performance on applicants under 21 is not measured: too few samples.",
            cell_index=11,
            cell_id="c11",
        ),
    ]


@pytest.mark.parametrize(
    "first_line",
    [
        "> [!DECISION] Use GBM",
        "> [!decision] Use GBM",
        ">[!Decision] Use GBM",
        "> [!DECISION]Use GBM",
        "   > [! DECISION ]   Use GBM  ",
    ],
)
def test_marker_variants(first_line: str) -> None:
    annotations, problems = parse_cell(f"{first_line}\n> because run:gbm", 0, None)
    assert problems == []
    assert annotations == [alert(AnnotationKind.DECISION, "Use GBM", "because run:gbm", ("gbm",))]


def test_marker_alone_on_its_line_gives_an_empty_title_and_the_rest_as_body() -> None:
    source = "> [!DECISION]\n> We chose run:gbm.\n> It calibrates well."
    assert parse_cell(source, 0, None) == (
        [alert(AnnotationKind.DECISION, "", "We chose run:gbm.\nIt calibrates well.", ("gbm",))],
        [],
    )


def test_title_is_plain_text() -> None:
    source = (
        "> [!DECISION] **Gradient** _boosting_ `GBM` [docs](https://x.org) ![alt](i.png) "
        "<b>x</b> &amp; ~~old~~ run:gbm_v2\n"
    )
    (annotation,), _ = parse_cell(source, 0, None)
    assert annotation.title == "Gradient boosting GBM docs alt x & old run:gbm_v2"
    assert annotation.body == ""
    assert annotation.refs == ("gbm_v2",)


def test_body_keeps_markdown_and_line_breaks_without_quote_prefixes() -> None:
    source = (
        "> [!METHOD] Cross-validation\n"
        "> Five folds, **stratified**:\n"
        ">\n"
        ">     indented code run:not-a-ref\n"
        ">\n"
        "> - run:cv-1\n"
        ">   - nested\n"
        "lazy continuation line\n"
        "\n"
        "Ordinary text after the quote."
    )
    assert parse_cell(source, 0, None) == (
        [
            alert(
                AnnotationKind.METHOD,
                "Cross-validation",
                "Five folds, **stratified**:\n\n    indented code run:not-a-ref\n\n"
                "- run:cv-1\n  - nested\nlazy continuation line",
                ("cv-1",),
            )
        ],
        [],
    )


def test_several_blocks_mixed_with_text() -> None:
    source = (
        "# Results\n"
        "Some text with run:not-annotated.\n"
        "\n"
        "> [!ASSUMPTION] Stable population\n"
        "> Applicant mix is as in 2023.\n"
        "\n"
        "More text.\n"
        "\n"
        "> An ordinary quote.\n"
        "\n"
        "> [!LIMITATION] No out-of-time test\n"
        ">\n"
        "> [!CONTEXT] Regulatory review due in May\n"
        "> See run:ctx.\n"
        "\n"
        "> [!DATA] Loans 2019–2023\n"
    )
    annotations, problems = parse_cell(source, 2, None)
    assert problems == []
    assert annotations == [
        alert(
            AnnotationKind.ASSUMPTION, "Stable population", "Applicant mix is as in 2023.", (), 2
        ),
        alert(AnnotationKind.LIMITATION, "No out-of-time test", "", (), 2),
        alert(AnnotationKind.CONTEXT, "Regulatory review due in May", "See run:ctx.", ("ctx",), 2),
        alert(AnnotationKind.DATA, "Loans 2019–2023", "", (), 2),
    ]


def test_a_marker_line_later_in_a_quote_starts_a_new_annotation() -> None:
    source = "> Background first.\n> [!RISK] Drift\n> Watch run:psi.\n> [!NOTE] A plain note."
    assert parse_cell(source, 0, None) == (
        [alert(AnnotationKind.RISK, "Drift", "Watch run:psi.", ("psi",))],
        [],
    )


def test_github_alert_kinds_are_ordinary_quotes() -> None:
    for kind in ("NOTE", "TIP", "IMPORTANT", "WARNING", "CAUTION", "note", "Warning"):
        assert parse_cell(f"> [!{kind}] Something\n> run:x", 0, None) == ([], [])


def test_escaped_marker_and_marker_in_inline_code_are_text() -> None:
    assert parse_cell("> \\[!DECISION] literal\n\n> `[!DECISION]` is the syntax", 0, None) == (
        [],
        [],
    )


def test_markers_in_code_blocks_are_code() -> None:
    source = (
        "```markdown\n> [!DECISION] not an annotation\n[!RISK] nor this\n```\n\n"
        "    > [!RISK] indented code\n\n"
        "> [!RISK] Real one\n> ```\n> [!DECISION] code inside the risk run:in-fence\n> ```\n"
    )
    assert parse_cell(source, 0, None) == (
        [
            alert(
                AnnotationKind.RISK,
                "Real one",
                "```\n[!DECISION] code inside the risk run:in-fence\n```",
            )
        ],
        [],
    )


# --- problems -----------------------------------------------------------------------------------


def test_unknown_kind_is_reported_with_a_suggestion() -> None:
    annotations, problems = parse_cell("> [!DECISON] Use GBM\n\n> [!RISK] r", 11, "abc")
    assert annotations == [alert(AnnotationKind.RISK, "r", cell_index=11, cell_id="abc")]
    assert problems == [
        AnnotationProblem(
            11, "abc", "unknown annotation kind DECISON in cell 12; did you mean DECISION?"
        )
    ]


def test_unknown_kind_suggestions() -> None:
    assert problems_of("> [!rejectd] x") == [
        "unknown annotation kind rejectd in cell 1; did you mean REJECTED?"
    ]
    assert problems_of("> [!WARNIGN] x") == [
        "unknown annotation kind WARNIGN in cell 1; did you mean WARNING?"
    ]
    assert problems_of("> [!BANANA] x") == [
        "unknown annotation kind BANANA in cell 1; use one of DECISION, REJECTED, RISK, "
        "LIMITATION, ASSUMPTION, DATA, METHOD, CONTEXT, INTENDED-USE, OUT-OF-SCOPE, TARGET, "
        "OWNER, VERSION, OVERSIGHT, MONITORING, CRITERION"
    ]


def test_model_fact_kinds_are_written_with_a_hyphen_or_an_underscore() -> None:
    text = "> [!INTENDED-USE] Triage of biopsies\n\n> [!out_of_scope] Screening\n\n> [!Target] y"
    annotations, problems = parse_cell(text, 0, None)
    assert problems == []
    assert [(a.kind, a.title) for a in annotations] == [
        (AnnotationKind.INTENDED_USE, "Triage of biopsies"),
        (AnnotationKind.OUT_OF_SCOPE, "Screening"),
        (AnnotationKind.TARGET, "y"),
    ]
    tagged, problems = parse_cell("Weekly AUC on new biopsies", 2, None, ["monitoring"])
    assert problems == [] and tagged[0].kind is AnnotationKind.MONITORING
    tagged, problems = parse_cell("# Jane Doe, risk analytics", 3, None, ["Intended_Use"])
    assert problems == [] and tagged[0].kind is AnnotationKind.INTENDED_USE
    assert problems_of("> [!INTENDED-USES] x") == [
        "unknown annotation kind INTENDED-USES in cell 1; did you mean INTENDED-USE?"
    ]


def test_empty_annotation_is_a_problem_not_an_annotation() -> None:
    assert parse_cell("> [!DECISION]\n>\n>   \n\n> [!RISK]", 4, None) == (
        [],
        [
            AnnotationProblem(4, None, "empty DECISION annotation in cell 5"),
            AnnotationProblem(4, None, "empty RISK annotation in cell 5"),
        ],
    )


def test_misplaced_markers_are_reported() -> None:
    outside = (
        "[!RISK] in cell 1 is not read as an annotation because it is not in a quote; "
        "write it as '> [!RISK] title' on a line of its own"
    )
    nested = (
        "[!DECISION] in cell 1 is not read as an annotation: only a plain line of a top-level "
        "quote ('> [!DECISION] title') starts one, not a line in a heading, a list or a nested "
        "quote"
    )
    assert parse_cell("[!RISK] forgot the quote", 0, None) == (
        [],
        [AnnotationProblem(0, None, outside)],
    )
    assert problems_of("- [!RISK] in a list") == [outside]
    assert problems_of("> > [!DECISION] nested") == [nested]
    assert problems_of("> ## [!DECISION] heading") == [nested]
    assert problems_of("- > [!DECISION] quote in a list") == [nested]
    # Not our kinds: ordinary text.
    assert problems_of("[!NOTE] x\n\n[!FOO] y\n\n> > [!FOO] z") == []


# --- run refs -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "refs"),
    [
        ("run:rf-500.", ("rf-500",)),
        ("(run:a), run:b; run:c: run:d.", ("a", "b", "c", "d")),
        ("run:a run:b run:a", ("a", "b")),
        ("run:model.v2.", ("model.v2",)),
        ("run:3f2a9c1e run:gbm_tuned-2", ("3f2a9c1e", "gbm_tuned-2")),
        ("Run:GBM and RUN:x", ("GBM", "x")),
        ("_run:x_ and __run:y__", ("x", "y")),
        ("rerun:x run: run:. run:... prerun:y", ()),
        ("see [it](run:linked) or <run:auto>", ("linked", "auto")),
        ("", ()),
    ],
)
def test_find_run_refs(text: str, refs: tuple[str, ...]) -> None:
    assert find_run_refs(text) == refs


def test_find_run_refs_on_non_text() -> None:
    assert find_run_refs(None) == ()  # type: ignore[arg-type]
    assert find_run_refs(b"run:x") == ()  # type: ignore[arg-type]


def test_refs_in_inline_code_count_but_not_in_code_blocks() -> None:
    source = (
        "> [!DECISION] Use `run:gbm`\n"
        "> Over [the forest](run:rf) and _run:lr_.\n"
        "> <!-- run:in-comment -->\n"
        "> ```python\n"
        "> nbmodelbook.compare('run:in-fence')\n"
        "> ```\n"
        ">\n"
        ">     run:in-indented-code\n"
        "> Escaped run:gbm\\_v2 and run:gbm again.\n"
    )
    (annotation,), problems = parse_cell(source, 0, None)
    assert problems == []
    assert annotation.refs == ("gbm", "rf", "lr", "in-comment", "gbm_v2")


def test_refs_use_link_reference_definitions_of_the_cell() -> None:
    source = "> [!DECISION] Use [the tuned model][best]\n\n[best]: run:gbm-tuned"
    (annotation,), problems = parse_cell(source, 0, None)
    assert problems == []
    assert annotation.title == "Use the tuned model"
    assert annotation.refs == ("gbm-tuned",)


# --- tagged cells -------------------------------------------------------------------------------


def test_tagged_cell_is_one_annotation_titled_by_its_heading() -> None:
    source = "## Gradient **boosting**\n\nWe chose run:gbm over run:rf.\n\n```\nrun:code\n```\n"
    assert parse_cell(source, 5, "id5", ["Decision", "hide-input"]) == (
        [
            alert(
                AnnotationKind.DECISION,
                "Gradient boosting",
                "We chose run:gbm over run:rf.\n\n```\nrun:code\n```",
                ("gbm", "rf"),
                5,
                "id5",
                "tag",
            )
        ],
        [],
    )


def test_tagged_cell_without_heading_is_titled_by_its_first_line() -> None:
    source = "Too *few* applicants under 21 (run:age-check)\nto measure performance.\n\nMore."
    assert parse_cell(source, 0, None, ("RISK",)) == (
        [
            alert(
                AnnotationKind.RISK,
                "Too few applicants under 21 (run:age-check)",
                "to measure performance.\n\nMore.",
                ("age-check",),
                source="tag",
            )
        ],
        [],
    )


def test_tagged_cell_with_setext_heading_and_leading_blank_lines() -> None:
    source = "\n\nData sources\n============\n\nLoans 2019–2023."
    assert parse_cell(source, 0, None, ["data"]) == (
        [alert(AnnotationKind.DATA, "Data sources", "Loans 2019–2023.", source="tag")],
        [],
    )


def test_tagged_cell_that_is_an_alert_of_its_own_kind() -> None:
    source = "> [!DECISION] Use GBM\n> because run:gbm"
    assert parse_cell(source, 0, None, ["decision"]) == (
        [alert(AnnotationKind.DECISION, "Use GBM", "> because run:gbm", ("gbm",), source="tag")],
        [],
    )


def test_alerts_of_another_kind_in_a_tagged_cell_are_reported() -> None:
    source = "# Use GBM\n\n> [!RISK] Under-21s\n\n> [!DECISON] typo\n\n> [!NOTE] fine"
    annotations, problems = parse_cell(source, 0, None, ["decision"])
    assert annotations == [
        alert(
            AnnotationKind.DECISION,
            "Use GBM",
            "> [!RISK] Under-21s\n\n> [!DECISON] typo\n\n> [!NOTE] fine",
            source="tag",
        )
    ]
    assert [p.message for p in problems] == [
        "cell 1 is tagged 'decision', so its [!RISK] block is read as part of that decision "
        "annotation; remove the tag or move the block to its own cell",
        "unknown annotation kind DECISON in cell 1; did you mean DECISION?",
    ]


def test_tag_problems() -> None:
    assert parse_cell("", 2, None, ["risk"]) == (
        [],
        [AnnotationProblem(2, None, "empty RISK annotation in cell 3 (tagged 'risk')")],
    )
    annotations, problems = parse_cell("Title", 0, None, ["risk", "decision", "RISK"])
    assert annotations == [alert(AnnotationKind.RISK, "Title", source="tag")]
    assert [p.message for p in problems] == [
        "cell 1 has several annotation tags (risk, decision); it is read as one risk annotation"
    ]
    assert problems_of("Some text", ["decisions", "metadata", "parameters"]) == [
        "tag 'decisions' on cell 1 is not an annotation kind; did you mean 'decision'?"
    ]


def test_odd_tags() -> None:
    expected = [alert(AnnotationKind.RISK, "r", source="tag")]
    assert parse_cell("r", 0, None, "risk")[0] == expected  # one tag, not five letters
    assert parse_cell("r", 0, None, [None, 3, b"risk", "risk"])[0] == expected  # type: ignore[list-item]
    assert parse_cell("r", 0, None, iter(["risk"]))[0] == expected  # type: ignore[arg-type]
    assert parse_cell("r", 0, None, None) == ([], [])
    assert parse_cell("r", 0, None, {"risk": 1}) == ([], [])  # type: ignore[arg-type]
    assert parse_cell("r", 0, None, 42) == ([], [])  # type: ignore[arg-type]


# --- sources and notebooks ----------------------------------------------------------------------


def test_list_formatted_source_and_crlf() -> None:
    lines = ["> [!RISK] Drift\r\n", "> Watch run:psi.\r\n", "\r\n", "text"]
    expected = [alert(AnnotationKind.RISK, "Drift", "Watch run:psi.", ("psi",))]
    assert parse_cell(lines, 0, None) == (expected, [])
    assert parse_cell("".join(lines), 0, None) == (expected, [])
    assert parse_cell(tuple(lines), 0, None) == (expected, [])


@pytest.mark.parametrize(
    "source", [None, 42, 1.5, object(), b"> [!RISK] r\xff", ["a", None, 3], {"x": 1}]
)
def test_odd_sources_do_not_raise(source: Any) -> None:
    annotations, problems = parse_cell(source, 0, None)
    assert problems == []
    assert annotations == (
        [alert(AnnotationKind.RISK, "r\ufffd")] if isinstance(source, bytes) else []
    )


def test_junk_characters() -> None:
    source = "> [!RISK] a\x00b \ud800 \u2028 \x0c\n> \u00a0\n> body\x1c\n\x00> [!DATA] d"
    annotations, problems = parse_cell(source, 0, None)
    assert problems == []
    assert [(a.kind, a.title, a.body) for a in annotations] == [
        # NUL becomes U+FFFD (as in markdown-it); a line of U+00A0 only is blank at the edges.
        (AnnotationKind.RISK, "a\ufffdb \ud800", "body\x1c\n\ufffd> [!DATA] d"),
    ]


def test_huge_cell_is_read_up_to_the_limit() -> None:
    source = "> [!RISK] early\n\n" + "x" * MAX_CELL_CHARS + "\n\n> [!DATA] late\n"
    annotations, problems = parse_cell(source, 0, None)
    assert annotations == [alert(AnnotationKind.RISK, "early")]
    assert [p.message for p in problems] == [
        f"cell 1 is very long: only its first {MAX_CELL_CHARS:,} characters were read for "
        "annotations"
    ]


def test_cells_without_markers_are_skipped_quickly() -> None:
    source = "[" * 500_000  # slow for markdown-it; no `[!` marker, so never parsed
    assert parse_cell(source, 0, None) == ([], [])


def test_parse_annotations_reads_markdown_cells_in_order() -> None:
    notebook = {
        "nbformat": 4,
        "cells": [
            {"cell_type": "code", "source": "> [!RISK] in code", "metadata": {}},
            {
                "cell_type": "markdown",
                "id": "m1",
                "source": ["> [!DECISION] Use GBM\n", "> run:gbm"],
            },
            {"cell_type": "markdown", "source": "No annotations here."},
            "not a cell",
            {"cell_type": "markdown", "id": 7, "source": "x", "metadata": {"tags": ["Risk"]}},
            {"cell_type": "code", "source": "x = 1", "metadata": {"tags": ["decision"]}},
            {"cell_type": "raw", "source": "> [!DATA] raw", "metadata": {"tags": "data"}},
            {"cell_type": "markdown", "source": "> [!DECISON] typo", "metadata": None},
            {"cell_type": "markdown"},
        ],
    }
    annotations, problems = parse_annotations(notebook)
    assert annotations == [
        alert(AnnotationKind.DECISION, "Use GBM", "run:gbm", ("gbm",), 1, "m1"),
        alert(AnnotationKind.RISK, "x", cell_index=4, source="tag"),
    ]
    assert problems == [
        AnnotationProblem(
            5,
            None,
            "cell 6 is a code cell tagged 'decision': only markdown cells are read as annotations",
        ),
        AnnotationProblem(
            6,
            None,
            "cell 7 is a raw cell tagged 'data': only markdown cells are read as annotations",
        ),
        AnnotationProblem(
            7, None, "unknown annotation kind DECISON in cell 8; did you mean DECISION?"
        ),
    ]


def test_parse_annotations_of_odd_notebooks() -> None:
    odd: list[Any] = [None, [], "nb", {}, {"cells": None}, {"cells": "x"}, {"worksheets": [None]}]
    for notebook in odd:
        assert parse_annotations(notebook) == ([], [])
    v3 = {"worksheets": [{"cells": [{"cell_type": "markdown", "source": "> [!RISK] r"}]}]}
    assert parse_annotations(v3) == ([alert(AnnotationKind.RISK, "r")], [])


# --- robustness ---------------------------------------------------------------------------------

_FRAGMENTS = st.sampled_from(
    [
        "> ", ">", "> > ", "[!DECISION]", "[!risk] ", "[!NOTE]", "[!DECISON]", "[! data ]",
        "run:", "run:a.", "gbm", "\n", "\n\n", "\r\n", "\r", "- ", "1. ", "# ", "===", "---",
        "```", "~~~", "    ", "\t", "`", "*", "_", "\\", "[", "]", "(", ")", "<!--", "-->",
        "<b>", "&amp;", "|a|b|\n|-|-|\n", "\x00", "\u00a0", "\u2028", "\x0c", "[x]: run:y\n",
        "text ", "é",
    ]
)  # fmt: skip


def _check(annotations: list[Annotation], problems: list[AnnotationProblem]) -> None:
    for annotation in annotations:
        assert isinstance(annotation.kind, AnnotationKind)
        assert annotation.title or annotation.body
        assert annotation.title == annotation.title.strip()
        assert len(set(annotation.refs)) == len(annotation.refs)
        assert all(ref and not ref.endswith(".") for ref in annotation.refs)
        assert (annotation.cell_index, annotation.cell_id) == (9, "c")
    for problem in problems:
        assert "could not be read" not in problem.message  # the safety net caught a bug


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text())
def test_parse_cell_never_raises_on_arbitrary_text(source: str) -> None:
    _check(*parse_cell(source, 9, "c"))


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_FRAGMENTS, max_size=40).map("".join), st.lists(st.sampled_from(["", "risk", "x"])))
def test_parse_cell_never_raises_on_markdown_like_text(source: str, tags: list[str]) -> None:
    _check(*parse_cell(source, 9, "c", tags))


def _corpus_notebooks() -> Iterator[Any]:
    paths = sorted([*CORPUS.glob("nbformat/*.ipynb"), *CORPUS.glob("nbconvert/*.ipynb")])
    if not paths:
        pytest.skip(f"no notebook corpus at {CORPUS}")
    import nbformat

    for path in paths:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                yield nbformat.read(path, as_version=4)
        except Exception:  # some corpus files are deliberately invalid
            continue


def test_real_notebooks_parse_without_error() -> None:
    parsed = 0
    for notebook in _corpus_notebooks():
        annotations, problems = parse_annotations(notebook)
        # None of these notebooks uses annotations; any result would be a false positive.
        assert (annotations, problems) == ([], [])
        for cell in notebook.cells:  # also every cell as if tagged, the slower path
            _check_tagged(cell)
        parsed += 1
    assert parsed >= 20


def _check_tagged(cell: Any) -> None:
    annotations, problems = parse_cell(cell.get("source"), 9, "c", ["context"])
    assert all(a.kind is AnnotationKind.CONTEXT and a.source == "tag" for a in annotations)
    assert all("could not be read" not in p.message for p in problems)
