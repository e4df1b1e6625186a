"""A real kernel tracking into a PostgreSQL store behaves as it does with the SQLite default."""

from __future__ import annotations

import json

import pytest

from nbmodelbook.record import RunStatus
from nbmodelbook.store.store import RunStore
from tests.integration.conftest import Runner
from tests.postgres_server import PostgresServer

pytestmark = pytest.mark.integration


def test_tracked_cells_write_to_postgresql(
    run_notebook: Runner, postgres_server: PostgresServer
) -> None:
    url = postgres_server.new_database()
    executed = run_notebook(
        "%load_ext nbmodelbook",
        "import numpy as np\nX = np.arange(100.0)",
        "%%track small --tag sweep\nalpha = 0.1\nscore = float(X.mean() * alpha)",
        "%%track large --tag sweep\nalpha = 0.5\nscore = float(X.mean() * alpha)",
        ("%%track broken\nalpha = -1\nraise ValueError('alpha must be positive')",
         ["raises-exception"]),
        "import json, nbmodelbook as mb\n"
        "frame = mb.runs()\n"
        "browser = mb.browse()\n"
        "print(json.dumps({'names': list(frame['name']), 'status': list(frame['status']),\n"
        "                  'score': [None if s != s else s for s in frame['metrics.score']],\n"
        "                  'position': browser.position.value}))",
        env={"NBMODELBOOK_STORE": url},
    )  # fmt: skip
    printed = [
        output["text"]
        for output in executed.code_cells()[5].get("outputs", [])
        if output.get("output_type") == "stream" and output.get("name") == "stdout"
    ]
    shown = json.loads("".join(printed))
    assert shown["names"] == ["small", "large", "broken"]
    assert shown["status"] == ["ok", "ok", "error"]
    assert shown["score"][:2] == [4.95, 24.75]
    assert shown["position"] == "1–3 of 3 runs"
    store = RunStore.open(url)
    runs = {run["name"]: run for run in store.run_summaries()}
    assert runs["broken"]["status"] == RunStatus.ERROR
    assert runs["small"]["notebook"] == str(executed.path)
    record = store.get_run(runs["large"]["run_id"])
    assert record is not None and "X" in record.inputs and record.lineage
