"""Regenerate the bundled demo corpus (GENERATED sessions) deterministically.

Reads the real WebShop instructions and human queries from ``THIRD_PARTY/webshop/`` and the two
real OPeRA personas from ``shop_env/demo/data/opera_personas.json`` (re-extracted from OPeRA's
``user.csv`` with ``--opera-user-csv``), runs the scripted shopper, checks every session (every
gold action targets an element on its page) and writes
``shop_env/demo/data/demo_sessions_generated.jsonl.gz``.

Usage:
    python scripts/build_demo_corpus.py [--seed 0] [--sessions 2000] [--out PATH] [--no-check]
    python scripts/build_demo_corpus.py --opera-user-csv /work/shared/data/opera/user.csv
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from shop_env.demo import DATA_DIR, DEMO_SPECS_PATH  # noqa: E402
from shop_env.demo.build import DEFAULT_SEED, DEFAULT_SESSIONS, generate_specs, write_specs  # noqa: E402
from shop_env.demo.personas import OPERA_LICENSE, parse_opera_user_csv  # noqa: E402
from shop_env.demo.render import check_session, session_from_spec  # noqa: E402

WEBSHOP_DIR = ROOT / "THIRD_PARTY" / "webshop"
OPERA_PERSONAS = DATA_DIR / "opera_personas.json"


def write_opera_personas(user_csv: Path, out: Path) -> None:
    """Extract the parsed ``survey`` JSON of OPeRA's user rows, with source and licence."""
    data = {
        "source": "OPeRA (NEU-HAI/OPeRA, arXiv 2506.05606), user table rows (user.csv), `survey` column parsed as JSON",
        "license": OPERA_LICENSE,
        "attribution": "Wang et al., OPeRA: A Dataset of Observation, Persona, Rationale, and Action for "
                       "Evaluating LLMs on Human Online Shopping Behavior Simulation, arXiv:2506.05606, 2025",
        "note": "Real participants' persona surveys; see THIRD_PARTY/opera/README.md",
        "personas": parse_opera_user_csv(user_csv),
    }
    out.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument("--sessions", type=int, default=DEFAULT_SESSIONS)
    ap.add_argument("--out", type=Path, default=DEMO_SPECS_PATH)
    ap.add_argument("--opera-user-csv", type=Path, default=None,
                    help="re-extract opera_personas.json from OPeRA's user.csv first")
    ap.add_argument("--no-check", action="store_true", help="skip rendering and checking every session")
    args = ap.parse_args(argv)

    if args.opera_user_csv is not None:
        write_opera_personas(args.opera_user_csv, OPERA_PERSONAS)
        print(f"wrote {OPERA_PERSONAS}")
    goals = json.loads((WEBSHOP_DIR / "human_goals.json").read_text(encoding="utf-8"))
    query_map = json.loads((WEBSHOP_DIR / "goal_query_map.json").read_text(encoding="utf-8"))
    opera = json.loads(OPERA_PERSONAS.read_text(encoding="utf-8"))

    t0 = time.perf_counter()
    corpus = generate_specs(goals, query_map, opera, n_sessions=args.sessions, seed=args.seed)
    t_gen = time.perf_counter() - t0
    if not args.no_check:
        personas = {u["user_id"]: u["persona"] for u in corpus["personas"]}
        t1 = time.perf_counter()
        problems = []
        for spec in corpus["sessions"]:
            problems += check_session(session_from_spec(spec, personas))
        t_check = time.perf_counter() - t1
        if problems:
            print("\n".join(problems[:20]), file=sys.stderr)
            print(f"{len(problems)} problems; not writing {args.out}", file=sys.stderr)
            return 1
        print(f"checked {len(corpus['sessions'])} sessions in {t_check:.1f} s: every gold action targets an element")
    write_specs(corpus, args.out)
    digest = hashlib.sha256(args.out.read_bytes()).hexdigest()
    print(f"generated {len(corpus['sessions'])} GENERATED demo sessions in {t_gen:.1f} s -> {args.out} "
          f"({args.out.stat().st_size / 1e6:.2f} MB, sha256 {digest[:16]})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
