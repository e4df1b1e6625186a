"""A tracked cell behaves exactly like the same cell untracked, in a real kernel."""

from __future__ import annotations

import pytest
from nbclient.exceptions import CellExecutionError

from tests.integration.conftest import Runner, visible_outputs

pytestmark = pytest.mark.integration

BODIES = [
    "counter = globals().get('counter', 0) + 1\nvalues = [1, 2, 3]",
    "print('hello from the cell')\nsum(values) * 2",
    "from IPython.display import display, HTML, Markdown\n"
    "display(HTML('<b>bold</b>'))\ndisplay(Markdown('*md*'))\n{'a': 1}",
    "import sys\nprint('to stderr', file=sys.stderr)\nx = 5;",
    "def f(n):\n    return 1 / n\n\nf(0)",
    "counter",
]


def _tracked(body: str, index: int) -> str:
    return f"%%track step-{index} --tag t\n{body}"


def _normalise(outputs: list[dict]) -> list[dict]:
    normalised = []
    for output in outputs:
        output = dict(output)
        output.pop("metadata", None) if not output.get("metadata") else None
        normalised.append(output)
    return normalised


def test_same_outputs_out_and_tracebacks_with_and_without_track(run_notebook: Runner) -> None:
    cells = [("%load_ext nbmodelbook", [])]
    plain = run_notebook(
        *cells, *[(body, ["raises-exception"]) for body in BODIES], name="plain.ipynb"
    )
    tracked = run_notebook(
        *cells,
        *[(_tracked(body, i), ["raises-exception"]) for i, body in enumerate(BODIES)],
        name="tracked.ipynb",
    )
    for plain_cell, tracked_cell in zip(plain.code_cells(), tracked.code_cells(), strict=True):
        assert tracked_cell.execution_count == plain_cell.execution_count
        assert _normalise(visible_outputs(tracked_cell)) == _normalise(
            visible_outputs(plain_cell)
        ), tracked_cell.source
    # The error cell shows exactly one traceback, the user's own.
    error_cell = tracked.code_cells()[5]
    [error] = [o for o in error_cell.outputs if o.output_type == "error"]
    assert error.ename == "ZeroDivisionError"
    # The last cell proves each body ran exactly once.
    last = visible_outputs(tracked.code_cells()[-1])
    assert last[0]["data"]["text/plain"] == "1"
    # Every tracked cell left one run marker, matching one run in the store.
    run_ids = tracked.run_ids()
    assert len(run_ids) == len(BODIES)
    summaries = {row["run_id"]: row for row in tracked.store().run_summaries()}
    assert set(run_ids) <= set(summaries)
    assert summaries[run_ids[4]]["status"] == "error"
    assert summaries[run_ids[0]]["status"] == "ok"


def test_error_in_tracked_cell_stops_execution_like_untracked(run_notebook: Runner) -> None:
    with pytest.raises(CellExecutionError) as raised:
        run_notebook(
            "%load_ext nbmodelbook",
            "%%track boom\nraise ValueError('bad hyperparameter')",
            "never = True",
        )
    assert "bad hyperparameter" in str(raised.value)


def test_error_run_records_type_message_traceback(run_notebook: Runner) -> None:
    executed = run_notebook(
        "%load_ext nbmodelbook",
        ("%%track boom\nlr = 0.5\nraise ValueError('bad hyperparameter')", ["raises-exception"]),
    )
    store = executed.store()
    [summary] = store.run_summaries()
    run = store.get_run(summary["run_id"])
    assert run is not None
    assert run.status.value == "error"
    assert run.error is not None
    assert run.error.type == "ValueError"
    assert run.error.message == "bad hyperparameter"
    assert "raise ValueError" in run.error.traceback
    assert run.params == {"lr": 0.5}


def test_bad_options_are_a_usage_error_and_the_body_does_not_run(run_notebook: Runner) -> None:
    executed = run_notebook(
        "%load_ext nbmodelbook",
        ("%%track --bogus\nran = True", ["raises-exception"]),
        "'ran' in globals()",
    )
    bad = executed.code_cells()[1]
    [message] = [o for o in bad.outputs if o.output_type == "stream"]
    assert message.name == "stderr"
    assert message.text.startswith("UsageError: unrecognized arguments: --bogus")
    assert "usage: %%track [NAME]" in message.text
    assert executed.code_cells()[2].outputs[0]["data"]["text/plain"] == "False"
    assert executed.store().run_summaries() == []
    # Without the raises-exception tag the usage error stops execution: its status is "error".
    with pytest.raises(CellExecutionError):
        run_notebook("%load_ext nbmodelbook", "%%track --bogus\nran = True", "after = 1")


def test_tracked_cell_prints_nothing_extra(run_notebook: Runner) -> None:
    executed = run_notebook("%load_ext nbmodelbook", "%%track quiet\na = 1 + 1")
    assert visible_outputs(executed.code_cells()[1]) == []
    assert executed.stderr() == ""
