"""Loading benchmark: time and peak memory of ``opera:DIR`` on OPeRA-shaped corpora made on the fly.

It writes two corpora in OPeRA's exact parquet schema (``tests/opera_fixture.py``), of
about 100 MB and 1 GB of HTML (``quick``: 25 MB and 100 MB), then measures, each in a fresh
subprocess so ``ru_maxrss`` is the peak of that run alone:

- ``index``: ``load_corpus("opera:DIR")`` (reads only the small columns);
- ``iterate``: materialising every session once, in order (reads every page);
- peak RSS of the whole process (``ru_maxrss``; the interpreter with shop_env and pyarrow
  imported is about 160 MB of it, reported as ``base_rss_mb``);
- the same for the corpus converted to JSONL (``jsonl:FILE``: one line read per session);
- the eager reference: ``pyarrow.parquet.read_table`` of the whole action table, which is
  what a non-lazy loader pays in time and memory.

The claim tested is that peak memory stays flat as the corpus grows (bounded by one row
group, 32 rows here) while an eager load grows with it. The full run also re-chunks the
large corpus into 1000-row groups, the size ``datasets`` writes to the hub (so the real
OPeRA files are likely chunked that way), to show what one row group then costs.
Run ``python -m benchmarks.perf_loading [--quick]``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

__all__ = ["make_opera_corpus", "measure", "run"]

PAGE_CHARS = 150_000  # median-ish OPeRA page (2.8k to 626k characters)
ROW_GROUP_ROWS = 32
HF_ROW_GROUP_ROWS = 1000  # datasets' default parquet batch size for text columns
MB = 1_000_000

_CHILD = r"""
import json, resource, sys, time
mode, root = sys.argv[1], sys.argv[2]
import pyarrow.parquet as pq
import shop_env
from shop_env.sources import opera  # noqa: F401  (import cost outside the measurement)
def rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
base = rss_mb()
out = {"base_rss_mb": base}
if mode in ("lazy", "jsonl"):
    t = time.perf_counter()
    source = ("opera:" if mode == "lazy" else "jsonl:") + root
    corpus = shop_env.load_corpus(source, split="train", valid_fraction=0.0, **({"test_fraction": 0.0} if mode == "jsonl" else {}))
    out["index_s"] = time.perf_counter() - t
    t = time.perf_counter()
    steps = chars = 0
    for session in corpus:
        steps += len(session)
        chars += sum(len(s.html) for s in session.steps)
    out["iterate_s"] = time.perf_counter() - t
    out.update(sessions=len(corpus), steps=steps, html_chars=chars)
else:
    import glob
    t = time.perf_counter()
    tables = [pq.read_table(f) for f in sorted(glob.glob(root + "/OPeRA_filtered/action/train-*.parquet"))]
    out["eager_s"] = time.perf_counter() - t
    out["rows"] = sum(t.num_rows for t in tables)
out["peak_rss_mb"] = rss_mb()
print(json.dumps(out))
"""


def _fixture_module() -> Any:
    try:
        from tests import opera_fixture
    except ImportError:  # run from elsewhere: the repo root holds tests/
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        from tests import opera_fixture
    return opera_fixture


def make_opera_corpus(root: Path, html_bytes: int, *, seed: int = 0) -> dict[str, Any]:
    """Write an OPeRA-shaped ``filtered`` copy with about ``html_bytes`` of HTML (train split only).

    Returns what was written: rows, sessions, HTML characters, parquet bytes, seconds.
    """
    fx = _fixture_module()
    steps_mean = 7.5  # fixture sessions have 3-12 steps
    n_sessions = max(1, round(html_bytes / PAGE_CHARS / steps_mean))
    started = time.perf_counter()
    chars = 0

    def rows() -> Any:
        nonlocal chars
        for row in fx.opera_rows(n_sessions, seed=seed, html_chars=PAGE_CHARS):
            chars += len(row["simplified_html"])
            yield row

    action = root / "OPeRA_filtered" / "action" / "train-00000-of-00001.parquet"
    n_rows = fx.write_action_file(action, rows(), row_group_size=ROW_GROUP_ROWS)
    return {"rows": n_rows, "sessions": n_sessions, "html_chars": chars, "parquet_bytes": action.stat().st_size,
            "write_s": time.perf_counter() - started}


def regroup(src_root: Path, dst_root: Path, row_group_rows: int) -> int:
    """Copy a corpus's train action file with a different row-group size (streamed); returns groups written."""
    import pyarrow.parquet as pq

    rel = Path("OPeRA_filtered") / "action" / "train-00000-of-00001.parquet"
    (dst_root / rel).parent.mkdir(parents=True, exist_ok=True)
    source = pq.ParquetFile(str(src_root / rel))
    groups = 0
    with pq.ParquetWriter(str(dst_root / rel), source.schema_arrow) as writer:
        for batch in source.iter_batches(batch_size=row_group_rows):
            writer.write_batch(batch, row_group_size=row_group_rows)
            groups += 1
    return groups


