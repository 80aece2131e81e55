"""``python -m shop_env.store serve [--host 127.0.0.1] [--port P] [--session ID | --goal TEXT]``."""

from __future__ import annotations

import argparse
import sys

from ._machine import DEFAULT_GOAL, DEFAULT_SESSION_KEY, Store


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shop_env.store", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the demo store as a web application (needs the [browser] extra)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: loopback only)")
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 picks a free one)")
    which = serve.add_mutually_exclusive_group()
    which.add_argument("--session", help="serve the store of this demo corpus session (its catalogue)")
    which.add_argument("--goal", help=f"build the catalogue from this instruction (default: {DEFAULT_GOAL!r})")
    args = parser.parse_args(argv)
    try:
        from .app import serve_in_thread
    except ImportError as exc:
        print(f"the web store needs the [browser] extra (pip install -e '.[browser]'): {exc}", file=sys.stderr)
        return 2
    store = Store.from_session(args.session) if args.session else Store(DEFAULT_SESSION_KEY, args.goal or DEFAULT_GOAL)
    served = serve_in_thread(store, host=args.host, port=args.port)
    print(f"serving {store!r} on {served.url} (Ctrl-C stops)", flush=True)
    try:
        served.thread.join()
    except KeyboardInterrupt:
        pass
    finally:
        served.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
