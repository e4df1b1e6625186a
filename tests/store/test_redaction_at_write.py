"""The store redacts every run it writes, whatever wrote it: nothing secret in its bytes."""

from __future__ import annotations

import sqlite3
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nbmodelbook.record import (
    Candidate,
    CapturedOutput,
    Evaluation,
    LineageCell,
    RunError,
    RunRecord,
    RunStatus,
    SegmentLabels,
)
from nbmodelbook.redaction import REDACTED, redact_record
from nbmodelbook.store import journal
from nbmodelbook.store.admin import copy_runs
from nbmodelbook.store.store import RunStore
from tests.store.test_store import make_record

# Fake credentials in real formats, assembled so that secret scanners leave this file alone.
KEY_FORMATS = (
    "sk-" + "proj-" + "Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z",
    "AKIA" + "IOSFODNN7EXAMPL3",
    "ghp_" + "A1b2C3d4" * 4 + "E5f6",
    "xoxb-" + "123456789012-abcdefABCDEF",
    "hf_" + "aBcDeFgHiJkLmNoPqRsTuVwXyZ012345",
    "glpat-" + "Zz9Yy8Xx7Ww6Vv5Uu4Tt",
    "eyJhbGciOiJIUzI1NiJ9" + ".eyJzdWIiOiIxMjM0NTY3ODkwIn0" + ".dozjgNryP4J3jVmNHl0w5N",
    "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc",
)


def planted(secret: str) -> list[str]:
    """Texts that carry `secret` the ways a run's text does."""
    return [
        secret,
        f"token {secret} used",
        f"https://alice:{secret}@db.example.com/risk",
        f"https://h.example.com/x?auth_token={secret}&page=2",
        f"password={secret}",
        f"api_key = '{secret}'",
    ]


def leaky_record(secret: str) -> RunRecord:
    """A run with `secret` in every field a store keeps, names and keys included."""
    texts = planted(secret)
    word = texts[1]
    return replace(
        make_record("rf"),
        name=f"rf {secret}",
        code="\n".join(texts),
        tags=["ok-tag", word],
        note=texts[2],
        notebook=f"/work/{secret}/model.ipynb",
        params={
            "n_estimators": 300,
            secret: 1,
            "url": texts[3],
            "nested": {"deep": [texts[4], {"password": "plain-value-77"}], secret: "x"},
        },
        metrics={"auc": 0.93, secret: 0.5, f"val {secret}": 0.1},
        inputs={"X": {"columns": [secret, "age"], "note": texts[5]}},
        outputs=[
            CapturedOutput("text/plain", f"printed {secret}", 10),
            CapturedOutput("text/html", f"<b>{secret}</b>", 10),
        ],
        lineage=[LineageCell(1, "c1", "hash1", f"key = '{secret}'", ["key"], [])],
        environment={"python": "3.11", "git": {"remote": texts[2]}, "vars": {"X": secret}},
        error=RunError("ValueError", f"bad {secret}", f"Traceback: {texts[4]}"),
        extra={"kernel_id": "k1", "labels": {secret: word}},
        evaluations=[
            Evaluation(
                function=f"scorer {secret}",
                metric=f"auc {secret}",
                value=0.93,
                y_true=np.array([0, 1, 1]),
                y_score=np.array([0.2, 0.7, 0.9]),
                options={"pos_label": texts[3], secret: 1, "note": word},
                segments={f"seg {secret}": SegmentLabels(np.array([0, 1, 0]), [word, "b"])},
                n_total=3,
            )
        ],
        candidates=[
            Candidate(
                source=f"GridSearchCV {secret}",
                group=0,
                index=0,
                params={"C": 1.0, secret: word, "token": secret, "nested": {"x": [texts[4]]}},
                scorer=f"make_scorer {secret}",
                fold_scores=[0.9, 0.8],
            )
        ],
    )


def store_bytes(url: str) -> bytes:
    """Everything the SQLite store holds on disk, the WAL folded in first."""
    with sqlite3.connect(url) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return b"".join(path.read_bytes() for path in Path(url).parent.iterdir() if path.is_file())


