"""shop_env: replay real (or demo) shopping sessions as a Gymnasium environment.

``import shop_env`` registers the ``ShopR1-*`` environment ids and stays light: it never
imports torch or transformers.
"""

from .corpus import Corpus, CorpusError, ListCorpus, available_sources, load_corpus, register_source
from .types import ACTION_TYPES, OUTCOMES, Action, Session, Step

__version__ = "0.1.0"

__all__ = [
    "ACTION_TYPES",
    "OUTCOMES",
    "Action",
    "Corpus",
    "CorpusError",
    "ListCorpus",
    "Session",
    "Step",
    "available_sources",
    "load_corpus",
    "register_source",
    "__version__",
]
