"""``a2c-repro bench``: the engine against the notebooks' own code, in agent-steps per CPU second.

Like for like: both sides train the same seeds for the same number of episodes (full-length
runs) under each notebook's protocol, and the episodic comparison uses the notebook's literal
loss (``actor_loss=notebook_broadcast``) on both sides, so both do the same kind of episodes;
the engine's per-step form (``sum``, the pipeline's default) is reported on its own.
Each measurement runs in a fresh subprocess with one torch thread. Start-up (imports, loading
or compiling the kernels) is measured apart from the training run. The speed-up is the ratio
of CPU-second rates. Where the engine's time goes comes from a profile of a second engine run.
A missed target is printed; the command's exit status does not depend on it.
"""

from __future__ import annotations

import cProfile
import json
import pstats
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CASES = {"one_step": "CartPole-v1", "episodic": "LunarLander-v3"}
# Each notebook's own protocol: the one-step notebook runs a sampled evaluation episode every
# 50 episodes (the engine's default), the episodic notebook none, with its literal loss.
NOTEBOOK_PROTOCOL = {
    "one_step": {},
    "episodic": {"eval_interval": 0, "actor_loss": "notebook_broadcast"},
}
TARGETS = {"one_step": 50.0, "episodic": 15.0}
PARTS = ("env step", "forward", "backward", "Adam", "update kernel", "glue")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or platform.machine() or "unknown"


KERNELS = {
    "act_rows": "forward", "forward_rows": "forward", "backward_rows": "backward",
    "clip_adam_rows": "Adam", "_update_rows": "update kernel",
}  # fmt: skip


def _engine_run(variant, env_id, seeds, episodes, overrides, profile=False):
    from .config import default_config
    from .train import train

    cfg = default_config(variant).replace(**overrides)
    with tempfile.TemporaryDirectory() as d:
        prof = cProfile.Profile(time.process_time) if profile else None
        c0 = time.process_time()
        if prof:
            prof.enable()
        paths = train(variant, env_id, list(range(seeds)), episodes, cfg, d, progress=False)
        if prof:
            prof.disable()
        cpu = time.process_time() - c0
        steps = sum(int(p.read_text().strip().splitlines()[-1].split(",")[6]) for p in paths)
    return steps, cpu, prof


def _split(prof) -> dict[str, float]:
    """Share of the profiled CPU time per part: the env's step and reset with everything they
    call, each compiled kernel's own time, and the rest (Python glue). Profiling adds a
    little to every Python call, so env step and glue read somewhat high."""
    out = dict.fromkeys(PARTS, 0.0)
    total = 0.0
    for (path, _, name), (_, _, tt, ct, _) in pstats.Stats(prof).stats.items():
        total += tt
        if path.endswith("envs.py") and name in ("step", "reset"):
            out["env step"] += ct
        elif name in KERNELS and path.endswith(".py"):
            out[KERNELS[name]] += tt
    out["glue"] = max(total - sum(out.values()), 0.0)
    return {k: v / (total or 1.0) for k, v in out.items()}


def _worker(kind: str, variant: str, env_id: str, seeds: int, episodes: int, form: str) -> None:
    t0 = time.perf_counter()  # process_time() counts from the start, imports included
    import torch

    torch.set_num_threads(1)
    overrides = dict(NOTEBOOK_PROTOCOL[variant])
    if form:
        overrides["actor_loss"] = form
    res = {}
    if kind == "engine":
        _engine_run(variant, env_id, 1, 1, overrides)  # imports, kernels loaded or compiled
        res["startup_cpu"] = time.process_time()
        t1 = time.perf_counter()
        steps, cpu, _ = _engine_run(variant, env_id, seeds, episodes, overrides)
        wall = time.perf_counter() - t1
        _, _, prof = _engine_run(variant, env_id, seeds, episodes, overrides, profile=True)
        res["parts"] = _split(prof)
    else:
        from . import reference

        fn = (
            reference.run_one_step_notebook
            if variant == "one_step"
            else reference.run_episodic_notebook
        )
        res["startup_cpu"] = time.process_time()
        t1, c1 = time.perf_counter(), time.process_time()
        steps = sum(fn(env_id, episodes, s) for s in range(seeds))
        wall, cpu = time.perf_counter() - t1, time.process_time() - c1
    res.update(steps=steps, seconds=wall, cpu_seconds=cpu, total_seconds=time.perf_counter() - t0)
    res["rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(res))


def _measure(kind, variant, env_id, seeds, episodes, form="") -> dict:
    cmd = [sys.executable, "-m", "a2c_repro.bench", kind, variant, env_id, str(seeds),
           str(episodes), form]  # fmt: skip
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    r = json.loads(out.stdout.strip().splitlines()[-1])
    r["cpu_rate"] = r["steps"] / r["cpu_seconds"]
    return r


def _row(variant, env_id, label, seeds, episodes, r) -> None:
    print(f"{variant:<9} {env_id:<15} {label:<22} {seeds:>5} {episodes:>8} {r['steps']:>11} "
          f"{r['cpu_seconds']:>8.1f} {r['cpu_rate']:>11.0f} {r['startup_cpu']:>10.1f} "
          f"{r['rss_mib']:>8.0f}", flush=True)  # fmt: skip


def run_bench(seeds: int, episodes: int, only: str | None) -> int:
    print(f"CPU: {cpu_model()}")
    print(f"{'variant':<9} {'env':<15} {'impl':<22} {'seeds':>5} {'episodes':>8} "
          f"{'agent-steps':>11} {'CPU-s':>8} {'steps/CPU-s':>11} {'startup-s':>10} "
          f"{'RSS MiB':>8}")  # fmt: skip
    for variant, env_id in CASES.items():
        if only and variant != only:
            continue
        eng = _measure("engine", variant, env_id, seeds, episodes)
        form = NOTEBOOK_PROTOCOL[variant].get("actor_loss", "")
        _row(variant, env_id, f"engine {form}".strip(), seeds, episodes, eng)
        nb = _measure("notebook", variant, env_id, seeds, episodes)
        _row(variant, env_id, "notebook", seeds, episodes, nb)
        if variant == "episodic":  # the pipeline's per-step loss: different episodes, no pair
            _row(variant, env_id, "engine sum (alone)", seeds, episodes,
                 _measure("engine", variant, env_id, seeds, episodes, "sum"))  # fmt: skip
        ratio = eng["cpu_rate"] / nb["cpu_rate"]
        target = TARGETS[variant]
        verdict = "meets" if ratio >= target else "MISSES"
        parts = eng["parts"]
        env_share = parts["env step"]
        floor = eng["cpu_rate"] / env_share / nb["cpu_rate"] if env_share else float("inf")
        print(f"{variant:<9} speed-up {ratio:.1f}x per CPU-second ({verdict} the {target:.0f}x "
              f"target); the env's own step is {100 * env_share:.0f}% of the engine's time, "
              f"so {floor:.0f}x is the ceiling with everything else free", flush=True)  # fmt: skip
        shares = ", ".join(f"{k} {100 * v:.0f}%" for k, v in parts.items() if v >= 0.005)
        print(f"{variant:<9} engine time: {shares}", flush=True)
    return 0


if __name__ == "__main__":
    k, v, e, s, n = sys.argv[1:6]
    _worker(k, v, e, int(s), int(n), sys.argv[6] if len(sys.argv) > 6 else "")
