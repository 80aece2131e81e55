"""String spaces for a text env: observations are page text, actions are JSON answers.

Gymnasium's ``Text`` space checks every character against a fixed charset, which HTML
(any Unicode) breaks. These spaces accept any string up to a length, and the action
space samples a *valid* answer for the current page from its element candidates, so
``check_env`` and random policies exercise real actions.

Vector envs: :class:`StringSpace` has Gymnasium shared-memory support (a fixed byte buffer
per sub-env, :attr:`StringSpace.shared_memory_bytes`), so ``AsyncVectorEnv`` works with its
default ``shared_memory=True``. When the observation space is paired with the env's action
space (``page_source``), each sub-env's current page travels in the same buffer, and the
batched action space (:class:`BatchedResponseSpace`) samples each sub-env's answer from that
sub-env's own page.
"""

from __future__ import annotations

import json
import multiprocessing as mp
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
from gymnasium import spaces
from gymnasium.vector.utils import (
    batch_space,
    create_shared_memory,
    read_from_shared_memory,
    write_to_shared_memory,
)

__all__ = ["BatchedResponseSpace", "ResponseSpace", "SharedStrings", "StringSpace"]

#: Bytes of shared memory per sub-env for its observation and current page (UTF-8).
DEFAULT_SHARED_MEMORY_BYTES = 4 * 1024 * 1024
_HEADER = 16  # two little-endian uint64 lengths: observation bytes, page bytes


class StringSpace(spaces.Space[str]):
    """Any ``str`` of at most ``max_length`` characters (``min_length`` at least)."""

    def __init__(self, max_length: int = 10_000_000, min_length: int = 0, seed: int | np.random.Generator | None = None,
                 *, shared_memory_bytes: int = DEFAULT_SHARED_MEMORY_BYTES, page_source: ResponseSpace | None = None):
        self.max_length, self.min_length = int(max_length), int(min_length)
        #: capacity of one sub-env's slot in an ``AsyncVectorEnv``'s shared memory (observation + page)
        self.shared_memory_bytes = int(shared_memory_bytes)
        #: the env's action space, whose current page rides along in shared memory (or None)
        self.page_source = page_source
        super().__init__(dtype=str, seed=seed)

    @property
    def is_np_flattenable(self) -> bool:
        return False

    def contains(self, x: Any) -> bool:
        return isinstance(x, str) and self.min_length <= len(x) <= self.max_length

    def sample(self, mask: Any = None, probability: Any = None) -> str:
        length = int(self.np_random.integers(self.min_length, min(self.max_length, 64) + 1))
        letters = "abcdefghijklmnopqrstuvwxyz "
        return "".join(letters[i] for i in self.np_random.integers(0, len(letters), size=length))

    def __repr__(self) -> str:
        return f"StringSpace(max_length={self.max_length})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, StringSpace) and (self.max_length, self.min_length) == (
            other.max_length,
            other.min_length,
        )


class ResponseSpace(StringSpace):
    """The agent's answer: a string; ``sample()`` returns a valid JSON answer for the page.

    The env calls :meth:`set_page` with the current page's simplified HTML; the page's
    element candidates are parsed only when a sample is drawn (never on an env step that
    nobody samples for). A sample picks an action type, then a target among the candidates
    of the right kind. Objects with a ``text`` attribute (an agent's generation carrying
    token data) are accepted too.
    """

    _DEFAULT_WORDS = ("shoes", "blue", "cheap", "usb", "microphone", "size", "large")

    def __init__(self, max_length: int = 100_000, seed: int | np.random.Generator | None = None):
        super().__init__(max_length=max_length, min_length=0, seed=seed)
        self._page = ""
        self._parsed: tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]] | None = None

    def set_page(self, page_html: str) -> None:
        if page_html is not self._page:
            self._page, self._parsed = page_html, None

    @property
    def page(self) -> str:
        """The page that samples are drawn for."""
        return self._page

    def __getstate__(self) -> dict[str, Any]:
        # a vector env's shared-memory view belongs to the process that made it
        return {k: v for k, v in self.__dict__.items() if k != "_vector_pages"}

    def _elements(self) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
        """(clickable names, input names, query words) of the current page, parsed once."""
        if self._parsed is None:
            from .html import candidates

            try:
                elements = candidates(self._page) if self._page else []
            except Exception:  # an unparseable page still allows terminate
                elements = []
            words = _words(self._page[-4000:]) or self._DEFAULT_WORDS
            self._parsed = (tuple(c.name for c in elements if c.kind != "input"),
                            tuple(c.name for c in elements if c.kind == "input"), tuple(words))
        return self._parsed

    def contains(self, x: Any) -> bool:
        text = getattr(x, "text", x)
        return isinstance(text, str) and len(text) <= self.max_length

    def sample(self, mask: Any = None, probability: Any = None) -> str:
        clickable, inputs, words = self._elements()
        choices = ["terminate"]
        if clickable:
            choices.append("click")
        if inputs:
            choices.append("type_and_submit")
        kind = choices[int(self.np_random.integers(len(choices)))]
        if kind == "click":
            action = {"type": "click", "name": clickable[int(self.np_random.integers(len(clickable)))]}
        elif kind == "type_and_submit":
            n_words = int(self.np_random.integers(1, 4))
            text = " ".join(words[int(i)] for i in self.np_random.integers(len(words), size=n_words))
            action = {
                "type": "type_and_submit",
                "name": inputs[int(self.np_random.integers(len(inputs)))],
                "text": text,
            }
        else:
            action = {"type": "terminate"}
        return json.dumps({"rationale": "I pick this at random.", "action": action})

    def __repr__(self) -> str:
        return f"ResponseSpace(page={len(self._page)} chars)"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ResponseSpace) and self.max_length == other.max_length


