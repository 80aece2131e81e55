"""Re-export of :mod:`shop_env.core.types` (the data model's home), for older imports."""

from .core.types import *  # noqa: F401,F403
from .core.types import __all__  # noqa: F401
