"""ShopR1-Live-v0: the store answers the agent's actions (closed loop), on the in-process store."""

from __future__ import annotations

import pickle
import warnings

import gymnasium as gym
import pytest
from gymnasium.utils.env_checker import check_env

import shop_env
from shop_env import Action, load_corpus
from shop_env.core.protocol import format_response
from shop_env.live import LiveShopEnv, click_type_for, goal_match

LIVE_ID = "ShopR1-Live-v0"
GOAL = "i need a pair of men's running shoes in black, size 10, and price lower than 80.00 dollars"


def say(action: Action) -> str:
    return format_response("I do this.", action)


def test_registered_beside_the_replay_ids():
    assert LIVE_ID in shop_env.ENV_IDS and LIVE_ID not in shop_env.REPLAY_ENV_IDS
    env = gym.make(LIVE_ID)
    assert isinstance(env.unwrapped, LiveShopEnv) and env.spec.max_episode_steps == 50


def test_check_env_has_no_warnings():
    env = gym.make(LIVE_ID)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(env.unwrapped)


def _trace(env, seed):
    env.action_space.seed(seed)
    obs, info = env.reset(seed=seed)
    out = [(obs, info["goal"], info["url"])]
    for _ in range(30):
        obs, reward, term, trunc, info = env.step(env.action_space.sample())
        out.append((obs, reward, term, trunc, info.get("url"), info["ok"], info["outcome"]))
        if term or trunc:
            obs, info = env.reset()
            out.append((obs, info["goal"]))
    return out


def test_same_seed_same_episodes_and_pickle_keeps_state():
    a, b = gym.make(LIVE_ID), gym.make(LIVE_ID)
    assert _trace(a, 5) == _trace(b, 5)
    assert _trace(a, 6) != _trace(b, 5)
    env = gym.make(LIVE_ID).unwrapped
    env.reset(seed=1)
    env.step(say(Action.type_and_submit("nav_bar.search_input", "shoes")))
    clone = pickle.loads(pickle.dumps(env))
    answer = say(Action.click("nav_bar.cart"))
    r1, r2 = env.step(answer), clone.step(answer)
    assert r1[:4] == r2[:4] and r1[4]["url"] == r2[4]["url"] == "/cart"


def test_a_shopper_searches_opens_buys_and_is_paid_the_goal_match():
    env = LiveShopEnv()
    obs, info = env.reset(options={"goal": GOAL, "session_key": "test-shop"})
    assert obs.startswith("[My shopping goal]\n" + GOAL) and info["url"] == "/" and info["outcome"] is None
    assert "nav_bar.search_input" in {c.name for c in info["candidates"]}
    obs, reward, term, trunc, info = env.step(say(Action.type_and_submit("nav_bar.search_input", "running shoes")))
    assert info["ok"] and info["url"].startswith("/s?k=running+shoes") and reward == 0.0 and not term
    title = next(c.name for c in info["candidates"] if c.name.endswith(".product_title"))
    _, _, _, _, info = env.step(say(Action.click(title)))
    assert info["url"].startswith("/dp/")
    store = env.backend.store
    product = store.product(env.backend.state)
    for step in (["product_options.color.black"] if "black" in product.colors else []) + (
            ["product_options.size.10"] if "10" in product.sizes else []):
        assert env.step(say(Action.click(step)))[4]["ok"]
    for name in ("add_to_cart.add_to_cart", "cart_side_bar.proceed_to_checkout"):
        _, reward, term, _, info = env.step(say(Action.click(name)))
        assert info["ok"] and not term, info
    _, reward, term, trunc, info = env.step(say(Action.click("checkout.place_order")))
    assert term and not trunc and info["outcome"] == "purchase"
    line = env.backend.purchased()[0]
    assert reward == pytest.approx(goal_match(GOAL, line)["total"]) and 0 < reward <= 1
    assert info["reward"]["components"]["price"] == float(line["price_cents"] <= 8000)
    session = env.recorded_session()
    assert session.outcome == "purchase" and session.steps[0].url == "/" and session.steps[1].url.startswith("/s?")
    assert [s.action.name for s in session.steps][-1] == "checkout.place_order"
    assert session.metadata["generated"] and session.metadata["goal"] == GOAL


def test_goal_match_pays_attributes_options_and_price():
    full = {"title": "Acme Pair of Men's Running Shoes", "color": "black", "size": "10", "price_cents": 5000}
    assert goal_match(GOAL, full)["total"] == pytest.approx(1.0)
    wrong = dict(full, color="red", price_cents=9000)
    m = goal_match(GOAL, wrong)
    assert m["options"] == 0.5 and m["price"] == 0.0 and m["total"] < 1.0


