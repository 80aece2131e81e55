"""Shop-R1's hierarchical reward with DARS, and its normalised form (the default reward).

Every constant of the paper's Table 1 is a field, so ablations and sweeps are overrides,
not new code. Rewards are frozen dataclasses: their ``config()`` is what results files hash.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, ClassVar

from shop_env.core.protocol import parse_response
from shop_env.core.types import Action, Step

from .base import RewardBreakdown, check_settings, validate_gold
from .self_certainty import DEFAULT_ALPHA, DEFAULT_CAP, checked_self_certainty, locate_rationale_span
from .similarity import DEFAULT_TOKENIZATION, check_similarity_settings, rouge_l_f1, thresholded
from .tokens import TokenInfo

__all__ = ["NormalizedReward", "ShopR1Reward", "rationale_self_certainty"]

THRESHOLD_SCOPES: tuple[str, ...] = ("all", "dars")


def _nonempty(value: str | None) -> bool:
    return value is not None and bool(value.strip())


def rationale_self_certainty(response: str, tokens: TokenInfo, *, cap: float = DEFAULT_CAP,
                             with_reason: bool = False) -> Any:
    """Self-certainty of the response's rationale tokens, or ``None`` when there are no tokens.

    The span is ``tokens.rationale_span`` if set, else located from ``tokens.offsets``, else
    every response token [choice, SPEC section 2 item 3]. Each token counts at most ``cap``
    nats; statistics no logits can produce give 0 (see
    :func:`~rewards.self_certainty.checked_self_certainty`).

    Returns:
        The value (or ``None``); with ``with_reason=True``, ``(value, reason)`` where
        ``reason`` says why an unusable statistic paid 0 (``None`` otherwise).
    """
    if len(tokens.logsumexp) == 0:
        return (None, None) if with_reason else None
    span = tokens.rationale_span
    if span is None and tokens.offsets is not None and isinstance(response, str):
        try:
            span = locate_rationale_span(response, tokens.offsets)
        except (TypeError, ValueError):
            span = None
    value, reason = checked_self_certainty(tokens.logsumexp, tokens.mean_logit, tokens.vocab_size, span, cap=cap)
    return (value, reason) if with_reason else value


@dataclass(frozen=True)
class ShopR1Reward:
    """Shop-R1's reward: format + hierarchical action reward with DARS (+ rationale term).

    Defaults are the paper's (SPEC section 2, Table 1). A correct click scores 1001.0, a
    click of the right type with a wrong name 1.0, a wrong type 0.5, a correct terminate
    0.8, an unparseable response 0. With :class:`TokenInfo`, ``alpha * self_certainty``
    is added as the ``rationale`` component; without it that component is absent.

    Attributes:
        name: preset name (for logs).
        format_reward: paid when the response parses (SPEC section 2 item 1).
        type_reward: paid when the predicted type equals the gold type.
        click_name_attribute: gold click: paid when the predicted ``name`` is non-empty.
        input_name_attribute: gold type_and_submit: paid when ``name`` is non-empty.
        input_text_attribute: gold type_and_submit: paid when ``text`` is non-empty.
        input_name_value: gold type_and_submit: weight of sim(``name``).
        dars_factor: DARS weight of sim(``name``) for clicks and sim(``text``) for inputs.
        sim_threshold: a similarity counts only from this value up (ROUGE-L F1).
        sim_comparison: ``">="`` (a similarity counts when it reaches the threshold: the
            default, SPEC) or ``">"`` (when it exceeds it: the paper's wording).
        sim_tokenization: how ROUGE-L splits names and texts: ``"words"`` (default:
            lower-case, split on anything not a letter or digit in any script) or
            ``"whitespace"`` (the older rule: texts on whitespace, names also on ``._-``);
            :mod:`rewards.similarity`.
        threshold_scope: ``"all"`` applies the threshold to every sim term [choice];
            ``"dars"`` only to the DARS-weighted ones.
        gate_on_type: sub-rewards are paid only when the type is right [choice]; when
            False they are computed from the predicted fields whatever the type.
        rationale_alpha: weight of the self-certainty term (0 turns it off).
        rationale_cap: nats a token's self-certainty counts at most, so the term lies in
            ``[0, alpha * cap]`` (0.25 by default, below the 0.3 that separates a right
            answer from a wrong one); non-finite or impossible statistics pay 0 and say why in
            the breakdown's ``notes["rationale"]``.
        parse_mode: ``"strict"`` (paper) or ``"lenient"``.
    """

    name: str = "shop_r1"
    format_reward: float = 0.5
    type_reward: float = 0.3
    click_name_attribute: float = 0.2
    input_name_attribute: float = 0.1
    input_text_attribute: float = 0.1
    input_name_value: float = 0.1
    dars_factor: float = 1000.0
    sim_threshold: float = 0.75
    sim_comparison: str = ">="
    sim_tokenization: str = DEFAULT_TOKENIZATION
    threshold_scope: str = "all"
    gate_on_type: bool = True
    rationale_alpha: float = DEFAULT_ALPHA
    rationale_cap: float = DEFAULT_CAP
    parse_mode: str = "strict"

    component_names: ClassVar[tuple[str, ...]] = ("format", "type", "attribute", "value")

    def __post_init__(self) -> None:
        check_settings(
            self,
            non_negative=(
                "format_reward", "type_reward", "click_name_attribute", "input_name_attribute",
                "input_text_attribute", "input_name_value", "dars_factor", "rationale_cap",
            ),
            finite=("rationale_alpha",),
        )
        if not 0.0 <= self.sim_threshold <= 1.0:
            raise ValueError(f"ShopR1Reward.sim_threshold must be in [0, 1], got {self.sim_threshold!r}")
        check_similarity_settings(self.sim_tokenization, self.sim_comparison, owner="ShopR1Reward")
        if self.threshold_scope not in THRESHOLD_SCOPES:
            raise ValueError(
                f"ShopR1Reward.threshold_scope must be one of {list(THRESHOLD_SCOPES)}, got {self.threshold_scope!r}"
            )

    def __call__(
        self, response: str, gold: Action, *, step: Step | None = None, tokens: TokenInfo | None = None
    ) -> RewardBreakdown:
        gold = validate_gold(gold)
        parsed = parse_response(response, self.parse_mode)
        with_rationale = tokens is not None and self.rationale_alpha != 0.0
        if not parsed.ok:
            components = {"format": 0.0, "type": 0.0, "attribute": 0.0, "value": 0.0}
            if with_rationale:
                components["rationale"] = 0.0  # format failure zeroes every term (SPEC 2.1)
            return RewardBreakdown(0.0, components, parse_error=parsed.error, parsed=parsed)
        pred = parsed.action
        assert pred is not None
        type_ok = pred.type == gold.type
        attribute = value = 0.0
        if type_ok or not self.gate_on_type:
            if gold.type == "click":
                if _nonempty(pred.name):
                    attribute += self.click_name_attribute
                value += self.dars_factor * self._sim(pred.name, gold.name, "name", dars=True)
            elif gold.type == "type_and_submit":
                if _nonempty(pred.name):
                    attribute += self.input_name_attribute
                if _nonempty(pred.text):
                    attribute += self.input_text_attribute
                value += self.input_name_value * self._sim(pred.name, gold.name, "name", dars=False)
                value += self.dars_factor * self._sim(pred.text, gold.text, "text", dars=True)
        components = {
            "format": self.format_reward,
            "type": self.type_reward if type_ok else 0.0,
            "attribute": attribute,
            "value": value,
        }
        notes: dict[str, str] = {}
        if with_rationale:
            try:
                certainty, reason = rationale_self_certainty(response, tokens, cap=self.rationale_cap,
                                                             with_reason=True)
            except (AttributeError, TypeError) as exc:  # not a TokenInfo
                certainty, reason = 0.0, f"unusable token statistics ({type(exc).__name__}: {exc})"
            if reason is not None:
                notes["rationale"] = f"rationale term paid 0: {reason}"
            if certainty is not None:
                components["rationale"] = self.rationale_alpha * certainty
        return RewardBreakdown(sum(components.values()), components, parsed=parsed, notes=notes)

    def _sim(self, pred: str | None, gold: str | None, kind: str, *, dars: bool) -> float:
        sim = rouge_l_f1(pred, gold, kind=kind, tokenization=self.sim_tokenization)  # type: ignore[arg-type]
        if dars or self.threshold_scope == "all":
            return thresholded(sim, self.sim_threshold, self.sim_comparison)
        return sim

    def rationale_bounds(self) -> tuple[float, float]:
        """``(lowest, highest)`` the rationale term can add: ``alpha * [0, cap]`` (ordered)."""
        ends = (0.0, self.rationale_alpha * self.rationale_cap)
        return (min(ends), max(ends))

    def config(self) -> dict[str, Any]:
        """Every setting, JSON-able (for results files and hashing)."""
        return {"class": type(self).__name__, **asdict(self)}

    def max_total(self, gold: Action, step: Step | None = None) -> float:
        """Highest total attainable for ``gold`` (rationale excluded): the gold answer's score."""
        gold = validate_gold(gold)
        total = self.format_reward + self.type_reward
        if gold.type == "click":
            total += self.click_name_attribute + self.dars_factor
        elif gold.type == "type_and_submit":
            total += self.input_name_attribute + self.input_text_attribute + self.input_name_value + self.dars_factor
        return total

    def min_total(self) -> float:
        """Lowest total (rationale excluded): 0, every weight being non-negative."""
        return 0.0


class NormalizedReward:
    """The ``shop_r1`` total divided by the maximum attainable for the gold action's type.

    So every score lies in [0, 1] whatever the gold type: a correct terminate and a correct
    click both score 1. With token statistics (the rationale term present) the maximum
    includes the term's ceiling ``alpha * rationale_cap``, so the score still lies in [0, 1]
    (a right answer with the most certain rationale scores 1).

    Args:
        base: the reward to normalise (defaults to :class:`ShopR1Reward` built from
            ``settings``).
        name: preset name.
        **settings: :class:`ShopR1Reward` fields, when ``base`` is not given.
    """

    def __init__(self, base: ShopR1Reward | None = None, *, name: str = "normalized", **settings: Any) -> None:
        if base is not None and settings:
            raise TypeError("give either a base reward or ShopR1Reward settings, not both")
        if base is None:
            known = {f.name for f in fields(ShopR1Reward)}
            unknown = sorted(set(settings) - known)
            if unknown:
                raise TypeError(f"NormalizedReward got unknown settings {unknown}; settings: {sorted(known)}")
        self.base = base if base is not None else ShopR1Reward(**settings)
        self.name = name
        self.parse_mode = self.base.parse_mode
        self.component_names = self.base.component_names

    def __call__(
        self, response: str, gold: Action, *, step: Step | None = None, tokens: TokenInfo | None = None
    ) -> RewardBreakdown:
        result = self.base(response, gold, step=step, tokens=tokens)
        low, top = 0.0, self.base.max_total(gold)
        if "rationale" in result.components:
            lo_r, hi_r = self.base.rationale_bounds()
            low, top = low + lo_r, top + hi_r
        span = top - low
        scale = 1.0 / span if span > 0 else 0.0
        components = {k: v * scale for k, v in result.components.items()}
        if low:
            components["rationale"] = components.get("rationale", 0.0) - low * scale
        total = min(1.0, max(0.0, (result.total - low) * scale))  # rounding aside, already in [0, 1]
        return RewardBreakdown(total, components, result.parse_error, result.parsed, dict(result.notes))

    def replace(self, **settings: Any) -> NormalizedReward:
        """A copy with some settings of the base reward changed."""
        from dataclasses import replace

        return NormalizedReward(replace(self.base, **settings), name=self.name)

    def config(self) -> dict[str, Any]:
        return {"class": type(self).__name__, "name": self.name, "base": self.base.config()}

    def max_total(self, gold: Action, step: Step | None = None) -> float:
        return 1.0 if self.base.max_total(gold) > 0 else 0.0

    def min_total(self) -> float:
        return 0.0

    def __repr__(self) -> str:
        return f"NormalizedReward(name={self.name!r}, base={self.base!r})"


# the other built-in rewards, for imports of their old home
from .binary import BinaryReward  # noqa: E402,F401
from .customer_r1 import CustomerR1Reward  # noqa: E402,F401
