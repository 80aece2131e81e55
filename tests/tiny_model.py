"""A tiny chat model built inside the test session: no hub, no download, a few seconds.

``build_tiny_model(dir)`` trains a byte-level BPE tokenizer on text shaped like this
project's prompts and answers, wraps it as a ``PreTrainedTokenizerFast`` with a ChatML chat
template, and saves it next to a randomly initialised ~1.2M-parameter Qwen2 model. The model
says nothing sensible, but every code path (chat template, batching, padding, logits,
training) runs on it exactly as on a real model.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

__all__ = ["CHATML_TEMPLATE", "SPECIAL_TOKENS", "build_tiny_model", "tiny_training_text"]

#: ChatML, as SmolLM2 and Qwen2 use it.
CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]

_WORDS = ["red", "blue", "shoes", "laptop", "coffee", "mug", "cheap", "organic", "cotton", "shirt",
          "kids", "desk", "lamp", "wireless", "mouse", "yoga", "mat", "tea", "kettle", "backpack"]
_SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "sa", "to", "vi", "ze", "po", "qu", "an", "el", "or", "ix",
              "bre", "cla", "dro", "fen", "gri", "hal", "jun", "kor", "lum", "mar", "nox", "pel", "tri"]


def _brand(rng: random.Random) -> str:
    return "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()


def tiny_training_text(seed: int = 0, pages: int = 300) -> str:
    """Text for the tokenizer: the system prompt, simplified HTML pages and JSON answers."""
    from shop_env.prompt import RATIONALE_SYNTHESIS_PROMPT, SYSTEM_PROMPT

    rng = random.Random(seed)
    parts = [SYSTEM_PROMPT, RATIONALE_SYNTHESIS_PROMPT]
    for i in range(pages):
        query = " ".join(rng.sample(_WORDS, 2))
        items = "".join(
            f'<div><a name="product_{j}">{_brand(rng)} {" ".join(rng.sample(_WORDS, 3))}</a> '
            f'<span>${rng.randint(5, 300)}.99</span></div>'
            for j in range(rng.randint(2, 5))
        )
        parts.append(
            f'<html><body><input name="search_input" value="{query}"/>'
            f'<button name="search_button">Search</button>{items}</body></html>'
        )
        action = rng.choice([
            {"type": "click", "name": f"product_{i % 5}"},
            {"type": "type_and_submit", "name": "search_input", "text": query},
            {"type": "terminate"},
        ])
        parts.append(json.dumps({"rationale": f"I want to find {query} for my home.", "action": action}))
    return "\n".join(parts)


def build_tiny_model(directory: str | Path, *, vocab_size: int = 2048, seed: int = 0) -> Path:
    """Train a tokenizer and save it with a random tiny Qwen2 model into ``directory``.

    Args:
        directory: output folder (created); loadable with ``from_pretrained`` afterwards.
        vocab_size: BPE vocabulary size (special tokens included).
        seed: seeds the training text and the model's initial weights.

    Returns:
        ``directory`` as a Path.
    """
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    bpe.train_from_iterator(tiny_training_text(seed).splitlines(), trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe, bos_token=None, eos_token="<|im_end|>",
                                        pad_token="<|endoftext|>", unk_token=None)
    tokenizer.chat_template = CHATML_TEMPLATE
    tokenizer.save_pretrained(out)

    config = Qwen2Config(
        vocab_size=bpe.get_vocab_size(),
        hidden_size=192,
        intermediate_size=512,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=4096,
        tie_word_embeddings=True,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=None,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = Qwen2ForCausalLM(config)
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(out)
    return out
