"""Evaluation metrics as pure functions: exact match, type accuracy, macro-F1, bootstrap CIs,
and the paired comparison of two systems on the same steps.

The benchmarks and the trainers' evaluations call these, so there is one definition of
"correct" in the project (SPEC section 4), sharing the similarity rule with the reward.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

import numpy as np

from shop_env.core.types import ACTION_TYPES, Action

from .similarity import DEFAULT_TOKENIZATION, rouge_l_f1

__all__ = [
    "CI_METRICS",
    "compute_metrics",
    "exact_match",
    "grounding_metrics",
    "macro_f1_from_confusion",
    "metrics_from_records",
    "outcome_f1",
    "paired_difference",
    "type_match",
    "weighted_f1",
]

#: Metrics that get a bootstrap confidence interval.
CI_METRICS: tuple[str, ...] = ("exact_match", "type_accuracy", "type_macro_f1")
_LABEL_INDEX = {t: i for i, t in enumerate(ACTION_TYPES)}
_INVALID = len(ACTION_TYPES)  # column for unparsed predictions (None)


def exact_match(pred: Action | None, gold: Action, *, text_threshold: float = 0.75,
                tokenization: str = DEFAULT_TOKENIZATION) -> bool:
    """SPEC section 4's exact action match.

    The type matches; for ``click`` the ``name`` is identical; for ``type_and_submit`` the
    ``name`` is identical and the ``text`` has ROUGE-L F1 >= ``text_threshold`` to the gold
    text [choice], tokenized by ``tokenization`` (``"words"``, the default, or the older
    ``"whitespace"``: :mod:`rewards.similarity`); ``terminate`` needs nothing more. ``None``
    (unparsed) never matches.
    """
    if pred is None or pred.type != gold.type:
        return False
    if gold.type == "click":
        return pred.name == gold.name
    if gold.type == "type_and_submit":
        return pred.name == gold.name and rouge_l_f1(pred.text, gold.text, kind="text",
                                                     tokenization=tokenization) >= text_threshold
    return True


def type_match(pred: Action | None, gold: Action) -> bool:
    """True when a prediction exists and has the gold action's type."""
    return pred is not None and pred.type == gold.type


def macro_f1_from_confusion(confusion: Sequence[Sequence[float]]) -> float:
    """Macro-F1 over action types from a confusion matrix (rows gold, columns predicted).

    The matrix may carry one extra last column of unparsed predictions, which count as
    misses for the gold class. A class absent from both the golds and the parsed
    predictions is left out of the average (as scikit-learn does with ``labels=None``); a
    class predicted but never gold, or gold but never predicted, scores F1 = 0.

    Returns:
        The macro-F1 in [0, 1]; 0.0 when no class is present at all.
    """
    k = len(ACTION_TYPES)
    scores = []
    for c in range(k):
        tp = confusion[c][c]
        gold_count = sum(confusion[c])
        pred_count = sum(confusion[r][c] for r in range(k))
        if gold_count == 0 and pred_count == 0:
            continue
        denom = gold_count + pred_count
        scores.append(2.0 * tp / denom if denom else 0.0)
    return float(sum(scores) / len(scores)) if scores else 0.0


