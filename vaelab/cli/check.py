"""`python -m vaelab check`: versions, device, offline datasets, widget front-end."""
from __future__ import annotations

import json


def add_parser(sub) -> None:
    c = sub.add_parser("check", help="versions, device, offline datasets, widget front-end")
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=run)


def run(args) -> int:
    from ..report import environment_report

    report = environment_report()
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    for key, value in report.items():
        if isinstance(value, dict):
            print(f"{key}:")
            for k, v in value.items():
                print(f"  {k:<16} {v}")
        else:
            print(f"{key:<18} {value}")
    return 0
