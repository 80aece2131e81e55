"""Generation through any OpenAI-compatible chat server (vLLM ``serve``, hosted APIs).

This is the realistic backend for rationale synthesis (the paper used a strong hosted LLM)
and for evaluating models served elsewhere. Requests run concurrently up to a limit and are
retried with exponential back-off on rate limits, server errors and dropped connections.
The API key is read from an environment variable and is never logged or shown in a repr.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from shop_env.core.token_count import estimate_tokens, tokenizer_counter

from ..base import Generation, GenerationConfig, Messages, validate_batch

__all__ = ["OpenAIBackend", "OpenAIBackendError"]

log = logging.getLogger(__name__)

#: Placeholder key for local servers that do not check one (vLLM's convention).
_NO_KEY = "EMPTY"


class OpenAIBackendError(RuntimeError):
    """A request that still failed after every retry, or that cannot succeed (bad request, auth)."""


def _is_retryable(exc: BaseException) -> bool:
    import openai

    if isinstance(exc, (openai.APIConnectionError, openai.RateLimitError, openai.InternalServerError)):
        return True  # APITimeoutError is an APIConnectionError
    return isinstance(exc, openai.APIStatusError) and (exc.status_code == 429 or exc.status_code >= 500)


class OpenAIBackend:
    """Chat completions from an OpenAI-compatible server.

    Args:
        model: the model name the server knows (``--model`` / ``served-model-name``).
        base_url: server URL ending in ``/v1`` (e.g. ``http://127.0.0.1:8000/v1``); ``None``
            means the OpenAI API.
        api_key_env: environment variable holding the key. When it is unset and
            ``base_url`` is given, a placeholder key is sent (local servers ignore it).
        max_concurrency: requests in flight at once.
        max_retries: retries per request after the first try.
        backoff_s: first back-off; doubled on each retry (with up to 25% jitter), capped
            at ``max_backoff_s``.
        timeout_s: per-request timeout.
        logprobs: ask for sampled-token log-probs; switched off for the rest of the run if
            the server rejects the option.
        tokenizer: optional local tokenizer (short model name or folder) for exact
            :meth:`count_tokens`; without it counts are estimated at 4 characters a token.
        name: label for results; default ``openai:<model>``.
        sleep: the function used to wait between retries (tests pass a fake one).
    """

    def __init__(self, model: str, base_url: str | None = None, *, api_key_env: str = "OPENAI_API_KEY",
                 max_concurrency: int = 8, max_retries: int = 5, backoff_s: float = 1.0,
                 max_backoff_s: float = 30.0, timeout_s: float = 120.0, logprobs: bool = True,
                 tokenizer: str | None = None, name: str | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        import openai

        if not model:
            raise ValueError("model must be the server's model name")
        if max_concurrency < 1:
            raise ValueError(f"max_concurrency must be >= 1, got {max_concurrency}")
        if max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {max_retries}")
        key = os.environ.get(api_key_env)
        if not key:
            if base_url is None:
                raise ValueError(f"no API key: set the environment variable {api_key_env} (or pass base_url "
                                 "for a local server that needs none)")
            key = _NO_KEY
        self.model = model
        self.base_url = base_url
        self.name = name or f"openai:{model}"
        self.max_concurrency = max_concurrency
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.want_logprobs = logprobs
        self._sleep = sleep
        self._lock = threading.Lock()
        self._rng = random.Random(0)
        # Our own retry loop (with logging and a fake sleep for tests) replaces the client's.
        self._client = openai.OpenAI(api_key=key, base_url=base_url, timeout=timeout_s, max_retries=0)
        self._tokenizer = None
        if tokenizer is not None:
            from transformers import AutoTokenizer

            from ..models import resolve_model

            self._tokenizer = AutoTokenizer.from_pretrained(resolve_model(tokenizer))

    def __repr__(self) -> str:  # never shows the key
        return f"OpenAIBackend(model={self.model!r}, base_url={self.base_url!r}, max_concurrency={self.max_concurrency})"

    def count_tokens(self, text: str) -> int:
        """Exact with a local ``tokenizer``, else the project's estimate (about 3 characters a token)."""
        if self._tokenizer is not None:
            return tokenizer_counter(self._tokenizer)(text)
        return estimate_tokens(text)

    def generate(self, batch: Sequence[Messages], config: GenerationConfig,
                 schemas: Sequence[Mapping[str, Any] | None] | None = None) -> list[Generation]:
        """One chat completion per chat, concurrently; request ``i`` uses seed ``config.seed + i``.

        ``schemas`` holds each chat's answer to a JSON schema through ``response_format``
        (``json_schema``, strict); whether whitespace is free is the server's setting (vLLM:
        ``--structured-outputs-config '{"disable_any_whitespace": true}'``).

        Distinct seeds keep repeated prompts (a GRPO group) from returning identical samples
        on servers that honour ``seed``.

        Raises:
            OpenAIBackendError: a request failed after its retries (the first such error).
        """
        validate_batch(batch)
        if not batch:
            return []
        rows = list(schemas) if schemas is not None else [None] * len(batch)
        if len(rows) != len(batch):
            raise ValueError(f"got {len(rows)} schemas for {len(batch)} chats")
        workers = min(self.max_concurrency, len(batch))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="openai-backend") as pool:
            futures = [pool.submit(self._complete, i, list(m), config, rows[i]) for i, m in enumerate(batch)]
            return [f.result() for f in futures]

    def _request(self, messages: Messages, config: GenerationConfig, seed: int,
                 schema: Mapping[str, Any] | None = None) -> Any:
        kwargs: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "temperature": float(config.temperature),
            "top_p": float(config.top_p),
            "max_tokens": config.max_new_tokens,
            "seed": seed,
            "n": 1,
        }
        if self.want_logprobs:
            kwargs["logprobs"] = True
        if schema is not None:
            kwargs["response_format"] = {"type": "json_schema",
                                         "json_schema": {"name": "shop_r1_answer", "schema": dict(schema), "strict": True}}
        return self._client.chat.completions.create(**kwargs)

    def _complete(self, index: int, messages: Messages, config: GenerationConfig,
                  schema: Mapping[str, Any] | None = None) -> Generation:
        import openai

        attempt = 0
        while True:
            started = time.perf_counter()
            try:
                response = self._request(messages, config, config.seed + index, schema)
                return self._to_generation(response, time.perf_counter() - started)
            except openai.BadRequestError as exc:
                if self.want_logprobs and "logprob" in str(exc).lower():
                    with self._lock:
                        self.want_logprobs = False
                    log.warning("%s: server rejected logprobs; continuing without them", self.name)
                    continue
                raise OpenAIBackendError(f"{self.name}: request {index} rejected: {exc}") from exc
            except Exception as exc:
                if not _is_retryable(exc):
                    raise OpenAIBackendError(f"{self.name}: request {index} failed: {exc}") from exc
                if attempt >= self.max_retries:
                    raise OpenAIBackendError(
                        f"{self.name}: request {index} failed after {attempt + 1} tries: {type(exc).__name__}: {exc}"
                    ) from exc
                delay = min(self.max_backoff_s, self.backoff_s * 2**attempt)
                with self._lock:
                    delay *= 1.0 + 0.25 * self._rng.random()
                log.info("%s: request %d: %s; retry %d in %.1f s", self.name, index, type(exc).__name__,
                         attempt + 1, delay)
                self._sleep(delay)
                attempt += 1

    @staticmethod
    def _to_generation(response: Any, latency: float) -> Generation:
        if not response.choices:
            raise OpenAIBackendError("server returned no choices")
        choice = response.choices[0]
        text = choice.message.content or ""
        logprobs = None
        content = getattr(choice.logprobs, "content", None) if choice.logprobs is not None else None
        if content:
            logprobs = [float(item.logprob) for item in content]
        usage = response.usage
        return Generation(
            text=text,
            token_ids=None,
            logprobs=logprobs,
            token_info=None,
            prompt_tokens=getattr(usage, "prompt_tokens", None),
            completion_tokens=getattr(usage, "completion_tokens", None) if usage is not None else (
                len(logprobs) if logprobs is not None else None),
            latency_s=latency,
        )