def test_implicit_back_and_its_absence():
    for back, expect_ok in (("implicit", True), ("none", False)):
        env = LiveShopEnv(back=back)
        env.reset(options={"goal": GOAL, "session_key": "test-back"})
        info = env.step(say(Action.type_and_submit("nav_bar.search_input", "running shoes")))[4]
        titles = [c.name for c in info["candidates"] if c.name.endswith(".product_title")]
        env.step(say(Action.click(titles[0])))
        _, _, _, _, info = env.step(say(Action.click(titles[1])))
        assert info["ok"] is expect_ok and info["back"] == (1 if expect_ok else 0)
        session = env.recorded_session()
        assert session.steps[-1].url.startswith("/s?k=") is expect_ok
        assert session.metadata["live"]["backs" if expect_ok else "rejected"] == [2]


def test_unparsed_answers_do_nothing_and_the_step_limit_truncates():
    env = gym.make(LIVE_ID, max_episode_steps=3)
    obs, info = env.reset(seed=0)
    url = info["url"]
    for _ in range(3):
        obs, reward, term, trunc, info = env.step("not json")
        assert info["parse_error"] and info["url"] == url and reward == 0.0
    assert trunc and not term
    rec = env.unwrapped.recorded_session()
    assert len(rec) == 1 and rec.metadata["live"]["no_parsed_action"] and rec.metadata["live"]["parse_failures"] == 3


def test_replayed_session_follows_its_recording_and_loads_as_a_corpus(tmp_path):
    from agents.replay import ReplayAgent
    from shop_env.sources.jsonl import write_jsonl

    corpus = load_corpus("demo", split="valid")
    env = gym.make(LIVE_ID, split="valid", start="session")
    agent = ReplayAgent(corpus)
    recorded = []
    for index in range(8):
        original = corpus[index]
        obs, info = env.reset(options={"session_id": original.session_id})
        assert info["url"].split("?")[0] == original.steps[0].url.split("?")[0]
        done = False
        while not done:
            obs, _, term, trunc, info = env.step(agent.act([obs], [info])[0])
            done = term or trunc
        rec = env.unwrapped.recorded_session()
        assert [s.action for s in rec.steps] == [s.action for s in original.steps]
        assert rec.outcome == original.outcome
        recorded.append(rec)
    path = tmp_path / "sim.jsonl"
    write_jsonl(recorded, path, split="test")
    loaded = load_corpus(f"jsonl:{path}", split="test")
    assert len(loaded) == 8 and loaded[0].metadata["simulated"]
    replay = shop_env.ShopSessionEnv(corpus=loaded, order="sequential")
    obs, info = replay.reset()
    _, _, _, _, info = replay.step(say(info["gold_action"]))
    assert info["scored"]["exact_match"]


def test_click_types_agree_with_the_demo_shoppers_labels():
    corpus = load_corpus("demo", split="test")
    actions = list(corpus.session_actions())
    pairs = [(click_type_for(a), st["ct"]) for i in range(60)
             for st, a in zip(corpus.spec(i)["steps"], actions[i], strict=True) if a.type == "click"]
    agree = sum(mine == theirs for mine, theirs in pairs) / len(pairs)
    assert len(pairs) > 300 and agree >= 0.9, agree


def test_render_and_vector_env():
    env = gym.make(LIVE_ID, render_mode="ansi")
    env.reset(seed=0)
    assert "goal:" in env.render()
    html = gym.make(LIVE_ID, render_mode="html")
    html.reset(seed=0)
    assert html.render().startswith("<html>")
    envs = gym.make_vec(LIVE_ID, num_envs=2, vectorization_mode="sync")
    obs, infos = envs.reset(seed=0)
    assert len(obs) == 2
    for _ in range(5):
        answers = [e.action_space.sample() for e in envs.envs]
        obs, rewards, terms, truncs, infos = envs.step(answers)
        assert rewards.shape == (2,)
    envs.close()


def test_bad_arguments_fail_early():
    with pytest.raises(ValueError, match="store"):
        LiveShopEnv(store="ftp://x")
    with pytest.raises(ValueError, match="live reward"):
        LiveShopEnv(reward="nope")
    with pytest.raises(ValueError, match="start"):
        LiveShopEnv(start="middle")