def measure(root: Path, mode: str) -> dict[str, Any]:
    """Run one measurement (``lazy`` or ``eager``) in a fresh interpreter and return its JSON."""
    done = subprocess.run([sys.executable, "-c", _CHILD, mode, str(root)], capture_output=True, text=True,
                          check=False, cwd=str(Path(__file__).resolve().parents[1]))
    if done.returncode != 0:
        raise RuntimeError(f"{mode} measurement failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _row(name: str, value: float, unit: str, reference: float | None, **extra: Any) -> dict[str, Any]:
    ratio = value / reference if reference else None
    return {"name": name, "value": round(value, 3), "unit": unit,
            "reference": None if reference is None else round(reference, 3),
            "ratio": None if ratio is None else round(ratio, 3), **extra}


def run(quick: bool = False) -> list[dict]:
    """Measure index time, iteration time and peak memory at two corpus sizes; rows for the perf table."""
    from shop_env import load_corpus
    from shop_env.sources.jsonl import write_jsonl

    sizes = (25 * MB, 100 * MB) if quick else (100 * MB, 1000 * MB)
    results: dict[int, dict[str, Any]] = {}
    hf_groups: dict[str, Any] | None = None
    with tempfile.TemporaryDirectory(prefix="perf_loading_") as tmp:
        for size in sizes:
            root = Path(tmp) / f"opera_{size // MB}mb"
            written = make_opera_corpus(root, size)
            results[size] = {"written": written, "lazy": measure(root, "lazy"), "eager": measure(root, "eager")}
            jsonl = Path(tmp) / f"opera_{size // MB}mb.jsonl"
            write_jsonl(load_corpus(f"opera:{root}", split="train", valid_fraction=0.0), jsonl)
            results[size]["jsonl"] = measure(jsonl, "jsonl")
            jsonl.unlink()
        if not quick:  # the row-group size datasets' push_to_hub writes (1000 rows), as in the real OPeRA files
            big = Path(tmp) / "opera_hf_groups"
            regroup(Path(tmp) / f"opera_{sizes[1] // MB}mb", big, HF_ROW_GROUP_ROWS)
            shutil.rmtree(Path(tmp) / f"opera_{sizes[1] // MB}mb")
            hf_groups = measure(big, "lazy")
    rows: list[dict] = []
    for res in results.values():
        label = f"{res['written']['html_chars'] / MB:,.0f} MB HTML"
        lazy, eager = res["lazy"], res["eager"]
        rows += [
            _row(f"opera index time ({label}; ref: eager read_table)", lazy["index_s"], "s", eager["eager_s"]),
            _row(f"opera iterate all sessions ({label}; ref: eager read_table)", lazy["iterate_s"], "s",
                 eager["eager_s"]),
            _row(f"opera peak RSS index+iterate ({label}; ref: eager read_table)", lazy["peak_rss_mb"], "MB",
                 eager["peak_rss_mb"], base_rss_mb=round(lazy["base_rss_mb"], 1)),
            _row(f"jsonl index time, same corpus ({label}; ref: eager read_table)", res["jsonl"]["index_s"], "s",
                 eager["eager_s"]),
            _row(f"jsonl iterate all sessions ({label}; ref: eager read_table)", res["jsonl"]["iterate_s"], "s",
                 eager["eager_s"]),
            _row(f"jsonl peak RSS index+iterate ({label}; ref: eager read_table)", res["jsonl"]["peak_rss_mb"],
                 "MB", eager["peak_rss_mb"], base_rss_mb=round(res["jsonl"]["base_rss_mb"], 1)),
        ]
    small, large = (results[s]["lazy"]["peak_rss_mb"] for s in sizes)
    eager_small, eager_large = (results[s]["eager"]["peak_rss_mb"] for s in sizes)
    html_growth = results[sizes[1]]["written"]["html_chars"] / results[sizes[0]]["written"]["html_chars"]
    rows.append(_row(f"opera peak RSS growth for {html_growth:.0f}x the HTML (ref: eager growth)",
                     large / small, "x", eager_large / eager_small))
    if hf_groups is not None:
        label = f"{hf_groups['html_chars'] / MB:,.0f} MB HTML, {HF_ROW_GROUP_ROWS}-row groups"
        eager = results[sizes[1]]["eager"]
        rows += [
            _row(f"opera iterate all sessions ({label}; ref: eager)", hf_groups["iterate_s"], "s", eager["eager_s"]),
            _row(f"opera peak RSS index+iterate ({label}; ref: eager)", hf_groups["peak_rss_mb"], "MB",
                 eager["peak_rss_mb"], base_rss_mb=round(hf_groups["base_rss_mb"], 1)),
        ]
    return rows


def _print(rows: list[dict]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Corpus loading (opera:DIR with {ROW_GROUP_ROWS}-row groups unless said; jsonl:FILE)")
    for column in ("name", "value", "unit", "reference", "ratio"):
        table.add_column(column, justify="left" if column == "name" else "right")
    for row in rows:
        table.add_row(*(str(row[c]) for c in ("name", "value", "unit", "reference", "ratio")))
    Console().print(table)


if __name__ == "__main__":
    _print(run(quick="--quick" in sys.argv))
