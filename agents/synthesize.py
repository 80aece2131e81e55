"""Fill in missing rationales with an LLM: the paper's SFT data step.

Real shoppers rarely say why they act (OPeRA has 604 self-reported rationales), so the paper
had a strong LLM write one for every other step from the page and the action, then trained
on them. :func:`synthesize_corpus` does that with any backend (an OpenAI-compatible server is
the realistic choice; a small local model writes poor rationales) and writes a JSONL corpus
whose generated rationales are marked ``rationale_source="synthesized"``.

Runs are resumable: finished sessions are appended to ``OUTPUT.partial`` as they complete,
a rerun skips every session already in ``OUTPUT`` or ``OUTPUT.partial``, and at the end the
whole corpus is written to ``OUTPUT`` atomically (``write_jsonl``) and the sidecar removed.

CLI::

    python -m agents.synthesize --source demo --split train --backend openai --model M \\
        --base-url http://127.0.0.1:8000/v1 --output out.jsonl --limit 100
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import json
import logging
import os
import re
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from shop_env.core.atomic import json_text
from shop_env.core.protocol import is_unicode_text
from shop_env.core.types import Session, Step
from shop_env.corpus import Corpus, ListCorpus, first_sessions
from shop_env.prompt import RATIONALE_SYNTHESIS_PROMPT

from .base import Backend, GenerationConfig, Messages

__all__ = [
    "SYNTHESIZED",
    "SynthesisReport",
    "clean_rationale",
    "main",
    "rationale_messages",
    "synthesize_corpus",
    "trim_page",
]

log = logging.getLogger(__name__)

#: ``Step.rationale_source`` of a rationale written by this module.
SYNTHESIZED = "synthesized"
DEFAULT_MAX_PAGE_CHARS = 6000
#: Greedy and short: one sentence is asked for.
DEFAULT_CONFIG = GenerationConfig(temperature=0.0, top_p=1.0, max_new_tokens=64, seed=0)


def trim_page(html: str, max_chars: int, target_name: str | None = None) -> str:
    """Cut a page to about ``max_chars`` characters, keeping the action's target in view.

    When the page is too long, its head is kept; if the element named ``target_name`` lies
    beyond the head, half the budget goes to the head and half to a window around the
    target, so the writer still sees what was clicked.
    """
    if max_chars < 200:
        raise ValueError(f"max_chars must be at least 200, got {max_chars}")
    if len(html) <= max_chars:
        return html
    position = html.find(f'name="{target_name}"') if target_name else -1
    if position < 0 or position < max_chars - 200:
        return html[:max_chars] + f"\n...[{len(html) - max_chars} characters cut]"
    half = max_chars // 2
    start = max(half, position - half // 2)
    end = min(len(html), start + half)
    return (html[:half] + f"\n...[{start - half} characters cut]...\n" + html[start:end]
            + (f"\n...[{len(html) - end} characters cut]" if end < len(html) else ""))


def rationale_messages(session: Session, index: int, *, max_page_chars: int = DEFAULT_MAX_PAGE_CHARS,
                       system_prompt: str = RATIONALE_SYNTHESIS_PROMPT) -> Messages:
    """The chat asking for the rationale of step ``index`` of ``session``.

    The user turn holds the actions before this step, the (trimmed) page and the action.
    """
    step = session.steps[index]
    history = [f"{i + 1}. {s.action.describe()}" for i, s in enumerate(session.steps[:index])]
    user = (
        "Previous actions:\n" + ("\n".join(history) if history else "(none: this is the first page)")
        + "\n\nContext (simplified HTML of the current page):\n"
        + trim_page(step.html, max_page_chars, step.action.name)
        + "\n\nAction:\n" + step.action.to_json()
    )
    return [{"role": "system", "content": system_prompt}, {"role": "user", "content": user}]


_PREFIX = re.compile(r"^\s*(?:\*\*)?(?:rationale|answer|reason)\s*(?:\*\*)?\s*:\s*(?:\*\*)?\s*", re.IGNORECASE)


def clean_rationale(text: str, *, max_chars: int = 400) -> str | None:
    """One sentence from a model's answer, or ``None`` when nothing usable came back.

    Takes the first non-empty line, drops a ``Rationale:`` label and wrapping quotes, a JSON
    ``{"rationale": ...}`` answer is unwrapped, whitespace is collapsed.
    """
    text = text.strip()
    if text.startswith("{"):
        try:
            data = json.loads(text)
            if isinstance(data, dict) and isinstance(data.get("rationale"), str):
                text = data["rationale"]
        except json.JSONDecodeError:
            pass
    line = next((ln for ln in text.splitlines() if ln.strip()), "")
    line = _PREFIX.sub("", line).strip()
    if len(line) >= 2 and line[0] == line[-1] and line[0] in "\"'`":
        line = line[1:-1].strip()
    line = " ".join(line.split())
    if not line or len(line) > max_chars or not any(c.isalpha() for c in line) or not is_unicode_text(line):
        return None
    return line


@dataclass
class SynthesisReport:
    """What a run did; printed as JSON by the CLI."""

    output: str
    sessions_written: int = 0
    sessions_resumed: int = 0
    steps_synthesized: int = 0
    steps_kept: int = 0
    steps_failed: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    failures: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["failures"] = self.failures[:20]
        return out


def _partial_path(output: Path) -> Path:
    return output.with_name(output.name + ".partial")


def _read_sessions(path: Path, *, repair: bool) -> Iterator[Session]:
    """Stream the sessions of a JSONL file (plain or gzip).

    A torn last line (a crash mid-append) is dropped, and cut from the file when ``repair``;
    any other bad line is an error naming the file and row.
    """
    if not path.exists():
        return
    with open(path, "rb") as probe:
        gzipped = probe.read(2) == b"\x1f\x8b"
    opener = gzip.open if gzipped else open
    good_end = 0
    torn = False
    with opener(path, "rb") as handle:
        for row, line in enumerate(handle, start=1):
            if line.strip():
                try:
                    session = Session.from_json(line.decode("utf-8"))
                except (ValueError, UnicodeDecodeError) as exc:
                    if not line.endswith(b"\n"):
                        log.warning("%s: dropping incomplete last line %d", path, row)
                        torn = True
                        break
                    raise ValueError(f"{path}: row {row}: {exc}") from exc
                yield session
            good_end += len(line)
    if torn and repair and not gzipped:
        with open(path, "r+b") as handle:
            handle.truncate(good_end)


def _needs_rationale(step: Step, overwrite: bool) -> bool:
    if overwrite:
        return step.rationale_source != "human" or not step.rationale
    return not (step.rationale and step.rationale.strip())


def _append_lines(path: Path, lines: Sequence[str]) -> None:
    """Append whole lines and fsync, so a crash leaves at most the last line torn."""
    with open(path, "a", encoding="utf-8") as handle:
        handle.write("".join(line + "\n" for line in lines))
        handle.flush()
        os.fsync(handle.fileno())


#: A step of the pending batch: (session position in the batch, step index).
_StepKey = tuple[int, int]


class _RationaleBatcher:
    """Sessions waiting for rationales; once enough steps wait, they are filled and appended.

    Holds the pending sessions, how many of their steps need a rationale, and how many
    backend calls were made (each call samples with the next seed), and counts what it
    does into ``report``.
    """

    def __init__(self, backend: Backend, partial: Path, report: SynthesisReport, *, config: GenerationConfig,
                 overwrite: bool, batch_size: int, max_page_chars: int) -> None:
        self.backend, self.partial, self.report, self.config = backend, partial, report, config
        self.overwrite, self.batch_size, self.max_page_chars = overwrite, batch_size, max_page_chars
        self.pending: list[Session] = []
        self.pending_steps = 0
        self.calls = 0

    def add(self, session: Session) -> bool:
        """Queue ``session``; flush when a batch of steps waits. Whether it flushed."""
        self.pending.append(session)
        self.pending_steps += sum(_needs_rationale(s, self.overwrite) for s in session.steps)
        return self.flush() if self.pending_steps >= self.batch_size else False

    def flush(self) -> bool:
        """Fill the pending sessions' rationales and append them to the partial file. Whether any were."""
        if not self.pending:
            return False
        rationales = self._rationales()
        _append_lines(self.partial, [json_text(self._filled(si, session, rationales).to_dict())
                                     for si, session in enumerate(self.pending)])
        self.report.sessions_written += len(self.pending)
        self.pending, self.pending_steps = [], 0
        return True

    def _rationales(self) -> dict[_StepKey, str | None]:
        """A cleaned rationale (``None``: unusable) for every pending step that needs one."""
        jobs = [(si, ti) for si, s in enumerate(self.pending) for ti, st in enumerate(s.steps)
                if _needs_rationale(st, self.overwrite)]
        out: dict[_StepKey, str | None] = {}
        for start in range(0, len(jobs), self.batch_size):
            out.update(self._generate(jobs[start:start + self.batch_size]))
        return out

    def _generate(self, chunk: Sequence[_StepKey]) -> dict[_StepKey, str | None]:
        """One backend call for ``chunk``; counts its tokens and lists unusable answers."""
        messages = [rationale_messages(self.pending[si], ti, max_page_chars=self.max_page_chars) for si, ti in chunk]
        gens = self.backend.generate(messages, replace(self.config, seed=self.config.seed + self.calls))
        self.calls += 1
        out: dict[_StepKey, str | None] = {}
        for (si, ti), gen in zip(chunk, gens, strict=True):
            out[(si, ti)] = clean_rationale(gen.text)
            self.report.prompt_tokens += gen.prompt_tokens or 0
            self.report.completion_tokens += gen.completion_tokens or 0
            if out[(si, ti)] is None:
                self.report.failures.append(f"{self.pending[si].session_id} step {ti}: {gen.text[:80]!r}")
        return out

    def _filled(self, si: int, session: Session, rationales: dict[_StepKey, str | None]) -> Session:
        """``session`` with its new rationales (none where the answer was unusable), counted."""
        steps = []
        for ti, step in enumerate(session.steps):
            if (si, ti) not in rationales:
                self.report.steps_kept += bool(step.rationale)
                steps.append(step)
            elif rationales[(si, ti)] is None:
                self.report.steps_failed += 1
                steps.append(step.with_rationale(None, None))
            else:
                self.report.steps_synthesized += 1
                steps.append(step.with_rationale(rationales[(si, ti)], SYNTHESIZED))
        return replace(session, steps=tuple(steps))


