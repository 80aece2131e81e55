"""The paper-table recipes, checked without running them.

The GPU recipe cannot run here and the CPU one takes hours, so each is run with ``DRY_RUN=1``
(it prints every command instead of running it) and every printed command is parsed by the
real command line it calls: a renamed or mistyped flag fails here, not hours into a run.
"""
from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path

import pytest

from agents.train.__main__ import build_parser as train_parser
from agents.train.__main__ import config_from_args
from agents.train.grpo import GRPORunConfig
from agents.train.sft import SFTRunConfig
from benchmarks.compare import build_parser as compare_parser
from benchmarks.run import build_parser as run_parser
from benchmarks.training_curves import build_parser as curves_parser

RECIPES = Path(__file__).resolve().parents[1] / "benchmarks" / "recipes"
PARSERS = {"agents.train": train_parser, "benchmarks.run": run_parser,
           "benchmarks.compare": compare_parser, "benchmarks.training_curves": curves_parser}
RECIPE_ENV = {"paper_table_cpu.sh": {}, "paper_table_gpu.sh": {"MODEL": "/models/qwen", "OPERA": "/data/opera"}}
ROWS = ["zero-shot", "sft", "shop-r1", "no-dars", "sft-grpo-binary", "sft-seed1"]  # in the order the recipe evaluates them
KNOBS = ("MODEL", "OPERA", "CORPUS", "RUNS", "OUT", "TRAIN", "GPUS", "PY", "SFT_ARGS", "GRPO_ARGS", "EVAL_ARGS",
         "DRY_RUN", "SFT_SESSIONS", "SFT_MAX_STEPS", "SFT_LR", "GRPO_STEPS", "GRPO_LR", "GRPO_SESSIONS",
         "EVAL_SESSIONS", "SFT_MAX_LENGTH", "VLLM_MEMORY")
CLEAN_ENV = {k: v for k, v in os.environ.items() if k not in KNOBS}  # a knob exported here must not leak in


