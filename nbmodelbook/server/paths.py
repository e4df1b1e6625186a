"""API paths confined to the server's root folder.

The API names files the way JupyterLab's contents API does: `/`-separated paths relative to the
server's root folder (`work/model.ipynb`). A path is checked twice: as text (`api_segments`,
`within`: pure) and as the file it names once symlinks are followed (`resolve_api_path`), so
neither `..`, an absolute path, an encoded separator nor a symlink reaches outside the root.
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
    "hidden_segment",
    "require_file",
    "resolve_api_path",
    "within",
]

# Percent-encodings still present after the server decoded the query once: a client encoded a
# dot, a separator, a NUL or a percent sign twice, the way traversal attempts do.
_ENCODED = re.compile(r"%(?:2e|2f|5c|00|25)", re.IGNORECASE)
_DRIVE = re.compile(r"^[A-Za-z]:")


def api_segments(api_path: str) -> tuple[str, ...]:
    """The segments of an API path (pure); `PathRejected` says what is wrong with it.

    Empty and `.` segments are dropped (`a//b/./c` is `a/b/c`); `..`, absolute paths, drive
    letters, backslashes, NUL and encoded dots or separators are refused.
    """
    if not api_path:
        raise PathRejected("the path is empty: give a file's path relative to the server's root")
    if "\x00" in api_path:
        raise PathRejected("the path contains a NUL character")
    if "\\" in api_path:
        raise PathRejected(
            f"the path {api_path!r} contains a backslash: use '/' between folder names"
        )
    if _ENCODED.search(api_path):
        raise PathRejected(
            f"the path {api_path!r} still holds a percent-encoded '.', '/', '\\', '%' or NUL "
            "after decoding: encode the path once"
        )
    if api_path.startswith("/") or _DRIVE.match(api_path):
        raise PathRejected(
            f"the path {api_path!r} is absolute: give it relative to the server's root folder"
        )
    segments = tuple(part for part in api_path.split("/") if part not in ("", "."))
    if ".." in segments:
        raise PathRejected(f"the path {api_path!r} contains '..': parent folders are not served")
    if not segments:
        raise PathRejected(f"the path {api_path!r} names the root folder, not a file")
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
            f"the path {api_path!r} goes through the hidden name {hidden!r}, which the server "
            "does not show (ContentsManager.allow_hidden is off)"
        )
    real_root = Path(os.path.realpath(root))
    candidate = Path(os.path.realpath(real_root.joinpath(*segments)))
    if not within(real_root, candidate):
        raise PathRejected(f"the path {api_path!r} leads outside the server's root folder")
    if not allow_hidden and hidden_segment(candidate.relative_to(real_root).parts) is not None:
        raise PathRejected(
            f"the path {api_path!r} leads to a hidden file or folder, which the server does "
            "not show (ContentsManager.allow_hidden is off)"
        )
    return candidate


def require_file(path: Path, api_path: str, suffixes: Sequence[str], kind: str) -> Path:
    """`path` if it is an existing file whose name ends with one of `suffixes`.

    A wrong name or a folder is `PathRejected`; a missing file is `PathNotFound`.
    """
    if not path.name.endswith(tuple(suffixes)):
        endings = " or ".join(repr(suffix) for suffix in suffixes)
        raise PathRejected(f"{api_path!r} is not {kind}: its name must end with {endings}")
    if not path.exists():
        raise PathNotFound(f"no such file: {api_path!r}")
    if not path.is_file():
        raise PathRejected(f"{api_path!r} is a folder, not {kind}")
    return path


def api_path_of(root: str | os.PathLike[str], path: Path) -> str:
    """The API path (relative to the root, `/`-separated) of a real path inside `root`."""
    real_root = Path(os.path.realpath(root))
    return path.relative_to(real_root).as_posix()
