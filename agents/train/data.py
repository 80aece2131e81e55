"""Older name of :mod:`agents.train.datasets` (the training datasets' home): the same module."""

import sys

from . import datasets

sys.modules[__name__] = datasets
