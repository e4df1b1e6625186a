"""Framework coverage: the built-in frameworks and an organisation's own file load (and a bad file
is refused with its line), and each element of a framework is covered, partly covered or missing
according to what the review holds: annotations, captured facts, evidence figures."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbformat.v4 import new_markdown_cell, new_notebook

from nbmodelbook.cli import main
from nbmodelbook.report.annotations import parse_annotations
from nbmodelbook.report.build import build_review
from nbmodelbook.report.coverage import (
    PROBES,
    FrameworkError,
    builtin_frameworks,
    coverage_view,
    evaluate_framework,
    load_framework,
    notebook_frameworks,
)
from nbmodelbook.report.facts import CAPTURED_FACTS
from nbmodelbook.report.model import (
    AnnotationKind,
    CoverageStatus,
    Fact,
    FrameworkCoverage,
    Review,
)
from nbmodelbook.report.render_html import render_html
from nbmodelbook.report.render_json import review_payload
from nbmodelbook.report.render_markdown import render_markdown
from nbmodelbook.report.view import build_view
from tests.report.test_review_evidence import reviewed, standard_runs

# The standard runs, annotated so that the notebook is ready for review.
READY = "> [!DECISION] Logistic regression\n> We chose run:logreg over run:stump. metric:auc"
EVIDENCE_KEYS = ("interval", "comparisons", "baseline", "segments", "folds", "calibration")
EVIDENCE_KEYS += ("selection-effect", "search")

OWN = """\
title = "Our bank's model standard"
source = "Model Risk Policy MRP-4, section 3 (2025)"

[[element]]
id = "purpose"
title = "Purpose"
clause = "MRP-4 §3.1"
requires = ["annotation:intended-use", "annotation:owner"]
fix."annotation:owner" = "write an `> [!OWNER]` annotation: the accountable executive"

[[element]]
id = "risks"
title = "Risks"
clause = "MRP-4 §3.2"
requires = ["annotation:risk"]

