"""``python -m shop_env.data {stats,convert}``: older name of :mod:`shop_env.corpus_cli`, the same module."""

import sys

from . import corpus_cli

if __name__ == "__main__":
    sys.exit(corpus_cli.main())
sys.modules[__name__] = corpus_cli
