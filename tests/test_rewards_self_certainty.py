"""Self-certainty (the rationale reward): hand computations, limits, and span location."""

from __future__ import annotations

import math

import pytest

from rewards.self_certainty import (
    locate_rationale_char_span,
    locate_rationale_span,
    self_certainty,
    self_certainty_from_stats,
    token_info_from_logits,
    token_stats,
)
from rewards.tokens import TokenInfo

torch = pytest.importorskip("torch")


def kl_uniform_to_softmax(z: list[float]) -> float:
    """KL(U || softmax(z)) written out from its definition: sum_v (1/V) log((1/V) / p_v)."""
    m = max(z)
    exps = [math.exp(x - m) for x in z]
    total = sum(exps)
    probs = [e / total for e in exps]
    v = len(z)
    return sum((1.0 / v) * math.log((1.0 / v) / p) for p in probs)


def test_matches_hand_computation_on_small_logits():
    logits = [[2.0, 0.0, -1.0], [0.5, 0.5, 3.0]]
    expected = (kl_uniform_to_softmax(logits[0]) + kl_uniform_to_softmax(logits[1])) / 2
    assert self_certainty(torch.tensor(logits)) == pytest.approx(expected, rel=1e-5)
    # Closed form of SPEC 2.3: logsumexp(z) - mean(z) - log|V|, token 0 by hand.
    lse0 = math.log(math.exp(2.0) + math.exp(0.0) + math.exp(-1.0))
    assert self_certainty(torch.tensor(logits), span=(0, 1)) == pytest.approx(lse0 - 1.0 / 3 - math.log(3), rel=1e-5)
    info = token_info_from_logits(torch.tensor(logits))
    assert self_certainty(info) == pytest.approx(expected, rel=1e-5)
    assert self_certainty(info, span=(1, 2)) == pytest.approx(kl_uniform_to_softmax(logits[1]), rel=1e-5)


def test_zero_for_uniform_logits_and_grows_as_distribution_sharpens():
    vocab = 50
    assert self_certainty(torch.zeros(4, vocab)) == pytest.approx(0.0, abs=1e-6)
    assert self_certainty(torch.full((4, vocab), 7.5)) == pytest.approx(0.0, abs=1e-5)
    values = []
    for sharpness in [0.0, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0]:
        logits = torch.zeros(3, vocab)
        logits[:, 0] = sharpness
        values.append(self_certainty(logits))
    assert all(b > a for a, b in zip(values, values[1:], strict=False))
    assert values[-1] > 10.0  # unbounded: about sharpness - log|V| for a sharp peak


def test_token_stats_shapes_and_values():
    logits = torch.randn(2, 5, 11)
    lse, mean = token_stats(logits)
    assert lse.shape == mean.shape == (2, 5)
    assert torch.allclose(lse, torch.logsumexp(logits, dim=-1))
    assert torch.allclose(mean, logits.mean(dim=-1))
    with pytest.raises(ValueError):
        token_stats(torch.zeros(3, 0))


def test_stats_path_equals_tensor_path_and_rejects_bad_spans():
    logits = torch.randn(6, 13)
    lse, mean = token_stats(logits)
    by_stats = self_certainty_from_stats(lse.tolist(), mean.tolist(), 13, (2, 5))
    assert by_stats == pytest.approx(self_certainty(logits, span=(2, 5)), rel=1e-5)
    with pytest.raises(ValueError, match="outside"):
        self_certainty_from_stats([1.0], [0.0], 3, (0, 2))
    with pytest.raises(ValueError, match="at least one token"):
        self_certainty(logits, span=(3, 3))


def test_locate_rationale_span_with_offsets():
    response = '{"rationale": "I like \\"this\\" one.", "action": {"type": "terminate"}}'
    start, end = locate_rationale_char_span(response)
    assert response[start:end] == 'I like \\"this\\" one.'
    # Tokens: prefix | 'I like' | ' \\"this\\"' | ' one.' | suffix, plus a zero-width special token.
    cuts = [0, start, start + 6, start + 15, end, len(response)]
    offsets = [(0, 0)] + [(cuts[i], cuts[i + 1]) for i in range(len(cuts) - 1)]
    assert locate_rationale_span(response, offsets) == (2, 5)
    assert locate_rationale_span('{"action": {"type": "terminate"}}', offsets) is None
    assert locate_rationale_span('{"rationale": "", "action": {}}', [(0, 5)]) is None
    assert locate_rationale_char_span('{"rationale": "never closed') is None


def test_locate_span_with_a_real_fast_tokenizer():
    tokenizers = pytest.importorskip("tokenizers")
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(vocab_size=300, special_tokens=["[UNK]"], show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    response = '{"rationale": "I want to compare prices.", "action": {"type": "click", "name": "a.b"}}'
    tok.train_from_iterator([response] * 5, trainer=trainer)
    offsets = tok.encode(response).offsets
    span = locate_rationale_span(response, offsets)
    assert span is not None
    covered = response[offsets[span[0]][0]: offsets[span[1] - 1][1]]
    assert "I want to compare prices." in covered
    assert len(covered) <= len("I want to compare prices.") + 4  # at most the quotes' neighbours
    assert tokenizers is not None


def test_token_info_requires_matching_lengths():
    with pytest.raises(ValueError):
        TokenInfo(logsumexp=[1.0], mean_logit=[1.0, 2.0], vocab_size=3)
