"""Dataset builders for SFT, GRPO and verl: public functions over a corpus, not buried in a CLI.

Every prompt comes from :class:`shop_env.context.ContextBuilder` and every answer from
:func:`rewards.format_response`, so training sees exactly what the env, the agents and the
benchmarks see.

- SFT (paper: whole sessions as multi-turn chats, loss on assistant turns only):
  :func:`sft_chats` gives chat windows of whole sessions; :func:`assistant_token_mask`
  and :func:`tokenize_sft_chat` turn one into ``input_ids`` and ``labels`` with every
  non-assistant token set to ``-100``; :func:`build_sft_dataset` does both for a corpus.
- GRPO (one prompt per step: history of pages and actions, no past rationales):
  :func:`grpo_rows` / :func:`build_grpo_dataset` give conversational ``prompt`` rows
  with the columns the TRL reward adapter reads (``gold_action`` JSON, ``click_type``).
- verl: :func:`verl_rows` / :func:`export_verl_parquet` write verl's parquet layout,
  scored by ``rewards/adapters/verl.py``.

Only :func:`build_sft_dataset`, :func:`build_grpo_dataset` and :func:`export_verl_parquet`
import ``datasets`` / ``pyarrow``, inside the function.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from shop_env.context import DEFAULT_TOKEN_BUDGET, ContextBuilder, ContextConfig, split_persona
from shop_env.core.atomic import atomic_path
from shop_env.core.token_count import tokenizer_counter
from shop_env.core.types import Action, Session, Step
from shop_env.corpus import Corpus, first_sessions, load_corpus

__all__ = [
    "IGNORE_INDEX",
    "answer_text",
    "assistant_token_mask",
    "build_grpo_dataset",
    "build_sft_dataset",
    "export_verl_parquet",
    "grpo_rows",
    "resolve_corpus",
    "sft_chats",
    "sft_step_chats",
    "tokenize_sft_chat",
    "tokenizer_counter",
    "verl_rows",
]

_log = logging.getLogger(__name__)

#: Label value the loss ignores (PyTorch's ``CrossEntropyLoss`` default).
IGNORE_INDEX = -100

#: Tokens a chat template adds around each message (ChatML: ``<|im_start|>role\n`` ... ``<|im_end|>\n``),
#: counted on top of the content so chat windows fit ``max_length``.
_PER_MESSAGE_OVERHEAD = 6


def resolve_corpus(corpus: str | Corpus, split: str = "train") -> Corpus:
    """A corpus object from a source string (``demo``, ``opera:DIR``, ``jsonl:PATH``) or as given."""
    return load_corpus(corpus, split=split) if isinstance(corpus, str) else corpus


def answer_text(step: Step) -> str:
    """The assistant's answer for a gold step: the JSON with its rationale (empty when none)."""
    from shop_env.core.protocol import format_response

    return format_response(step.rationale or "", step.action)


def _step_prompts(corpus: Corpus, context: ContextConfig, token_counter: Callable[[str], int] | None,
                  limit: int | None) -> Iterable[tuple[Session, int, Step, list[dict[str, str]]]]:
    """``(session, t, step, [system, user])`` for every step: the per-step prompt that the env,
    the agents, GRPO and per-step SFT all see (past rationales left out, as in RL prompts)."""
    builder = ContextBuilder(dataclasses.replace(context, include_rationales=False), token_counter=token_counter)
    for session in first_sessions(corpus, limit):
        episode = builder.episode(session)
        for t, step in enumerate(session.steps):
            yield session, t, step, episode.messages(t)


# --------------------------------------------------------------------------------------- SFT

