"""``python -m benchmarks.view RUN_DIR [--out report.html]``: browse a benchmark or simulation run.

RUN_DIR is the ``--output-path`` folder of ``benchmarks.run`` or ``benchmarks.simulate`` (or one
agent's folder in it). The viewer is one self-contained HTML file (no server, no network; it
opens from disk): the sessions of every agent with filters (exact, wrong, unparsed, action
type, outcome); for each step the page (the simplified HTML in a sandboxed frame, or the
step's screenshot when it has one) with the gold element outlined green and the predicted one
dashed red, the rationale and the reward breakdown. Benchmark pages come from the corpus the
run names in ``results.json``; simulated sessions carry their own pages.
"""

from __future__ import annotations

import argparse
import base64
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from shop_env.core.atomic import write_text_atomic

__all__ = ["build_view", "collect", "main"]


def _agent_dirs(run_dir: Path) -> list[Path]:
    if (run_dir / "results.json").exists():
        return [run_dir]
    dirs = sorted(p for p in run_dir.iterdir() if p.is_dir() and (p / "results.json").exists())
    if not dirs:
        raise FileNotFoundError(f"{run_dir}: no results.json here or in its folders (a benchmarks.run or "
                                "benchmarks.simulate --output-path folder, or one agent's folder in it)")
    return dirs


def _png(step: Any) -> str | None:
    try:
        data = step.screenshot_png()
    except OSError:
        return None
    return base64.b64encode(data).decode("ascii") if data else None


def _benchmark(folder: Path, result: dict[str, Any], pages: dict[str, str], limit: int | None) -> list[dict[str, Any]]:
    from agents.rollout import read_sample_log
    from shop_env.corpus import load_corpus

    data = result.get("data", {})
    corpus = load_corpus(data.get("source", "demo"), split=data.get("split", "test"))
    by_session: dict[str, list[dict[str, Any]]] = {}
    for r in read_sample_log(folder / "samples.jsonl"):
        by_session.setdefault(r["session_id"], []).append(r)
    out = []
    for sid, records in list(by_session.items())[:limit]:
        session = corpus[corpus.index_of(sid)]
        steps = []
        for r in sorted(records, key=lambda r: r["step_index"]):
            step = session.steps[r["step_index"]]
            key = f"{sid}/{r['step_index']}"
            pages.setdefault(key, step.html)
            parsed = (r.get("reward") or {}).get("parsed") or {}
            pred = r.get("predicted_action")
            status = "unparsed" if pred is None else "exact" if r.get("exact_match") else "wrong"
            steps.append({"page": key, "url": step.url, "gold": r["gold_action"], "pred": pred, "status": status,
                          "rationale": parsed.get("rationale"), "parse_error": r.get("parse_error"),
                          "reward": r.get("reward", {}).get("total"),
                          "components": r.get("reward", {}).get("components", {}), "screenshot": _png(step)})
        out.append({"id": sid, "outcome": session.outcome, "steps": steps,
                    "exact": sum(s["status"] == "exact" for s in steps), "reward": sum(s["reward"] or 0 for s in steps)})
    return out


def _simulation(folder: Path, pages: dict[str, str], limit: int | None) -> list[dict[str, Any]]:
    from shop_env.corpus import load_corpus

    corpus = load_corpus(f"jsonl:{folder / 'sessions.jsonl'}", split=_split_of(folder / "sessions.jsonl"))
    out = []
    for session in list(corpus)[:limit]:
        live = session.metadata.get("live", {})
        rejected, backs = set(live.get("rejected", ())), set(live.get("backs", ()))
        steps = []
        for k, step in enumerate(session.steps):
            key = f"{folder.name}/{session.session_id}/{k}"
            pages[key] = step.html
            steps.append({"page": key, "url": step.url, "gold": None, "pred": step.action.to_dict(),
                          "status": "rejected" if k in rejected else "done", "rationale": step.rationale,
                          "back": k in backs, "click_type": step.click_type, "screenshot": _png(step)})
        out.append({"id": session.session_id, "outcome": session.outcome, "steps": steps,
                    "goal": session.metadata.get("goal"), "reward": session.metadata.get("episode_reward"),
                    "components": session.metadata.get("reward_components", {}),
                    "truncated": bool(live.get("truncated"))})
    return out


def _split_of(path: Path) -> str:
    with path.open() as handle:
        for line in handle:
            if line.strip():
                return json.loads(line).get("split") or "test"
    return "test"


def collect(run_dir: str | Path, limit: int | None = None) -> dict[str, Any]:
    """Everything the viewer shows, as one JSON-able dict: agents, their sessions, the pages."""
    root = Path(run_dir)
    pages: dict[str, str] = {}
    agents = []
    for folder in _agent_dirs(root):
        result = json.loads((folder / "results.json").read_text())
        kind = "simulation" if (folder / "sessions.jsonl").exists() else "benchmark"
        sessions = _simulation(folder, pages, limit) if kind == "simulation" else _benchmark(folder, result, pages, limit)
        m = result.get("metrics", {})
        if kind == "simulation":
            headline = {"realism distance": m.get("realism_distance"), "noise floor": m.get("noise_floor"),
                        "vs floor": m.get("vs_floor"), "purchase rate": m.get("purchase_rate")}
        else:
            headline = {"exact match": m.get("exact_match"), "type accuracy": m.get("type_accuracy"),
                        "mean reward": m.get("reward_mean"), "name on page": m.get("name_on_page")}
        agents.append({"name": folder.name, "kind": kind, "headline": headline, "sessions": sessions,
                       "generated": bool(result.get("generated_data")), "note": result.get("data", {}).get("note")})
    return {"run": root.resolve().name, "agents": agents, "pages": pages}


