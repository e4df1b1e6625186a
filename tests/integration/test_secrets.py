"""Planted secrets never reach the store's files, WAL included; ordinary names survive."""

from __future__ import annotations

import pytest

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
