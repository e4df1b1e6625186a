"""Path confinement: properties of the pure checks, then real folders with symlinks."""

from __future__ import annotations

import os
import posixpath
import string
from pathlib import Path, PurePosixPath

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nbmodelbook.server.paths import (
    MAX_NAME_BYTES,
    MAX_PATH_BYTES,
    PathNotFound,
    PathRejected,
    api_path_of,
    api_segments,
    confine,
    require_file,
    resolve_api_path,
    within,
)

NAMES = st.text(alphabet=string.ascii_letters + string.digits + "-_. é", min_size=1, max_size=12)
PLAIN_NAMES = NAMES.filter(lambda name: name not in (".", ".."))
# Pieces a hostile or careless client puts between slashes.
PIECES = st.one_of(
    PLAIN_NAMES,
    st.sampled_from(
        ["", ".", "..", "...", "%2e%2e", "%2F", "%5c", "%00", "%25", "\\", "a\\..", "\x00", "C:"]
    ),
)
API_PATHS = st.one_of(st.lists(PIECES, max_size=6).map("/".join), st.text(max_size=40))
TRAVERSALS = st.sampled_from(
    ["..", "%2e%2e", "%2E%2e", "..%2f..", "%252e%252e", "..\\..", "a\\b", "x\x00y"]
)


@given(API_PATHS)
def test_an_accepted_path_cannot_leave_the_root(path: str) -> None:
    try:
        segments = api_segments(path)
    except PathRejected as refused:
        assert str(refused)  # always says why
        return
    assert segments
    for segment in segments:
        assert segment not in ("", ".", "..")
        assert not set(segment) & {"/", "\\", "\x00"}
    root = PurePosixPath("/srv/nb")
    joined = root.joinpath(*segments)
    assert within(root, joined)
    # What the operating system makes of the joined text stays inside too.
    assert within(root, PurePosixPath(posixpath.normpath(str(joined))))


@given(st.lists(PLAIN_NAMES, max_size=3), TRAVERSALS, st.lists(PLAIN_NAMES, max_size=3))
def test_traversal_anywhere_is_refused(before: list[str], bad: str, after: list[str]) -> None:
    with pytest.raises(PathRejected):
        api_segments("/".join([*before, bad, *after]))


@given(st.lists(PLAIN_NAMES, min_size=1, max_size=4))
def test_absolute_paths_are_refused(parts: list[str]) -> None:
    for path in ("/" + "/".join(parts), "C:/" + "/".join(parts), "c:" + parts[0]):
        with pytest.raises(PathRejected, match="absolute"):
            api_segments(path)


@given(st.lists(PLAIN_NAMES, min_size=1, max_size=4))
def test_plain_paths_keep_their_segments(parts: list[str]) -> None:
    assert api_segments("/".join(parts)) == tuple(parts)
    assert api_segments("./" + "//".join(parts) + "/") == tuple(parts)


@given(
    st.lists(PLAIN_NAMES, min_size=1, max_size=4),
    PLAIN_NAMES,
    st.lists(PLAIN_NAMES, max_size=3),
)
def test_within_compares_whole_names(root_parts: list[str], extra: str, tail: list[str]) -> None:
    root = PurePosixPath("/", *root_parts)
    assert within(root, root)
    assert within(root, root.joinpath(*tail))
    # `/srv/nb-other/x` starts with the text `/srv/nb` but is not inside it.
    sibling = root.with_name(root.name + extra)
    assert not within(root, sibling.joinpath(*tail))
    assert not within(root, root.parent)


# --- real folders ----------------------------------------------------------------------------


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """root/{work/model.ipynb, .hidden/x.ipynb, links...} and files beside the root."""
    root = tmp_path / "nb"
    (root / "work").mkdir(parents=True)
    (root / "work" / "model.ipynb").write_text("{}")
    (root / ".hidden").mkdir()
    (root / ".hidden" / "x.ipynb").write_text("{}")
    (tmp_path / "nb-other").mkdir()
    (tmp_path / "nb-other" / "x.ipynb").write_text("{}")
    (tmp_path / "secret.ipynb").write_text("{}")
    os.symlink(tmp_path / "secret.ipynb", root / "out.ipynb")
    os.symlink(tmp_path / "nb-other", root / "other")
    os.symlink(root / "work", root / "alias")
    os.symlink(root / ".hidden" / "x.ipynb", root / "peek.ipynb")
    os.symlink("../..", root / "work" / "up")
    return root


