"""A tracked cell shows exactly the warnings the same cell shows untracked, whatever the filters."""

from __future__ import annotations

import pytest

from tests.integration.conftest import Runner
from tests.integration.same_outputs import assert_same_outputs, tracked

pytestmark = pytest.mark.integration

ERRORS_ALLOWED = ["raises-exception"]

# Each filter setting applies to the cells after it. Under "default" a warning shows once per
# place; under "error" it is raised; under "always" it shows every time; under "once" once in all.
CELLS = [
    "import numpy as np\nimport warnings\n"
    "def noisy():\n    warnings.warn('a warning', UserWarning)",
    "np.mean([])",
    "np.mean([])  # the same place: not shown again",
    "noisy()",
    'pattern = "\\d+"',
    "choice = 1if True else 2",
    "warnings.simplefilter('always')",
    "np.mean([])",
    "np.mean([])  # shown every time",
    'pattern = "\\d+"',
    "choice = 1if True else 2",
    "warnings.simplefilter('once')",
    'pattern = "\\w+"',
    'pattern = "\\w+"  # shown once in all',
    "warnings.simplefilter('error')",
    "np.mean([])",
    "noisy()",
    'pattern = "\\d+"',
    "choice = 1if True else 2",
    "warnings.resetwarnings()\nwarnings.simplefilter('default')",
    "np.std([])",
    "np.std([])  # once more",
]


def test_warnings_are_shown_raised_and_suppressed_as_untracked(run_notebook: Runner) -> None:
    setup = ("%load_ext nbmodelbook", ERRORS_ALLOWED)
    plain = run_notebook(setup, *[(cell, ERRORS_ALLOWED) for cell in CELLS], name="plain.ipynb")
    with_track = run_notebook(
        setup,
        *[(tracked(cell, f"cell-{index}"), ERRORS_ALLOWED) for index, cell in enumerate(CELLS)],
        name="tracked.ipynb",
    )
    assert_same_outputs(plain, with_track)
    # The comparison is about something: warnings were shown, and raised under "error".
    cells = plain.code_cells()
    assert "RuntimeWarning: Mean of empty slice" in cells[2].outputs[0]["text"]
    assert [o["output_type"] for o in cells[3].outputs] == ["execute_result"]  # not again
    assert [o["ename"] for o in cells[16].outputs] == ["RuntimeWarning"]
    assert [o["ename"] for o in cells[18].outputs] == ["SyntaxError"]
    assert len(with_track.run_ids()) == len(CELLS)  # a cell that does not compile is a run too