[[element]]
id = "sign-off"
title = "Sign-off"
clause = "MRP-4 §3.9"
outside = "have the committee chair sign the review"
"""


def review_of(*markdown: str, runs: dict[str, Any] | None = None) -> Review:
    notebook = new_notebook(cells=[new_markdown_cell(text) for text in markdown])
    annotations, problems = parse_annotations(notebook)
    assert problems == []
    return build_review(notebook, "model.ipynb", runs or {}, annotations, problems)


def element(coverage: FrameworkCoverage, element_id: str) -> Any:
    [found] = [e for e in coverage.elements if e.element_id == element_id]
    return found


# --- the vocabulary and the built-in frameworks --------------------------------------------------


def test_the_vocabulary_names_every_annotation_kind_fact_and_figure() -> None:
    expected = {f"annotation:{kind.value}" for kind in AnnotationKind}
    expected |= {f"fact:{key}" for key in CAPTURED_FACTS}  # every fact the review captures
    expected |= {f"evidence:{key}" for key in EVIDENCE_KEYS}
    expected |= {"review:history", "review:audit", "review:criteria-met"}
    assert set(PROBES) == expected
    for kind in AnnotationKind:
        # What to write names the marker the author types.
        assert f"[!{kind.marker}]" in PROBES[f"annotation:{kind.value}"].fix


def test_the_three_builtin_frameworks_load_and_cite_their_source() -> None:
    assert set(builtin_frameworks()) == {"model-card", "sr-11-7", "eu-ai-act"}
    card = load_framework("model-card")
    assert [e.clause.rsplit("§", 1)[1].split()[0] for e in card.elements] == [
        f"4.{n}" for n in range(1, 10)
    ]
    assert "Mitchell" in card.source and "10.1145/3287560.3287596" in card.source
    sr = load_framework("sr-11-7")
    assert "Supervisory Guidance on Model Risk Management" in sr.source
    assert "2011-12" in sr.source  # the OCC bulletin it was also issued as
    sections = {e.clause.split(",")[1].split(".")[0].strip() for e in sr.elements}
    assert sections == {"III", "IV", "V", "VI"}
    act = load_framework("eu-ai-act")
    assert "2024/1689" in act.source and "Annex IV" in act.source
    points = {re.sub(r"^Annex IV, point ", "", e.clause) for e in act.elements}
    expected = {f"1({c})" for c in "abcdefgh"} | {f"2({c})" for c in "abcdefgh"}
    assert points == expected | {str(n) for n in range(3, 10)}
    # A point the notebook cannot hold is still listed, and says what to do instead.
    [conformity] = [e for e in act.elements if e.clause == "Annex IV, point 8"]
    assert conformity.outside and "declaration of conformity" in conformity.outside


def test_the_wheel_packages_the_framework_files() -> None:
    wheel = pytest.importorskip("hatchling.builders.wheel")
    root = Path(__file__).resolve().parents[2]
    packaged = {f.distribution_path for f in wheel.WheelBuilder(str(root)).recurse_included_files()}
    for name in builtin_frameworks():
        assert f"nbmodelbook/report/frameworks/{name}.toml" in packaged


def test_an_organisations_own_file_loads_relative_to_a_folder(tmp_path: Path) -> None:
    (tmp_path / "our-bank.toml").write_text(OWN, encoding="utf-8")
    framework = load_framework("our-bank.toml", base=tmp_path)
    assert framework.framework_id == "our-bank"  # the file's stem, when it names no id
    assert framework.title == "Our bank's model standard"
    assert [e.element_id for e in framework.elements] == ["purpose", "risks", "sign-off"]
    assert framework.elements[0].fix_for("annotation:owner").endswith("the accountable executive")
    # The vocabulary's text, where the file gives none.
    assert framework.elements[0].fix_for("annotation:intended-use") == (
        PROBES["annotation:intended-use"].fix
    )


# --- bad input: clear errors -------------------------------------------------------------------


def test_an_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(FrameworkError) as raised:
        load_framework("sr-117")
    message = str(raised.value)
    assert "unknown framework 'sr-117'" in message
    for name in ("model-card", "sr-11-7", "eu-ai-act"):
        assert name in message


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(FrameworkError, match=r"no framework file .*nowhere\.toml"):
        load_framework(str(tmp_path / "nowhere.toml"))


def test_invalid_toml_is_refused_with_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text('title = "x"\nsource = "y"\n[[element]\nid = "a"\n', encoding="utf-8")
    with pytest.raises(FrameworkError) as raised:
        load_framework(str(path))
    assert str(path) in str(raised.value) and "line 3" in str(raised.value)


@pytest.mark.parametrize(
    ("replace", "by", "line", "says"),
    [
        ('"annotation:risk"', '"annotation:risks"', 15, "unknown evidence 'annotation:risks'"),
        ('"annotation:risk"', '"annotation:risks"', 15, "did you mean 'annotation:risk'"),
        ('clause = "MRP-4 §3.2"', 'clase = "MRP-4 §3.2"', 14, "unknown key 'clase'"),
        ('requires = ["annotation:risk"]', "requires = []", 12, "requires nothing"),
        ('source = "Model Risk Policy MRP-4, section 3 (2025)"', "", None, "needs 'source'"),
        ('fix."annotation:owner"', 'fix."annotation:version"', 9, "does not require"),
        ('id = "risks"', 'id = "purpose"', 12, "used twice"),
    ],
)
def test_a_malformed_element_is_refused_with_its_line(
    tmp_path: Path, replace: str, by: str, line: int | None, says: str
) -> None:
    assert replace in OWN
    path = tmp_path / "our-bank.toml"
    path.write_text(OWN.replace(replace, by, 1), encoding="utf-8")
    with pytest.raises(FrameworkError) as raised:
        load_framework(str(path))
    message = str(raised.value)
    assert says in message
    assert message.startswith(str(path) + (f", line {line}:" if line else ":"))


def test_the_notebooks_metadata_names_frameworks() -> None:
    assert notebook_frameworks({"metadata": {}}) == []
    named = {"metadata": {"nbmodelbook": {"frameworks": ["sr-11-7", "policy/our-bank.toml"]}}}
    assert notebook_frameworks(named) == ["sr-11-7", "policy/our-bank.toml"]
    with pytest.raises(FrameworkError, match="must be a list of framework names"):
        notebook_frameworks({"metadata": {"nbmodelbook": {"frameworks": [1]}}})


# --- evaluation on built reviews ---------------------------------------------------------------


def test_nothing_written_leaves_every_model_card_section_missing_with_its_fix() -> None:
    coverage = evaluate_framework(load_framework("model-card"), review_of("# A model"))
    assert {e.status for e in coverage.elements} == {CoverageStatus.MISSING}
    assert coverage.count(CoverageStatus.MISSING) == 9
    for missing in coverage.elements:
        assert missing.covered_by == () and missing.missing
    intended = element(coverage, "intended-use")
    assert any("`> [!INTENDED-USE]`" in text for text in intended.missing)
    assert any("`> [!OUT-OF-SCOPE]`" in text for text in intended.missing)
    assert any("%modelbook segments" in text for text in element(coverage, "factors").missing)


def test_annotations_cover_elements_and_partial_ones_say_what_is_missing() -> None:
    review = review_of(
        "> [!RISK] One hospital only.",
        "> [!LIMITATION] Not tested on children.",
        "> [!INTENDED-USE] Triage support for radiologists.",
    )
    coverage = evaluate_framework(load_framework("model-card"), review)
    ethics = element(coverage, "ethical-considerations")
    assert ethics.status is CoverageStatus.COVERED
    assert ethics.covered_by == ("the RISK annotation (cell 1)",)
    # Facts written as annotations are the review's facts (`Review.facts`); then they cover.
    review.facts = [Fact("intended-use", "Intended use", "Triage support", cell_index=2)]
    intended = element(evaluate_framework(load_framework("model-card"), review), "intended-use")
    assert intended.status is CoverageStatus.PARTLY
    assert intended.covered_by == ("the INTENDED-USE annotation (cell 3)",)
    assert len(intended.missing) == 1 and "`> [!OUT-OF-SCOPE]`" in intended.missing[0]


def test_captured_facts_cover_what_the_runs_recorded() -> None:
    review = review_of("# A model")
    training = element(evaluate_framework(load_framework("model-card"), review), "training-data")
    assert training.status is CoverageStatus.MISSING
    review.facts = [
        Fact("training-data", "Training data", "X_train: 426 rows × 30", source="captured"),
        # An author's fact of the same key is not a captured one.
        Fact("class-balance", "Class balance", "written by hand", source="annotation"),
    ]
    training = element(evaluate_framework(load_framework("model-card"), review), "training-data")
    assert training.status is CoverageStatus.PARTLY
    assert training.covered_by == ("Training data (captured): X_train: 426 rows × 30",)
    review.facts.append(Fact("class-balance", "Class balance", "37% positive", source="captured"))
    training = element(evaluate_framework(load_framework("model-card"), review), "training-data")
    assert training.status is CoverageStatus.COVERED and training.missing == ()


def test_evidence_figures_cover_the_metrics_and_benchmarking() -> None:
    runs = {run.run_id: run for run in standard_runs()}
    review = review_of(
        "> [!DECISION] Logistic regression\n"
        "> We chose run:logreg over run:stump and run:bayes. metric:auc",
        runs=runs,
    )
    sr = evaluate_framework(load_framework("sr-11-7"), review)
    benchmarking = element(sr, "benchmarking")
    assert benchmarking.status is CoverageStatus.COVERED
    assert benchmarking.covered_by[0].startswith("paired comparisons with 2 alternatives")
    assert "(DeLong paired)" in benchmarking.covered_by[0]
    assert benchmarking.covered_by[1] == "the trivial baseline (prior) on auc"
    testing = element(sr, "development-testing")  # no cross-validation: partly covered
    assert testing.status is CoverageStatus.PARTLY
    assert "the experiment history (4 runs)" in testing.covered_by
    assert any("95% interval (DeLong)" in text for text in testing.covered_by)
    assert any("cross_val_score" in text for text in testing.missing)
    card = evaluate_framework(load_framework("model-card"), review)
    assert element(card, "metrics").status is CoverageStatus.COVERED
    assert element(card, "factors").status is CoverageStatus.MISSING  # no segments kept


def test_an_element_outside_the_notebook_is_listed_but_never_missing() -> None:
    review = review_of("> [!RISK] One hospital only.")
    act = evaluate_framework(load_framework("eu-ai-act"), review)
    risk_system = element(act, "5")
    assert risk_system.status is CoverageStatus.OUTSIDE
    assert risk_system.covered_by == ("the RISK annotation (cell 1)",)  # what informs it
    assert "Article 9" in risk_system.missing[0]
    assert act.count(CoverageStatus.OUTSIDE) == 13


# --- the report --------------------------------------------------------------------------------


@pytest.fixture
def covered_review(tmp_path: Path) -> Review:
    path = tmp_path / "policy.toml"
    # Untrusted text from a framework file: written as text in every format.
    path.write_text(OWN.replace("Purpose", "Purpose <script>alert(1)</script>"), encoding="utf-8")
    review = review_of("> [!RISK] One hospital only.")
    review.coverage = [evaluate_framework(load_framework(str(path)), review)]
    return review


def test_the_report_gets_a_numbered_coverage_section(covered_review: Review) -> None:
    assert build_view(review_of("# A model"))["coverage"] is None  # no framework: no section
    page = build_view(covered_review)
    anchors = [section["anchor"] for section in page["sections"]]
    assert anchors.index("coverage") == anchors.index("audit") + 1
    [framework] = page["coverage"]
    assert framework["counts"] == (
        "3 elements: 1 covered, 0 partly covered, 1 missing, 1 outside the notebook"
    )
    assert [row["key"] for row in framework["rows"]] == ["missing", "covered", "outside"]

    html = render_html(covered_review)
    section = html[html.index('id="coverage"') : html.index('id="appendix"')]
    assert f"<h2>{page['n']['coverage']}. Framework coverage</h2>" in section
    assert "<script>" not in section and "&lt;script&gt;" in section
    assert "<td>MRP-4 §3.1</td>" in section
    assert "<code>&gt; [!OWNER]</code>" in section  # code spans of the fix, as code
    assert "Covered by: the RISK annotation (cell 1)." in section

    markdown, _ = render_markdown(covered_review, None)
    part = markdown[markdown.index("Framework coverage\n") :]
    assert "| Risks | MRP-4 §3.2 | covered | Covered by: the RISK annotation (cell 1). |" in part
    assert "To do: write an `> [!INTENDED-USE]` annotation: what the model is for" in part
    assert "; write an `> [!OWNER]` annotation: the accountable executive. |" in part
    assert "<script>" not in part


def test_the_json_has_a_coverage_list(covered_review: Review) -> None:
    payload = json.loads(json.dumps(review_payload(covered_review)))
    [framework] = payload["coverage"]
    assert framework["framework"] == "policy"
    assert framework["counts"] == {
        "covered": 1,
        "partly covered": 0,
        "missing": 1,
        "outside the notebook": 1,
    }
    risks = framework["elements"][1]
    assert risks == {
        "id": "risks",
        "title": "Risks",
        "clause": "MRP-4 §3.2",
        "status": "covered",
        "covered_by": ["the RISK annotation (cell 1)"],
        "missing": [],
    }
    assert review_payload(review_of("# A model"))["coverage"] == []


def test_coverage_view_splits_code_spans() -> None:
    [framework] = coverage_view(
        [evaluate_framework(load_framework("model-card"), review_of("# A model"))]
    ) or [None]
    assert framework is not None
    first = framework["rows"][0]["missing"][0]
    assert first[:3] == [
        {"text": "write an ", "code": False},
        {"text": "> [!OWNER]", "code": True},
        {
            "text": " annotation: the person or organisation developing the model, and where to "
            "send questions",
            "code": False,
        },
    ]


# --- the command line --------------------------------------------------------------------------


def test_check_fails_on_a_missing_element_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    notebook, store, _ = reviewed(tmp_path, READY)
    args = ["check", str(notebook), "--store", str(store)]
    assert main(args) == 0  # ready for review, no framework named
    capsys.readouterr()
    assert main([*args, "--framework", "model-card"]) == 1
    out = capsys.readouterr().out
    assert "NOT ready for review" in out
    assert "Model Cards for Model Reporting: 9 elements:" in out
    assert "  ✓ Metrics [Mitchell et al. 2019, §4.4 Metrics]: covered by the DECISION" in out
    assert "  ✗ Intended Use [Mitchell et al. 2019, §4.2 Intended Use]: missing: write an" in out
    assert re.search(r"\d+ framework elements are missing \(marked ✗\)", out)


def test_partly_covered_elements_do_not_fail_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    notebook, store, _ = reviewed(tmp_path, READY)
    policy = tmp_path / "our-bank.toml"
    # The notebook has a RISK annotation and no OWNER one: its purpose is partly covered.
    policy.write_text(
        OWN.replace(
            '["annotation:intended-use", "annotation:owner"]',
            '["annotation:risk", "annotation:owner"]',
        ),
        encoding="utf-8",
    )
    args = ["check", str(notebook), "--store", str(store), "--framework", str(policy)]
    assert main([*args, "--format", "json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["ready"] is True and payload["missing_elements"] == 0
    statuses = [e["status"] for e in payload["coverage"][0]["elements"]]
    assert statuses == ["partly covered", "covered", "outside the notebook"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "~ Purpose [MRP-4 §3.1]: partly covered by the RISK annotation" in out
    assert "missing: write an `> [!OWNER]` annotation: the accountable executive" in out


def test_bad_framework_arguments_exit_2_with_the_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    notebook, store, _ = reviewed(tmp_path, READY)
    args = ["--store", str(store)]
    assert main(["check", str(notebook), *args, "--framework", "model-cards"]) == 2
    err = capsys.readouterr().err
    assert "unknown framework 'model-cards'" in err and "model-card, " in err
    bad = tmp_path / "bad.toml"
    bad.write_text(OWN.replace('"annotation:risk"', '"risk"'), encoding="utf-8")
    output = tmp_path / "model.review.html"
    assert main(["report", str(notebook), *args, "--framework", str(bad), "-o", str(output)]) == 2
    assert f"{bad}, line 15: element 'risks' requires unknown evidence 'risk'" in (
        capsys.readouterr().err
    )
    assert not output.exists()


def test_the_notebooks_metadata_names_its_frameworks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    notebook, store, _ = reviewed(tmp_path, READY)
    (tmp_path / "policy").mkdir()
    (tmp_path / "policy" / "our-bank.toml").write_text(OWN, encoding="utf-8")
    content = nbformat.read(notebook, as_version=4)
    content.metadata["nbmodelbook"] = {"frameworks": ["sr-11-7", "policy/our-bank.toml"]}
    nbformat.write(content, notebook)
    output = tmp_path / "model.review.json"
    assert main(["report", str(notebook), "--store", str(store), "-o", str(output)]) == 0
    names = [f["framework"] for f in json.loads(output.read_text())["coverage"]]
    assert names == ["sr-11-7", "our-bank"]
    # The command line adds to them; a framework named twice is evaluated once.
    args = ["report", str(notebook), "--store", str(store), "-o", str(output)]
    assert main([*args, "--framework", "model-card", "--framework", "sr-11-7"]) == 0
    names = [f["framework"] for f in json.loads(output.read_text())["coverage"]]
    assert names == ["sr-11-7", "our-bank", "model-card"]
    content.metadata["nbmodelbook"] = {"frameworks": ["iso-42001"]}
    nbformat.write(content, notebook)
    capsys.readouterr()
    assert main(args) == 2
    assert "unknown framework 'iso-42001': use one of" in capsys.readouterr().err


def test_an_edited_copy_that_kept_a_builtin_id_is_refused_not_dropped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    notebook, store, _ = reviewed(tmp_path, READY)
    copy = tmp_path / "acme-card.toml"
    copy.write_text('id = "model-card"\n' + OWN, encoding="utf-8")
    args = ["--store", str(store), "--framework", "model-card", "--framework", str(copy)]
    assert main(["check", str(notebook), *args]) == 2
    err = capsys.readouterr().err
    assert "two different frameworks have the id 'model-card'" in err
    # The same framework named twice is one framework, no error.
    assert main(
        [
            "check",
            str(notebook),
            "--store",
            str(store),
            "--framework",
            "model-card",
            "--framework",
            "model-card",
        ]
    ) in (0, 1)


def test_an_audit_of_no_runs_covers_nothing() -> None:
    assert PROBES["review:audit"].find(review_of("> [!RISK] r")) is None