_CSS = """
body{font:13px system-ui,sans-serif;margin:0;display:flex;height:100vh;color:#1f2328}
#side{width:330px;border-right:1px solid #d0d7de;display:flex;flex-direction:column}
#filters{padding:8px;border-bottom:1px solid #d0d7de;display:grid;grid-template-columns:auto 1fr;gap:4px 6px}
#sessions{overflow:auto;flex:1}#sessions div{padding:5px 8px;cursor:pointer;border-bottom:1px solid #eee}
#sessions div.sel{background:#ddf4ff}#main{flex:1;display:flex;flex-direction:column;min-width:0}
#head{padding:8px;border-bottom:1px solid #d0d7de}#steps{padding:4px 8px;border-bottom:1px solid #d0d7de}
#steps button{margin:2px;border:1px solid #d0d7de;background:#f6f8fa;border-radius:4px;cursor:pointer}
#steps button.exact{background:#dafbe1}#steps button.wrong,#steps button.rejected{background:#ffebe9}
#steps button.unparsed{background:#fff8c5}#steps button.sel{outline:2px solid #0969da}
#detail{padding:8px;border-bottom:1px solid #d0d7de;max-height:30vh;overflow:auto}
#frame{flex:1;border:0;width:100%}#shot{max-width:100%}.gold{color:#1a7f37}.pred{color:#cf222e}
.note{color:#9a6700;font-weight:600}table{border-collapse:collapse}td{padding:1px 8px 1px 0}
"""

_JS = r"""
const D = JSON.parse(document.getElementById('data').textContent);
const $ = id => document.getElementById(id);
let agent = 0, session = null, step = 0;
const HL = '[data-viewer~="gold"]{outline:3px solid #1a7f37!important;background:#dafbe1!important}' +
  '[data-viewer~="pred"]{outline:3px dashed #cf222e!important;outline-offset:2px}';
function fmt(v){ return v === null || v === undefined ? '-' : (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(3)) : String(v)); }
function act(a){ if(!a) return '(none)'; return a.type + (a.name ? ' ' + a.name : '') + (a.text ? ' "' + a.text + '"' : ''); }
function types(s){ const t = new Set(); s.steps.forEach(x => { if(x.gold) t.add(x.gold.type); if(x.pred) t.add(x.pred.type); }); return t; }
function fill(){
  const sel = $('agent'); sel.innerHTML = D.agents.map((a, i) => `<option value="${i}">${a.name} (${a.kind})</option>`).join('');
  const outs = new Set(); D.agents.forEach(a => a.sessions.forEach(s => outs.add(s.outcome)));
  $('outcome').innerHTML = '<option value="">any</option>' + [...outs].map(o => `<option>${o}</option>`).join('');
}
function visible(){
  const a = D.agents[agent], st = $('status').value, ty = $('type').value, oc = $('outcome').value;
  return a.sessions.filter(s => (!st || s.steps.some(x => x.status === st)) && (!ty || types(s).has(ty)) && (!oc || s.outcome === oc));
}
function list(){
  const a = D.agents[agent];
  $('agenthead').innerHTML = Object.entries(a.headline).map(([k, v]) => `${k}: <b>${fmt(v)}</b>`).join(' &middot; ') +
    (a.generated ? '<div class="note">GENERATED data (scripted shoppers, not people)</div>' : '');
  const ss = visible();
  $('count').textContent = ss.length + ' of ' + a.sessions.length + ' sessions';
  $('sessions').innerHTML = ss.map(s => `<div data-id="${s.id}" class="${session && s.id === session.id ? 'sel' : ''}">` +
    `${s.id}<br><small>${s.steps.length} steps &middot; ${s.outcome}` +
    (s.exact !== undefined ? ` &middot; exact ${s.exact}/${s.steps.length}` : '') + ` &middot; reward ${fmt(s.reward)}</small></div>`).join('');
  for (const el of $('sessions').children) el.onclick = () => choose(el.dataset.id, 0);
}
function choose(id, k){ session = D.agents[agent].sessions.find(s => s.id === id); step = k; list(); show(); }
function mark(html, s){
  const doc = new DOMParser().parseFromString(html, 'text/html');
  const tag = (name, label) => { if(!name) return; doc.querySelectorAll('[name]').forEach(el => {
    if (el.getAttribute('name') === name) el.setAttribute('data-viewer', ((el.getAttribute('data-viewer') || '') + ' ' + label).trim()); }); };
  if (s.gold) tag(s.gold.name, 'gold');
  if (s.pred) tag(s.pred.name, 'pred');
  const style = doc.createElement('style'); style.textContent = HL; doc.head.appendChild(style);
  return '<!doctype html>' + doc.documentElement.outerHTML;
}
function show(){
  if (!session) return;
  $('sessionhead').innerHTML = `<b>${session.id}</b> &middot; outcome ${session.outcome}` + (session.goal ? ` &middot; goal: ${session.goal}` : '') +
    (session.truncated ? ' &middot; truncated' : '') + (session.components && Object.keys(session.components).length ?
    ' &middot; episode reward ' + fmt(session.reward) + ' (' + Object.entries(session.components).map(([k, v]) => k + ' ' + fmt(v)).join(', ') + ')' : '');
  $('steps').innerHTML = session.steps.map((x, i) => `<button class="${x.status} ${i === step ? 'sel' : ''}" data-k="${i}">${i + 1}</button>`).join('');
  for (const b of $('steps').children) b.onclick = () => { step = +b.dataset.k; show(); };
  const s = session.steps[step];
  let rows = `<tr><td>step</td><td id="stepno">${step + 1} / ${session.steps.length}</td></tr><tr><td>url</td><td>${s.url || '-'}</td></tr>`;
  if (s.gold) rows += `<tr><td class="gold">gold</td><td id="gold">${act(s.gold)}</td></tr>`;
  rows += `<tr><td class="pred">${s.gold ? 'predicted' : 'action'}</td><td id="pred">${act(s.pred)}</td></tr>`;
  rows += `<tr><td>status</td><td id="status-cell">${s.status}${s.back ? ' (after going back)' : ''}</td></tr>`;
  rows += `<tr><td>rationale</td><td>${s.rationale ? s.rationale.replace(/</g, '&lt;') : '-'}</td></tr>`;
  if (s.parse_error) rows += `<tr><td>parse error</td><td>${s.parse_error.replace(/</g, '&lt;')}</td></tr>`;
  if (s.reward !== undefined) rows += `<tr><td>reward</td><td id="reward">${fmt(s.reward)}</td></tr>` +
    Object.entries(s.components || {}).map(([k, v]) => `<tr><td>&nbsp; ${k}</td><td class="component" data-name="${k}">${fmt(v)}</td></tr>`).join('');
  $('detail').innerHTML = '<table>' + rows + '</table>';
  if (s.screenshot) { $('frame').style.display = 'none'; $('shot').style.display = ''; $('shot').src = 'data:image/png;base64,' + s.screenshot; }
  else { $('shot').style.display = 'none'; $('frame').style.display = ''; $('frame').srcdoc = mark(D.pages[s.page], s); }
}
fill();
['agent', 'status', 'type', 'outcome'].forEach(id => $(id).onchange = () => { if (id === 'agent') { agent = +$('agent').value; session = null; } list(); show(); });
list();
"""


