"""Command line: `python -m helpers run` executes the collection headless and writes the report."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import yaml

from helpers.collection.cloud import stamp_badges
from helpers.collection.comparison_pages import compare_command
from helpers.collection.publish import publish
from helpers.collection.report import update_readme_notebooks_and_claims
from helpers.collection.runner import DEFAULT_TIMEOUT_S, clean_metadata, run_collection

PAPERMILL_NAMES = {"True": True, "False": False, "None": None}


def parameter_value(raw: str) -> Any:
    """A `-p` value read as papermill's `-p` reads it (True, False, None, an int such as 010 → 10, a float, else
    the text as typed, so 1:30 stays "1:30"); a [list] or {mapping}, which papermill takes only through `-y`, is
    read as YAML."""
    if raw in PAPERMILL_NAMES:
        return PAPERMILL_NAMES[raw]
    for kind in (int, float):
        try:
            return kind(raw)
        except ValueError:
            pass
    if raw.lstrip().startswith(("[", "{")):
        try:
            value = yaml.safe_load(raw)
            json.dumps(value)
            return value
        except (yaml.YAMLError, TypeError, ValueError):
            pass
    return raw


def parse_parameter(text: str) -> tuple[str, Any]:
    """`NAME=VALUE` from `-p`, the value read as papermill reads it (see `parameter_value`)."""
    name, sep, raw = text.partition("=")
    if not sep or not name.strip().isidentifier():
        raise ValueError(f"-p {text!r} is not NAME=VALUE; write it like -p n_rows=2000.")
    return name.strip(), parameter_value(raw)


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and run the chosen command; bad input ends with one clear sentence and exit code 2."""
    parser = argparse.ArgumentParser(prog="python -m helpers", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="execute the notebooks headless and write the report")
    run.add_argument(
        "--profile", default="auto", help="smoke, cpu, gpu or auto (default: gpu if usable, else cpu)"
    )
    run.add_argument("--only", help="glob(s) on notebook names, comma-separated, e.g. '00*,0[4-7]*'")
    run.add_argument(
        "--out",
        type=Path,
        default=Path("reports/latest"),
        help="where a finished run is moved (runs are written in <out>.runs; the one before is kept as previous)",
    )
    run.add_argument("--notebooks", type=Path, default=Path("notebooks"), help="folder of notebooks")
    run.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S, help="seconds allowed per notebook")
    run.add_argument(
        "--in-place", action="store_true", help="also copy executed notebooks back (make notebooks)"
    )
    run.add_argument(
        "-p",
        dest="parameters",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a notebook parameter, read as papermill's -p reads it (repeatable), e.g. -p n_rows=2000",
    )
    clean = commands.add_parser(
        "clean", help="drop papermill/execution metadata from notebooks (keeps outputs)"
    )
    clean.add_argument("paths", nargs="+", type=Path)
    readme = commands.add_parser(
        "readme",
        help="refresh the README's notebook index and claims summary, and docs/claims.md, from a finished run",
    )
    readme.add_argument("--run", type=Path, default=Path("reports/notebooks"), help="run folder to read")
    readme.add_argument("--notebooks", type=Path, default=Path("notebooks"), help="folder of notebooks")
    badges = commands.add_parser("badges", help="stamp the badge row and setup cell into notebooks")
    badges.add_argument("--notebooks", type=Path, default=Path("notebooks"), help="folder of notebooks")
    compare = commands.add_parser(
        "compare", help="finished runs side by side, claim by claim: comparison.md and comparison.html"
    )
    compare.add_argument("runs", nargs="*", type=Path, help="run folders, e.g. reports/latest docs/results/*")
    compare.add_argument("--out", type=Path, default=Path("reports/comparison"), help="output folder")
    compare.add_argument(
        "--readme",
        type=Path,
        help="instead, refresh this README's results section (default runs: docs/results/*)",
    )
    compare.add_argument(
        "--references",
        action="store_true",
        help="print how the one run given differs from the committed references",
    )
    compare.add_argument(
        "--notebooks",
        type=Path,
        default=Path("notebooks"),
        help="folder of notebooks that every run given with --readme must have run completely",
    )
    publish_cmd = commands.add_parser(
        "publish", help="copy a complete run into docs/results/<machine>-<profile>/"
    )
    publish_cmd.add_argument("run", type=Path, help="complete run folder, e.g. reports/latest")
    publish_cmd.add_argument(
        "--name",
        help="the machine's name in the folder's (default: from the hardware, e.g. amd-epyc-avx512vnni-2core)",
    )
    publish_cmd.add_argument(
        "--notebooks", type=Path, default=Path("notebooks"), help="folder of notebooks the run must cover"
    )
    args = parser.parse_args(argv)
    try:
        if args.command == "badges":
            return stamp_badges(args.notebooks)
        if args.command == "readme":
            update_readme_notebooks_and_claims(Path("README.md"), args.run, args.notebooks)
            return 0
        if args.command == "compare":
            return compare_command(args.runs, args.out, args.readme, args.references, args.notebooks)
        if args.command == "publish":
            print(f"Published {publish(args.run, name=args.name, notebooks_dir=args.notebooks)}")
            return 0
        if args.command == "clean":
            for path in args.paths:
                clean_metadata(path)
            return 0
        parameters = dict(parse_parameter(text) for text in args.parameters)
        return run_collection(
            args.profile, args.only, args.out, args.notebooks, args.timeout, args.in_place, parameters
        )
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except OSError as error:  # a full disk, a folder that cannot be written: the cause, without a traceback
        where = f" ({error.filename})" if error.filename else ""
        print(f"error: {error.strerror or error}{where}.", file=sys.stderr)
        return 2
