"""``python -m shop_env.demo.stats``: the demo corpus's statistics and predictability on its test split.

The same report as ``python -m shop_env.data stats --source demo --split test`` (one
command line, :mod:`shop_env.corpus_cli`); extra arguments are passed on (``--json``).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from ..corpus_cli import main as corpus_main

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    return corpus_main(["stats", "--source", "demo", "--split", "test", *args])


if __name__ == "__main__":
    raise SystemExit(main())
