"""Planted secrets never reach the store's files, WAL included; ordinary names survive."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nbmodelbook.run_marker import RUN_MIMETYPE
from tests.integration.conftest import Runner

pytestmark = pytest.mark.integration

OPENAI = "sk-proj-Zx81hQ2mT5vLw9Rk3Jd7Ny4Pb6Cs0Fa"
PASSWORD = "hunter2-Correct-Horse"
AWS = "AKIAIOSFODNN7EXAMPLQ"
GITHUB = "ghp_aB3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF3hJ6"
PLAIN = "plain-but-named-secret-9f8e7d"

SECRETS = (OPENAI, PASSWORD, AWS, GITHUB, PLAIN)


def test_secrets_are_redacted_everywhere_before_writing(run_notebook: Runner) -> None:
    executed = run_notebook(
        "%load_ext nbmodelbook",
        # Defined outside any tracked cell: only known by its name and value.
        f"service_secret = {PLAIN!r}",
        (
            "%%track leaky -p service_secret --note 'key " + GITHUB + "'\n"
            f"OPENAI_API_KEY = {OPENAI!r}\n"
            f"db_url = 'postgresql://bob:{PASSWORD}@db.internal/risk'\n"
            "max_tokens = 512\n"
            "use_cls_token = True\n"
            "tokenizer = 'bert-base'\n"
            "from IPython.display import HTML, display\n"
            f"display(HTML('<p>aws {AWS}</p>'))\n"
            "print('the key is', OPENAI_API_KEY, 'and', service_secret)\n"
            "raise RuntimeError('login failed with ' + OPENAI_API_KEY)",
            ["raises-exception"],
        ),
    )
    [run_id] = executed.run_ids()
    store = executed.store()
    run = store.get_run(run_id)
    assert run is not None
    assert run.params["max_tokens"] == 512
    assert run.params["use_cls_token"] is True
    assert run.params["tokenizer"] == "bert-base"
    assert OPENAI not in run.params["OPENAI_API_KEY"]
    assert "bob:" in run.params["db_url"] and "@db.internal/risk" in run.params["db_url"]
    assert run.error is not None and run.error.type == "RuntimeError"
    assert "max_tokens = 512" in run.code  # the code stays readable
    store.close()

    files = sorted(p for p in executed.store_path.parent.iterdir() if p.is_file())
    assert any(p.name.endswith("-wal") for p in files) or files
    for path in files:
        raw = path.read_bytes()
        for secret in SECRETS:
            assert secret.encode() not in raw, f"{secret[:6]}… found in {path.name}"
    # The notebook itself still shows the user's own output: redaction is for the store only.
    printed = "".join(
        o.get("text", "") for o in executed.code_cells()[2].outputs if o.output_type == "stream"
    )
    assert OPENAI in printed


STRIPE = "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc"
NESTED = "nested-db-Passw0rd-77"
BYTES_SECRET = "bytes-secret-8c7b6a5"
ANTHROPIC = "sk-ant-api03-Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2Ji1Hg0Fe"
AWS_METRIC = "AKIAZZZZZZZZZZZZZZZ7"
GITHUB_NAME = "ghp_Zz9Yy8Xx7Ww6Vv5Uu4Tt3Ss2Rr1Qq0Pp9Oo8"


def test_names_keys_nested_and_bytes_secrets_never_stored(run_notebook: Runner) -> None:
    """Metric and run names, values nested in containers and bytes: redacted at every write,
    and in the run markers the notebook keeps."""
    executed = run_notebook(
        "%load_ext nbmodelbook\nimport nbmodelbook as mb",
        f"db = {{'prod': {{'password': {NESTED!r}, 'host': 'db.internal'}}}}\n"
        f"API_TOKEN = {BYTES_SECRET.encode()!r}",
        # A metric named by a key, a logged metric named by a key, a run name that is a key.
        (
            f"%%track {ANTHROPIC}\n"
            "auc = round(0.455 * 2, 2)\n"
            f"scores = {{{STRIPE!r}: auc * 1.0}}\n"
            f"mb.log_metrics(**{{{AWS_METRIC!r}: 1.0}})\n"
            "print(db['prod']['password'], API_TOKEN)"
        ),
        # A run name taken from the cell's leading comment.
        f"%%track\n# {GITHUB_NAME} sweep\nx = 1.5 * 2",
    )
    first, second = executed.run_ids()
    store = executed.store()
    runs = {run_id: store.get_run(run_id) for run_id in (first, second)}
    store.close()
    assert all(run is not None for run in runs.values())
    run = runs[first]
    assert run is not None
    assert run.metrics["auc"] == pytest.approx(0.91)  # ordinary names are kept
    assert len(run.metrics) >= 3
    texts = [repr(run) for run in runs.values()]
    leaked = (ANTHROPIC, STRIPE, AWS_METRIC, NESTED, BYTES_SECRET, GITHUB_NAME)
    for secret in leaked:
        assert not any(secret in text for text in texts), f"{secret[:8]}… read back from the store"
    for path in executed.store_path.parent.rglob("*"):
        if path.is_file():
            raw = path.read_bytes()
            for secret in leaked:
                assert secret.encode() not in raw, f"{secret[:8]}… found in {path.name}"
    # The markers saved in the notebook carry the run's name and metric names.
    markers = json.dumps(
        [
            output.get("data", {}).get(RUN_MIMETYPE)
            for cell in executed.code_cells()
            for output in cell.get("outputs", [])
        ]
    )
    for secret in (ANTHROPIC, STRIPE, AWS_METRIC, GITHUB_NAME):
        assert secret not in markers, f"{secret[:8]}… in a run marker"
    # The user's own output is theirs.
    printed = "".join(
        o.get("text", "") for o in executed.code_cells()[2].outputs if o.output_type == "stream"
    )
    assert NESTED in printed and BYTES_SECRET in printed


def test_a_secret_bound_by_a_star_import_in_the_tracked_cell_is_redacted(
    run_notebook: Runner, tmp_path: Path
) -> None:
    """Names the cell's code analysis cannot list (a star import) are still looked at."""
    value = "plain-token-value-31337"
    (tmp_path / "service_settings.py").write_text(f"SERVICE_TOKEN = {value!r}\n")
    executed = run_notebook(
        "%load_ext nbmodelbook",
        "%%track settings\nfrom service_settings import *\nprint('using', SERVICE_TOKEN)",
    )
    [run_id] = executed.run_ids()
    store = executed.store()
    run = store.get_run(run_id)
    store.close()
    assert run is not None and run.outputs
    assert value not in repr(run)
    printed = "".join(
        o.get("text", "") for o in executed.code_cells()[1].outputs if o.output_type == "stream"
    )
    assert value in printed  # the user's own output is theirs
