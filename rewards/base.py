"""The shared reward call shape, the score record, and the plug-in registry.

Every reward, built-in or a user's, is called as
``reward(response, gold, *, step=None, tokens=None)`` and returns a :class:`RewardBreakdown`.
Rewards are found by name (:func:`get_reward`): the built-in presets, anything registered
with :func:`register_reward`, and third-party shapers advertised through the
``shop_r1.rewards`` entry-point group.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from shop_env.core.protocol import PARSE_MODES, ParsedResponse, parse_response
from shop_env.core.types import Action, Step, gold_action_problem

from .tokens import TokenInfo

__all__ = [
    "ENTRY_POINT_GROUP",
    "FunctionReward",
    "Reward",
    "RewardBreakdown",
    "WeightedSum",
    "answer_of",
    "best_total",
    "check_settings",
    "as_breakdown",
    "available_rewards",
    "get_reward",
    "register_reward",
    "validate_gold",
    "weighted_sum",
]

#: Entry-point group that third-party packages use to ship reward shapers.
ENTRY_POINT_GROUP = "shop_r1.rewards"


@dataclass(frozen=True)
class RewardBreakdown:
    """One scored response: the total and the named parts it is the sum of.

    Attributes:
        total: the reward (sum of ``components``).
        components: named contributions, for example ``format``, ``type``, ``attribute``,
            ``value`` and, only when token information was given, ``rationale``.
        parse_error: why the response did not parse, if it did not.
        parsed: the parsed response, when the reward parsed one.
        notes: why a component paid less than its inputs suggest, by component name (for
            example ``{"rationale": "rationale term paid 0: token 3: logit statistics are
            not finite ..."}``); empty when there is nothing to say.
    """

    total: float
    components: dict[str, float] = field(default_factory=dict)
    parse_error: str | None = None
    parsed: ParsedResponse | None = None
    notes: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (the parsed action as its dict) for logs and results files."""
        parsed = None
        if self.parsed is not None:
            parsed = {
                "ok": self.parsed.ok,
                "rationale": self.parsed.rationale,
                "action": None if self.parsed.action is None else self.parsed.action.to_dict(),
                "error": self.parsed.error,
            }
        out = {
            "total": self.total,
            "components": dict(self.components),
            "parse_error": self.parse_error,
            "parsed": parsed,
        }
        if self.notes:
            out["notes"] = dict(self.notes)
        return out


@runtime_checkable
class Reward(Protocol):
    """What every reward is: a callable with the shared call shape.

    Built-in rewards also have ``name``, ``config()``, ``max_total(gold)``, ``min_total()``,
    ``parse_mode`` and ``component_names`` (the components always present, rationale aside).
    """

    def __call__(
        self, response: str, gold: Action, *, step: Step | None = None, tokens: TokenInfo | None = None
    ) -> RewardBreakdown: ...


def validate_gold(gold: Any) -> Action:
    """Check that ``gold`` is a usable ground-truth action; raise a clear error if not.

    A gold click needs a non-empty ``name``, a gold ``type_and_submit`` a non-empty ``name``
    and ``text``: without them the hierarchical reward cannot rank the true answer first.
    """
    if not isinstance(gold, Action):
        raise TypeError(f"gold must be an Action, got {type(gold).__name__}")
    problem = gold_action_problem(gold.type, gold.name, gold.text)
    if problem is not None:
        raise ValueError(problem[1])
    return gold


def as_breakdown(result: Any, *, source: str = "reward") -> RewardBreakdown:
    """Accept what a user's shaper returns: a :class:`RewardBreakdown` or a plain number."""
    if isinstance(result, RewardBreakdown):
        return result
    if isinstance(result, (int, float)) and not isinstance(result, bool):
        value = float(result)
        return RewardBreakdown(total=value, components={"total": value})
    raise TypeError(f"{source} must return a RewardBreakdown or a number, got {type(result).__name__}")


def answer_of(result: RewardBreakdown, response: str, reward: Any) -> ParsedResponse:
    """The parsed answer behind a score: the reward's own parse when it kept one, else the
    response parsed in the reward's mode (a user's shaper that returns a number keeps none).

    The env and the metrics read the predicted action from here, so they report the same
    action and parse error whichever reward scored the step.
    """
    if result.parsed is not None:
        return result.parsed
    return parse_response(response, getattr(reward, "parse_mode", "strict"))


def best_total(reward: Any, gold: Action, step: Step | None = None) -> float:
    """``reward.max_total`` for ``gold``, with the step when there is one and the method takes
    it (difficulty-aware rewards need it; a user's reward may define ``max_total(gold)`` alone)."""
    bound = reward.max_total
    if step is not None and _accepts(bound, gold, step):
        return float(bound(gold, step))
    return float(bound(gold))


def _accepts(func: Callable[..., Any], *args: Any, **kwargs: Any) -> bool:
    """Whether ``func`` can be called with these arguments (by its signature; True when unknown)."""
    try:
        inspect.signature(func).bind(*args, **kwargs)
    except TypeError:
        return False
    except ValueError:  # no signature to read (some builtins)
        return True
    return True


def check_parse_mode(parse_mode: Any, owner: str = "") -> str:
    """``parse_mode`` itself if it is one of :data:`PARSE_MODES`; ``owner`` prefixes the error."""
    if parse_mode not in PARSE_MODES:
        prefix = f"{owner}." if owner else ""
        raise ValueError(f"{prefix}parse_mode must be one of {list(PARSE_MODES)}, got {parse_mode!r}")
    return parse_mode


class FunctionReward:
    """Wraps a user's shaper function so it behaves like a built-in reward.

    Keyword ``settings`` (from :func:`get_reward` overrides) are passed to the function on
    every call; a plain number it returns becomes a one-component breakdown. ``parse_mode``
    says how the env and the metrics read the predicted action from the response when the
    function keeps no parse of its own; it is also passed to a function whose signature
    names a ``parse_mode`` parameter, so the shaper can parse the same way.
    """

    def __init__(
        self, func: Callable[..., Any], name: str | None = None, *, parse_mode: str = "strict", **settings: Any
    ) -> None:
        self.func = func
        self.name = name or getattr(func, "__name__", type(func).__name__)
        self.parse_mode = check_parse_mode(parse_mode)
        self.settings = dict(settings)
        self.component_names: tuple[str, ...] = tuple(getattr(func, "component_names", ("total",)))
        try:
            self._takes_parse_mode = "parse_mode" in inspect.signature(func).parameters
        except (TypeError, ValueError):
            self._takes_parse_mode = False

    def replace(self, **overrides: Any) -> FunctionReward:
        """A copy with settings (and ``parse_mode``) changed."""
        parse_mode = overrides.pop("parse_mode", self.parse_mode)
        return FunctionReward(self.func, self.name, parse_mode=parse_mode, **{**self.settings, **overrides})

    def __call__(
        self, response: str, gold: Action, *, step: Step | None = None, tokens: TokenInfo | None = None
    ) -> RewardBreakdown:
        settings = {**self.settings, "parse_mode": self.parse_mode} if self._takes_parse_mode else self.settings
        result = self.func(response, gold, step=step, tokens=tokens, **settings)
        return as_breakdown(result, source=f"reward {self.name!r}")

    def config(self) -> dict[str, Any]:
        module = getattr(self.func, "__module__", "?")
        qualname = getattr(self.func, "__qualname__", self.name)
        return {"name": self.name, "function": f"{module}:{qualname}", "settings": dict(self.settings),
                "parse_mode": self.parse_mode}

    def max_total(self, gold: Action, step: Step | None = None) -> float:
        bound = getattr(self.func, "max_total", None)
        if bound is None:
            raise TypeError(f"reward {self.name!r} does not declare max_total")
        return float(bound(gold) if callable(bound) else bound)

    def min_total(self) -> float:
        bound = getattr(self.func, "min_total", None)
        if bound is None:
            raise TypeError(f"reward {self.name!r} does not declare min_total")
        return float(bound() if callable(bound) else bound)

    def __repr__(self) -> str:
        return f"FunctionReward({self.name!r}, parse_mode={self.parse_mode!r}, settings={self.settings!r})"


class WeightedSum:
    """A weighted sum of rewards: ``total = sum(weight_i * reward_i.total)``.

    Components are kept per part as ``"<part name>.<component>"`` (already weighted), so
    the sum of components still equals the total. The first part's parse result is kept.
    """

    def __init__(self, parts: Sequence[tuple[Reward, float]], name: str | None = None) -> None:
        if not parts:
            raise ValueError("weighted_sum needs at least one reward")
        resolved = []
        names = set()
        for reward, weight in parts:
            reward = get_reward(reward)
            weight = float(weight)
            if not math.isfinite(weight):
                raise ValueError(f"weight of reward {getattr(reward, 'name', reward)!r} must be finite")
            label = str(getattr(reward, "name", type(reward).__name__))
            base, k = label, 2
            while label in names:
                label, k = f"{base}_{k}", k + 1
            names.add(label)
            resolved.append((label, reward, weight))
        self.parts = resolved
        self.name = name or "+".join(f"{w:g}*{label}" for label, _, w in resolved)
        first = resolved[0][1]
        self.parse_mode = getattr(first, "parse_mode", "strict")
        self.component_names = tuple(
            f"{label}.{c}" for label, reward, _ in resolved for c in getattr(reward, "component_names", ("total",))
        )

    def replace(self, **overrides: Any) -> WeightedSum:
        """A copy with ``parse_mode`` set on every part (the only setting a sum has of its own)."""
        unknown = sorted(set(overrides) - {"parse_mode"})
        if unknown:
            raise TypeError(f"reward {self.name!r} has no setting {unknown}; change its parts instead")
        parse_mode = check_parse_mode(overrides["parse_mode"]) if overrides else self.parse_mode
        parts = []
        for label, reward, w in self.parts:
            try:
                parts.append((get_reward(reward, parse_mode=parse_mode), w))
            except TypeError as exc:
                raise TypeError(f"reward {self.name!r}: part {label!r} cannot take parse_mode={parse_mode!r} "
                                f"({exc}); give it a parse_mode setting and a replace method") from exc
        return WeightedSum(parts, name=self.name)

    def __call__(
        self, response: str, gold: Action, *, step: Step | None = None, tokens: TokenInfo | None = None
    ) -> RewardBreakdown:
        total = 0.0
        components: dict[str, float] = {}
        parse_error: str | None = None
        parsed: ParsedResponse | None = None
        notes: dict[str, str] = {}
        for i, (label, reward, weight) in enumerate(self.parts):
            result = as_breakdown(reward(response, gold, step=step, tokens=tokens), source=f"reward {label!r}")
            total += weight * result.total
            for key, value in result.components.items():
                components[f"{label}.{key}"] = weight * value
            for key, note in result.notes.items():
                notes[f"{label}.{key}"] = note
            if i == 0:
                parse_error, parsed = result.parse_error, result.parsed
        return RewardBreakdown(total=total, components=components, parse_error=parse_error, parsed=parsed,
                               notes=notes)

    def config(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "parts": [
                {"weight": w, "reward": reward.config() if hasattr(reward, "config") else repr(reward)}
                for _, reward, w in self.parts
            ],
        }

    def max_total(self, gold: Action, step: Step | None = None) -> float:
        """Upper bound for ``gold``: each part's ``max_total`` (``min_total`` where the weight is negative)."""
        total = 0.0
        for _, reward, w in self.parts:
            if w < 0:
                total += w * reward.min_total()
            else:
                total += w * best_total(reward, gold, step)
        return total

    def min_total(self) -> float:
        """Lower bound over every gold action: uses each part's ``min_total`` (and, for a
        negative weight, requires the part's ``max_total`` to be gold-independent)."""
        total = 0.0
        for label, reward, w in self.parts:
            if w >= 0:
                total += w * reward.min_total()
            else:
                bound = getattr(reward, "max_total_any", None)
                if bound is None:
                    raise TypeError(f"min_total of a negatively weighted part {label!r} needs max_total_any()")
                total += w * bound()
        return total

    def __repr__(self) -> str:
        return f"WeightedSum({self.name!r})"


def weighted_sum(parts: Mapping[Any, float] | Sequence[tuple[Any, float]], name: str | None = None) -> WeightedSum:
    """Combine rewards (names or objects) with weights: ``weighted_sum({"shop_r1": 1, my_shaper: 0.1})``."""
    items = list(parts.items()) if isinstance(parts, Mapping) else list(parts)
    return WeightedSum(items, name=name)


# --------------------------------------------------------------------------- registry

_REGISTRY: dict[str, Any] = {}
_BUILTINS_LOADED = False


def register_reward(name: str) -> Callable[[Any], Any]:
    """Decorator that makes a reward class or shaper function available by name.

    A class is instantiated by :func:`get_reward` with the overrides as keyword
    arguments; a function is wrapped in :class:`FunctionReward` with the overrides passed
    to it on every call. The decorated object is returned unchanged.

    Args:
        name: the name to look it up by; re-registering a name replaces the old entry.
    """
    if not isinstance(name, str) or not name:
        raise ValueError("reward name must be a non-empty string")

    def decorator(obj: Any) -> Any:
        if not callable(obj):
            raise TypeError(f"register_reward({name!r}) needs a class or a function, got {type(obj).__name__}")
        _REGISTRY[name] = obj
        return obj

    return decorator


def _load_builtins() -> None:
    global _BUILTINS_LOADED
    if not _BUILTINS_LOADED:
        _BUILTINS_LOADED = True
        from . import presets  # noqa: F401 - registers the presets on import


def _entry_points() -> dict[str, Any]:
    from importlib.metadata import entry_points

    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def available_rewards() -> list[str]:
    """Names :func:`get_reward` accepts: built-ins, registered shapers and entry points."""
    _load_builtins()
    return sorted(set(_REGISTRY) | set(_entry_points()))


def _with_overrides(reward: Any, overrides: dict[str, Any]) -> Any:
    """A copy of a reward object with some settings changed (dataclasses, or a ``replace`` method)."""
    replace = getattr(reward, "replace", None)
    if callable(replace):
        return replace(**overrides)
    if dataclasses.is_dataclass(reward) and not isinstance(reward, type):
        known = {f.name for f in dataclasses.fields(reward)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise TypeError(f"reward {getattr(reward, 'name', reward)!r} has no setting {unknown}")
        return dataclasses.replace(reward, **overrides)
    raise TypeError(f"cannot apply overrides {sorted(overrides)} to a {type(reward).__name__}; pass a reward name")


def get_reward(name: str | Reward, **overrides: Any) -> Reward:
    """Resolve a reward by name, or pass a reward object through.

    Args:
        name: a registered name (``"shop_r1"``, ``"binary"``, ``"no_dars"``, ...), an
            entry-point name from the ``shop_r1.rewards`` group, or an object that is
            already a reward (returned as is, or wrapped if it is a plain function;
            with overrides, a changed copy of a dataclass reward).
        **overrides: settings to change, for example ``dars_factor=100`` or
            ``parse_mode="lenient"``.

    Returns:
        A reward with the shared call shape.

    Raises:
        KeyError: unknown name (the message lists the known ones).
        TypeError: an override the reward does not have.
    """
    if not isinstance(name, str):
        if inspect.isfunction(name) or inspect.ismethod(name):
            return FunctionReward(name, **overrides)
        if overrides:
            return _with_overrides(name, overrides)
        if inspect.isclass(name):
            return name()
        if isinstance(name, (FunctionReward, WeightedSum)) or hasattr(name, "config"):
            return name
        if callable(name):
            return name
        raise TypeError(f"a reward must be a name or a callable, got {type(name).__name__}")
    _load_builtins()
    target = _REGISTRY.get(name)
    if target is None:
        entry = _entry_points().get(name)
        if entry is None:
            raise KeyError(f"unknown reward {name!r}; available: {', '.join(available_rewards())}")
        try:
            target = entry.load()
        except Exception as exc:
            raise ImportError(f"reward {name!r} (entry point {entry.value!r}) failed to load: {exc}") from exc
        if not callable(target):
            raise TypeError(f"entry point {name!r} ({entry.value!r}) is not a class or function")
        _REGISTRY[name] = target
    factory = getattr(target, "_reward_factory", None)
    if factory is not None:
        return factory(**overrides)
    if inspect.isclass(target):
        try:
            return target(**overrides)
        except TypeError as exc:
            raise TypeError(f"reward {name!r}: {exc}") from exc
    return FunctionReward(target, name=name, **overrides)


def check_settings(obj: Any, non_negative: tuple[str, ...] = (), finite: tuple[str, ...] = ()) -> None:
    """Every named setting of a reward is a finite number (and the ``non_negative`` ones >= 0)."""
    for name in non_negative + finite:
        value = getattr(obj, name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"{type(obj).__name__}.{name} must be a finite number, got {value!r}")
    for name in non_negative:
        if getattr(obj, name) < 0:
            raise ValueError(
                f"{type(obj).__name__}.{name} must be >= 0, got {getattr(obj, name)!r} "
                "(combine rewards with weighted_sum for penalties)"
            )
    check_parse_mode(getattr(obj, "parse_mode", "strict"), owner=type(obj).__name__)