def dry_run(recipe: str, tmp_path: Path, **env: str) -> tuple[Path, Path, list[list[str]]]:
    """Run a recipe with DRY_RUN=1; return RUNS, OUT and the commands it would run."""
    runs, out = tmp_path / "runs", tmp_path / "out"
    full_env = {**CLEAN_ENV, **RECIPE_ENV.get(recipe, {}), "DRY_RUN": "1", "RUNS": str(runs), "OUT": str(out), **env}
    proc = subprocess.run(["bash", str(RECIPES / recipe)], env=full_env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    commands = [shlex.split(line[2:]) for line in proc.stdout.splitlines() if line.startswith("+ ")]
    return runs, out, commands


def module_args(cmd: list[str]) -> tuple[str, list[str]] | None:
    """``(module, arguments)`` of a ``python -m MODULE`` or ``scripts/launch_train.sh CONFIG N`` command."""
    if len(cmd) > 2 and cmd[1] == "-m":
        return cmd[2], cmd[3:]
    if cmd and cmd[0].endswith("launch_train.sh"):
        return "agents.train", cmd[3:]
    return None


def model_rows(commands: list[list[str]]) -> list:
    """The parsed ``benchmarks.run`` commands that evaluate a model (the heuristic reference aside)."""
    return [e for e in parsed(commands, "benchmarks.run") if e.agent == ["prompted"]]


def parsed(commands: list[list[str]], module: str, subcommand: str | None = None) -> list:
    """The parsed arguments of the ``module`` commands among ``commands``; training commands are
    also built into their run configs, whose checks (``__post_init__``) must pass too."""
    found = []
    for cmd in commands:
        call = module_args(cmd)
        if call is None or call[0] != module:
            continue
        args = PARSERS[module]().parse_args(call[1])  # argparse exits on an unknown or malformed flag
        if module == "agents.train":
            config_from_args({"sft": SFTRunConfig, "grpo": GRPORunConfig}[args.command], args)
        if subcommand is None or args.command == subcommand:
            found.append(args)
    return found


@pytest.mark.parametrize("recipe", sorted(RECIPE_ENV))
def test_every_command_is_accepted_by_its_command_line(recipe, tmp_path):
    _, _, commands = dry_run(recipe, tmp_path)
    assert {call[0] for call in map(module_args, commands) if call} == set(PARSERS)
    for module in PARSERS:
        parsed(commands, module)


@pytest.mark.parametrize("recipe", sorted(RECIPE_ENV))
def test_every_row_is_trained_and_evaluated_on_the_same_prompt(recipe, tmp_path):
    runs, out, commands = dry_run(recipe, tmp_path)
    sft = parsed(commands, "agents.train", "sft")
    grpo = parsed(commands, "agents.train", "grpo")
    evals = model_rows(commands)
    (reference,) = [e for e in parsed(commands, "benchmarks.run") if e.agent != ["prompted"]]
    assert reference.agent == ["heuristic"] and Path(reference.output_path) == out / "reference"
    assert reference.tokenizer == sft[0].model  # its budget counted as the models' is: the same page
    assert len(sft) == 1 and not sft[0].evaluate
    assert sorted(g.reward for g in grpo) == ["binary", "no_dars", "shop_r1"]
    assert all(g.model == f"{runs}/sft/final" and not g.evaluate for g in grpo)
    assert [Path(e.output_path).name for e in evals] == ROWS
    assert {e.split for e in [*evals, reference]} == {"test"} and len({e.limit for e in [*evals, reference]}) == 1
    assert {e.data for e in [*evals, reference]} == {sft[0].corpus} == {g.corpus for g in grpo}
    models = {Path(e.output_path).name: e.model for e in evals}
    assert models["zero-shot"] == sft[0].model and models["sft"] == models["sft-seed1"] == f"{runs}/sft/final"
    seeds = {Path(e.output_path).name: e.seed for e in evals}
    assert seeds.pop("sft-seed1") == 1 and set(seeds.values()) == {0}  # only the noise check samples anew
    for g in grpo:
        assert models[{"shop_r1": "shop-r1", "no_dars": "no-dars", "binary": "sft-grpo-binary"}[g.reward]] \
            == f"{g.output_dir}/final"
    contexts = {(str(x.history), x.token_budget) for x in [*grpo, *evals, reference]}
    if sft[0].examples == "step":
        contexts.add((str(sft[0].history), sft[0].token_budget))
    assert len(contexts) == 1, contexts
    (table,) = parsed(commands, "benchmarks.compare")
    assert [Path(d).name for d in table.dirs] == ["zero-shot", "sft", "sft-grpo-binary", "shop-r1", "no-dars",
                                                  "reference", "sft-seed1"]
    # the table comes last, after the curves and run cards, so a refused comparison loses nothing else
    assert module_args(commands[-1])[0] == "benchmarks.compare"
    assert Path(table.output) == out / "table.md"
    assert table.baseline == "sft/prompted-final"  # the SFT row's folder: `evaluate sft "$sft_dir/final"`
    assert Path(table.baseline).name == f"prompted-{Path(models['sft']).name}"


def test_the_cpu_recipe_resumes_and_skips_what_is_done(tmp_path):
    runs, out = tmp_path / "runs", tmp_path / "out"
    (runs / "sft" / "final").mkdir(parents=True)
    (runs / "sft" / "run_card.json").write_text("{}")
    (runs / "grpo-shop_r1" / "checkpoint-5").mkdir(parents=True)
    (out / "zero-shot" / "prompted-smollm2-135m").mkdir(parents=True)
    (out / "zero-shot" / "prompted-smollm2-135m" / "results.json").write_text("{}")
    stale = out / "sft" / "prompted-final" / "results.json"
    stale.parent.mkdir(parents=True)
    stale.write_text("{}")
    os.utime(stale, (1, 1))  # older than the SFT model below: evaluated again
    (runs / "sft" / "final" / "config.json").write_text("{}")
    _, _, commands = dry_run("paper_table_cpu.sh", tmp_path)
    assert not parsed(commands, "agents.train", "sft")
    resumed = {g.reward: g.resume for g in parsed(commands, "agents.train", "grpo")}
    assert resumed == {"shop_r1": True, "no_dars": False, "binary": False}
    evaluated = [Path(e.output_path).name for e in parsed(commands, "benchmarks.run")]
    assert evaluated == ["sft", "reference", "shop-r1", "no-dars", "sft-grpo-binary", "sft-seed1"]
    assert ["rm", "-rf", f"{out}/sft"] in commands


def test_finished_runs_and_fresh_rows_are_not_run_again(tmp_path):
    runs, out = tmp_path / "runs", tmp_path / "out"
    for run in ("sft", "grpo-shop_r1"):
        (runs / run / "final").mkdir(parents=True)
        (runs / run / "final" / "config.json").write_text("{}")
        (runs / run / "run_card.json").write_text("{}")
    for row, agent in (("zero-shot", "prompted"), ("sft", "prompted"), ("shop-r1", "prompted"),
                       ("reference", "heuristic")):  # written after the models: up to date
        (out / row / agent).mkdir(parents=True)
        (out / row / agent / "results.json").write_text("{}")
    _, _, commands = dry_run("paper_table_cpu.sh", tmp_path)
    assert [g.reward for g in parsed(commands, "agents.train", "grpo")] == ["no_dars", "binary"]
    assert [Path(e.output_path).name for e in parsed(commands, "benchmarks.run")] == ["no-dars", "sft-grpo-binary",
                                                                                      "sft-seed1"]
    assert not [cmd for cmd in commands if cmd[0] == "rm"]


@pytest.mark.parametrize("gpus", ["1", "2", "8"])
def test_the_gpu_recipe_keeps_the_papers_batch_on_any_number_of_gpus(gpus, tmp_path):
    _, _, commands = dry_run("paper_table_gpu.sh", tmp_path, GPUS=gpus)
    launched = {cmd[0].endswith("launch_train.sh") for cmd in commands if module_args(cmd)
                and module_args(cmd)[0] == "agents.train"}
    assert launched == {gpus != "1"}
    (sft,) = parsed(commands, "agents.train", "sft")
    assert sft.per_device_batch_size * sft.gradient_accumulation_steps * int(gpus) == 8
    for grpo in parsed(commands, "agents.train", "grpo"):
        assert grpo.per_device_batch_size * grpo.gradient_accumulation_steps * int(gpus) == 64
        assert grpo.num_generations == 8 and grpo.use_vllm


def test_extra_flags_are_appended_and_win(tmp_path):
    _, _, commands = dry_run("paper_table_cpu.sh", tmp_path, GRPO_ARGS="--lora --learning-rate 1e-5",
                             EVAL_ARGS="--limit 2")
    assert {(g.lora, g.learning_rate) for g in parsed(commands, "agents.train", "grpo")} == {(True, 1e-5)}
    assert {e.limit for e in parsed(commands, "benchmarks.run")} == {2}  # the reference row's too


@pytest.mark.parametrize("env, message", [({}, "MODEL"), ({"MODEL": "/m"}, "OPERA"),
                                          ({"MODEL": "/m", "OPERA": "/d", "GPUS": "3"}, "GPUS must divide 8")])
def test_the_gpu_recipe_names_what_is_missing_or_wrong(env, message):
    proc = subprocess.run(["bash", str(RECIPES / "paper_table_gpu.sh")], env={**CLEAN_ENV, "DRY_RUN": "1", **env},
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0 and message in proc.stderr


def test_the_constrained_table_pairs_each_model_with_its_own_free_decoding(tmp_path: Path) -> None:
    (tmp_path / "runs" / "sft" / "final").mkdir(parents=True)  # SFT is there, the GRPO rows are not
    _, out, commands = dry_run("constrained_table.sh", tmp_path, EVAL_SESSIONS="15")
    calls = [module_args(cmd) for cmd in commands]
    for module, args in calls:
        PARSERS[module]().parse_args(args)  # every flag exists
    runs = [args for module, args in calls if module == "benchmarks.run"]
    cells = [(args[args.index("--model") + 1], args[args.index("--constrain") + 1]) for args in runs]
    sft = str(tmp_path / "runs" / "sft" / "final")
    assert cells == [(m, c) for m in ("smollm2-135m", sft) for c in ("none", "json", "candidates", "shown")]
    assert all(args[args.index("--limit") + 1] == "15" for args in runs)
    compares = [args for module, args in calls if module == "benchmarks.compare"]
    baselines = [args[args.index("--baseline") + 1] for args in compares]
    by_mode = [f"zero-shot-{c}/prompted-smollm2-135m{'' if c == 'none' else '-' + c}"
               for c in ("none", "json", "candidates", "shown")]
    assert baselines == ["zero-shot-none/prompted-smollm2-135m", *by_mode,
                         "zero-shot-none/prompted-smollm2-135m", "sft-none/prompted-final"]
    for mode, args in zip(("none", "json", "candidates", "shown"), compares[1:5], strict=True):  # same mode, both models
        assert args[:2] == [str(out / f"zero-shot-{mode}"), str(out / f"sft-{mode}")]
        assert args[args.index("--output") + 1] == str(out / f"by-mode-{mode}.md")
    assert compares[6][:4] == [str(out / f"sft-{c}") for c in ("none", "json", "candidates", "shown")]


def test_the_constrained_table_pairs_shop_r1_with_sft_under_each_mode(tmp_path: Path) -> None:
    for run in ("sft", "grpo-shop_r1"):
        (tmp_path / "runs" / run / "final").mkdir(parents=True)
    _, out, commands = dry_run("constrained_table.sh", tmp_path)
    compares = {args[args.index("--output") + 1]: args for module, args in map(module_args, commands)
                if module == "benchmarks.compare"}
    for mode in ("none", "json", "candidates", "shown"):
        args = compares[str(out / f"shop-r1-vs-sft-{mode}.md")]
        assert args[:2] == [str(out / f"sft-{mode}"), str(out / f"shop-r1-{mode}")]
        assert args[args.index("--baseline") + 1] == f"sft-{mode}/prompted-final{'' if mode == 'none' else '-' + mode}"
    assert str(out / "paired-shop-r1.md") in compares


def test_the_constrained_table_pairs_nothing_by_mode_without_a_trained_model(tmp_path: Path) -> None:
    _, out, commands = dry_run("constrained_table.sh", tmp_path)
    outputs = [args[args.index("--output") + 1] for module, args in map(module_args, commands)
               if module == "benchmarks.compare"]
    assert outputs == [str(out / "table.md"), str(out / "paired-zero-shot.md")]