def build_view(data: dict[str, Any]) -> str:
    """The viewer's HTML for :func:`collect`'s data (inline CSS, script and data; nothing fetched)."""
    blob = json.dumps(data, ensure_ascii=False).replace("</", "<\\/")
    title = f"shop-r1-gym run viewer: {data['run']}"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:; frame-src 'self' about: data:">
<style>{_CSS}</style></head><body>
<div id="side"><div id="filters">
<label for="agent">agent</label><select id="agent"></select>
<label for="status">steps</label><select id="status"><option value="">any</option><option>exact</option><option>wrong</option><option>unparsed</option><option>rejected</option></select>
<label for="type">action type</label><select id="type"><option value="">any</option><option>click</option><option>type_and_submit</option><option>terminate</option></select>
<label for="outcome">outcome</label><select id="outcome"></select>
<span></span><span id="count"></span></div><div id="sessions"></div></div>
<div id="main"><div id="head"><div id="agenthead"></div><div id="sessionhead">choose a session</div></div>
<div id="steps"></div><div id="detail"></div>
<iframe id="frame" sandbox="" title="the page"></iframe><img id="shot" alt="the step's screenshot" style="display:none"></div>
<script type="application/json" id="data">{blob}</script>
<script>{_JS}</script></body></html>
"""


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.view", description=__doc__.split("\n\n")[0])
    p.add_argument("run_dir", help="the --output-path folder of benchmarks.run or benchmarks.simulate, or an agent's folder")
    p.add_argument("--out", default=None, help="the HTML file to write (default: RUN_DIR/report.html)")
    p.add_argument("--limit", type=int, default=None, help="at most N sessions per agent")
    args = p.parse_args(argv)
    try:
        data = collect(args.run_dir, args.limit)
    except (FileNotFoundError, KeyError, ValueError) as exc:
        print(f"error: {exc}")
        return 2
    out = Path(args.out) if args.out else Path(args.run_dir) / "report.html"
    write_text_atomic(out, build_view(data))
    sessions = sum(len(a["sessions"]) for a in data["agents"])
    print(f"[benchmarks.view] wrote {out} ({len(data['agents'])} agents, {sessions} sessions, "
          f"{out.stat().st_size / 1e6:.1f} MB); open it in a browser, no server needed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