def compute_metrics(
    preds: Sequence[Action | None],
    golds: Sequence[Action],
    session_ids: Sequence[str] | None = None,
    *,
    n_bootstrap: int = 1000,
    seed: int = 0,
    ci_level: float = 0.95,
    text_threshold: float = 0.75,
    tokenization: str = DEFAULT_TOKENIZATION,
) -> dict[str, Any]:
    """Every evaluation metric of SPEC section 4, with bootstrap confidence intervals.

    Args:
        preds: predicted actions, ``None`` where the response did not parse.
        golds: ground-truth actions, same length.
        session_ids: the session of each step; when given, the bootstrap resamples whole
            sessions (steps of one session are not independent), else single steps.
        n_bootstrap: bootstrap resamples (0 disables the intervals).
        seed: seed of the bootstrap's random generator.
        ci_level: coverage of the percentile intervals.
        text_threshold: ROUGE-L threshold of the type_and_submit text rule.
        tokenization: how that ROUGE-L splits text (:func:`exact_match`).

    Returns:
        ``n``, ``exact_match``, ``type_accuracy``, ``type_macro_f1``, ``invalid`` (share
        of unparsed predictions), ``per_type`` (``{type: {exact_match, type_accuracy,
        support}}``, rates ``None`` where support is 0), ``confusion`` (``{"labels",
        "matrix"}`` 3x3, rows gold, columns predicted, unparsed left out) with
        ``unparsed_by_gold``, and ``ci`` (``{metric: [lo, hi]}``) with ``ci_level``,
        ``ci_unit`` (``"session"`` or ``"step"``) and ``n_bootstrap``.
    """
    n = len(golds)
    if len(preds) != n:
        raise ValueError(f"preds and golds differ in length: {len(preds)} != {n}")
    if n == 0:
        raise ValueError("compute_metrics needs at least one prediction")
    if session_ids is not None and len(session_ids) != n:
        raise ValueError(f"session_ids and golds differ in length: {len(session_ids)} != {n}")
    if not 0.0 < ci_level < 1.0:
        raise ValueError(f"ci_level must be in (0, 1), got {ci_level}")

    k = len(ACTION_TYPES)
    rows = _step_rows(preds, golds, text_threshold, tokenization)
    totals = rows.sum(axis=0)
    confusion_full = totals[2:].reshape(k, k + 1)
    result: dict[str, Any] = _summary(totals, n)
    per_type: dict[str, dict[str, Any]] = {}
    for t in ACTION_TYPES:
        mask = np.fromiter((g.type == t for g in golds), dtype=bool, count=n)
        support = int(mask.sum())
        per_type[t] = {
            "support": support,
            "exact_match": float(rows[mask, 0].mean()) if support else None,
            "type_accuracy": float(rows[mask, 1].mean()) if support else None,
        }
    result["per_type"] = per_type
    result["confusion"] = {
        "labels": list(ACTION_TYPES),
        "matrix": confusion_full[:, :k].tolist(),
        "unparsed_by_gold": confusion_full[:, k].tolist(),
    }

    ci: dict[str, list[float]] = {}
    if n_bootstrap > 0:
        units, unit_n = _unit_sums(rows, session_ids)
        weights = _bootstrap_weights(units.shape[0], n_bootstrap, np.random.default_rng(seed))
        samples = _bootstrap_samples(weights @ units, weights @ unit_n)
        lo_q, hi_q = (1.0 - ci_level) / 2.0, 1.0 - (1.0 - ci_level) / 2.0
        for name in CI_METRICS:
            ci[name] = [float(np.quantile(samples[name], lo_q)), float(np.quantile(samples[name], hi_q))]
    result["ci"] = ci
    result["ci_level"] = ci_level
    result["ci_unit"] = "session" if session_ids is not None else "step"
    result["n_bootstrap"] = int(n_bootstrap)
    return result


def weighted_f1(
    preds: Sequence[str | None], golds: Sequence[str], labels: Sequence[str] | None = None
) -> dict[str, Any]:
    """Support-weighted F1 over string labels (OPeRA's click-type and session-outcome F1).

    A prediction outside ``labels`` (``None``, ``"other"``) is simply wrong: it lowers the
    recall of its gold class and counts toward no class's precision.

    Args:
        preds: predicted labels (``None`` where there is none).
        golds: gold labels.
        labels: the classes; defaults to the sorted gold labels.

    Returns:
        ``n``, ``weighted_f1`` (sum of per-class F1 weighted by gold support, over the
        classes with support), ``macro_f1`` (same classes, unweighted), ``accuracy`` and
        ``per_class`` (``{label: {precision, recall, f1, support}}``).
    """
    n = len(golds)
    if len(preds) != n:
        raise ValueError(f"preds and golds differ in length: {len(preds)} != {n}")
    if n == 0:
        raise ValueError("weighted_f1 needs at least one label")
    classes = list(labels) if labels is not None else sorted(set(golds))
    per_class: dict[str, dict[str, float]] = {}
    weighted = 0.0
    macro: list[float] = []
    for c in classes:
        tp = sum(1 for p, g in zip(preds, golds, strict=True) if p == c and g == c)
        predicted = sum(1 for p in preds if p == c)
        support = sum(1 for g in golds if g == c)
        precision = tp / predicted if predicted else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * tp / (predicted + support) if predicted + support else 0.0
        per_class[c] = {"precision": precision, "recall": recall, "f1": f1, "support": support}
        if support:
            weighted += support * f1
            macro.append(f1)
    supported = sum(v["support"] for v in per_class.values())
    return {
        "n": n,
        "weighted_f1": weighted / supported if supported else 0.0,
        "macro_f1": sum(macro) / len(macro) if macro else 0.0,
        "accuracy": sum(1 for p, g in zip(preds, golds, strict=True) if p == g) / n,
        "per_class": per_class,
    }


