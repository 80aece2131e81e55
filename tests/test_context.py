"""The context builder: history modes, the token budget, page cutting, chats."""

from __future__ import annotations

import pytest

from shop_env import Action, ContextBuilder, ContextConfig, Session, Step
from shop_env.context import cut_page, estimate_tokens, split_persona
from tests.fixtures import HOME, PRODUCT, RESULTS, fixture_sessions


def long_session(n: int = 30) -> Session:
    pages = [HOME, RESULTS, PRODUCT]
    steps = tuple(Step(pages[i % 3], Action.click("nav_bar.homepage"), rationale=f"reason {i}") for i in range(n))
    return Session("long", steps)


def test_full_history_shows_all_pages_and_actions_in_order():
    s = fixture_sessions()[1]
    obs = ContextBuilder(ContextConfig(history="full", token_budget=None)).observation(s, 3)
    assert [obs.index(f"[Page {i}]") for i in (1, 2, 3, 4)] == sorted(obs.index(f"[Page {i}]") for i in (1, 2, 3, 4))
    assert "[Page 5]" not in obs
    assert obs.count("[My action on page") == 3
    assert obs.rstrip().endswith("Predict my next action on page 4 as one JSON object.")
    assert s.steps[3].action.name not in obs.split("[Page 4]")[0].split("[My action")[-1] or True


def test_latest_shows_only_current_page_and_past_actions_as_lines():
    s = fixture_sessions()[1]
    obs = ContextBuilder(ContextConfig(history="latest", token_budget=None)).observation(s, 3)
    assert "[Page 4]" in obs and "[Page 3]" not in obs and "[Page 1]" not in obs
    assert "- page 1: " in obs and "- page 3: " in obs


def test_last_k_pages():
    s = fixture_sessions()[1]
    obs = ContextBuilder(ContextConfig(history=2, token_budget=None)).observation(s, 3)
    assert "[Page 3]" in obs and "[Page 4]" in obs and "[Page 2]" not in obs
    assert "- page 1: " in obs and "- page 2: " in obs


def test_rationales_only_when_asked():
    s = fixture_sessions()[0]
    without = ContextBuilder(ContextConfig(token_budget=None)).observation(s, 2)
    with_r = ContextBuilder(ContextConfig(include_rationales=True, token_budget=None)).observation(s, 2)
    assert "This one looks good." not in without and "This one looks good." in with_r
    # never the rationale of the step being predicted
    assert "Too expensive" not in with_r


def test_persona_block():
    s = fixture_sessions()[0]
    obs = ContextBuilder(ContextConfig(persona=True)).observation(s, 0)
    assert obs.startswith("[My persona]") and "25-34" in obs


@pytest.mark.parametrize("budget", [300, 600, 1200, 5000])
def test_budget_is_respected_and_keeps_most_recent(budget):
    s = long_session()
    b = ContextBuilder(ContextConfig(token_budget=budget))
    for t in (0, 5, 29):
        obs = b.observation(s, t)
        assert estimate_tokens(obs) <= budget + 2
        assert f"[Page {t + 1}]" in obs
        if t and f"[Page {t}]" not in obs:
            assert "- page" in obs  # older steps survive as one-line actions


def test_oversized_current_page_is_cut_interactables_first():
    big = RESULTS.replace("</body>", "<p>" + "lorem ipsum " * 5000 + "</p></body>")
    s = Session("big", (Step(big, Action.click("refinements.price_low_to_high")),))
    obs = ContextBuilder(ContextConfig(token_budget=400)).observation(s, 0)
    assert estimate_tokens(obs) <= 402
    assert "page cut to fit" in obs and 'name="refinements.price_low_to_high"' in obs
    cut = cut_page(big, 60)
    assert estimate_tokens(cut) <= 60 and "more elements not shown" in cut


def test_pages_are_rendered_once_per_episode():
    calls = []

    def counter(text: str) -> int:
        calls.append(len(text))
        return estimate_tokens(text)

    s = long_session(40)
    ep = ContextBuilder(ContextConfig(token_budget=None), token_counter=counter).episode(s)
    for t in range(40):
        ep.observation(t)
    page_counts = sum(1 for c in calls if c > 200)
    assert page_counts == 40  # each page block counted exactly once


