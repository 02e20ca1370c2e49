"""`python -m vaelab check`: versions, device, offline datasets, widget front-end, and whether the cache and data
folders can be written (exit 1 when the cache folder cannot: nothing could be trained and kept)."""
from __future__ import annotations

import json


def add_parser(sub) -> None:
    c = sub.add_parser("check", help="versions, device, offline datasets, widget front-end, writable folders")
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=run)


def folders() -> dict:
    """{'cache_dir': 'writable' | 'NOT WRITABLE (why): what fails. What to do', 'data_dir': ...}."""
    from ..runtime import cache_dir, data_dir, dir_problem

    status = {}
    for key, path, env, consequence in (
            ("cache_dir", cache_dir(), "VAELAB_CACHE", "trained models cannot be kept"),
            ("data_dir", data_dir(), "VAELAB_DATA_DIR", "only already-prepared datasets load; none can be downloaded")):
        problem = dir_problem(path)
        status[key] = "writable" if problem is None else \
            f"NOT WRITABLE ({problem}): {consequence}. Set {env} to a writable folder"
    return status


def run(args) -> int:
    from ..report import environment_report

    writable = folders()
    try:
        report = environment_report()
    except OSError as err:                     # e.g. a data folder that cannot even be listed
        report = {"error": f"{err.filename or ''} {err.strerror or err}".strip()}
    report["writable"] = writable
    code = 0 if writable["cache_dir"] == "writable" else 1
    if args.json:
        print(json.dumps(report, indent=2))
        return code
    for key, value in report.items():
        if isinstance(value, dict):
            print(f"{key}:")
            for k, v in value.items():
                print(f"  {k:<16} {v}")
        else:
            print(f"{key:<18} {value}")
    return code