def outcome_f1(preds: Sequence[str | None], golds: Sequence[str]) -> dict[str, Any]:
    """OPeRA's session-outcome weighted F1 over ``purchase`` vs ``terminate`` (see :func:`weighted_f1`)."""
    return weighted_f1(preds, golds, labels=("purchase", "terminate"))


def paired_difference(
    preds_a: Sequence[Action | None],
    preds_b: Sequence[Action | None],
    golds: Sequence[Action],
    session_ids: Sequence[str] | None = None,
    *,
    n_bootstrap: int = 1000,
    n_permutations: int = 10000,
    seed: int = 0,
    ci_level: float = 0.95,
    text_threshold: float = 0.75,
) -> dict[str, Any]:
    """How far system B is from system A on the same steps: paired bootstrap CI and permutation test.

    Both systems answered the same gold steps, so one resample of sessions (or steps) is
    applied to both and the difference is taken inside each resample: the variation between
    sessions that both systems share stays out of the interval, which two separate CIs
    cannot do. The p-value comes from a paired permutation test: under "A and B are
    exchangeable", swapping the two systems' answers within a session is as likely as not,
    so the observed difference is compared with the differences under random swaps.

    Returns:
        ``n``, ``ci_level``, ``ci_unit``, ``n_bootstrap``, ``n_permutations`` and, for each
        metric of :data:`CI_METRICS`, ``{"a", "b", "difference" (b - a), "ci" ([lo, hi] of
        the difference), "p_value" (two-sided)}``; ``exact_match`` also has ``only_a`` and
        ``only_b``, the steps exact for one system and not the other.
    """
    n = len(golds)
    if len(preds_a) != n or len(preds_b) != n:
        raise ValueError(f"preds_a ({len(preds_a)}), preds_b ({len(preds_b)}) and golds ({n}) differ in length")
    if n == 0:
        raise ValueError("paired_difference needs at least one step")
    if n_bootstrap < 1 or n_permutations < 1:
        raise ValueError(f"n_bootstrap and n_permutations must be at least 1, got {n_bootstrap}, {n_permutations}")
    if not 0.0 < ci_level < 1.0:
        raise ValueError(f"ci_level must be in (0, 1), got {ci_level}")
    rows_a = _step_rows(preds_a, golds, text_threshold)
    rows_b = _step_rows(preds_b, golds, text_threshold)
    units_a, unit_n = _unit_sums(rows_a, session_ids)
    units_b, _ = _unit_sums(rows_b, session_ids)
    weights = _bootstrap_weights(units_a.shape[0], n_bootstrap, np.random.default_rng(seed))
    counts = weights @ unit_n
    boot_a = _bootstrap_samples(weights @ units_a, counts)
    boot_b = _bootstrap_samples(weights @ units_b, counts)
    # 1: this unit's answers change sides; a stream of its own, so p does not depend on n_bootstrap
    swap = np.random.default_rng([seed, 1]).integers(0, 2, size=(n_permutations, units_a.shape[0]))
    total = np.full(n_permutations, n)
    perm_a = _bootstrap_samples((1 - swap) @ units_a + swap @ units_b, total)
    perm_b = _bootstrap_samples(swap @ units_a + (1 - swap) @ units_b, total)
    point_a, point_b = _summary(rows_a.sum(axis=0), n), _summary(rows_b.sum(axis=0), n)
    lo_q, hi_q = (1.0 - ci_level) / 2.0, 1.0 - (1.0 - ci_level) / 2.0
    result: dict[str, Any] = {"n": n, "ci_level": ci_level, "n_bootstrap": int(n_bootstrap),
                              "n_permutations": int(n_permutations),
                              "ci_unit": "session" if session_ids is not None else "step"}
    for name in CI_METRICS:
        observed = point_b[name] - point_a[name]
        boot = boot_b[name] - boot_a[name]
        # a swap as extreme as observed counts (ties included, up to float rounding of equal rates)
        extreme = np.abs(perm_b[name] - perm_a[name]) >= abs(observed) - 1e-12
        result[name] = {
            "a": point_a[name],
            "b": point_b[name],
            "difference": observed,
            "ci": [float(np.quantile(boot, lo_q)), float(np.quantile(boot, hi_q))],
            "p_value": float((1 + extreme.sum()) / (1 + n_permutations)),
        }
    result["exact_match"]["only_a"] = int(((rows_a[:, 0] == 1) & (rows_b[:, 0] == 0)).sum())
    result["exact_match"]["only_b"] = int(((rows_b[:, 0] == 1) & (rows_a[:, 0] == 0)).sum())
    return result


