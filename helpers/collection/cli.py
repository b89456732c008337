"""Command line: `python -m helpers run` executes the collection headless and writes the report."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from helpers.collection.cloud import stamp_badges
from helpers.collection.report import update_readme
from helpers.collection.runner import DEFAULT_TIMEOUT_S, clean_metadata, run_collection


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
        "--out", type=Path, default=Path("reports/latest"), help="output folder (previous run is kept)"
    )
    run.add_argument("--notebooks", type=Path, default=Path("notebooks"), help="folder of notebooks")
    run.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S, help="seconds allowed per notebook")
    run.add_argument(
        "--in-place", action="store_true", help="also copy executed notebooks back (make notebooks)"
    )
    clean = commands.add_parser(
        "clean", help="drop papermill/execution metadata from notebooks (keeps outputs)"
    )
    clean.add_argument("paths", nargs="+", type=Path)
    readme = commands.add_parser(
        "readme", help="refresh the README's notebook index and claims table from a finished run"
    )
    readme.add_argument("--run", type=Path, default=Path("reports/notebooks"), help="run folder to read")
    readme.add_argument("--notebooks", type=Path, default=Path("notebooks"), help="folder of notebooks")
    badges = commands.add_parser("badges", help="stamp the badge row and setup cell into notebooks")
    badges.add_argument("--notebooks", type=Path, default=Path("notebooks"), help="folder of notebooks")
    args = parser.parse_args(argv)
    try:
        if args.command == "badges":
            return stamp_badges(args.notebooks)
        if args.command == "readme":
            update_readme(Path("README.md"), args.run, args.notebooks)
            return 0
        if args.command == "clean":
            for path in args.paths:
                clean_metadata(path)
            return 0
        return run_collection(args.profile, args.only, args.out, args.notebooks, args.timeout, args.in_place)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
