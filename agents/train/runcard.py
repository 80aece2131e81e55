"""Run bookkeeping that must survive a kill: atomic files, the final model, checkpoints, the run card.

A run directory holds ``checkpoint-<step>/`` folders (written by the transformers Trainer),
``final/`` (the finished model, moved into place in one rename) and ``run_card.json`` (the
config, package versions, corpus provenance and metrics, also written atomically). A
reader never sees a half-written final model or run card: either the old one or the new.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

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

_PACKAGES = ("shop-r1-gym", "torch", "transformers", "trl", "accelerate", "peft", "datasets", "deepspeed", "vllm")


def to_jsonable(value: Any) -> Any:
    """Dataclasses, paths, tuples and sets made JSON-able, recursively."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, float) and value != value:  # NaN is not JSON
        return None
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return repr(value)


def write_json_atomic(path: str | os.PathLike[str], data: Any) -> Path:
    """Write JSON to a temporary file in the same folder, fsync it, then rename it over ``path``."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(to_jsonable(data), f, indent=2, sort_keys=True, ensure_ascii=False)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def config_hash(config: Any) -> str:
    """Short SHA-256 of a config's canonical JSON, so runs with equal settings are recognisable."""
    payload = json.dumps(to_jsonable(config), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


def package_versions() -> dict[str, str | None]:
    """Versions of Python and of the training stack's packages (``None`` when not installed)."""
    from importlib.metadata import PackageNotFoundError, version

    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


def accelerator() -> dict[str, object] | None:
    """The CUDA devices this process can use (name, count, bf16), or ``None`` on CPU.

    Looks only when torch is already imported, so recording it never pulls torch in.
    """
    torch = sys.modules.get("torch")
    if torch is None or not torch.cuda.is_available():
        return None
    return {"name": torch.cuda.get_device_name(0), "count": torch.cuda.device_count(),
            "bf16_supported": bool(torch.cuda.is_bf16_supported()), "cuda": torch.version.cuda}


def _git_commit(repo: Path) -> str | None:
    try:
        result = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True,
                                text=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip() or None if result.returncode == 0 else None


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
    """Save a model into ``output_dir/name`` so the folder appears complete or not at all.

    ``save(tmp_dir)`` writes into a fresh temporary sibling folder, which is then renamed
    into place; a previous final folder is moved aside first and removed afterwards.
    """
    root = Path(output_dir)
    root.mkdir(parents=True, exist_ok=True)
    target = root / name
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", suffix=".tmp", dir=root))
    try:
        save(tmp)
        old = None
        if target.exists():
            old = root / f".{name}.old-{os.getpid()}-{int(time.time())}"
            os.replace(target, old)
        os.replace(tmp, target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


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
    repo = Path(__file__).resolve().parents[2]
    card = {
        "kind": kind,
        "created_unix": time.time(),
        "config": to_jsonable(config),
        "config_hash": config_hash(config),
        "versions": package_versions(),
        "git_commit": _git_commit(repo),
        "command": sys.argv,
        "platform": platform.platform(),
        "accelerator": accelerator(),
        "metrics": to_jsonable(metrics or {}),
        **to_jsonable(dict(extra or {})),
    }
    return write_json_atomic(Path(output_dir) / RUN_CARD_NAME, card)