def _step_rows(preds: Sequence[Action | None], golds: Sequence[Action], text_threshold: float,
               tokenization: str = DEFAULT_TOKENIZATION) -> np.ndarray:
    """One row of counts per step: [exact, type_ok, confusion cells (3 gold x 4 predicted)]."""
    k = len(ACTION_TYPES)
    rows = np.zeros((len(golds), 2 + k * (k + 1)), dtype=np.int64)
    for i, (pred, gold) in enumerate(zip(preds, golds, strict=True)):
        if not isinstance(gold, Action):
            raise TypeError(f"golds[{i}] must be an Action, got {type(gold).__name__}")
        if pred is not None and not isinstance(pred, Action):
            raise TypeError(f"preds[{i}] must be an Action or None, got {type(pred).__name__}")
        rows[i, 0] = exact_match(pred, gold, text_threshold=text_threshold, tokenization=tokenization)
        rows[i, 1] = type_match(pred, gold)
        col = _INVALID if pred is None else _LABEL_INDEX[pred.type]
        rows[i, 2 + _LABEL_INDEX[gold.type] * (k + 1) + col] = 1
    return rows


def _unit_sums(rows: np.ndarray, session_ids: Sequence[str] | None) -> tuple[np.ndarray, np.ndarray]:
    """Rows summed per resampling unit (a session when ids are given, else a step), and unit sizes."""
    n = rows.shape[0]
    if session_ids is None:
        return rows, np.ones(n, dtype=np.int64)
    if len(session_ids) != n:
        raise ValueError(f"session_ids and golds differ in length: {len(session_ids)} != {n}")
    groups: dict[str, int] = {}
    index = np.fromiter((groups.setdefault(s, len(groups)) for s in session_ids), dtype=np.int64, count=n)
    units = np.zeros((len(groups), rows.shape[1]), dtype=np.int64)
    np.add.at(units, index, rows)
    return units, np.bincount(index, minlength=len(groups))


def _bootstrap_weights(units: int, n_bootstrap: int, rng: np.random.Generator) -> np.ndarray:
    """How often each unit is drawn in each resample (with replacement)."""
    return rng.multinomial(units, np.full(units, 1.0 / units), size=n_bootstrap)


def _bootstrap_samples(sums: np.ndarray, counts: np.ndarray) -> dict[str, np.ndarray]:
    """Each CI metric in each resample (or permutation), from its summed rows and step count."""
    samples = {name: np.empty(len(sums)) for name in CI_METRICS}
    for b in range(len(sums)):
        summary = _summary(sums[b], int(counts[b]))
        for name in CI_METRICS:
            samples[name][b] = summary[name]
    return samples


def _summary(totals: np.ndarray, n: int) -> dict[str, Any]:
    k = len(ACTION_TYPES)
    confusion = totals[2:].reshape(k, k + 1).tolist()
    return {
        "n": int(n),
        "exact_match": float(totals[0]) / n if n else 0.0,
        "type_accuracy": float(totals[1]) / n if n else 0.0,
        "type_macro_f1": macro_f1_from_confusion(confusion),
        "invalid": float(sum(row[k] for row in confusion)) / n if n else 0.0,
    }


#: ``(session_id, step_index) -> (names on the page, names in the part of it the model was shown)``.
PageNames = Callable[[str, int], tuple[Collection[str], Collection[str]]]


