"""The errors nbmodelbook means its users to see, in one hierarchy.

Every such error derives from `ModelBookError` and knows what it means to the command line (its
exit code) and to the REST API (its HTTP status), so `nbmodelbook ...` and the server answer the
same failure the same way. Anything else that escapes is a bug: exit 3, HTTP 500.

Each class also derives from the built-in exception its callers have always caught
(`ValueError`, `LookupError`, ...), so an `except ValueError` around a project call keeps working.
The module sits at the bottom of the package: it imports nothing of nbmodelbook's.
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "EXIT_INTERNAL",
    "EXIT_NOT_READY",
    "EXIT_OK",
    "EXIT_USAGE",
    "AnnotationsInvalid",
    "CommandError",
    "FormatUnavailable",
    "InvalidArgument",
    "InvalidQuery",
    "KernelNotFound",
    "MlflowInteropError",
    "MlflowMissing",
    "ModelBookError",
    "NotAStore",
    "NotFound",
    "NotebookUnreadable",
    "PathNotFound",
    "PathRejected",
    "StoreCorrupted",
    "StoreUnavailable",
    "StoreVersionError",
    "TrackUsageError",
    "Unavailable",
    "UnknownRunError",
    "UnusableEvidence",
    "UsageError",
]

EXIT_OK = 0
EXIT_NOT_READY = 1  # `check`: the notebook is not ready for review
EXIT_USAGE = 2  # the input cannot be used: the message says why and what to do
EXIT_INTERNAL = 3  # a bug: never mistaken by a CI gate for "not ready"


class ModelBookError(Exception):
    """A failure with a message written for the user: what went wrong and what to do."""

    exit_code: ClassVar[int] = EXIT_USAGE
    http_status: ClassVar[int] = 400

    def details(self) -> dict[str, Any]:
        """What the API adds to its JSON error beside the message (nothing by default)."""
        return {}


# --- the user's input cannot be used (exit 2, HTTP 400) ----------------------------------------


class UsageError(ModelBookError, ValueError):
    """Input the user can correct: an argument, an option, a file's content."""


class CommandError(UsageError):
    """A command line nbmodelbook cannot carry out; printed as one line."""


class TrackUsageError(UsageError):
    """Bad `%%track` options."""


class InvalidArgument(UsageError):
    """A request argument the API cannot use; the message says which and why."""


class PathRejected(UsageError):
    """A path nbmodelbook refuses to use (outside the root, a link out, a bad name)."""


class NotebookUnreadable(UsageError):
    """The file is not a notebook nbmodelbook can read."""


class InvalidQuery(UsageError):
    """A query the store cannot answer (unknown sort column, empty range, bad page)."""


class NotAStore(UsageError):
    """The file given as a store is not a nbmodelbook store; nothing was changed in it."""


class UnusableEvidence(UsageError):
    """A value a metric call received that cannot be kept as evidence (not one label or score
    per row); the message says what was skipped and why, and the run keeps it as a note."""


class AnnotationsInvalid(UsageError):
    """The notebook's annotations have problems; no report was written (HTTP 422)."""

    http_status: ClassVar[int] = 422

    def __init__(self, items: list[dict[str, object]]) -> None:
        super().__init__("The notebook's annotations have problems: fix them and export again")
        self.items = items

    def details(self) -> dict[str, Any]:
        return {"items": self.items}


# --- something named does not exist (exit 2, HTTP 404) -----------------------------------------


class NotFound(ModelBookError, LookupError):
    """A notebook, file or run the user named does not exist."""

    http_status: ClassVar[int] = 404


class PathNotFound(NotFound):
    """A path inside the root folder that names no file."""


class UnknownRunError(NotFound):
    """A run name or id that matches no run; the message says what was close."""


class KernelNotFound(NotFound):
    """The Jupyter kernel a notebook asks for (or `--kernel` names) is not installed."""


# --- a service nbmodelbook needs is not there (exit 2, HTTP 503) -------------------------------


class Unavailable(ModelBookError, RuntimeError):
    """A store, a server or an optional package nbmodelbook needs cannot be used now."""

    http_status: ClassVar[int] = 503


class StoreUnavailable(Unavailable):
    """The store cannot be opened or written; the message says what to do."""


class StoreCorrupted(StoreUnavailable):
    """The store file is damaged (moved aside when a kernel opens it for writing)."""


class StoreVersionError(StoreUnavailable):
    """The store was written by a newer nbmodelbook."""


class MlflowInteropError(Unavailable):
    """MLflow refused or failed a request; the message says which store and why."""


class MlflowMissing(Unavailable, ImportError):
    """MLflow is not installed; the message says which extra to install."""


class FormatUnavailable(Unavailable, ImportError):
    """A report format's optional packages (Python or system) are missing; the message says
    which extra and which system packages to install."""
