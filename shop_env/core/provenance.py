"""What a result was made with: package versions, the machine, the git commit, a config hash.

Benchmarks' ``results.json``, training run cards and the rollout's resume fingerprints all
record provenance through these functions, so two records made under the same settings
carry the same hash and the same kind of version list.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import platform
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

__all__ = [
    "PACKAGES",
    "accelerator",
    "config_hash",
    "git_commit",
    "machine",
    "package_versions",
    "to_jsonable",
]

#: The distributions whose versions a result records (those installed).
PACKAGES: tuple[str, ...] = (
    "shop-r1-gym", "gymnasium", "numpy", "lxml", "torch", "transformers", "trl", "accelerate", "peft",
    "datasets", "deepspeed", "vllm", "openai",
)


def to_jsonable(value: Any) -> Any:
    """Dataclasses, paths, tuples and sets made JSON-able, recursively; NaN becomes ``None``."""
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


def config_hash(payload: Any) -> str:
    """Short SHA-256 of a payload's key-sorted JSON (:func:`to_jsonable` of it).

    Equal settings give equal hashes across processes and machines; a config dataclass
    hashes as the mapping of its fields.
    """
    text = json.dumps(to_jsonable(payload), sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def package_versions(packages: Iterable[str] = PACKAGES) -> dict[str, str]:
    """Python's version and those of the installed ``packages`` (missing ones are left out)."""
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for name in packages:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            continue
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


def machine() -> dict[str, Any]:
    """The platform, CPU count and accelerator a result was measured on."""
    return {"platform": platform.platform(), "processor": platform.machine(), "cpus": os.cpu_count(),
            "accelerator": accelerator()}


def git_commit(repo: str | os.PathLike[str] | None = None) -> str | None:
    """The commit checked out in ``repo`` (default: this project's checkout), or ``None``."""
    where = Path(repo) if repo is not None else Path(__file__).resolve().parents[2]
    try:
        result = subprocess.run(["git", "-C", str(where), "rev-parse", "HEAD"], capture_output=True,
                                text=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return (result.stdout.strip() or None) if result.returncode == 0 else None
