"""figures/collapse_rollouts.gif (and .png, an animated PNG, when the rule lists it): one
seed of the reference arm, retrained exactly as the pipeline trained it, rendered on its env
(Gymnasium's rgb_array renderer, no window) with its policy at its peak and after its
collapse, side by side.

"At its peak": after the training episode at the centre of its best peak-window moving
mean. "After its collapse": after its last training episode. Both rollouts start from
the same env seed and sample actions with the same uniforms, so only the policy differs.

The collapsed policy's episode is over after a few steps while the other runs on: its side
replays its episode (labelled as a replay) instead of freezing on the last frame, and each
side says how often its policy took each action ("pushes one way" when it only took one).
"""

import os

import gymnasium as gym
import numpy as np
import pandas as pd
from deterministic_io import log_to
from PIL import Image, ImageDraw, ImageFont

from a2c_repro.agent import AgentGroup
from a2c_repro.config import apply_overrides, default_config
from a2c_repro.envs import env_dims
from a2c_repro.train import agent_states_at

LABEL_HEIGHT = 62  # four lines of PIL's default font
# The rgb_array renderer draws off-screen; without a display SDL would complain on stderr.
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")


def pick_seed(collapse: pd.DataFrame, arm: str, seed) -> pd.Series:
    """The configured seed, else the first collapsed seed, else (no run collapsed) the first."""
    runs = collapse[collapse["arm"] == arm].sort_values("seed")
    if seed is None:
        collapsed = runs[runs["collapsed"].astype(bool)]
        return (collapsed if len(collapsed) else runs).iloc[0]
    match = runs[runs["seed"] == seed]
    if match.empty:
        raise SystemExit(f"rollouts.seed {seed}: not a seed of arm {arm!r} "
                         f"(seeds {runs['seed'].min()}-{runs['seed'].max()})")
    return match.iloc[0]


# What a discrete action does, for the panels' labels; other envs show the action's index.
ACTION_NAMES = {"CartPole-v1": ("push left", "push right")}


def rollout(env_id: str, state: dict, cfg, rollout_seed: int, stride: int) -> tuple[list, float, list]:
    """One episode of the policy (sampled actions): every `stride`-th frame with its step,
    the episode's return and its actions."""
    n_obs, n_actions, _ = env_dims(env_id)
    agent = AgentGroup(n_obs, n_actions, cfg, [0])
    agent.load_row(0, state)
    env = gym.make(env_id, render_mode="rgb_array")
    uniforms = np.random.default_rng(rollout_seed)
    obs, _ = env.reset(seed=rollout_seed)
    frames, total, t, actions = [(env.render(), 0)], 0.0, 0, []
    while True:
        u = np.array([uniforms.random()], np.float32)
        action = int(agent.act(np.asarray(obs, np.float32)[None], u, row=0)[0][0])
        actions.append(action)
        obs, reward, terminated, truncated, _ = env.step(action)
        total += float(reward)
        t += 1
        if terminated or truncated:
            frames.append((env.render(), t))
            break
        if t % stride == 0:
            frames.append((env.render(), t))
    env.close()
    return frames, total, actions


def action_summary(env_id: str, actions: list[int], n_actions: int) -> str:
    """How often the rollout took each action, e.g. "pushes one way: push left 9 of 9 steps"."""
    names = ACTION_NAMES.get(env_id, tuple(f"action {a}" for a in range(n_actions)))
    counts = np.bincount(actions, minlength=n_actions)
    parts = ", ".join(f"{names[a]} {counts[a]}" for a in range(n_actions) if counts[a])
    one_way = np.count_nonzero(counts) == 1
    return f"{'pushes one way: ' if one_way else 'actions: '}{parts} of {len(actions)} steps"


def panel(frame: np.ndarray, width: int, title: str, font) -> Image.Image:
    image = Image.fromarray(frame)
    image = image.resize((width, round(image.height * width / image.width)), Image.Resampling.LANCZOS)
    out = Image.new("RGB", (width, image.height + LABEL_HEIGHT), "white")
    out.paste(image, (0, LABEL_HEIGHT))
    ImageDraw.Draw(out).multiline_text((4, 2), title, fill="black", font=font, spacing=2)
    return out


def main(snakemake) -> None:
    log = log_to(snakemake.log[0])
    p = snakemake.params
    opts = {"seed": None, "rollout_seed": 0, "frame_stride": 2, "frame_ms": 40, "width": 300,
            **(p.rollouts or {})}
    collapse = pd.read_csv(snakemake.input.collapse)
    run = pick_seed(collapse, p.arm, opts["seed"])
    seed = int(run["seed"])
    peak_at = max(0, int(run["peak_episode"]) - p.peak_window // 2)
    last = int(run["n_episodes"]) - 1
    cfg = apply_overrides(default_config(p.engine), p.hyperparameters)
    log.info("retraining %s seed %d to episodes %d and %d", p.arm, seed, peak_at, last)
    states, rows = agent_states_at(p.engine, p.env, seed, cfg, [peak_at, last])
    csv = pd.read_csv(p.csv_of_seed[seed])
    replayed = [float(r.split(",")[4]) for r in rows]
    if replayed != csv["return"].tolist():
        raise SystemExit(f"collapse_rollouts: retraining seed {seed} did not reproduce {p.csv_of_seed[seed]}")
    font = ImageFont.load_default()
    sides = []
    end = "after its collapse" if bool(run["collapsed"]) else f"at its end ({run['outcome']})"
    for episode, what in ((peak_at, "at its peak"), (last, end)):
        frames, total, actions = rollout(p.env, states[episode], cfg, opts["rollout_seed"], opts["frame_stride"])
        mean50 = csv["return"].iloc[max(0, episode - p.peak_window // 2): episode + p.peak_window // 2 + 1]
        title = (f"seed {seed} {what}: policy after episode {episode}\n"
                 f"training return around it {mean50.mean():.0f}; this rollout's return {total:.0f}")
        sides.append((frames, title, action_summary(p.env, actions, env_dims(p.env)[1]), len(actions)))
    n = max(len(frames) for frames, *_ in sides)
    gif = []
    for i in range(n):
        panels = []
        for frames, title, summary, steps in sides:
            # A side whose episode is over replays it (saying so) rather than freezing.
            image, t = frames[i % len(frames)]
            if i < len(frames):
                status = f"step {t}"
            else:
                status = f"episode over after {steps} steps: replay {i // len(frames)}"
            panels.append(panel(image, opts["width"], f"{title}\n{status}\n{summary}", font))
        height = max(im.height for im in panels)
        frame = Image.new("RGB", (2 * opts["width"] + 6, height), "grey")
        for k, im in enumerate(panels):
            frame.paste(im, (k * (opts["width"] + 6), 0))
        gif.append(frame.convert("P", palette=Image.Palette.ADAPTIVE, colors=64))
    # Every output gets the same animation, its format from its suffix: .gif for READMEs and
    # docs, .png (animated PNG) for the Snakemake report, whose viewer shows PNG inline but
    # offers a GIF only as a download.
    for out in snakemake.output:
        if str(out).endswith(".png"):
            gif[0].save(out, format="PNG", save_all=True, append_images=gif[1:],
                        duration=opts["frame_ms"], loop=0, optimize=False, disposal=1)  # fmt: skip
        else:
            gif[0].save(out, save_all=True, append_images=gif[1:], duration=opts["frame_ms"], loop=0,
                        optimize=False, disposal=1)  # fmt: skip
        log.info("wrote %s: %d frames", out, len(gif))


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