def test_every_field_is_redacted_and_the_given_record_is_untouched() -> None:
    secret = KEY_FORMATS[0]
    record = leaky_record(secret)
    before = repr(record)
    redacted = redact_record(record)
    assert repr(record) == before
    assert secret not in repr(asdict(redacted))
    assert "plain-value-77" not in repr(asdict(redacted))  # under a secret-named key
    assert redacted.params["n_estimators"] == 300 and redacted.metrics["auc"] == 0.93
    # Keys that became the same are told apart, not merged: no metric is lost.
    assert len(redacted.metrics) == len(record.metrics)
    assert REDACTED in redacted.metrics
    assert redacted.run_id == record.run_id and redacted.code_hash == record.code_hash
    assert redact_record(redacted) == redacted  # idempotent


def test_images_are_not_rewritten() -> None:
    # Base64 can spell a key format by chance; a picture holds no text to leak.
    data = "iVBORw0KGgo" + KEY_FORMATS[0]
    record = replace(make_record("img"), outputs=[CapturedOutput("image/png", data, 9)])
    assert redact_record(record).outputs[0].data == data


@pytest.mark.parametrize("secret", KEY_FORMATS, ids=lambda s: s[:5])
def test_no_secret_in_the_store_bytes(tmp_path: Path, secret: str) -> None:
    url = str(tmp_path / "runs.sqlite")
    store = RunStore.open(url)
    record = leaky_record(secret)
    store.begin_run(replace(record, status=RunStatus.RUNNING))
    store.finish_run(record)
    read = store.get_run(record.run_id)
    store.close()
    assert read is not None
    assert secret not in repr(read)
    assert read.params["n_estimators"] == 300 and read.metrics["auc"] == 0.93
    found, tried = RunStore.open(url).evidence(record.run_id)
    assert secret not in repr((found, tried))
    assert found[0].value == 0.93 and tried[0].params["C"] == 1.0 and tried[0].scorer
    raw = store_bytes(url)
    assert secret.encode() not in raw
    assert b"plain-value-77" not in raw


def test_the_journal_keeps_runs_redacted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NBMODELBOOK_JOURNAL", str(tmp_path / "journal"))
    secret = KEY_FORMATS[2]
    path = journal.keep(str(tmp_path / "gone.sqlite"), leaky_record(secret))
    assert secret.encode() not in path.read_bytes()


def test_store_copy_redacts_runs_an_older_writer_left(tmp_path: Path) -> None:
    """A store written before this policy (or by hand) gives up its secrets when copied."""
    secret = KEY_FORMATS[1]
    source_url = str(tmp_path / "old" / "runs.sqlite")
    Path(source_url).parent.mkdir()
    source = RunStore.open(source_url)
    record = make_record("plain", params={"n_estimators": 10}, metrics={"auc": 0.8})
    source.finish_run(record)
    source.close()
    with sqlite3.connect(source_url) as connection:  # what an older version wrote verbatim
        connection.execute("UPDATE nbmb_runs SET name = ?", (f"old {secret}",))
        connection.execute("UPDATE nbmb_run_params SET key = ?", (secret,))
        connection.execute("UPDATE nbmb_run_metrics SET key = ?", (f"m_{secret}",))
    source = RunStore.open(source_url)
    target_url = str(tmp_path / "new" / "runs.sqlite")
    Path(target_url).parent.mkdir()
    target = RunStore.open(target_url)
    assert copy_runs(source, target).copied == 1
    source.close()
    target.close()
    assert secret.encode() not in store_bytes(target_url)


_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)


@st.composite
def texts_with_a_secret(draw: st.DrawFn) -> tuple[str, str]:
    secret = draw(st.sampled_from(KEY_FORMATS))
    form = draw(st.sampled_from(planted(secret)))
    # Whitespace around the secret: what comes before or after cannot join it into one word.
    sep = draw(st.sampled_from([" ", "\n", "\t"]))
    return secret, f"{draw(_TEXT)}{sep}{form}{sep}{draw(_TEXT)}"


_FIELDS = (
    "name",
    "code",
    "tag",
    "note",
    "param_key",
    "param_value",
    "nested_param",
    "metric_key",
    "input",
    "output",
    "lineage",
    "environment",
    "error",
    "extra_key",
    "evaluation_metric",
    "evaluation_option",
    "segment_level",
    "candidate_param_key",
    "candidate_param_value",
    "candidate_scorer",
)


