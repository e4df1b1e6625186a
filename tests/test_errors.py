"""One exception hierarchy: the CLI and the server answer each project error the same way."""

from __future__ import annotations

import argparse
import ast
from pathlib import Path

import pytest

from nbmodelbook import cli, errors
from nbmodelbook.server.handlers import api_error

PACKAGE = Path(errors.__file__).parent


def _error_classes() -> list[type[errors.ModelBookError]]:
    found: list[type[errors.ModelBookError]] = []
    pending: list[type[errors.ModelBookError]] = [errors.ModelBookError]
    while pending:
        kind = pending.pop()
        found.append(kind)
        pending.extend(kind.__subclasses__())
    return sorted(set(found), key=lambda kind: kind.__name__)


def _instance(kind: type[errors.ModelBookError]) -> errors.ModelBookError:
    if kind is errors.AnnotationsInvalid:
        return errors.AnnotationsInvalid([{"code": "unknown-kind", "message": "DECISON"}])
    return kind(f"{kind.__name__} happened: do this instead")


@pytest.mark.parametrize("kind", _error_classes(), ids=lambda kind: kind.__name__)
def test_cli_and_server_map_every_error_alike(
    kind: type[errors.ModelBookError],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    error = _instance(kind)

    def failing(_: argparse.Namespace) -> int:
        raise error

    monkeypatch.setitem(
        cli._COMMANDS,
        "fail",
        cli.Command("fail", "always fails", lambda parser: None, failing),
    )
    assert cli.main(["fail"]) == kind.exit_code
    assert capsys.readouterr().err == f"nbmodelbook: {error}\n"

    answer = api_error(error)
    assert answer is not None
    assert answer.status_code == kind.http_status
    assert answer.message == str(error)


def test_statuses_and_exit_codes_by_family() -> None:
    assert errors.PathRejected("x").http_status == 400
    assert errors.UnknownRunError("x").http_status == 404
    assert errors.StoreUnavailable("x").http_status == 503
    assert errors.AnnotationsInvalid([]).http_status == 422
    assert {kind.exit_code for kind in _error_classes()} == {errors.EXIT_USAGE}
    # Callers that catch the built-in kinds keep working.
    assert issubclass(errors.PathNotFound, LookupError)
    assert issubclass(errors.InvalidQuery, ValueError)
    assert issubclass(errors.MlflowMissing, ImportError)


def test_annotation_findings_reach_the_api_answer() -> None:
    answer = api_error(errors.AnnotationsInvalid([{"code": "unknown-kind"}]))
    assert answer is not None and answer.extra == {"items": [{"code": "unknown-kind"}]}


def test_other_exceptions_are_bugs(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def failing(_: argparse.Namespace) -> int:
        raise KeyError("oops")

    monkeypatch.delenv("NBMODELBOOK_DEBUG", raising=False)
    monkeypatch.setitem(
        cli._COMMANDS, "fail", cli.Command("fail", "always fails", lambda parser: None, failing)
    )
    assert cli.main(["fail"]) == errors.EXIT_INTERNAL
    assert "internal error (KeyError" in capsys.readouterr().err
    assert api_error(KeyError("oops")) is None


def test_every_public_exception_class_is_in_the_hierarchy() -> None:
    """A new user-facing error class defined anywhere but errors.py would escape the mapping."""
    strays = []
    for path in PACKAGE.rglob("*.py"):
        if path.name == "errors.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ClassDef) or node.name.startswith("_"):
                continue
            bases = {ast.unparse(base) for base in node.bases}
            if bases & {"Exception", "ValueError", "LookupError", "RuntimeError", "ImportError"}:
                strays.append(f"{path.relative_to(PACKAGE)}:{node.name}")
    # Raised and caught inside capture only, never shown to a user.
    assert strays == ["capture/fingerprint.py:FingerprintError"]
