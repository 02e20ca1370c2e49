"""python -m vaelab SUBCOMMAND: thin wrappers over the package, for headless runs.

One module per subcommand, each with add_parser(subparsers) (which sets func=run) and run(args) -> int.
A new subcommand is a new module plus one entry in COMMANDS. Every error is one line on stderr and a non-zero
exit (vaelab.cli.errors); --debug shows the full traceback instead.
"""
from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS = ["check", "train", "evaluate", "gap", "zoo", "table"]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m vaelab", description=__doc__.splitlines()[0])
    p.add_argument("--debug", action="store_true", help="on an error, show the full traceback (before SUBCOMMAND)")
    sub = p.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        importlib.import_module(f"{__name__}.{name}").add_parser(sub)
    return p


def main(argv=None) -> int:
    from .errors import describe

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (Exception, KeyboardInterrupt) as err:
        if args.debug:
            raise
        message, code = describe(err)
        print(f"vaelab {args.command}: {message}", file=sys.stderr)
        return code


if __name__ == "__main__":
    sys.exit(main())
