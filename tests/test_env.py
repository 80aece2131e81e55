"""ShopSessionEnv against the Gymnasium contract, parametrised over every registered replay id
(the live id, ShopR1-Live-v0, gets the contract tests that fit it in tests/test_live.py)."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
import warnings

import gymnasium as gym
import pytest
from gymnasium.utils.env_checker import check_env

import shop_env
from rewards.parsing import format_response
from shop_env import Action, ShopSessionEnv
from tests.fixtures import fixture_corpus

ENV_IDS = sorted(shop_env.REPLAY_ENV_IDS)
EXPECTED = {"click": 1001.0, "type_and_submit": 1001.1, "terminate": 0.8}


def oracle(info) -> str:
    return format_response("I do what the shopper did.", info["gold_action"])


def make(env_id, **kw):
    kw.setdefault("corpus", fixture_corpus())
    return gym.make(env_id, **kw)


def rollout(env, seed, policy=None, episodes=2):
    out = []
    obs, info = env.reset(seed=seed)
    for _ in range(episodes):
        done = False
        trace = [(obs, info["session_id"], info["step_index"])]
        while not done:
            action = policy(info) if policy else env.action_space.sample()
            obs, reward, term, trunc, info = env.step(action)
            done = term or trunc
            trace.append((obs, reward, term, trunc, json.dumps(info["scored"]["reward"], sort_keys=True)))
        out.append(trace)
        obs, info = env.reset()
    return out


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_check_env_has_no_warnings(env_id):
    env = make(env_id)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env.unwrapped)
    relevant = [str(w.message) for w in caught if "shop_env" in str(w.filename) or "gymnasium" in str(w.filename)]
    assert not relevant, relevant


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_same_seed_same_rollout(env_id):
    a, b = make(env_id), make(env_id)
    a.action_space.seed(3)
    b.action_space.seed(3)
    assert rollout(a, seed=7) == rollout(b, seed=7)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_pickle_round_trip_keeps_state(env_id):
    env = make(env_id)
    obs, info = env.reset(seed=1)
    clone = pickle.loads(pickle.dumps(env))
    answer = oracle(info)
    r1 = env.step(answer)
    r2 = clone.step(answer)
    assert r1[0] == r2[0] and r1[1] == r2[1] and r1[2:4] == r2[2:4]


@pytest.mark.parametrize("env_id", ENV_IDS)
@pytest.mark.parametrize("mode", ["ansi", "html"])
def test_render_modes(env_id, mode):
    env = make(env_id, render_mode=mode)
    env.reset(seed=0)
    first = env.render()
    assert isinstance(first, str) and first
    if mode == "html":
        assert first.startswith("<html>")
    env.step('{"rationale": "x", "action": {"type": "terminate"}}')
    assert isinstance(env.render(), str)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_vector_env_smoke(env_id):
    envs = gym.make_vec(env_id, num_envs=2, vectorization_mode="sync", corpus=fixture_corpus())
    obs, infos = envs.reset(seed=0)
    assert len(obs) == 2 and all(isinstance(o, str) for o in obs)
    for _ in range(6):
        obs, rewards, terms, truncs, infos = envs.step(envs.action_space.sample())
        assert rewards.shape == (2,)
    envs.close()


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_oracle_earns_the_table_maximum_on_fixture(env_id):
    env = make(env_id)
    reward_name = env.unwrapped.reward.name
    seen = set()
    obs, info = env.reset(seed=0)
    for _ in range(20):
        gold = info["gold_action"]
        obs, reward, term, trunc, info = env.step(oracle(info))
        scored = info["scored"]
        assert scored["exact_match"] and scored["parse_error"] is None
        if reward_name == "binary":
            assert reward == 1.0
        else:
            assert reward == pytest.approx(EXPECTED[gold.type], abs=1e-9)
        seen.add(gold.type)
        if term or trunc:
            obs, info = env.reset()
    assert seen == {"click", "type_and_submit", "terminate"}


def test_oracle_on_one_pass_over_demo_test_split():
    env = ShopSessionEnv(corpus="demo", split="test", order="sequential")
    totals, n = {}, 0
    for i in range(env.num_episodes):
        obs, info = env.reset(options={"session_index": i})
        done = False
        while not done:
            gold = info["gold_action"]
            obs, reward, term, trunc, info = env.step(oracle(info))
            assert reward == pytest.approx(EXPECTED[gold.type], abs=1e-9), (info["session_id"], gold)
            totals[gold.type] = totals.get(gold.type, 0) + 1
            n += 1
            done = term or trunc
    assert n == sum(len(s) for s in env.corpus) and set(totals) == {"click", "type_and_submit", "terminate"}


def test_bad_answers_score_zero_with_reason():
    env = ShopSessionEnv(corpus=fixture_corpus())
    env.reset(seed=0)
    for bad in ["", "not json", "{", '{"rationale": 3, "action": {}}', "\x00" * 10, None, 12]:
        env.reset(options={"session_index": 0})
        _, reward, *_, info = env.step(bad)
        assert reward == 0.0
        assert info["scored"]["parse_error"]


def test_info_contract_and_explicit_episode_choice():
    env = ShopSessionEnv(corpus=fixture_corpus(), with_candidates=True)
    sid = fixture_corpus()[1].session_id
    obs, info = env.reset(options={"session_id": sid, "start_step": 2})
    assert info["session_id"] == sid and info["step_index"] == 2
    assert info["gold_action"] == Action.click("results.usb_microphone_lite.product_title")
    names = {c.name for c in info["candidates"]}
    assert info["gold_action"].name in names
    obs, reward, term, trunc, info = env.step(oracle(info))
    assert info["scored"]["gold_action"].name == "results.usb_microphone_lite.product_title"
    assert info["step_index"] == 3
    # run to the end: gold_action becomes None once terminated
    while not term:
        obs, reward, term, trunc, info = env.step(oracle(info))
    assert info["gold_action"] is None and obs == ""
    with pytest.raises(RuntimeError):
        env.step("x")


def test_step_mode_visits_every_step_once_per_epoch_and_shards_partition():
    corpus = fixture_corpus()
    total_steps = sum(len(s) for s in corpus)
    seen = []
    for rank in range(2):
        env = ShopSessionEnv(corpus=corpus, episode="step", order="sequential", shard=(rank, 2))
        for _ in range(env.num_episodes):
            _, info = env.reset()
            assert info["epoch"] == 0
            seen.append((info["session_id"], info["step_index"]))
            *_, term, trunc, _ = env.step("junk")
            assert term
        _, info = env.reset()
        assert info["epoch"] == 1
    assert len(seen) == total_steps == len(set(seen))


def test_max_steps_truncates():
    env = ShopSessionEnv(corpus=fixture_corpus(), max_steps=1)
    _, info = env.reset(options={"session_index": 1})
    _, _, term, trunc, _ = env.step(oracle(info))
    assert trunc and not term


def test_action_space_samples_valid_answers_for_the_page():
    from rewards.parsing import parse_response

    env = ShopSessionEnv(corpus=fixture_corpus())
    env.reset(seed=0)
    env.action_space.seed(0)
    for _ in range(50):
        parsed = parse_response(env.action_space.sample())
        assert parsed.ok, parsed.error


def test_import_in_fresh_process_registers_and_stays_light():
    code = (
        "import sys, gymnasium as gym, shop_env\n"
        "assert 'torch' not in sys.modules and 'transformers' not in sys.modules\n"
        "env = gym.make('ShopR1-v0'); obs, info = env.reset(seed=0)\n"
        "assert isinstance(obs, str) and info['gold_action'] is not None\n"
        "env2 = gym.make('shop_env:ShopR1-v0'); env2.reset(seed=0)\n"
        "assert 'torch' not in sys.modules\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_empty_shard_is_a_clear_error():
    env = ShopSessionEnv(corpus=fixture_corpus(), shard=(3, 4))
    with pytest.raises(ValueError, match="holds no episodes"):
        env.reset(seed=0)
