"""API paths confined to the server's root folder.

The API names files the way JupyterLab's contents API does: `/`-separated paths relative to the
server's root folder (`work/model.ipynb`). A path is checked twice: as text (`api_segments`,
`within`: pure) and as the file it names once symlinks are followed (`resolve_api_path`), so
neither `..`, an absolute path, an encoded separator nor a symlink reaches outside the root.
Files the server derives from a notebook's place (its run store, its report) are confined the
same way before they are opened (`confine`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path, PurePath

from nbmodelbook.errors import PathNotFound, PathRejected

__all__ = [
    "PathNotFound",
    "PathRejected",
    "api_path_of",
    "api_segments",
    "confine",
    "hidden_segment",
    "require_file",
    "resolve_api_path",
    "shown_path",
    "within",
]

# Percent-encodings still present after the server decoded the query once: a client encoded a
# dot, a separator, a NUL or a percent sign twice, the way traversal attempts do.
_ENCODED = re.compile(r"%(?:2e|2f|5c|00|25)", re.IGNORECASE)
_DRIVE = re.compile(r"^[A-Za-z]:")
# Beyond these the file system answers ENAMETOOLONG: refused first, with a message that says so.
MAX_NAME_BYTES = 255  # one file or folder name (NAME_MAX of Linux and macOS file systems)
MAX_PATH_BYTES = 4096  # a whole path (Linux's PATH_MAX)
_SHOWN_CHARS = 120


def shown_path(api_path: str) -> str:
    """A path as messages quote it: cut short when long, so an answer never echoes kilobytes."""
    text = api_path if len(api_path) <= _SHOWN_CHARS else api_path[:_SHOWN_CHARS] + "…"
    return repr(text)


def _byte_length(text: str) -> int:
    return len(text.encode("utf-8", "surrogateescape"))


def api_segments(api_path: str) -> tuple[str, ...]:
    """The segments of an API path (pure); `PathRejected` says what is wrong with it.

    Empty and `.` segments are dropped (`a//b/./c` is `a/b/c`); `..`, absolute paths, drive
    letters, backslashes, NUL and encoded dots or separators are refused.
    """
    if not api_path:
        raise PathRejected("the path is empty: give a file's path relative to the server's root")
    if _byte_length(api_path) > MAX_PATH_BYTES:
        raise PathRejected(
            f"the path {shown_path(api_path)} is too long: a path holds at most "
            f"{MAX_PATH_BYTES} bytes"
        )
    if "\x00" in api_path:
        raise PathRejected("the path contains a NUL character")
    if "\\" in api_path:
        raise PathRejected(
            f"the path {shown_path(api_path)} contains a backslash: use '/' between folder names"
        )
    if _ENCODED.search(api_path):
        raise PathRejected(
            f"the path {shown_path(api_path)} still holds a percent-encoded '.', '/', '\\', '%' "
            "or NUL after decoding: encode the path once"
        )
    if api_path.startswith("/") or _DRIVE.match(api_path):
        raise PathRejected(
            f"the path {shown_path(api_path)} is absolute: give it relative to the server's "
            "root folder"
        )
    segments = tuple(part for part in api_path.split("/") if part not in ("", "."))
    if ".." in segments:
        raise PathRejected(
            f"the path {shown_path(api_path)} contains '..': parent folders are not served"
        )
    if not segments:
        raise PathRejected(f"the path {shown_path(api_path)} names the root folder, not a file")
    long_name = next((part for part in segments if _byte_length(part) > MAX_NAME_BYTES), None)
    if long_name is not None:
        raise PathRejected(
            f"the name {shown_path(long_name)} in the path is too long: a file or folder name "
            f"holds at most {MAX_NAME_BYTES} bytes"
        )
    return segments


def hidden_segment(segments: Sequence[str]) -> str | None:
    """The first hidden name (starting with '.') among `segments`, if any (pure)."""
    return next((part for part in segments if part.startswith(".")), None)


def within(root: PurePath, candidate: PurePath) -> bool:
    """Whether `candidate` is `root` or lies under it, compared by whole names (pure).

    `/srv/nb-other/x` is not within `/srv/nb`, although its text starts with it.
    """
    return candidate.is_relative_to(root)


def resolve_api_path(root: str | os.PathLike[str], api_path: str, *, allow_hidden: bool) -> Path:
    """The real path (symlinks followed) of an API path, which must lie inside `root`.

    Hidden files and folders are refused unless `allow_hidden` (Jupyter's
    `ContentsManager.allow_hidden`), also when a symlink leads into one. The file need not
    exist: see `require_file`.
    """
    segments = api_segments(api_path)
    if not allow_hidden and (hidden := hidden_segment(segments)) is not None:
        raise PathRejected(
            f"the path {shown_path(api_path)} goes through the hidden name {hidden!r}, which the "
            "server does not show (ContentsManager.allow_hidden is off)"
        )
    real_root = Path(os.path.realpath(root))
    candidate = _real_path(real_root.joinpath(*segments), api_path)
    if not within(real_root, candidate):
        raise PathRejected(
            f"the path {shown_path(api_path)} leads outside the server's root folder"
        )
    if not allow_hidden and hidden_segment(candidate.relative_to(real_root).parts) is not None:
        raise PathRejected(
            f"the path {shown_path(api_path)} leads to a hidden file or folder, which the server "
            "does not show (ContentsManager.allow_hidden is off)"
        )
    return candidate


def require_file(path: Path, api_path: str, suffixes: Sequence[str], kind: str) -> Path:
    """`path` if it is an existing file whose name ends with one of `suffixes`.

    A wrong name or a folder is `PathRejected`; a missing file is `PathNotFound`.
    """
    if not path.name.endswith(tuple(suffixes)):
        endings = " or ".join(repr(suffix) for suffix in suffixes)
        raise PathRejected(
            f"{shown_path(api_path)} is not {kind}: its name must end with {endings}"
        )
    try:
        exists, is_file = path.exists(), path.is_file()
    except OSError as exc:  # a name too long, a loop of links: the file cannot be used
        raise PathRejected(f"{shown_path(api_path)} cannot be used: {exc.strerror}") from None
    if not exists:
        raise PathNotFound(f"no such file: {shown_path(api_path)}")
    if not is_file:
        raise PathRejected(f"{shown_path(api_path)} is a folder, not {kind}")
    return path


def _real_path(path: Path, shown: str) -> Path:
    """`path` with every link followed; PathRejected when the system cannot tell (too long)."""
    try:
        real = Path(os.path.realpath(path))
    except OSError as exc:
        raise PathRejected(f"the path {shown_path(shown)} cannot be used: {exc.strerror}") from None
    if _byte_length(str(real)) > MAX_PATH_BYTES:
        raise PathRejected(
            f"the path {shown_path(shown)} is too long: with the server's root folder it holds "
            f"more than {MAX_PATH_BYTES} bytes"
        )
    return real


def confine(root: Path, path: Path, what: str) -> Path:
    """The real path of `path`, a file the server derives from a notebook's place inside `root`
    (its run store, its report): `PathRejected` when it, or a link on its way, leads outside.

    The API's own paths are confined by `resolve_api_path`; this is for the files next to them,
    checked before anything opens, creates, renames or writes them. `root` is a real path.
    """
    shown = _relative_text(root, path)
    real = _real_path(path, shown)
    if within(root, real):
        return real
    link = _first_link_out(root, path)
    if link is None:
        why = ""
    elif link == shown:
        why = ": it is a link that leads out of it"
    else:
        why = f": {link!r} is a link that leads out of it"
    raise PathRejected(
        f"{what} {shown!r} is outside the server's root folder{why}. The server neither "
        "reads nor writes files outside its root folder: remove the link (a run store "
        "elsewhere is for the server's operator to choose, with NBMODELBOOK_STORE)"
    )


def _relative_text(root: Path, path: Path) -> str:
    """`path` relative to `root` as the API names files (its name alone if not under root)."""
    return path.relative_to(root).as_posix() if within(root, path) else path.name


def _first_link_out(root: Path, path: Path) -> str | None:
    """The shortest part of `path` under `root` whose real path is outside `root`."""
    if not within(root, path):
        return None
    parts = path.relative_to(root).parts
    for depth in range(1, len(parts) + 1):
        prefix = root.joinpath(*parts[:depth])
        if not within(root, Path(os.path.realpath(prefix))):
            return prefix.relative_to(root).as_posix()
    return None


def api_path_of(root: str | os.PathLike[str], path: Path) -> str:
    """The API path (relative to the root, `/`-separated) of a real path inside `root`."""
    real_root = Path(os.path.realpath(root))
    return path.relative_to(real_root).as_posix()
