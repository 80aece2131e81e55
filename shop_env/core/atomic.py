"""Writes that a kill cannot tear: a file or folder appears complete, or not at all.

Every results file, sample log rewrite, run card, corpus export and model folder of the
project goes through these helpers: content goes to a temporary sibling (same folder, so
the final rename stays on one file system), is flushed, then renamed over the target.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = [
    "atomic_path",
    "json_text",
    "replace_dir_atomically",
    "write_bytes_atomic",
    "write_json_atomic",
    "write_text_atomic",
]


def _umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


@contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """A temporary path beside ``path``; on a clean exit it is renamed over ``path``.

    The caller writes the temporary file (by any means: a library's ``save``, ``savefig``,
    a parquet writer); on an exception it is removed and ``path`` is left as it was.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the file the user's usual mode
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically, fsynced before the rename."""
    with atomic_path(path) as tmp, tmp.open("wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    return Path(path)


def write_text_atomic(path: str | os.PathLike[str], text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    return write_bytes_atomic(path, text.encode("utf-8"))


def json_text(data: Any, **kwargs: Any) -> str:
    """``json.dumps`` that keeps text readable (UTF-8) where it can and is always writable.

    A value holding text with no UTF-8 form (a lone surrogate from a model's answer or a
    ``\\ud800`` escape in a corpus) is written with ASCII escapes instead: still lossless.
    """
    text = json.dumps(data, ensure_ascii=False, **kwargs)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(data, ensure_ascii=True, **kwargs)
    return text


def write_json_atomic(path: str | os.PathLike[str], data: Any) -> Path:
    """Write ``data`` as indented, key-sorted JSON atomically (unknown objects as ``str``).

    NaN is written as JSON's ``NaN`` extension, as Python's reader takes it back; pass
    :func:`~shop_env.core.provenance.to_jsonable` data for strict JSON.
    """
    return write_text_atomic(path, json_text(data, indent=2, sort_keys=True, default=str) + "\n")


def replace_dir_atomically(target: str | os.PathLike[str], fill: Callable[[Path], None]) -> Path:
    """Make the folder ``target`` with ``fill(tmp_dir)`` so it appears complete or not at all.

    ``fill`` writes into a fresh temporary sibling folder, which is then renamed into place;
    a previous folder is moved aside first and removed afterwards.
    """
    target = Path(target)
    root = target.parent
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=root))
    try:
        fill(tmp)
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes it private
        old = None
        if target.exists():
            old = root / f".{target.name}.old-{os.getpid()}-{int(time.time())}"
            os.replace(target, old)
        os.replace(tmp, target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target