def _words(text: str, limit: int = 40) -> list[str]:
    """Distinct words of a page, for random queries in sampled type_and_submit answers."""
    out: list[str] = []
    for w in text.split():
        w = "".join(ch for ch in w.lower() if ch.isalnum())
        if 2 < len(w) < 15 and w not in out:
            out.append(w)
        if len(out) >= limit:
            break
    return out


# --------------------------------------------------------------------------- vector envs


class SharedStrings(Sequence[str]):
    """The parent's view of the sub-envs' observations (and pages) in shared memory.

    ``AsyncVectorEnv`` returns ``deepcopy`` of it as the batched observation: a tuple of str.
    """

    def __init__(self, buffer: Any, n: int, capacity: int) -> None:
        self._buffer, self._n, self._capacity = buffer, n, capacity

    def _slot(self, index: int) -> tuple[memoryview, int, int]:
        if not 0 <= index < self._n:
            raise IndexError(f"sub-env {index} out of range for {self._n}")
        view = memoryview(_raw(self._buffer)).cast("B")
        start = index * (self._capacity + _HEADER)
        obs_len = int.from_bytes(view[start:start + 8], "little")
        page_len = int.from_bytes(view[start + 8:start + 16], "little")
        return view[start + _HEADER:start + _HEADER + self._capacity], obs_len, page_len

    def __getitem__(self, index: int) -> str:  # type: ignore[override]
        data, obs_len, _ = self._slot(index)
        return bytes(data[:obs_len]).decode("utf-8", "surrogatepass")

    def page(self, index: int) -> str:
        """Sub-env ``index``'s current page ("" when none was written)."""
        data, obs_len, page_len = self._slot(index)
        return bytes(data[obs_len:obs_len + page_len]).decode("utf-8", "surrogatepass")

    def __len__(self) -> int:
        return self._n

    def __iter__(self) -> Iterator[str]:
        return (self[i] for i in range(self._n))

    def __deepcopy__(self, memo: dict[int, Any]) -> tuple[str, ...]:
        return tuple(self)

    def __repr__(self) -> str:
        return f"SharedStrings(n={self._n}, capacity={self._capacity})"


def _raw(buffer: Any) -> Any:
    return buffer.get_obj() if hasattr(buffer, "get_obj") else buffer


@create_shared_memory.register(StringSpace)
def _create_string_shared_memory(space: StringSpace, n: int = 1, ctx: Any = mp) -> Any:
    return ctx.Array("B", n * (space.shared_memory_bytes + _HEADER))


@read_from_shared_memory.register(StringSpace)
def _read_string_shared_memory(space: StringSpace, shared_memory: Any, n: int = 1) -> SharedStrings:
    reader = SharedStrings(shared_memory, n, space.shared_memory_bytes)
    if space.page_source is not None:
        space.page_source._vector_pages = reader  # the batched action space samples from these pages
    return reader


@write_to_shared_memory.register(StringSpace)
def _write_string_shared_memory(space: StringSpace, index: int, value: str, shared_memory: Any) -> None:
    data = str(value).encode("utf-8", "surrogatepass")
    capacity = space.shared_memory_bytes
    if len(data) > capacity:
        raise ValueError(f"an observation of {len(data):,} bytes does not fit the {capacity:,} bytes of shared memory "
                         "per sub-env: give the env a token_budget, raise observation_space.shared_memory_bytes, "
                         "or pass vector_kwargs={'shared_memory': False}")
    page = b""
    if space.page_source is not None:
        page = space.page_source.page.encode("utf-8", "surrogatepass")
        if len(data) + len(page) > capacity:
            page = b""  # the page does not fit beside the observation: samples fall back to terminate
    view = memoryview(_raw(shared_memory)).cast("B")
    start = index * (capacity + _HEADER)
    view[start:start + 8] = len(data).to_bytes(8, "little")
    view[start + 8:start + 16] = len(page).to_bytes(8, "little")
    body = start + _HEADER
    view[body:body + len(data)] = data
    view[body + len(data):body + len(data) + len(page)] = page


class BatchedResponseSpace(spaces.Tuple):
    """The batched action space of a vector env: one :class:`ResponseSpace` per sub-env.

    In an ``AsyncVectorEnv`` (shared memory on, the default) ``sample()`` draws each
    sub-env's answer from the page that sub-env is on, read from shared memory.
    """

    def __init__(self, single: ResponseSpace, n: int, seed: Any = None) -> None:
        from copy import deepcopy

        super().__init__(tuple(deepcopy(single) for _ in range(n)), seed=seed)
        self._single = single

    def sample(self, mask: Any = None, probability: Any = None) -> tuple[str, ...]:
        pages = getattr(self._single, "_vector_pages", None)
        if pages is not None:
            for i, sub in enumerate(self.spaces):
                sub.set_page(pages.page(i))  # type: ignore[attr-defined]
        return super().sample(mask=mask, probability=probability)


@batch_space.register(ResponseSpace)
def _batch_response_space(space: ResponseSpace, n: int = 1) -> BatchedResponseSpace:
    rng = np.random.default_rng(space.np_random.integers(0, 2**63))
    batched = BatchedResponseSpace(space, n)
    batched.seed([int(x) for x in rng.integers(0, int(1e8), n)])
    return batched
