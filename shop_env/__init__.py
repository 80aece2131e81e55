"""shop_env: replay real (or demo) shopping sessions as a Gymnasium environment.

``import shop_env`` registers the ``ShopR1-*`` environment ids and stays light: it never
imports torch or transformers.
"""

from .context import ContextBuilder, ContextConfig, EpisodeContext, estimate_tokens
from .corpus import Corpus, CorpusError, ListCorpus, available_sources, load_corpus, register_source
from .env import ShopSessionEnv
from .prompt import SYSTEM_PROMPT, to_messages
from .registration import ENV_IDS, register_envs
from .types import ACTION_TYPES, OUTCOMES, Action, Session, Step

register_envs()

__version__ = "0.1.0"

__all__ = [
    "ACTION_TYPES",
    "OUTCOMES",
    "Action",
    "ContextBuilder",
    "ContextConfig",
    "ENV_IDS",
    "EpisodeContext",
    "SYSTEM_PROMPT",
    "ShopSessionEnv",
    "estimate_tokens",
    "to_messages",
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
