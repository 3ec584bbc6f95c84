"""``a2c-repro bench``: the engine against the notebooks' own code, in agent-steps per CPU second.

Like for like: both sides train the same seeds for the same number of episodes (full-length
runs) under each notebook's protocol, and the episodic comparison uses the notebook's literal
loss (``actor_loss=notebook_broadcast``) on both sides, so both do the same kind of episodes;
the engine's per-step form (``sum``, the pipeline's default) is reported on its own.
Each measurement runs in a fresh subprocess with one torch thread. Start-up (imports, loading
or compiling the kernels) is measured apart from the training run. The speed-up is the ratio
of CPU-second rates. Where the engine's time goes comes from a profile of a second engine run.

Beside the rates, two bounds that say how far the engine could still go:

  * the *floor*: the engine's own arithmetic for one agent-step — the same compiled kernels
    (forward, sampling, backward, clipping and Adam; for the episodic variant, its share of the
    end-of-episode update) on one seed, fed recorded observations in one compiled loop, with
    no env and no Python. The engine's CPU time per agent-step is printed as a multiple of it.
  * the *env-bound ceiling* (episodic LunarLander): the env's own ``step`` (Box2D, in Python,
    timed alone with random actions) is paid by both sides, so the notebook's time per step
    divided by the env's is the largest speed-up any engine could reach; the engine's speed-up
    is printed as a share of it.

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

import numpy as np

from .jit import kernel
from .one_step import _update_rows
from .policy import act_rows, categorical

CASES = {"one_step": "CartPole-v1", "episodic": "LunarLander-v3"}
# Each notebook's own protocol: the one-step notebook runs a sampled evaluation episode every
# 50 episodes (the engine's default), the episodic notebook none, with its literal loss.
NOTEBOOK_PROTOCOL = {
    "one_step": {},
    "episodic": {"eval_interval": 0, "actor_loss": "notebook_broadcast"},
}
TARGETS = {"one_step": 50.0, "episodic": 15.0}
FLOOR_TARGET = 1.5  # the engine's time per agent-step, at most this multiple of its floor
CEILING_TARGET = 0.9  # episodic LunarLander: at least this share of the env-bound ceiling
# "compiled steps": whole stretches of act + twin env step (+ update, one-step) in one call
PARTS = ("env step", "compiled steps", "forward", "backward", "Adam", "update kernel", "glue")


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
    "_steps_until_an_episode_ends": "compiled steps", "_act_until_an_episode_ends": "compiled steps",
    "_twinned_episode": "compiled steps",
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


# ------------------------------------------------------------------------------ the floor ----
def _recorded_observations(env_id: str, n: int) -> np.ndarray:
    """``n`` observations of ``env_id`` under random actions (the floor's inputs: how many
    hidden units are active, and so the forward pass's cost, depends on realistic states)."""
    from .envs import Stepper, make_env

    st = Stepper(make_env(env_id))
    st.env.unwrapped._np_random = np.random.Generator(np.random.PCG64(0))
    rng = np.random.default_rng(0)
    out = np.empty((n, st.env.observation_space.shape[0]), np.float32)
    obs, _ = st.reset()
    for k in range(n):
        out[k] = obs
        obs, _, te, tu, _ = st.step(int(rng.integers(st.env.action_space.n)))
        if te or tu:
            obs, _ = st.reset()
    return out


@kernel
def _one_step_floor(X, U, n, actor, critic, steps, hp, log):
    """``n`` one-step iterations of one seed with no env: act on X[k] with U[k], then the
    update on (X[k], a, r = 1, X[k+1]) — the training loop's kernels, nothing else."""
    m = X.shape[0]
    Pa, lay, acol = actor[0], actor[4], actor[5]
    raw, ep_len, counts = log[0], log[1], log[2]
    A = np.empty((1, 1, acol[acol.shape[0] - 1] + lay[lay.shape[0] - 1, 3]), np.float32)
    a = np.empty(1, np.int64)
    rew = np.ones(1, np.float32)
    masked = np.zeros(1, np.float32)
    for k in range(n):
        if ep_len[0] == raw.shape[1]:
            ep_len[0] = 0
            counts[0, :] = 0
        obs = X[k % (m - 1) : k % (m - 1) + 1].reshape(1, 1, X.shape[1])
        nxt = X[k % (m - 1) + 1 : k % (m - 1) + 2].reshape(1, 1, X.shape[1])
        act_rows(Pa, lay, acol, obs, U[k % m : k % m + 1], A, a)
        _update_rows(actor, critic, A, obs, nxt, rew, masked, a, steps, hp, log)


@kernel
def _act_floor(X, U, T, P, lay, acol, H, acts):
    """T acting steps of one seed with no env: the activations and actions into H, acts."""
    A = np.empty((1, 1, H.shape[1]), np.float32)
    a = np.empty(1, np.int64)
    for t in range(T):
        act_rows(P, lay, acol, X[t : t + 1].reshape(1, 1, X.shape[1]), U[t : t + 1], A, a)
        H[t] = A[0, 0]
        acts[t] = a[0]


def floor_us(variant: str, env_id: str, episode_length: int = 200) -> float:
    """CPU µs per agent-step of the engine's arithmetic alone, for one seed (see the module
    docstring); episodic: episodes of ``episode_length`` steps (the bench passes the engine
    run's mean, since the end-of-episode update's cost per step depends on it)."""
    from .agent import AgentGroup
    from .config import default_config
    from .one_step import _nets

    cfg = default_config(variant)
    from .envs import env_dims

    X = _recorded_observations(env_id, 4096)
    n_obs, n_act, _ = env_dims(env_id)
    agent = AgentGroup(n_obs, n_act, cfg, [0])
    U = np.random.default_rng(1).random(len(X)).astype(np.float32)
    if variant == "one_step":
        actor, critic, hp = _nets(agent)
        log = (np.zeros((1, 512, 8), np.float32), np.zeros(1, np.int64),
               np.zeros((1, n_act), np.int64), np.zeros(1))  # fmt: skip
        _one_step_floor(X, U, 100, actor, critic, agent.steps, hp, log)  # compile / load
        n = 20_000
        c0 = time.process_time()
        _one_step_floor(X, U, n, actor, critic, agent.steps, hp, log)
        return (time.process_time() - c0) / n * 1e6
    T = episode_length
    lay = agent.actor.layout
    H = np.empty((T, lay.width), np.float32)
    acts = np.empty(T, np.int64)
    d_logits = np.zeros((1, T, n_act), np.float32)
    d_v = np.zeros((1, T), np.float32)

    def episode(k: int) -> None:
        lo = (k * T) % (len(X) - T)
        _act_floor(X[lo:], U[lo:], T, agent.actor.P, lay.lay, lay.acol, H, acts)
        _, _, cache = agent.forward(H[None, :, :n_obs], row=0, actor_acts=H[None])
        _, p, _ = categorical(cache[1][0][:, lay.out_cols()])
        d_logits[0] = p * np.float32(0.01)
        d_v[0] = np.float32(0.01)
        agent.apply_gradients(agent.backward(cache, d_logits, d_v))

    episode(0)
    n = max(20_000 // T, 20)
    c0 = time.process_time()
    for k in range(n):
        episode(k)
    return (time.process_time() - c0) / (n * T) * 1e6


def env_step_us(env_id: str, steps: int = 20_000) -> float:
    """CPU µs per step of ``env_id``'s own ``step`` (resets included) under random actions."""
    from .envs import Stepper, make_env

    st = Stepper(make_env(env_id))
    st.env.unwrapped._np_random = np.random.Generator(np.random.PCG64(0))
    actions = np.random.default_rng(0).integers(st.env.action_space.n, size=steps).tolist()
    st.reset()
    c0 = time.process_time()
    for a in actions:
        _, _, te, tu, _ = st.step(a)
        if te or tu:
            st.reset()
    return (time.process_time() - c0) / steps * 1e6


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
        mean_length = max(round(steps / (seeds * episodes)), 1)  # the floor's episodes
        res["floor_us"] = floor_us(variant, env_id, mean_length)
        res["env_step_us"] = env_step_us(env_id)
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
        print(f"{variant:<9} speed-up {ratio:.1f}x per CPU-second ({verdict} the {target:.0f}x "
              f"target)", flush=True)  # fmt: skip
        eng_us = 1e6 / eng["cpu_rate"]
        nb_us = 1e6 / nb["cpu_rate"]
        x_floor = eng_us / eng["floor_us"]
        verdict = "meets" if x_floor <= FLOOR_TARGET else "MISSES"
        print(f"{variant:<9} floor {eng['floor_us']:.1f} us per agent-step (its arithmetic for "
              f"one seed, no env, no Python); the engine takes {eng_us:.1f} us = {x_floor:.2f}x "
              f"the floor ({verdict} the {FLOOR_TARGET}x target); the notebook {nb_us:.0f} us",
              flush=True)  # fmt: skip
        if variant == "episodic":
            ceiling = nb_us / eng["env_step_us"]
            share = ratio / ceiling
            verdict = "meets" if share >= CEILING_TARGET else "MISSES"
            print(f"{variant:<9} env-bound ceiling: the env's own step {eng['env_step_us']:.1f} "
                  f"us per step, so at most {ceiling:.1f}x with everything else free; the engine "
                  f"reaches {100 * share:.0f}% of it ({verdict} the "
                  f"{100 * CEILING_TARGET:.0f}% target)", flush=True)  # fmt: skip
        shares = ", ".join(f"{k} {100 * v:.0f}%" for k, v in eng["parts"].items() if v >= 0.005)
        print(f"{variant:<9} engine time (profiled): {shares}", flush=True)
    return 0


if __name__ == "__main__":
    k, v, e, s, n = sys.argv[1:6]
    _worker(k, v, e, int(s), int(n), sys.argv[6] if len(sys.argv) > 6 else "")
