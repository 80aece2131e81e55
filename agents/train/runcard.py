"""Run bookkeeping that must survive a kill: atomic files, the final model, checkpoints, the run card.

A run directory holds ``checkpoint-<step>/`` folders (written by the transformers Trainer),
``final/`` (the finished model, moved into place in one rename) and ``run_card.json`` (the
config, package versions, corpus provenance and metrics, also written atomically). A
reader never sees a half-written final model or run card: either the old one or the new.
"""

from __future__ import annotations

import os
import platform
import re
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from shop_env.core.atomic import replace_dir_atomically, write_json_atomic
from shop_env.core.provenance import accelerator, config_hash, git_commit, package_versions, to_jsonable

__all__ = [
    "RUN_CARD_NAME",
    "FINAL_DIR_NAME",
    "accelerator",
    "complete_checkpoints",
    "config_hash",
    "latest_checkpoint",
    "package_versions",
    "save_final_atomically",
    "to_jsonable",
    "write_json_atomic",
    "write_run_card",
]

RUN_CARD_NAME = "run_card.json"
FINAL_DIR_NAME = "final"

_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")
#: The Trainer writes this file last into a checkpoint, so its presence marks a complete one.
_TRAINER_STATE = "trainer_state.json"


def complete_checkpoints(output_dir: str | os.PathLike[str]) -> list[Path]:
    """The *complete* ``checkpoint-<step>`` folders in ``output_dir``, lowest step first.

    A checkpoint killed while being written lacks ``trainer_state.json`` (written last) and
    is skipped, unlike ``transformers.trainer_utils.get_last_checkpoint``, which would pick it.
    """
    root = Path(output_dir)
    if not root.is_dir():
        return []
    found: list[tuple[int, Path]] = []
    for child in root.iterdir():
        match = _CHECKPOINT.match(child.name)
        if match and child.is_dir() and (child / _TRAINER_STATE).is_file():
            found.append((int(match.group(1)), child))
    return [path for _, path in sorted(found)]


def latest_checkpoint(output_dir: str | os.PathLike[str]) -> Path | None:
    """The highest-step complete checkpoint folder (:func:`complete_checkpoints`), or ``None``."""
    found = complete_checkpoints(output_dir)
    return found[-1] if found else None


def save_final_atomically(output_dir: str | os.PathLike[str], save: Callable[[Path], None],
                          name: str = FINAL_DIR_NAME) -> Path:
    """Save a model into ``output_dir/name`` so the folder appears complete or not at all."""
    return replace_dir_atomically(Path(output_dir) / name, save)


def write_run_card(output_dir: str | os.PathLike[str], *, kind: str, config: Any,
                   metrics: Mapping[str, Any] | None = None, extra: Mapping[str, Any] | None = None) -> Path:
    """Write ``run_card.json``: what was run (config + hash), with which versions, and what it gave.

    Args:
        output_dir: the run directory.
        kind: ``"sft"`` or ``"grpo"``.
        config: the run's config dataclass (or a mapping).
        metrics: training and evaluation metrics.
        extra: anything else worth keeping (corpus provenance, timings, resume point).
    """
    card = {
        "kind": kind,
        "created_unix": time.time(),
        "config": to_jsonable(config),
        "config_hash": config_hash(config),
        "versions": package_versions(),
        "git_commit": git_commit(),
        "command": sys.argv,
        "platform": platform.platform(),
        "accelerator": accelerator(),
        "metrics": to_jsonable(metrics or {}),
        **to_jsonable(dict(extra or {})),
    }
    return write_json_atomic(Path(output_dir) / RUN_CARD_NAME, card)