def _evaluation(**fields: object) -> Evaluation:
    evaluation = Evaluation("roc_auc_score", "auc", 0.7, np.array([0, 1]), np.array([0.4, 0.6]))
    return replace(evaluation, **fields)  # type: ignore[arg-type]


def _candidate(**fields: object) -> Candidate:
    return replace(Candidate("GridSearchCV", 0, 0, {}, "roc_auc", [0.7]), **fields)  # type: ignore[arg-type]


def _plant(field: str, text: str) -> RunRecord:
    base = make_record("base", params={"n_estimators": 5}, metrics={"auc": 0.7})
    plants = {
        "name": lambda: replace(base, name=text),
        "code": lambda: replace(base, code=text),
        "tag": lambda: replace(base, tags=[text]),
        "note": lambda: replace(base, note=text),
        "param_key": lambda: replace(base, params={text: 1}),
        "param_value": lambda: replace(base, params={"p": text}),
        "nested_param": lambda: replace(base, params={"p": {"a": [1, {"b": text}]}}),
        "metric_key": lambda: replace(base, metrics={text: 0.5}),
        "input": lambda: replace(base, inputs={"X": {"columns": [text]}}),
        "output": lambda: replace(base, outputs=[CapturedOutput("text/plain", text, 1)]),
        "lineage": lambda: replace(base, lineage=[LineageCell(1, None, "h", text, [], [])]),
        "environment": lambda: replace(base, environment={"packages": {"x": text}}),
        "error": lambda: replace(base, error=RunError("E", text, text)),
        "extra_key": lambda: replace(base, extra={text: {"v": text}}),
        "evaluation_metric": lambda: replace(base, evaluations=[_evaluation(metric=text)]),
        "evaluation_option": lambda: replace(
            base, evaluations=[_evaluation(options={"pos_label": text})]
        ),
        "segment_level": lambda: replace(
            base,
            evaluations=[_evaluation(segments={"s": SegmentLabels(np.zeros(2, "i1"), [text])})],
        ),
        "candidate_param_key": lambda: replace(base, candidates=[_candidate(params={text: 1})]),
        "candidate_param_value": lambda: replace(
            base, candidates=[_candidate(params={"p": [text]})]
        ),
        "candidate_scorer": lambda: replace(base, candidates=[_candidate(scorer=text)]),
    }
    return plants[field]()


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(field=st.sampled_from(_FIELDS), planted_text=texts_with_a_secret())
def test_no_planted_secret_survives_any_field(
    tmp_path_factory: pytest.TempPathFactory, field: str, planted_text: tuple[str, str]
) -> None:
    secret, text = planted_text
    url = str(tmp_path_factory.mktemp("store") / "runs.sqlite")
    store = RunStore.open(url)
    record = _plant(field, text)
    store.finish_run(record)
    read = store.get_run(record.run_id, evidence=True)
    store.close()
    assert read is not None and secret not in repr(read)
    assert secret.encode() not in store_bytes(url)


def test_an_environment_handed_again_is_written_redacted_every_time(tmp_path: Path) -> None:
    """A kernel hands the same environment dict for run after run: a clean one is not walked
    again, one with a secret is redacted each time."""
    url = str(tmp_path / "runs.sqlite")
    store = RunStore.open(url)
    clean = {"python": "3.11", "packages": {"numpy": "2.1"}}
    leaky = {"python": "3.11", "git": {"remote": f"https://u:{KEY_FORMATS[3]}@h/x"}}
    for index, environment in enumerate((clean, clean, leaky, leaky, clean)):
        record = replace(make_record(f"run{index}"), environment=environment)
        store.finish_run(record)
        read = store.get_run(record.run_id)
        assert read is not None and KEY_FORMATS[3] not in repr(read.environment)
        assert read.environment.get("python") == "3.11"
    store.close()
    assert KEY_FORMATS[3].encode() not in store_bytes(url)
    assert leaky["git"]["remote"].endswith(f"{KEY_FORMATS[3]}@h/x")  # the caller's dict as given