def test_symlinks_are_followed_and_must_stay_inside(tree: Path) -> None:
    real = (tree / "work" / "model.ipynb").resolve()
    assert resolve_api_path(tree, "work/model.ipynb", allow_hidden=False) == real
    assert resolve_api_path(tree, "alias/model.ipynb", allow_hidden=False) == real
    for path in ("out.ipynb", "other/x.ipynb", "work/up/secret.ipynb", "work/up/nb-other/x.ipynb"):
        with pytest.raises(PathRejected, match="outside"):
            resolve_api_path(tree, path, allow_hidden=False)


def test_hidden_files_follow_the_contents_manager(tree: Path) -> None:
    for path in (".hidden/x.ipynb", "peek.ipynb"):
        with pytest.raises(PathRejected, match="hidden"):
            resolve_api_path(tree, path, allow_hidden=False)
        assert resolve_api_path(tree, path, allow_hidden=True).name == "x.ipynb"


def test_a_root_given_through_a_symlink(tree: Path, tmp_path: Path) -> None:
    os.symlink(tree, tmp_path / "root-link")
    found = resolve_api_path(tmp_path / "root-link", "work/model.ipynb", allow_hidden=False)
    assert found == (tree / "work" / "model.ipynb").resolve()
    assert api_path_of(tmp_path / "root-link", found) == "work/model.ipynb"


def test_required_files(tree: Path) -> None:
    notebook = (".ipynb",)
    found = resolve_api_path(tree, "work/model.ipynb", allow_hidden=False)
    assert require_file(found, "work/model.ipynb", notebook, "a notebook") == found
    missing = resolve_api_path(tree, "work/none.ipynb", allow_hidden=False)
    with pytest.raises(PathNotFound):
        require_file(missing, "work/none.ipynb", notebook, "a notebook")
    (tree / "work" / "dir.ipynb").mkdir()
    folder = resolve_api_path(tree, "work/dir.ipynb", allow_hidden=False)
    with pytest.raises(PathRejected, match="folder"):
        require_file(folder, "work/dir.ipynb", notebook, "a notebook")
    with pytest.raises(PathRejected, match=r"must end with '\.ipynb'"):
        require_file(tree / "work" / "model.txt", "work/model.txt", notebook, "a notebook")


def test_names_and_paths_the_file_system_cannot_hold_are_refused() -> None:
    assert api_segments("a/" + "n" * MAX_NAME_BYTES) == ("a", "n" * MAX_NAME_BYTES)
    # Bytes, not characters: 128 'é' are 256 bytes of UTF-8.
    for name in ("n" * (MAX_NAME_BYTES + 1), "é" * 128):
        with pytest.raises(PathRejected, match="too long") as refused:
            api_segments(f"work/{name}.ipynb")
        assert len(str(refused.value)) < 300  # the name is not echoed in full
    with pytest.raises(PathRejected, match="too long"):
        api_segments("d/" * (MAX_PATH_BYTES // 2) + "x.ipynb")


def test_a_long_path_under_a_deep_root_is_refused(tmp_path: Path) -> None:
    """Each name fits, but the root's own path and the API path together do not."""
    folders = "/".join(["n" * 200] * 20)
    path = f"{folders}/{'x' * (MAX_PATH_BYTES - len(folders) - len('/.ipynb'))}.ipynb"
    assert len(path) == MAX_PATH_BYTES
    api_segments(path)  # fine as text
    with pytest.raises(PathRejected, match="too long"):
        resolve_api_path(tmp_path, path, allow_hidden=False)


def test_derived_files_are_confined_after_every_link(tree: Path, tmp_path: Path) -> None:
    root = tree.resolve()
    work = root / "work"
    assert confine(root, work / "model.review.html", "the report") == work / "model.review.html"
    assert confine(root, root / "alias" / "model.ipynb", "x") == work / "model.ipynb"
    # A link to a link that leads out: the message names the first link on the way.
    os.symlink(root / "other", work / ".nbmodelbook")
    with pytest.raises(PathRejected, match="outside") as refused:
        confine(root, work / ".nbmodelbook" / "runs.sqlite", "the run store")
    message = str(refused.value)
    assert "the run store 'work/.nbmodelbook/runs.sqlite'" in message
    assert "'work/.nbmodelbook' is a link that leads out of it" in message
    assert str(tmp_path) not in message
    # A dangling link out is refused too: writing through it would create the file outside.
    os.symlink(tmp_path / "nothing-yet.html", work / "model.review.html")
    with pytest.raises(PathRejected, match="it is a link that leads out of it"):
        confine(root, work / "model.review.html", "the report")
    assert not (tmp_path / "nothing-yet.html").exists()
