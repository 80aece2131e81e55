"""Shared fixtures: a tiny corpus, and a tiny model trained inside the test session."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture
def fixture_corpus():
    from tests.fixtures import fixture_corpus as make

    return make()


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    """A ~1M-parameter Qwen2 model with its own tokenizer, built here (no hub)."""
    from tests.tiny_model import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny_model"))