def grounding_metrics(records: Sequence[Mapping[str, Any]], pages: PageNames) -> dict[str, Any]:
    """Whether answers name elements that exist: ``name_on_page`` is the share of parsed click
    and type_and_submit answers whose ``name`` is on the step's page, ``name_in_context`` the
    share whose name is in the part of the page the model was shown (the page cut to the token
    budget, when it was cut). Both are ``None`` when no answer names an element; ``grounding``
    holds the counts, also per action type."""
    counts = {t: [0, 0, 0] for t in ("click", "type_and_submit")}  # answers, on page, in context
    for r in records:
        pred = r.get("predicted_action")
        if not pred or pred.get("type") not in counts:
            continue
        on_page, shown = pages(r["session_id"], int(r["step_index"]))
        name = pred.get("name")
        row = counts[pred["type"]]
        row[0] += 1
        row[1] += name in on_page
        row[2] += name in shown
    n = sum(c[0] for c in counts.values())

    def share(i: int, rows: Any) -> float | None:
        total = sum(c[0] for c in rows)
        return sum(c[i] for c in rows) / total if total else None

    return {
        "name_on_page": share(1, counts.values()),
        "name_in_context": share(2, counts.values()),
        "grounding": {"named_answers": n, "on_page": sum(c[1] for c in counts.values()),
                      "in_context": sum(c[2] for c in counts.values()),
                      "by_type": {t: {"answers": c[0], "name_on_page": share(1, [c]), "name_in_context": share(2, [c])}
                                  for t, c in counts.items()}},
    }


def metrics_from_records(records: Sequence[Mapping[str, Any]], *, n_bootstrap: int = 1000, seed: int = 0,
                         reward: Any = "shop_r1", tokenization: str = DEFAULT_TOKENIZATION,
                         pages: PageNames | None = None) -> dict[str, Any]:
    """The paper's metrics plus reward means, parse failures, disagreement and outcome F1.

    ``reward`` is the reward the records were scored with; the disagreement rate (a reward
    of at least half the best for the gold action while exact match is 0) comes from
    :func:`rewards.analysis.disagreement` under it. With ``pages`` (the element names of each
    step's page and of the part shown), the grounding metrics of :func:`grounding_metrics`
    (``name_on_page``, ``name_in_context``) are added.
    """
    from shop_env.core.types import Step

    from .analysis import disagreement
    from .base import best_total, get_reward

    preds = [Action.from_dict(r["predicted_action"]) if r["predicted_action"] else None for r in records]
    golds = [Action.from_dict(r["gold_action"]) for r in records]
    sids = [r["session_id"] for r in records]
    m = compute_metrics(preds, golds, sids, n_bootstrap=n_bootstrap, seed=seed, tokenization=tokenization)
    n = len(records)
    components: dict[str, float] = {}
    for r in records:
        for k, v in r["reward"]["components"].items():
            components[k] = components.get(k, 0.0) + float(v)
    m["reward_mean"] = sum(float(r["reward"]["total"]) for r in records) / n
    m["reward_components_mean"] = {k: v / n for k, v in sorted(components.items())}
    m["parse_failure_rate"] = sum(1 for r in records if r["parse_error"]) / n
    steps = [Step(html="", action=g, click_type=r.get("click_type")) for g, r in zip(golds, records, strict=True)]
    scorer = get_reward(reward)
    try:
        best_total(scorer, golds[0], steps[0])
    except (TypeError, AttributeError):  # a user's shaper may declare no max_total: no "high reward"
        m["reward_exact_disagreement_rate"] = None
    else:
        report = disagreement([r["response"] for r in records], golds, scorer, steps=steps)
        m["reward_exact_disagreement_rate"] = report["high_reward_not_exact_rate"]
    last = [r for r in records if r["last_step"]]
    if last:
        gold_outcomes = [r.get("session_outcome") or ("purchase" if r.get("click_type") == "purchase" else "terminate")
                         for r in last]
        pred_outcomes = [_predicted_outcome(r) for r in last]
        m["session_outcome"] = outcome_f1(pred_outcomes, gold_outcomes)
    if pages is not None:
        m.update(grounding_metrics(records, pages))
    return m


def _predicted_outcome(record: Mapping[str, Any]) -> str | None:
    """Outcome a model predicts at a session's last step, from its answer alone.

    A session's last step is where the shopper buys or leaves, so ``terminate`` reads as
    leaving and a click as buying (whichever element; a wrong purchase counts against
    purchase precision); typing a query predicts neither (``other``), and an unparsed answer
    predicts nothing (``None``).
    """
    pred = record["predicted_action"]
    if not pred:
        return None
    if pred["type"] == "terminate":
        return "terminate"
    return "purchase" if pred["type"] == "click" else "other"