def sft_chats(
    corpus: str | Corpus,
    *,
    split: str = "train",
    context: ContextConfig | None = None,
    token_counter: Callable[[str], int] | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Whole sessions as multi-turn chats (system, then one user page / assistant answer per step).

    A session longer than ``context.token_budget`` is split into consecutive windows, each
    the longest run of steps that fits, newest first, so every step is an assistant target
    in exactly one chat [choice: the paper does not say how it fits long sessions].

    Args:
        corpus: a corpus or a source string.
        split: split to load when ``corpus`` is a string.
        context: budget and persona settings (``history`` does not apply to chats).
        token_counter: counts tokens of one message; default: the builder's estimate.
        limit: use only the first ``limit`` sessions.

    Returns:
        Rows ``{"session_id", "first_step", "last_step", "messages"}``.
    """
    corpus = resolve_corpus(corpus, split)
    builder = ContextBuilder(context or ContextConfig(), token_counter=token_counter)
    rows: list[dict[str, Any]] = []
    for session in first_sessions(corpus, limit):
        episode = builder.episode(session)
        upto = len(session.steps) - 1
        windows = []
        while upto >= 0:
            messages = episode.chat(answer_text, upto=upto)
            pairs = (len(messages) - 1) // 2
            first = upto - pairs + 1
            windows.append({"session_id": session.session_id, "first_step": first, "last_step": upto,
                            "messages": messages})
            upto = first - 1
        rows.extend(reversed(windows))
    return rows


def sft_step_chats(
    corpus: str | Corpus,
    *,
    split: str = "train",
    context: ContextConfig | None = None,
    token_counter: Callable[[str], int] | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """One chat per session step: the exact prompt the env, agents and GRPO use, plus the gold answer.

    The per-step alternative to :func:`sft_chats` [choice, not the paper's]: with a short
    ``history`` (``"latest"``) and a small budget each example is about one budget long, so
    SFT trains on what evaluation shows. Past rationales are left out, as in RL prompts.

    Returns:
        Rows ``{"session_id", "first_step", "last_step", "messages"}`` (``first_step == last_step``).
    """
    config = context or ContextConfig()
    return [{"session_id": session.session_id, "first_step": t, "last_step": t,
             "messages": prompt + [{"role": "assistant", "content": answer_text(step)}]}
            for session, t, step, prompt in _step_prompts(resolve_corpus(corpus, split), config, token_counter, limit)]


def _render(tokenizer: Any, messages: Sequence[dict[str, str]], generation_prompt: bool) -> str:
    return tokenizer.apply_chat_template(list(messages), tokenize=False, add_generation_prompt=generation_prompt)


def assistant_token_mask(tokenizer: Any, messages: Sequence[dict[str, str]]) -> tuple[list[int], list[int]]:
    """Token ids of a chat and a 0/1 mask that is 1 exactly on the assistant turns' tokens.

    Works with any chat template that renders a chat as a prefix of its continuation (ChatML,
    Qwen2.5, Llama 3, ...), with no ``{% generation %}`` markers needed: the characters of
    assistant turn ``i`` run from the end of ``template(messages[:i], add_generation_prompt)``
    to the end of ``template(messages[:i+1])`` (trailing whitespace excluded), and a token is
    masked in when its character span lies inside one of those ranges. So the answer and its
    end-of-turn token (``<|im_end|>``) are trained on; the role header is not.

    Raises:
        ValueError: the tokenizer is not a fast tokenizer (no offsets), the template is not
            prefix-stable, or the chat has no assistant turn.
    """
    if not getattr(tokenizer, "is_fast", False):
        raise ValueError(f"{type(tokenizer).__name__}: assistant masks need a fast tokenizer (character offsets)")
    text = _render(tokenizer, messages, False)
    spans: list[tuple[int, int]] = []
    for i, message in enumerate(messages):
        if message.get("role") != "assistant":
            continue
        start_text = _render(tokenizer, messages[:i], True)
        end_text = _render(tokenizer, messages[: i + 1], False)
        if not (text.startswith(start_text) and text.startswith(end_text) and end_text.startswith(start_text)):
            raise ValueError(
                f"chat template is not prefix-stable at message {i}: rendering a chat does not start with the "
                "rendering of its first turns, so assistant tokens cannot be located"
            )
        start, end = len(start_text), len(end_text)
        while end > start and text[end - 1].isspace():
            end -= 1
        spans.append((start, end))
    if not spans:
        raise ValueError("chat has no assistant turn to train on")
    encoded = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    ids = list(encoded["input_ids"])
    mask = [0] * len(ids)
    k = 0
    for t, (s, e) in enumerate(encoded["offset_mapping"]):
        if e <= s:
            continue
        while k < len(spans) and spans[k][1] <= s:
            k += 1
        if k < len(spans) and s >= spans[k][0] and e <= spans[k][1]:
            mask[t] = 1
    return ids, mask


def tokenize_sft_chat(tokenizer: Any, messages: Sequence[dict[str, str]],
                      max_length: int | None = None) -> dict[str, list[int]] | None:
    """``{"input_ids", "labels"}`` for one chat, labels ``-100`` outside assistant turns.

    When the chat is longer than ``max_length`` its oldest (user, assistant) pairs are dropped
    until it fits (a persona block moves to the new first user turn); if a single pair is still too long the ids are cut at ``max_length``.
    Returns ``None`` when no assistant token survives the cut.
    """
    messages = list(messages)
    while True:
        ids, mask = assistant_token_mask(tokenizer, messages)
        if max_length is None or len(ids) <= max_length:
            break
        if len(messages) <= 3:
            ids, mask = ids[:max_length], mask[:max_length]
            break
        system = [messages[0]] if messages[0].get("role") == "system" else []
        rest = messages[len(system):]
        persona, _ = split_persona(str(rest[0].get("content", "")))
        rest = rest[2:]
        if persona:  # the persona stays with the first user turn that is kept
            rest[0] = {**rest[0], "content": persona + str(rest[0].get("content", ""))}
        messages = system + rest
    if not any(mask):
        return None
    labels = [tok if m else IGNORE_INDEX for tok, m in zip(ids, mask, strict=True)]
    return {"input_ids": ids, "labels": labels}


def build_sft_dataset(
    corpus: str | Corpus,
    tokenizer: Any,
    *,
    split: str = "train",
    max_length: int = 2048,
    persona: bool = False,
    limit: int | None = None,
    examples: str = "session",
    history: str | int = "full",
    token_budget: int | None = DEFAULT_TOKEN_BUDGET,
) -> Any:
    """A tokenized ``datasets.Dataset`` of SFT chats with assistant-only labels.

    Columns: ``input_ids``, ``labels``, ``session_id``, ``first_step``, ``last_step``.

    Args:
        examples: ``"session"`` (the paper: whole sessions as multi-turn chats, windows sized
            with the tokenizer to fit ``max_length``; ``history``/``token_budget`` unused) or
            ``"step"`` (:func:`sft_step_chats`: one chat per step with the ``history`` and
            ``token_budget`` prompt that evaluation uses; ``max_length`` still caps each chat).
    """
    from datasets import Dataset

    if examples == "session":
        system_tokens = tokenizer_counter(tokenizer, overhead=_PER_MESSAGE_OVERHEAD)(
            ContextBuilder().system_prompt)
        budget = max(64, max_length - system_tokens - 8)
        context = ContextConfig(persona=persona, token_budget=budget)
        chats = sft_chats(corpus, split=split, context=context,
                          token_counter=tokenizer_counter(tokenizer, overhead=_PER_MESSAGE_OVERHEAD), limit=limit)
    elif examples == "step":
        context = ContextConfig(history=history, persona=persona, token_budget=token_budget)
        chats = sft_step_chats(corpus, split=split, context=context, token_counter=tokenizer_counter(tokenizer),
                               limit=limit)
    else:
        raise ValueError(f"examples must be 'session' or 'step', got {examples!r}")
    columns: dict[str, list[Any]] = {k: [] for k in ("input_ids", "labels", "session_id", "first_step", "last_step")}
    dropped = 0
    for chat in chats:
        example = tokenize_sft_chat(tokenizer, chat["messages"], max_length)
        if example is None:
            dropped += 1
            continue
        for key in ("input_ids", "labels"):
            columns[key].append(example[key])
        for key in ("session_id", "first_step", "last_step"):
            columns[key].append(chat[key])
    if not columns["input_ids"]:
        raise ValueError(f"no SFT example could be built from {corpus!r} split {split!r}")
    if dropped:
        _log.warning("SFT data: %d of %d chats dropped, their answers did not fit max_length=%d "
                     "(raise --max-length or lower --token-budget)", dropped, len(chats), max_length)
    return Dataset.from_dict(columns)


# -------------------------------------------------------------------------------------- GRPO

def grpo_rows(
    corpus: str | Corpus,
    *,
    split: str = "train",
    history: str | int = "full",
    token_budget: int | None = DEFAULT_TOKEN_BUDGET,
    persona: bool = False,
    token_counter: Callable[[str], int] | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """One row per session step: the RL prompt (no past rationales) and the gold answer's columns.

    Returns:
        Rows ``{"prompt": [system, user], "gold_action": JSON, "click_type": str | "",
        "session_id", "step_index"}`` (the reward adapter reads ``gold_action`` and ``click_type``).
    """
    config = ContextConfig(history=history, persona=persona, token_budget=token_budget)
    return [{"prompt": prompt, "gold_action": step.action.to_json(), "click_type": step.click_type or "",
             "session_id": session.session_id, "step_index": t}
            for session, t, step, prompt in _step_prompts(resolve_corpus(corpus, split), config, token_counter, limit)]


def build_grpo_dataset(corpus: str | Corpus, *, split: str = "train", **kwargs: Any) -> Any:
    """:func:`grpo_rows` as a ``datasets.Dataset`` (``kwargs`` go to :func:`grpo_rows`)."""
    from datasets import Dataset

    rows = grpo_rows(corpus, split=split, **kwargs)
    if not rows:
        raise ValueError(f"no GRPO prompt could be built from {corpus!r} split {split!r}")
    return Dataset.from_list(rows)


# -------------------------------------------------------------------------------------- verl

def verl_rows(
    corpus: str | Corpus,
    *,
    split: str = "train",
    reward: str = "shop_r1",
    history: str | int = "full",
    token_budget: int | None = DEFAULT_TOKEN_BUDGET,
    persona: bool = False,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """verl parquet rows ``{data_source, prompt, ability, reward_model, extra_info}`` for a split.

    Same prompts as :func:`grpo_rows`; rows come from ``rewards.adapters.verl.make_verl_row``
    so ``compute_score`` reads them back.
    """
    from rewards.adapters.verl import make_verl_row

    rows = grpo_rows(corpus, split=split, history=history, token_budget=token_budget, persona=persona, limit=limit)
    out = []
    for i, row in enumerate(rows):
        gold = Action.from_dict(json.loads(row["gold_action"]))
        verl_row = make_verl_row(row["prompt"], gold, click_type=row["click_type"] or None, reward=reward, index=i)
        verl_row["extra_info"].update({"session_id": row["session_id"], "step_index": row["step_index"],
                                       "split": split})
        out.append(verl_row)
    return out


def export_verl_parquet(
    corpus: str | Corpus,
    out_dir: str | os.PathLike[str],
    *,
    splits: Sequence[str] = ("train", "valid"),
    **kwargs: Any,
) -> dict[str, Path]:
    """Write ``<out_dir>/<split>.parquet`` in verl's layout for each split.

    ``corpus`` must be a source string when several splits are exported (each split is loaded
    from it); ``kwargs`` go to :func:`verl_rows`. Files are written to a temporary name and
    renamed into place.

    Returns:
        ``{split: path}``.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not isinstance(corpus, str) and len(splits) > 1:
        raise ValueError("export several splits from a source string (e.g. 'demo'), not one corpus object")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    for split in splits:
        rows = verl_rows(corpus, split=split, **kwargs)
        if not rows:
            raise ValueError(f"split {split!r} of {corpus!r} has no steps to export")
        table = pa.Table.from_pylist(rows)
        path = out / f"{split}.parquet"
        with atomic_path(path) as tmp:
            pq.write_table(table, tmp)
        written[split] = path
    return written
