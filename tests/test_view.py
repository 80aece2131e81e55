"""benchmarks.view: one self-contained HTML file to browse a benchmark or a simulation run,
checked in headless Chromium (the real-browser set-up; skipped, saying why, without it)."""

from __future__ import annotations

import json
import re

import pytest

from benchmarks.view import collect, main
from shop_env.browser import browser_unavailable


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    from benchmarks.run import main as run_main
    from benchmarks.simulate import main as simulate_main

    root = tmp_path_factory.mktemp("view")
    assert run_main(["--agent", "heuristic", "--agent", "random", "--limit", "3", "--bootstrap", "0",
                     "--no-progress", "--output-path", str(root / "bench")]) == 0
    assert simulate_main(["--agent", "heuristic", "--sessions", "4", "--bootstrap", "10",
                          "--output-path", str(root / "sim")]) == 0
    return root


def test_collects_both_kinds_of_run_and_an_agent_folder(runs):
    bench = collect(runs / "bench")
    assert [a["name"] for a in bench["agents"]] == ["heuristic", "random"]
    heuristic = bench["agents"][0]
    records = [json.loads(line) for line in (runs / "bench" / "heuristic" / "samples.jsonl").open()]
    assert sum(len(s["steps"]) for s in heuristic["sessions"]) == len(records)
    first = heuristic["sessions"][0]["steps"][0]
    assert first["gold"] == records[0]["gold_action"] and first["page"] in bench["pages"]
    sim = collect(runs / "sim" / "heuristic")
    assert sim["agents"][0]["kind"] == "simulation" and len(sim["agents"][0]["sessions"]) == 4
    assert sim["agents"][0]["headline"]["realism distance"] is not None


def test_the_file_is_self_contained(runs, tmp_path):
    out = tmp_path / "r.html"
    assert main([str(runs / "bench"), "--out", str(out)]) == 0
    text = out.read_text()
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", text), "the viewer must not load anything"
    assert "Content-Security-Policy" in text and "default-src 'none'" in text
    assert main([str(tmp_path / "nothing-here")]) == 2


@pytest.mark.skipif(bool(browser_unavailable()), reason=str(browser_unavailable()))
def test_in_chromium_a_chosen_step_highlights_gold_and_prediction(runs, tmp_path):
    from shop_env.browser import Browser

    out = tmp_path / "r.html"
    assert main([str(runs / "bench"), "--out", str(out)]) == 0
    records = [json.loads(line) for line in (runs / "bench" / "heuristic" / "samples.jsonl").open()]
    by_session: dict[str, list] = {}
    for r in records:
        by_session.setdefault(r["session_id"], []).append(r)
    sid = list(by_session)[1]
    wrong = next(r for r in by_session[sid] if r["predicted_action"] and not r["exact_match"])
    with Browser() as browser:
        page = browser.new_page().page
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(out.as_uri())
        assert page.locator("#sessions div").count() == 3
        page.select_option("#status", "wrong")
        page.locator(f'#sessions div[data-id="{sid}"]').click()
        page.locator("#steps button").nth(wrong["step_index"]).click()
        frame = page.frame_locator("#frame")
        gold = frame.locator('[data-viewer~="gold"]')
        pred = frame.locator('[data-viewer~="pred"]')
        assert gold.first.get_attribute("name") == wrong["gold_action"]["name"]
        assert pred.first.get_attribute("name") == wrong["predicted_action"]["name"]
        assert "26, 127, 55" in gold.first.evaluate("e => getComputedStyle(e).outlineColor")
        assert float(page.locator("#reward").inner_text()) == pytest.approx(wrong["reward"]["total"], abs=1e-3)
        assert page.locator("#stepno").inner_text() == f"{wrong['step_index'] + 1} / {wrong['num_steps']}"
        value = page.locator('.component[data-name="format"]').inner_text()
        assert float(value) == pytest.approx(wrong["reward"]["components"]["format"])
        page.select_option("#agent", "1")
        assert page.locator("#agenthead").inner_text().startswith("exact match:")
        assert not errors, errors
