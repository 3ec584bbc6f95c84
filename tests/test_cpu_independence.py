"""Same config + same seed ⇒ the same CSV bytes on any CPU running the locked packages.

The engine's arithmetic is IEEE + − × ÷ and √ in fixed orders (no FMA, no reassociation) and
its exp/log/β^t are its own (exact_math.py), its initial weights NumPy's PCG64 bits, so no
bit may depend on what the CPU offers. Checked here by training in a second process whose
libraries are told to use only the x86-64 baseline: NumPy's dispatch limited to SSE4.2
(NPY_DISABLE_CPU_FEATURES), glibc's libm/string variants without FMA, AVX2 or AVX-512
(GLIBC_TUNABLES: Gymnasium's physics calls libm's sin/cos), numba compiling for a generic
x86-64 (NUMBA_CPU_NAME, into a fresh cache), torch pinned to its default kernels
(ATEN_CPU_CAPABILITY, in case anything imported it). Both processes must write the same
bytes, for every variant and every env of the default experiment.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

RUNS = [  # (variant, env, seeds, episodes, overrides)
    ("one_step", "CartPole-v1", "0-1", 40, []),
    ("one_step", "Acrobot-v1", "0", 2, []),
    ("episodic", "LunarLander-v3", "0", 6, []),
    ("episodic", "CartPole-v1", "0", 30, ["actor_loss=notebook_broadcast"]),
    ("n_step", "CartPole-v1", "0", 30, ["entropy_coef=0.01", "max_grad_norm=0.5"]),
]

DRIVER = """
import sys
from a2c_repro import apply_overrides, default_config, train
out = sys.argv[1]
for variant, env, seeds, episodes, sets in {runs!r}:
    cfg = apply_overrides(default_config(variant), sets)
    lo, _, hi = seeds.partition("-")
    train(variant, env, list(range(int(lo), int(hi or lo) + 1)), episodes, cfg,
          f"{{out}}/{{'_'.join(sets) or 'default'}}")
assert "torch" not in sys.modules, "training imported torch"
"""

BASELINE_ONLY = {
    "NPY_DISABLE_CPU_FEATURES": "X86_V4 X86_V3 AVX512_SPR AVX512_ICL",
    "GLIBC_TUNABLES": "glibc.cpu.hwcaps=-AVX512F,-AVX512VL,-AVX512BW,-AVX512DQ,-AVX2,-FMA,-FMA4",
    "NUMBA_CPU_NAME": "generic",
    "ATEN_CPU_CAPABILITY": "default",
}


def _train(out: Path, extra_env: dict[str, str]) -> dict[str, bytes]:
    env = {**os.environ, **extra_env}
    code = DRIVER.format(runs=RUNS)
    subprocess.run([sys.executable, "-c", code, str(out)], env=env, check=True)
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("seed*.csv"))}


@pytest.mark.skipif(sys.platform != "linux", reason="the CPU-feature switches are Linux/glibc's")
def test_csvs_do_not_depend_on_the_cpu_features_the_libraries_use(tmp_path):
    native = _train(tmp_path / "native", {})
    baseline = _train(
        tmp_path / "baseline", {**BASELINE_ONLY, "NUMBA_CACHE_DIR": str(tmp_path / "numba")}
    )
    assert len(native) == 6 and native.keys() == baseline.keys()
    differ = [name for name in native if native[name] != baseline[name]]
    assert not differ, f"CPU-dependent bits in {differ}"
