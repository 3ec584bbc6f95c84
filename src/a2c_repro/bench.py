"""``a2c-repro bench``: the engine against the notebooks' own code, in agent-steps per second.

Each measurement runs in a fresh subprocess with one torch thread, so its peak RSS is its own.
Rates are given per wall-clock second and per CPU second of the process; on a machine shared
with other work the CPU-second rate is the steadier one, and the speed-up uses it.
  engine     one ``train`` call for all seeds (lockstep, batched)
  notebook   ``reference.run_*_notebook`` one seed after another (the notebooks' code)
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time

CASES = {"one_step": "CartPole-v1", "episodic": "LunarLander-v3"}
# The engine runs each notebook's own protocol, so both sides do the same work: the one-step
# notebook runs a sampled evaluation episode every 50 episodes (the engine's default), the
# episodic notebook runs none (the engine's default evaluates, for the pipeline's figures).
NOTEBOOK_PROTOCOL = {"one_step": {}, "episodic": {"eval_interval": 0}}
TARGETS = {"one_step": 25.0, "episodic": 12.0}


def _worker(kind: str, variant: str, env_id: str, seeds: int, episodes: int) -> None:
    import torch

    torch.set_num_threads(1)
    t0, c0 = time.perf_counter(), time.process_time()
    if kind == "engine":
        from .config import default_config
        from .train import train

        with tempfile.TemporaryDirectory() as d:
            cfg = default_config(variant).replace(**NOTEBOOK_PROTOCOL[variant])
            paths = train(variant, env_id, list(range(seeds)), episodes, cfg, d)
            steps = 0
            for p in paths:
                last = p.read_text().strip().splitlines()[-1].split(",")
                steps += int(last[6])
    else:
        from . import reference

        fn = (
            reference.run_one_step_notebook
            if variant == "one_step"
            else reference.run_episodic_notebook
        )
        steps = sum(fn(env_id, episodes, s) for s in range(seeds))
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"steps": steps, "seconds": wall, "cpu_seconds": cpu, "rss_mib": rss_mib}))


def _measure(kind: str, variant: str, env_id: str, seeds: int, episodes: int) -> dict:
    cmd = [
        sys.executable,
        "-m",
        "a2c_repro.bench",
        kind,
        variant,
        env_id,
        str(seeds),
        str(episodes),
    ]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_bench(seeds: int, episodes: int, baseline_episodes: int | None, only: str | None) -> int:
    base_eps = baseline_episodes or episodes
    print(f"{'variant':<9} {'env':<15} {'impl':<9} {'seeds':>5} {'episodes':>8} "
          f"{'agent-steps':>11} {'seconds':>8} {'steps/s':>9} {'steps/CPU-s':>11} "
          f"{'peakRSS MiB':>11}")  # fmt: skip
    ok = True
    for variant, env_id in CASES.items():
        if only and variant != only:
            continue
        res = {}
        for kind, eps in (("engine", episodes), ("notebook", base_eps)):
            r = _measure(kind, variant, env_id, seeds, eps)
            r["rate"] = r["steps"] / r["seconds"]
            r["cpu_rate"] = r["steps"] / r["cpu_seconds"]
            res[kind] = r
            print(f"{variant:<9} {env_id:<15} {kind:<9} {seeds:>5} {eps:>8} {r['steps']:>11} "
                  f"{r['seconds']:>8.1f} {r['rate']:>9.0f} {r['cpu_rate']:>11.0f} "
                  f"{r['rss_mib']:>11.0f}", flush=True)  # fmt: skip
        ratio = res["engine"]["cpu_rate"] / res["notebook"]["cpu_rate"]
        wall_ratio = res["engine"]["rate"] / res["notebook"]["rate"]
        target = TARGETS[variant]
        verdict = "meets" if ratio >= target else "MISSES"
        ok &= ratio >= target and max(r["rss_mib"] for r in res.values()) <= 1024
        print(
            f"{variant:<9} speed-up {ratio:.1f}x per CPU-second, {wall_ratio:.1f}x per wall "
            f"second ({verdict} the {target:.0f}x target)",
            flush=True,
        )
    return 0 if ok else 1


if __name__ == "__main__":
    k, v, e, s, n = sys.argv[1:6]
    _worker(k, v, e, int(s), int(n))
