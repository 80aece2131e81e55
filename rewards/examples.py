"""A complete user-written reward shaper, the way a third party would write one.

Two forms of the shared call shape ``reward(response, gold, *, step=None, tokens=None)``:

* :class:`RationaleLengthPenalty`, a class (settings are constructor arguments), and
* :func:`search_term_bonus`, a function (settings are extra keyword arguments).

Both are registered by name on import, and :func:`shaped_shop_r1` combines one with the
paper's reward. A third-party package would instead advertise them in its own metadata::

    [project.entry-points."shop_r1.rewards"]
    rationale_length_penalty = "my_pkg.shapers:RationaleLengthPenalty"

after which ``rewards.get_reward("rationale_length_penalty", max_words=20)`` finds it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, ClassVar

from shop_env.core.protocol import parse_response
from shop_env.core.types import Action, Step

from .base import RewardBreakdown, WeightedSum, register_reward, weighted_sum
from .similarity import rouge_l_f1
from .tokens import TokenInfo

__all__ = ["RationaleLengthPenalty", "search_term_bonus", "shaped_shop_r1"]


@register_reward("rationale_length_penalty")
@dataclass(frozen=True)
class RationaleLengthPenalty:
    """Penalise rationales longer than ``max_words`` words: ``-per_word`` for each extra word.

    The paper asks for one short sentence; long rationales cost generation time.
    """

    name: str = "rationale_length_penalty"
    max_words: int = 25
    per_word: float = 0.01
    parse_mode: str = "lenient"

    component_names: ClassVar[tuple[str, ...]] = ("length",)

    def __call__(
        self, response: str, gold: Action, *, step: Step | None = None, tokens: TokenInfo | None = None
    ) -> RewardBreakdown:
        parsed = parse_response(response, self.parse_mode)
        if not parsed.ok or parsed.rationale is None:
            return RewardBreakdown(0.0, {"length": 0.0}, parse_error=parsed.error, parsed=parsed)
        extra_words = max(0, len(parsed.rationale.split()) - self.max_words)
        penalty = -self.per_word * extra_words
        return RewardBreakdown(penalty, {"length": penalty}, parsed=parsed)

    def config(self) -> dict[str, Any]:
        return {"class": type(self).__name__, **asdict(self)}

    def max_total(self, gold: Action, step: Step | None = None) -> float:
        return 0.0

    def max_total_any(self) -> float:
        return 0.0

    def min_total(self) -> float:
        return float("-inf")


@register_reward("search_term_bonus")
def search_term_bonus(
    response: str, gold: Action, *, step: Step | None = None, tokens: TokenInfo | None = None, bonus: float = 0.1
) -> float:
    """``bonus`` x ROUGE-L of the typed text, for type_and_submit golds; 0 otherwise.

    A dense signal for search queries, without the threshold (a plain number is a valid
    return value: it becomes a one-component breakdown).
    """
    if gold.type != "type_and_submit":
        return 0.0
    parsed = parse_response(response, "strict")
    if not parsed.ok or parsed.action is None or parsed.action.type != "type_and_submit":
        return 0.0
    return bonus * rouge_l_f1(parsed.action.text, gold.text, kind="text")


def shaped_shop_r1(max_words: int = 25, per_word: float = 0.01) -> WeightedSum:
    """The paper's reward plus the rationale length penalty, weight 1 each."""
    return weighted_sum({"shop_r1": 1.0, RationaleLengthPenalty(max_words=max_words, per_word=per_word): 1.0})
