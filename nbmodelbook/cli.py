"""The `nbmodelbook` command. Subcommands are registered, not switched on."""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nbmodelbook import __version__
from nbmodelbook.errors import (
    EXIT_INTERNAL,
    EXIT_NOT_READY,
    EXIT_OK,
    EXIT_USAGE,
    CommandError,
    ModelBookError,
    PathRejected,
)

if TYPE_CHECKING:
    import pandas as pd

    from nbmodelbook.report.model import FrameworkCoverage, Review


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


_COMMANDS: dict[str, Command] = {}


def register(command: Command) -> None:
    _COMMANDS[command.name] = command


# --- runs --------------------------------------------------------------------------------------

_TABLE_MAX_METRICS = 4


def _configure_runs(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("notebook", nargs="?", help="a notebook's path (default: every run)")
    parser.add_argument(
        "--format", choices=("table", "csv", "json"), default="table", help="output format"
    )
    parser.add_argument(
        "--store",
        help="store path or URL (default: $NBMODELBOOK_STORE, "
        "else .nbmodelbook/runs.sqlite beside the notebook or here)",
    )


def _run_runs(args: argparse.Namespace) -> int:
    from nbmodelbook.links import notebook_run_summaries
    from nbmodelbook.notebook_file import read_notebook
    from nbmodelbook.store.backends import resolve_store_url, store_exists, store_for_notebook
    from nbmodelbook.store.frames import runs_frame
    from nbmodelbook.store.store import RunStore

    path = Path(args.notebook).expanduser() if args.notebook is not None else None
    notebook = None
    if path is None:
        store_url = resolve_store_url(args.store)
    elif not path.exists():
        raise CommandError(f"no such notebook: {args.notebook}")
    else:
        notebook = read_notebook(path)  # an unreadable notebook is an error even with no runs
        store_url = store_for_notebook(path, args.store)
    summaries: list[dict[str, Any]] = []
    if store_exists(store_url):  # listing never creates a store, nor changes one
        store = RunStore.open_read_only(store_url)
        try:
            if path is None or notebook is None:
                summaries = store.run_summaries()
            else:
                summaries = notebook_run_summaries(store, path, notebook)
        finally:
            store.close()
    frame = runs_frame(summaries)
    out = sys.stdout
    if args.format == "csv":
        _json_cells(frame).to_csv(out, index=False)
    elif args.format == "json":
        out.write(frame.to_json(orient="records", date_format="iso", indent=1))
        out.write("\n")
    else:
        out.write(_table(frame) + "\n")
    return EXIT_OK


def _json_cells(frame: pd.DataFrame) -> pd.DataFrame:
    """Lists and dicts (tags, structured params) as JSON text, so CSV readers can parse them."""
    import json

    converted = frame.copy()
    for column in converted.columns:
        if converted[column].dtype == object:
            converted[column] = converted[column].map(
                lambda value: json.dumps(value) if isinstance(value, list | dict) else value
            )
    return converted


def _table(frame: pd.DataFrame) -> str:
    import pandas as pd

    if frame.empty:
        return "no runs"
    # The metrics most runs share say the most in a narrow table.
    metric_columns = (
        frame.filter(like="metrics.")
        .notna()
        .sum()
        .sort_values(ascending=False, kind="stable")
        .index[:_TABLE_MAX_METRICS]
    )
    shown = pd.DataFrame(
        {
            "run": frame["run_id"].str[:12],
            "name": frame["name"],
            "status": frame["status"],
            "started (UTC)": frame["started_at"].dt.strftime("%Y-%m-%d %H:%M:%S"),
            "duration": frame["duration"].map(
                lambda seconds: "" if pd.isna(seconds) else f"{seconds:.2f}s"
            ),
        }
    )
    for column in metric_columns:
        shown[column.removeprefix("metrics.")] = frame[column].map(
            lambda value: "" if pd.isna(value) else f"{value:.4g}"
        )
    return shown.to_string(index=False)


register(Command("runs", "list the runs recorded for a notebook", _configure_runs, _run_runs))


# --- execute -----------------------------------------------------------------------------------


def _configure_execute(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("notebook", help="the notebook to execute")
    parser.add_argument(
        "-o", "--output", help="where to write the executed notebook (default: over the input)"
    )
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell (default 600)")
    parser.add_argument("--kernel", default=None, help="kernel name (default: the notebook's)")


def _run_execute(args: argparse.Namespace) -> int:
    from nbmodelbook.execute import execute_notebook
    from nbmodelbook.notebook_file import check_output_file

    source = Path(args.notebook).expanduser()
    if not source.exists():
        raise CommandError(f"no such notebook: {args.notebook}")
    target = source
    if args.output:
        # Checked before a kernel starts: a wrong -o must not cost a whole run, nor a file.
        target = Path(args.output).expanduser()
        check_output_file(target, example_name=f"{source.stem}.executed.ipynb")
        if target.suffix.lower() != ".ipynb":
            raise PathRejected(
                f"{target} does not end in .ipynb: the executed notebook is written as a "
                f"notebook, e.g. {target.with_suffix('.ipynb')}"
            )
    result = execute_notebook(source, target, timeout=args.timeout, kernel_name=args.kernel)
    print(f"executed {source} -> {target} ({result.cells} cells, {result.seconds:.1f} s)")
    if result.error is not None:
        print(f"nbmodelbook: the notebook stopped with an error: {result.error}", file=sys.stderr)
        return EXIT_NOT_READY
    return EXIT_OK


register(
    Command(
        "execute",
        "execute a notebook headless, filing its runs under the notebook's path",
        _configure_execute,
        _run_execute,
    )
)


# --- report and check --------------------------------------------------------------------------


def _configure_report(parser: argparse.ArgumentParser) -> None:
    from nbmodelbook.report.formats import REPORT_FORMATS

    suffixes = ", ".join(f.suffix for f in REPORT_FORMATS.values())
    extensions = ", ".join("/".join(f.extensions) for f in REPORT_FORMATS.values())
    parser.add_argument("notebook", help="the annotated notebook")
    parser.add_argument(
        "-o",
        "--output",
        help=f"output file (default: NOTEBOOK{suffixes.split(',')[0]} beside the notebook, or"
        f" the suffix of --format: {suffixes})",
    )
    parser.add_argument(
        "--format",
        choices=tuple(REPORT_FORMATS),
        default=None,
        help=f"report format (default: from -o's extension: {extensions}; else html)",
    )
    parser.add_argument("--store", help="store path or URL (default: the notebook's)")
    parser.add_argument(
        "--since",
        metavar="PREVIOUS.review.json",
        help="the JSON report of the earlier review (report --format json): adds a section on"
        " what changed since (runs, decisions, criteria, the chosen model, findings)",
    )
    _add_confidence(parser)
    _add_frameworks(parser)


def _add_frameworks(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--framework",
        dest="frameworks",
        action="append",
        default=[],
        metavar="NAME|FILE",
        help="a governance framework to check the review's coverage of: model-card, sr-11-7,"
        " eu-ai-act, or an organisation's own .toml file (repeatable; added to those the"
        " notebook's metadata.nbmodelbook.frameworks names)",
    )


def _add_confidence(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--confidence",
        type=_confidence,
        default=0.95,
        metavar="LEVEL",
        help="level of every interval and test, between 0.5 and 0.999 (default: 0.95)",
    )


def _confidence(text: str) -> float:
    try:
        # Rounded: 99.9 / 100 is 0.9990000000000001 in binary.
        level = round(
            float(text.strip().rstrip("%")) / (100 if text.strip().endswith("%") else 1), 9
        )
    except ValueError:
        level = math.nan
    if not 0.5 <= level <= 0.999:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a confidence level: give one between 0.5 and 0.999 (or 50%-99.9%),"
            " e.g. 0.95"
        )
    return level


def _run_report(args: argparse.Namespace) -> int:
    from nbmodelbook.report.formats import check_report_output, format_for_output, get_format
    from nbmodelbook.report.load import load_review, terminal_progress

    source = Path(args.notebook).expanduser()
    # Refused before anything is read: a report never lands over a notebook or in a file
    # whose extension says another format.
    if args.output:
        output = Path(args.output).expanduser()
        check_report_output(output, source)
        report_format = format_for_output(output, args.format)
    else:
        report_format = get_format(args.format or "html")
        output = report_format.path_for(source)
        check_report_output(output, source)
    # Read whole before anything is written: it may be the very file -o replaces.
    previous = _previous_review(args.since)
    review = load_review(source, args.store, level=args.confidence, frameworks=args.frameworks)
    if previous is not None:
        from nbmodelbook.report.changes import review_changes

        review.changes = review_changes(previous, review)
    terminal_progress(f"rendering {report_format.name.upper()}")
    try:
        written = report_format.render(review, output)
    except OSError as exc:
        raise CommandError(f"cannot write the report to {output}: {exc.strerror or exc}") from exc
    for path in written[:1]:
        print(path)
    return EXIT_OK


def _previous_review(since: str | None) -> dict[str, Any] | None:
    if since is None:
        return None
    from nbmodelbook.report.changes import read_previous_review

    return read_previous_review(Path(since).expanduser())


register(
    Command(
        "report", "write the review report of an annotated notebook", _configure_report, _run_report
    )
)


def _configure_check(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("notebook", help="the annotated notebook")
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output")
    parser.add_argument("--store", help="store path or URL (default: the notebook's)")
    _add_confidence(parser)
    _add_frameworks(parser)


def _run_check(args: argparse.Namespace) -> int:
    import json

    from nbmodelbook.report.coverage import coverage_payload, missing_elements
    from nbmodelbook.report.load import load_review
    from nbmodelbook.report.readiness import ReadinessItem, is_ready, readiness

    source = Path(args.notebook).expanduser()
    review = load_review(
        source,
        args.store,
        progress=lambda _message: None,
        level=args.confidence,
        frameworks=args.frameworks,
    )
    items = readiness(review)
    missing = missing_elements(review.coverage)
    # A framework element still missing fails the check; one partly covered does not.
    ready = is_ready(items) and not missing
    # An audit finding keeps its severity (high, medium, low); other items have none.
    severities = {
        (finding.code, f"{finding.title}: {finding.detail}"): finding.severity.value
        for finding in review.findings
    }

    def severity(item: ReadinessItem) -> str | None:
        return severities.get((item.code, item.message))

    if args.format == "json":
        payload = {
            "notebook": str(source),
            "ready": ready,
            "items": [{**item.as_dict(), "severity": severity(item)} for item in items],
            "criteria": [
                {"text": c.text, "status": c.status.value, "reason": c.reason}
                for c in review.criteria
            ],
            "missing_elements": missing,
            "coverage": coverage_payload(review.coverage),
        }
        print(json.dumps(payload, indent=1))
    else:
        verdict = "ready for review" if ready else "NOT ready for review"
        print(
            f"{source.name}: {verdict} ({len(review.history)} runs, "
            f"{len(review.decisions)} decision(s))"
        )
        _print_criteria(review)
        for item in items:
            where = f"cell {item.cell_index + 1}: " if item.cell_index is not None else ""
            mark = "✗" if item.blocking else "!"
            graded = severity(item)
            print(f"  {mark} {where}{item.message}" + (f" [{graded}]" if graded else ""))
        for line in _coverage_lines(review.coverage):
            print(line)
    return EXIT_OK if ready else EXIT_NOT_READY


def _print_criteria(review: Review) -> None:
    from nbmodelbook.report.criteria_view import criterion_sentence

    level = review.evidence.level if review.evidence is not None else 0.95
    for criterion in review.criteria:
        mark = {"met": "✓", "met on the point estimate only": "!"}.get(criterion.status.value, "✗")
        label = review.run_label(criterion.run_id) if criterion.run_id else None
        print(f"  {mark} criterion: {criterion_sentence(criterion, level, label)}")


_COVERAGE_MARKS = {"covered": "✓", "partly covered": "~", "missing": "✗"}


def _coverage_lines(coverage: Sequence[FrameworkCoverage]) -> list[str]:
    """`check`'s account of each framework: every element, what covers it or what to write."""
    from nbmodelbook.report.coverage import count_line, missing_elements

    lines: list[str] = []
    for framework in coverage:
        lines.append(f"{framework.title}: {count_line(framework)}")
        for element in framework.elements:
            status = element.status.value
            mark = _COVERAGE_MARKS.get(status, "·")
            head = f"  {mark} {element.title} [{element.clause}]: {status}"
            covered = "; ".join(element.covered_by)
            todo = "; ".join(element.missing)
            if status == "covered":
                lines.append(f"{head} by {covered}")
            elif status == "partly covered":
                lines.append(f"{head} by {covered}; missing: {todo}")
            else:  # missing, or outside the notebook (with what in it informs the element)
                lines.append(f"{head}: {todo}" + (f" (informed by {covered})" if covered else ""))
    missing = missing_elements(coverage)
    if missing:
        lines.append(
            f"{missing} framework element{'s are' if missing != 1 else ' is'} missing "
            "(marked ✗): write what each asks for, then check again"
        )
    return lines


register(
    Command(
        "check", "is the notebook ready for review? (exit 1 when not)", _configure_check, _run_check
    )
)


# --- store -------------------------------------------------------------------------------------


def _configure_store(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    info = actions.add_parser("info", help="what a store holds (changes nothing)")
    info.add_argument("store", nargs="?", help="store path or URL (default: this folder's)")
    info.add_argument("--format", choices=("text", "json"), default="text", help="output")
    migrate = actions.add_parser("migrate", help="upgrade a store's schema to this version's")
    migrate.add_argument("store", nargs="?", help="store path or URL (default: this folder's)")
    copy = actions.add_parser(
        "copy", help="copy every run from one store to another (safe to repeat)"
    )
    copy.add_argument("source", help="the store to copy from (path or URL)")
    copy.add_argument("target", help="the store to copy into (created when missing)")


def _format_time(epoch: float | None) -> str:
    from datetime import datetime

    return "—" if epoch is None else datetime.fromtimestamp(epoch).strftime("%Y-%m-%d %H:%M")


def _store_info(args: argparse.Namespace) -> int:
    import json

    from nbmodelbook.store.admin import inspect_store

    info = inspect_store(args.store)
    if args.format == "json":
        print(json.dumps(info.as_dict(), indent=1))
        return EXIT_OK
    version = f"schema {info.version}"
    if info.needs_migration:
        version += f" (this nbmodelbook writes {info.latest}: run `nbmodelbook store migrate`)"
    elif info.version > info.latest:
        version += f" (newer than this nbmodelbook's {info.latest}: upgrade nbmodelbook)"
    statuses = ", ".join(f"{count:,} {status}" for status, count in sorted(info.statuses.items()))
    lines = [
        f"store      {info.location} ({info.backend}, {version})",
        f"runs       {info.runs:,}" + (f" ({statuses})" if statuses else ""),
        f"notebooks  {info.notebooks:,}; users {info.users:,}",
        f"started    {_format_time(info.first_started)} … {_format_time(info.last_started)}",
    ]
    if info.size_bytes is not None:
        lines.append(f"size       {info.size_bytes / 1e6:,.1f} MB")
    print("\n".join(lines))
    return EXIT_OK


def _store_migrate(args: argparse.Namespace) -> int:
    from nbmodelbook.store.admin import migrate_store

    before, after = migrate_store(args.store)
    if before == after:
        print(f"the store is up to date (schema {after})")
    else:
        print(f"upgraded the store from schema {before} to {after}")
    return EXIT_OK


def _store_copy(args: argparse.Namespace) -> int:
    from nbmodelbook.store.admin import copy_runs, existing_store_url
    from nbmodelbook.store.backends import resolve_store_url
    from nbmodelbook.store.store import RunStore

    source = RunStore.open_read_only(existing_store_url(args.source))  # the source is only read
    if resolve_store_url(args.target) == source.url:
        raise CommandError("the source and the target are the same store")
    # Created when missing; a file that is not a store is refused as it is, never moved aside.
    target = RunStore.open(args.target, recover=False)
    interactive = sys.stderr.isatty()

    def progress(done: int, total: int) -> None:
        if interactive:
            print(f"\rcopying runs: {done:,}/{total:,}", end="", file=sys.stderr, flush=True)

    result = copy_runs(source, target, progress)
    if interactive and result.copied:
        print(file=sys.stderr)
    print(
        f"copied {result.copied:,} run(s) from {source.location} to {target.location}; "
        f"{result.unchanged:,} already there"
    )
    return EXIT_OK


_STORE_ACTIONS: dict[str, Callable[[argparse.Namespace], int]] = {
    "info": _store_info,
    "migrate": _store_migrate,
    "copy": _store_copy,
}


def _run_store(args: argparse.Namespace) -> int:
    return _STORE_ACTIONS[args.action](args)


register(Command("store", "inspect, upgrade or copy a run store", _configure_store, _run_store))


# --- MLflow ------------------------------------------------------------------------------------

_TRACKING_URI_HELP = (
    "MLflow tracking URI (default: $MLFLOW_TRACKING_URI, else MLflow's default, "
    "mlflow.db in this folder)"
)


def _mlflow_progress(verb: str) -> Callable[..., None]:
    """A progress line on stderr for a person watching a terminal; nothing otherwise."""
    interactive = sys.stderr.isatty()

    def progress(done: int, total: int | None = None) -> None:
        if interactive:
            of = f"/{total:,}" if total is not None else ""
            print(f"\r{verb} runs: {done:,}{of}", end="", file=sys.stderr, flush=True)

    return progress


def _configure_export_mlflow(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("notebook", nargs="?", help="the notebook whose runs to export")
    parser.add_argument(
        "--all", dest="all_runs", action="store_true", help="export every run of the store"
    )
    parser.add_argument(
        "--store",
        help="store path or URL (default: $NBMODELBOOK_STORE, else the notebook's store, "
        "else .nbmodelbook/runs.sqlite here)",
    )
    parser.add_argument("--tracking-uri", help=_TRACKING_URI_HELP)
    parser.add_argument(
        "--experiment",
        help="MLflow experiment, created when missing (default: the notebook's name; with "
        "--all, each run's notebook's name)",
    )


def _run_export_mlflow(args: argparse.Namespace) -> int:
    from nbmodelbook.interop.mlflow_export import export_to_mlflow

    if args.notebook is not None and args.all_runs:
        raise CommandError("give a notebook or --all, not both")
    if args.notebook is None and not args.all_runs:
        raise CommandError("name the notebook whose runs to export, or --all for every run")
    notebook = Path(args.notebook).expanduser() if args.notebook is not None else None
    if notebook is not None and not notebook.exists():
        raise CommandError(f"no such notebook: {args.notebook}")
    result = export_to_mlflow(
        notebook=notebook,
        store=args.store,
        tracking_uri=args.tracking_uri,
        experiment=args.experiment,
        progress=_mlflow_progress("exporting"),
    )
    if result.total and sys.stderr.isatty():
        print(file=sys.stderr)
    experiments = ", ".join(f"'{name}'" for name in result.experiments) or "none"
    line = (
        f"MLflow {result.tracking_uri} (experiment {experiments}): {result.exported:,} "
        f"exported, {result.updated:,} updated, {result.unchanged:,} already up to date"
    )
    if result.running:
        line += f"; {result.running:,} still running, left for a later export"
    print(line)
    return EXIT_OK


register(
    Command(
        "export-mlflow",
        "export runs to MLflow (safe to repeat: changed runs are updated, none duplicated)",
        _configure_export_mlflow,
        _run_export_mlflow,
    )
)


def _configure_import_mlflow(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tracking-uri", help=_TRACKING_URI_HELP)
    parser.add_argument(
        "--experiment",
        dest="experiments",
        action="append",
        default=[],
        metavar="NAME",
        help="an MLflow experiment to import (repeatable; default: every experiment)",
    )
    parser.add_argument(
        "--store",
        help="store path or URL (default: $NBMODELBOOK_STORE, else the notebook's store, "
        "else .nbmodelbook/runs.sqlite here)",
    )
    parser.add_argument(
        "--notebook", help="file the imported runs under this notebook (for its review report)"
    )


def _run_import_mlflow(args: argparse.Namespace) -> int:
    from nbmodelbook.interop.mlflow_import import import_from_mlflow

    notebook = Path(args.notebook).expanduser() if args.notebook is not None else None
    if notebook is not None and not notebook.exists():
        raise CommandError(f"no such notebook: {args.notebook}")
    result = import_from_mlflow(
        tracking_uri=args.tracking_uri,
        experiment_names=args.experiments,
        store=args.store,
        notebook=notebook,
        progress=_mlflow_progress("importing"),
    )
    if result.total and sys.stderr.isatty():
        print(file=sys.stderr)
    line = (
        f"MLflow {result.tracking_uri} -> {result.store}: {result.imported:,} imported, "
        f"{result.updated:,} updated, {result.unchanged:,} already up to date"
    )
    if result.already_held:
        line += f"; {result.already_held:,} exported from this store, already in it"
    if result.unfinished:
        line += f"; {result.unfinished:,} not finished, left for a later import"
    print(line)
    return EXIT_OK


register(
    Command(
        "import-mlflow",
        "import MLflow runs into a store, to compare them and cite them in a review",
        _configure_import_mlflow,
        _run_import_mlflow,
    )
)


# --- entry point -------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nbmodelbook",
        description="Notebook experiments as evidence for model review.",
    )
    parser.add_argument("--version", action="version", version=f"nbmodelbook {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in _COMMANDS.values():
        sub = commands.add_parser(command.name, help=command.help, description=command.help)
        command.configure(sub)
        sub.set_defaults(handler=command.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return EXIT_USAGE
    from nbmodelbook.redaction import redact_urls

    try:
        return int(handler(args))
    except ModelBookError as exc:
        print(f"nbmodelbook: {redact_urls(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:
        # A distinct code, so a CI gate on `check` never mistakes a crash for "not ready".
        if os.environ.get("NBMODELBOOK_DEBUG"):
            raise
        print(
            f"nbmodelbook: internal error ({type(exc).__name__}: {redact_urls(str(exc))}); "
            "set NBMODELBOOK_DEBUG=1 for the traceback",
            file=sys.stderr,
        )
        return EXIT_INTERNAL


if __name__ == "__main__":
    raise SystemExit(main())
