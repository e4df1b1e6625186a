"""What the API answers, as JSON-ready dicts. Pure: store rows and records in, dicts out.

JSON has no NaN or infinities: non-finite numbers travel as the strings "NaN", "Infinity" and
"-Infinity", as the store writes them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from nbmodelbook.record import RunRecord, json_safe, status_failed

if TYPE_CHECKING:
    from nbmodelbook.report.comparison import Comparison
    from nbmodelbook.report.formats import ReportFormat

__all__ = [
    "MAX_SUMMARY_PARAMS",
    "comparison_payload",
    "environment_summary",
    "error_text",
    "input_list",
    "json_number",
    "json_value",
    "listing_etag",
    "report_format_entry",
    "run_detail",
    "run_summary",
    "summary_row",
]

# A listing carries the first params of each run (as recorded): enough for a tooltip, small
# for a thousand runs. The run's own endpoint has them all.
MAX_SUMMARY_PARAMS = 12


def json_number(value: float | None) -> float | str | None:
    """A number JSON can carry: non-finite values by name."""
    if value is None:
        return None
    number: float | str = json_safe(float(value))
    return number


def json_value(value: Any) -> Any:
    """A JSON-safe copy: non-finite floats by name, tuples as lists, keys as text, anything
    else that JSON cannot hold as its text."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return json_number(value)
    if isinstance(value, Mapping):
        return {str(key): json_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_value(item) for item in value]
    return str(value)


def error_text(error_type: str | None, message: str | None) -> str | None:
    """`"Type: message"` of a failed run, None for a run without an error."""
    if not error_type:
        return None
    return f"{error_type}: {message}" if message else error_type


def run_summary(
    row: Mapping[str, Any], *, max_params: int | None = MAX_SUMMARY_PARAMS
) -> dict[str, Any]:
    """One run of a listing, from a store summary row (`RunStore.query_runs` rows)."""
    params: Mapping[str, Any] = row.get("params") or {}
    kept = list(params.items())
    if max_params is not None:
        kept = kept[:max_params]
    status = str(row["status"])
    duration = row.get("duration")
    return {
        "run_id": str(row["run_id"]),
        "name": str(row["name"]),
        "status": status,
        "failed": status_failed(status),
        "started": float(row["started_at"]),
        "duration": None if duration is None else json_number(duration),
        "cell_id": row.get("cell_id"),
        "execution_count": row.get("execution_count"),
        "tags": [str(tag) for tag in row.get("tags") or []],
        "metrics": {
            str(name): json_number(value) for name, value in (row.get("metrics") or {}).items()
        },
        "params": {str(name): json_value(value) for name, value in kept},
        "params_left_out": len(params) - len(kept),
        "error": error_text(row.get("error_type"), row.get("error_message")),
    }


def summary_row(record: RunRecord) -> dict[str, Any]:
    """A full record as the summary row the store would list for it."""
    return {
        "run_id": record.run_id,
        "name": record.name,
        "status": record.status.value,
        "started_at": record.started_at,
        "duration": record.duration,
        "cell_id": record.cell_id,
        "execution_count": record.execution_count,
        "tags": record.tags,
        "metrics": record.metrics,
        "params": record.params,
        "error_type": record.error.type if record.error is not None else None,
        "error_message": record.error.message if record.error is not None else None,
    }


