"""Older name of :mod:`shop_env.core.types` (the data model's home): the same module."""

import sys

from .core import types

sys.modules[__name__] = types
