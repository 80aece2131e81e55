"""The layer order holds: import-linter's contracts (pyproject.toml) and what imports load at run time."""

from __future__ import annotations

import pkgutil
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _lint_imports() -> str:
    found = Path(sys.executable).parent / "lint-imports"
    exe = str(found) if found.exists() else shutil.which("lint-imports")
    if exe is None:
        pytest.skip("import-linter is not installed (dev extra)")
    return exe


def _contracts() -> dict[str, dict]:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return {c["id"]: c for c in config["tool"]["importlinter"]["contracts"]}


def test_the_layer_contracts_hold():
    result = subprocess.run([_lint_imports(), "--config", str(ROOT / "pyproject.toml"), "--no-cache"],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


def test_the_linter_sees_a_broken_contract(tmp_path):
    """The env imports rewards (allowed): a contract forbidding that must be reported broken."""
    config = tmp_path / "layers.toml"
    config.write_text('[tool.importlinter]\nroot_packages = ["shop_env", "rewards"]\n\n'
                      '[[tool.importlinter.contracts]]\nname = "env without rewards"\ntype = "forbidden"\n'
                      'source_modules = ["shop_env.env"]\nforbidden_modules = ["rewards"]\n', encoding="utf-8")
    result = subprocess.run([_lint_imports(), "--config", str(config), "--no-cache"], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode != 0 and "BROKEN" in result.stdout


def _submodules(package: str) -> set[str]:
    path = ROOT / package.replace(".", "/")
    return {f"{package}.{m.name}" for m in pkgutil.iter_modules([str(path)])}


def test_every_module_is_under_a_contract():
    """A new module of shop_env or agents must be placed in the layer lists, not slip past them."""
    contracts = _contracts()
    shop_env_above_core = set(contracts["core"]["forbidden_modules"])
    assert _submodules("shop_env") - {"shop_env.core"} <= shop_env_above_core
    assert _submodules("shop_env") - {"shop_env.core", "shop_env.types"} <= set(contracts["rewards"]["forbidden_modules"])
    assert _submodules("agents") - {"agents.train"} == set(contracts["agents"]["source_modules"])


@pytest.mark.parametrize("module, absent", [
    ("rewards", ("torch", "transformers", "shop_env.env", "shop_env.context", "shop_env.corpus", "agents")),
    ("shop_env", ("torch", "transformers", "shop_env.env", "rewards", "agents")),
    # the shop_env package registers its env ids on import, so Gymnasium loads with any of its modules
    ("shop_env.core", ("torch", "shop_env.env", "shop_env.context", "rewards", "agents")),
    ("agents", ("torch", "transformers", "agents.train", "benchmarks")),
])
def test_importing_a_layer_loads_nothing_above_it(module, absent):
    code = (f"import sys, {module}; "
            f"print(','.join(m for m in {absent!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                         check=True).stdout.strip()
    assert out == "", f"import {module} loaded {out}"