def input_list(inputs: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The data a run read, one fingerprint per name (kind, shape, columns, hash...), by name."""
    return [
        {"name": str(name), **json_value(dict(fingerprint))}
        for name, fingerprint in sorted(inputs.items(), key=lambda item: str(item[0]))
        if isinstance(fingerprint, Mapping)
    ]


def environment_summary(environment: Mapping[str, Any]) -> dict[str, Any] | None:
    """Python, package versions and git state of a run (None when none was recorded)."""
    if not environment:
        return None
    python = environment.get("python")
    python = python if isinstance(python, Mapping) else {}
    packages = environment.get("packages")
    packages = packages if isinstance(packages, Mapping) else {}
    git = environment.get("git")
    errors = environment.get("errors")
    return {
        "python": {
            key: str(python[key])
            for key in ("version", "implementation", "platform")
            if python.get(key) is not None
        },
        "packages": {str(name): str(packages[name]) for name in sorted(packages, key=str)},
        "git": None
        if not isinstance(git, Mapping)
        else {key: json_value(git.get(key)) for key in ("commit", "branch", "dirty", "remote")},
        "errors": [str(error) for error in errors] if isinstance(errors, list) else [],
    }


def run_detail(record: RunRecord, *, notebook: str | None) -> dict[str, Any]:
    """One run in full: its summary with every param and metric, its code, data and context.

    `notebook` is the run's notebook as the API names it (relative to the root): the path the
    run was recorded under is the server's own.
    """
    detail = run_summary(summary_row(record), max_params=None)
    detail.update(
        {
            "code": record.code,
            "code_hash": record.code_hash,
            "notebook": notebook,
            "inputs": input_list(record.inputs),
            "environment": environment_summary(record.environment),
            "lineage": [
                {
                    "execution_count": cell.execution_count,
                    "cell_id": cell.cell_id,
                    "code_hash": cell.code_hash,
                    "defines": list(cell.defines),
                    "reads": list(cell.reads),
                    "run_id": cell.run_id,
                }
                for cell in record.lineage
            ],
            "user": record.user,
            "host": record.host,
            "ended": record.ended_at,
            "note": record.note,
            "traceback": record.error.traceback if record.error is not None else None,
        }
    )
    return detail


def comparison_payload(comparison: Comparison) -> dict[str, Any]:
    """What `compare()` shows, as data: the runs, the params (each with whether it differs),
    the metrics (best value marked, headline first), how the data and the code of every run
    after the first differ from the first's."""
    runs = comparison.runs
    return {
        "runs": [
            {
                "run_id": run.run_id,
                "label": label,
                "name": run.name,
                "status": run.status.value,
                "failed": run.status.failed,
                "started": run.started_at,
            }
            for run, label in zip(runs, comparison.labels, strict=True)
        ],
        "headline": comparison.headline,
        "varying_param": comparison.varying_param,
        "params": [
            {
                "name": row.name,
                "values": [json_value(value) for value in row.values],
                "differs": row.differs,
            }
            for row in comparison.params(only_differences=False)
        ],
        "metrics": [
            {
                "name": row.name,
                "values": [json_number(value) for value in row.values],
                "best": row.best[0] if row.best else None,
                "best_runs": list(row.best),
                "higher_is_better": not row.lower_is_better,
            }
            for row in comparison.metrics
        ],
        "data": _per_later_run(runs, [difference.sentence for difference in comparison.data]),
        "data_kinds": _per_later_run(runs, [difference.kind for difference in comparison.data]),
        "code_changed": [not diff.identical for diff in comparison.code_diffs],
        "code_diff": [
            {"added": diff.added, "removed": diff.removed} for diff in comparison.code_diffs
        ],
    }


def _per_later_run(runs: Sequence[RunRecord], values: Sequence[str]) -> list[str | None]:
    """One value for each run after the first (None where there is none)."""
    return [values[index] if index < len(values) else None for index in range(len(runs) - 1)]


def listing_etag(*parts: object) -> str:
    """A strong ETag for a listing: equal parts (version, store, scope, query, write counter)
    give the same tag, any change a new one."""
    digest = hashlib.sha256(repr(parts).encode("utf-8")).hexdigest()[:32]
    return f'"{digest}"'


def report_format_entry(report_format: ReportFormat, unavailable: str | None) -> dict[str, Any]:
    """One report format as an export dialog offers it: what it is, the file it writes, and
    whether this server can write it (`reason` says why not, and what to install)."""
    return {
        "name": report_format.name,
        "description": report_format.description,
        "extension": report_format.extensions[0],
        "suffix": report_format.suffix,
        "available": unavailable is None,
        "reason": unavailable,
    }
