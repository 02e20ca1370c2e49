"""`python -m vaelab zoo list|build|ship-lecture`: the model zoo's entries, building them into the cache (and
shipping), and rebuilding the lecture profile's shipped checkpoints."""
from __future__ import annotations

import json
import sys


def add_parser(sub) -> None:
    from ._run import add_ray_arguments

    z = sub.add_parser("zoo", help="list or build the model zoo (named configs of every notebook's models)")
    zsub = z.add_subparsers(dest="zoo_command", required=True)
    ls = zsub.add_parser("list", help="table of entries: name, kind, notebooks, cached?, shipped?")
    ls.add_argument("--quick", action="store_true", help="quick-mode configs (also VAELAB_QUICK=1 or CI)")
    ls.add_argument("--principal", action="store_true", help="only the principal models, not sweep members")
    ls.add_argument("--json", action="store_true",
                    help="one JSON array of rows (name, kind, notebooks, cached, shipped, principal, title)")
    b = zsub.add_parser("build", help="train (or load) entries into $VAELAB_CACHE and record them in the manifest")
    b.add_argument("names", nargs="*", metavar="NAME", help="entries to build (default: every one of the mode)")
    b.add_argument("--quick", action="store_true", help="quick-mode configs (also VAELAB_QUICK=1 or CI)")
    b.add_argument("--device", default="auto", help="auto (cuda > mps > cpu), cpu, cuda, cuda:N, mps")
    b.add_argument("--ship", action="store_true",
                   help="also copy the checkpoints into vaelab/zoo/shipped/ (quick mode, offline datasets only)")
    b.add_argument("--no-progress", action="store_true")
    add_ray_arguments(b, "entry's training")
    sl = zsub.add_parser("ship-lecture", help="train the lecture profile's shipped models (short Yelp, 3 seeds) into "
                         "$VAELAB_CACHE where missing, from scratch, and replace vaelab/zoo/lecture/ with fp16 copies")
    sl.add_argument("--device", default="auto", help="auto (cuda > mps > cpu), cpu, cuda, cuda:N, mps")
    sl.add_argument("--no-progress", action="store_true")
    z.set_defaults(func=run)


def _quick(args):
    from ..runtime import is_quick
    return True if args.quick else is_quick()


def run(args) -> int:
    from .. import zoo
    from ._run import ray_options

    if args.zoo_command == "ship-lecture":
        return _ship_lecture(args)
    q = _quick(args)
    if args.zoo_command == "list":
        rows = zoo.status(quick=q, all_members=not args.principal)
        if args.json:
            print(json.dumps(rows))
            return 0
        w = max([34] + [len(r["name"]) for r in rows]) + 2        # a long name must not run into the next column
        print(f"{'name':<{w}}{'kind':<7}{'notebooks':<11}{'cached':<8}{'shipped':<8}title   ({'quick' if q else 'full'} mode)")
        for r in rows:
            print(f"{r['name']:<{w}}{r['kind']:<7}{r['notebooks']:<11}{'yes' if r['cached'] else 'no':<8}"
                  f"{'yes' if r['shipped'] else 'no':<8}{r['title']}")
        return 0
    try:
        zoo.build(args.names or None, quick=q, device=args.device, progress=not args.no_progress, ship=args.ship,
                  log=lambda line: print(line, file=sys.stderr),
                  ray=ray_options(args, progress=False if args.no_progress else None))
    except KeyboardInterrupt:
        print(f"vaelab zoo build: interrupted (Ctrl-C); the entries built before it are in {zoo.manifest_path()}",
              file=sys.stderr)
        return 130
    print(f"manifest: {zoo.manifest_path()}")
    return 0


def _ship_lecture(args) -> int:
    from ..zoo.lecture import LECTURE_DIR
    from ..zoo.tables import ship_lecture

    try:
        total = ship_lecture(device=args.device, progress=False if args.no_progress else None,
                             log=lambda line: print(line, file=sys.stderr))
    except KeyboardInterrupt:
        print("vaelab zoo ship-lecture: interrupted (Ctrl-C); nothing was shipped (the models trained before it are "
              "in the cache)", file=sys.stderr)
        return 130
    print(f"shipped {total / 1e6:.1f} MB into {LECTURE_DIR}")
    return 0
