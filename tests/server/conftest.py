"""Fixtures of the server tests: a real Jupyter Server with the extension, and real stores.

pytest-jupyter's fixtures are imported here rather than named in `pytest_plugins`, which pytest
accepts only in the top-level conftest: this way they (and the plugin's autouse event loop)
apply to this folder only.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pytest_jupyter.jupyter_server import *  # noqa: F403
from traitlets.config import Config

from tests.server._workspace import DECISION, RISK, Workspace, make_workspace


@pytest.fixture
def jp_server_config() -> Config:
    return Config({"ServerApp": {"jpserver_extensions": {"nbmodelbook": True}}})


@pytest.fixture(autouse=True)
def no_store_override(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each notebook's store is the one beside it, as on a fresh machine."""
    monkeypatch.delenv("NBMODELBOOK_STORE", raising=False)


@pytest.fixture
def workspace(jp_root_dir: Path) -> Workspace:
    """`work/credit.ipynb` (decision and risk annotated) with three runs in its store."""
    return make_workspace(jp_root_dir, DECISION, RISK)