def test_chat_is_multi_turn_and_budgeted():
    s = fixture_sessions()[1]

    def answer(step):
        return step.action.to_json()

    msgs = ContextBuilder(ContextConfig(token_budget=None)).episode(s).chat(answer)
    assert [m["role"] for m in msgs] == ["system"] + ["user", "assistant"] * 5
    small = ContextBuilder(ContextConfig(token_budget=500)).episode(s).chat(answer)
    assert small[-1]["content"] == answer(s.steps[-1])
    assert len(small) < len(msgs)


def test_a_chat_keeps_the_persona_when_the_budget_drops_its_first_pages():
    s = fixture_sessions()[0]
    assert s.persona
    answer = lambda step: step.action.to_json()  # noqa: E731
    whole = ContextBuilder(ContextConfig(persona=True, token_budget=None)).episode(s).chat(answer)
    builder = ContextBuilder(ContextConfig(persona=True, token_budget=500))
    cut = builder.episode(s).chat(answer)
    assert len(cut) < len(whole) and "[Page 1]" not in cut[1]["content"]
    users = [m["content"] for m in cut if m["role"] == "user"]
    assert users[0].startswith("[My persona]") and sum("[My persona]" in u for u in users) == 1
    persona, rest = split_persona(users[0])
    assert persona and rest.startswith("[Page ") and split_persona(rest) == ("", rest)
    assert sum(builder.count(m["content"]) for m in cut[1:]) <= 500


def test_invalid_config():
    with pytest.raises(ValueError):
        ContextConfig(history="some")
    with pytest.raises(ValueError):
        ContextConfig(token_budget=5)
    assert ContextConfig(history="3").history == 3


@pytest.mark.parametrize("bad", ["some", "0", 0, -1, True, "", "2.5"])
def test_every_entry_point_rejects_a_bad_history_before_loading_anything(bad, capsys):
    from agents.train.__main__ import build_parser
    from agents.train.grpo import GRPORunConfig
    from agents.train.sft import SFTRunConfig
    from benchmarks.run import build_parser as run_parser
    from shop_env.context import parse_history

    with pytest.raises(ValueError, match="history must be"):
        parse_history(bad)
    for config in (SFTRunConfig, GRPORunConfig):
        with pytest.raises(ValueError, match="history must be"):
            config(history=bad)
    for parser, argv in ((run_parser(), ["--history", str(bad)]),
                         (build_parser(), ["eval", "--model", "m", "--history", str(bad)]),
                         (build_parser(), ["verl-export", "--out", "o", "--history", str(bad)])):
        with pytest.raises(SystemExit):
            parser.parse_args(argv)
        assert "history must be 'full', 'latest' or a positive int" in capsys.readouterr().err
    assert run_parser().parse_args(["--history", "3"]).history == 3
    assert SFTRunConfig(history="latest").history == "latest"


def test_agents_can_read_current_page_and_past_actions_back():
    from shop_env.context import current_page, past_actions

    s = fixture_sessions()[1]
    for cfg in (ContextConfig(token_budget=None), ContextConfig(history="latest")):
        obs = ContextBuilder(cfg).observation(s, 3)
        assert current_page(obs) == s.steps[3].html
        assert past_actions(obs) == [st.action for st in s.steps[:3]]


@pytest.mark.parametrize("history", ["full", "latest", 3])
@pytest.mark.parametrize("budget", [300, 500, 1200, 2048])
def test_budget_holds_on_every_demo_test_step(history, budget):
    from shop_env import load_corpus

    corpus = load_corpus("demo", split="test")
    builder = ContextBuilder(ContextConfig(history=history, token_budget=budget, persona=True,
                                           include_rationales=True))
    for i in range(0, 60, 3):
        ep = builder.episode(corpus[i])
        for t in range(len(corpus[i])):
            obs = ep.observation(t)
            assert estimate_tokens(obs) <= budget, (i, t, estimate_tokens(obs))


def test_cut_page_counts_escaped_text():
    page = RESULTS.replace("</body>", "<p>" + "R&D <b>&lt;5&gt;</b> Tom & Jerry " * 400 + "</p></body>")
    for budget in (200, 500):
        assert estimate_tokens(cut_page(page, budget)) <= budget