def _print_progress(report: SynthesisReport, total: int, started: float) -> None:
    print(f"[synthesize] {report.sessions_written + report.sessions_resumed}/{total} sessions, "
          f"{report.steps_synthesized} rationales, {report.steps_failed} failed, "
          f"{time.perf_counter() - started:.0f} s", file=sys.stderr)


def _as_corpus(sessions: Sequence[Session]) -> Corpus:
    return sessions if isinstance(sessions, Corpus) else ListCorpus(list(sessions))


def synthesize_corpus(corpus: Sequence[Session], backend: Backend, output: str | os.PathLike[str], *,
                      config: GenerationConfig = DEFAULT_CONFIG, overwrite: bool = False,
                      limit: int | None = None, batch_size: int = 16,
                      max_page_chars: int = DEFAULT_MAX_PAGE_CHARS, split: str | None = None,
                      progress: bool = False) -> SynthesisReport:
    """Write ``corpus`` (its first ``limit`` sessions) to ``output`` with every missing rationale filled.

    Args:
        corpus: the sessions (a :class:`~shop_env.corpus.Corpus` streams them).
        backend: any backend; one request per step that needs a rationale.
        output: JSONL file to write (``.gz`` compresses); resumed if a run was cut.
        config: sampling settings (greedy, 64 new tokens by default).
        overwrite: rewrite existing non-human rationales too (self-reported ``human``
            rationales are never replaced).
        limit: only the first ``limit`` sessions of the corpus.
        batch_size: steps per backend call.
        max_page_chars: page budget in each prompt (:func:`trim_page`).
        split: written on every line (``"split"`` key) so ``jsonl:OUTPUT`` restores it.
        progress: print a progress line per batch to stderr.

    Returns:
        Counts of what was written, kept, synthesized and failed. A step whose answer is
        unusable keeps no rationale (``None``) and is listed in ``failures``.
    """
    from shop_env.sources.jsonl import write_jsonl

    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    sessions = first_sessions(_as_corpus(corpus), limit)
    started = time.perf_counter()
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = _partial_path(output)
    report = SynthesisReport(output=str(output))
    done = {s.session_id for s in _read_sessions(output, repair=False)}
    done |= {s.session_id for s in _read_sessions(partial, repair=True)}
    report.sessions_resumed = len(done)

    batcher = _RationaleBatcher(backend, partial, report, config=config, overwrite=overwrite,
                                batch_size=batch_size, max_page_chars=max_page_chars)
    for session in sessions:
        if session.session_id not in done:
            done.add(session.session_id)
            if batcher.add(session) and progress:
                _print_progress(report, len(sessions), started)
    if batcher.flush() and progress:
        _print_progress(report, len(sessions), started)

    write_jsonl(itertools.chain(_read_sessions(output, repair=False), _read_sessions(partial, repair=False)),
                output, split=split)
    partial.unlink(missing_ok=True)
    report.seconds = time.perf_counter() - started
    return report


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m agents.synthesize``: see the module docstring."""
    parser = argparse.ArgumentParser(prog="python -m agents.synthesize",
                                     description="Fill missing rationales of a corpus with an LLM.")
    parser.add_argument("--source", default="demo", help="corpus source: demo, opera:DIR, jsonl:PATH")
    parser.add_argument("--split", default="train", choices=("train", "valid", "test"))
    parser.add_argument("--backend", default="openai", choices=("openai", "transformers", "vllm"))
    parser.add_argument("--model", required=True, help="served model name (openai) or local model (others)")
    parser.add_argument("--base-url", default=None, help="OpenAI-compatible server URL, e.g. http://127.0.0.1:8000/v1")
    parser.add_argument("--api-key-env", default="OPENAI_API_KEY", help="environment variable holding the API key")
    parser.add_argument("--max-concurrency", type=int, default=8, help="openai: requests in flight")
    parser.add_argument("--dtype", default="auto", help="transformers/vllm weight dtype")
    parser.add_argument("--output", required=True, help="JSONL file to write (.gz compresses)")
    parser.add_argument("--limit", type=int, default=None, help="only the first N sessions of the split")
    parser.add_argument("--overwrite", action="store_true", help="rewrite existing non-human rationales too")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-page-chars", type=int, default=DEFAULT_MAX_PAGE_CHARS)
    parser.add_argument("--temperature", type=float, default=DEFAULT_CONFIG.temperature)
    parser.add_argument("--max-new-tokens", type=int, default=DEFAULT_CONFIG.max_new_tokens)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

    from shop_env.corpus import load_corpus

    from .backends import get_backend

    corpus = load_corpus(args.source, split=args.split)
    options: dict[str, Any] = {"model": args.model}
    if args.backend == "openai":
        options.update(base_url=args.base_url, api_key_env=args.api_key_env, max_concurrency=args.max_concurrency)
    else:
        options["dtype"] = args.dtype
    backend = get_backend(args.backend, **options)
    config = GenerationConfig(temperature=args.temperature, max_new_tokens=args.max_new_tokens, seed=args.seed)
    report = synthesize_corpus(corpus, backend, args.output, config=config, overwrite=args.overwrite,
                               limit=args.limit, batch_size=args.batch_size, max_page_chars=args.max_page_chars,
                               split=args.split, progress=True)
    print(json.dumps({"source": corpus.describe(), "backend": backend.name, **report.to_dict()}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
