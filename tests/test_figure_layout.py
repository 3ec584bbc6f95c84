"""Every matplotlib figure of the report, drawn by its own script from the committed
aggregates, is checked for what a reader trips over: tick labels that overprint each other,
a legend on top of data or of another label. The check reads matplotlib's own text and
legend bounding boxes after drawing, so it sees the layout the saved PNG has.

The figures are drawn with small fixed params (not the config, which is being reshaped);
what matters here is the layout each script produces for the committed data.
"""

from __future__ import annotations

import itertools
import sys
import types
from pathlib import Path

import numpy as np
import pytest
from pipeline_helpers import REPO, planned

SCRIPTS = REPO / "workflow" / "scripts"
AGG = REPO / "results" / "aggregated"
sys.path.insert(0, str(SCRIPTS))

# Overlap below this many pixels (at the figure's dpi) is anti-aliasing, not a collision.
TOLERANCE_PX = 1.0

LABELS = {"one_step": "one-step A2C", "episodic": "episodic A2C",
          "episodic_notebook": "episodic A2C (notebook code, broadcast loss)"}  # fmt: skip
VARIANTS = list(LABELS)
ENVS = ["CartPole-v1", "LunarLander-v3", "Acrobot-v1"]
# The collapse study's definition, as the committed config states it.
COLLAPSE = planned(REPO, ()).experiments["collapse_study"].analyses["collapse"]


def _overlap(a, b) -> bool:
    return (min(a.x1, b.x1) - max(a.x0, b.x0) > TOLERANCE_PX
            and min(a.y1, b.y1) - max(a.y0, b.y0) > TOLERANCE_PX)  # fmt: skip


def _shown_ticklabels(ax, axis: str):
    """The tick labels that are drawn: non-empty and inside the axes' span (matplotlib keeps
    labels for ticks outside the view limits, which it does not draw)."""
    renderer = ax.figure.canvas.get_renderer()
    span = ax.get_window_extent(renderer)
    labels = ax.get_xticklabels() if axis == "x" else ax.get_yticklabels()
    shown = []
    for t in labels:
        if not (t.get_visible() and t.get_text()):
            continue
        box = t.get_window_extent(renderer)
        centre = (box.x0 + box.x1) / 2 if axis == "x" else (box.y0 + box.y1) / 2
        low, high = (span.x0, span.x1) if axis == "x" else (span.y0, span.y1)
        if low - TOLERANCE_PX <= centre <= high + TOLERANCE_PX:
            shown.append((t.get_text(), box))
    return shown


def _data_points(ax) -> np.ndarray:
    """Display coordinates of the axes' data: line vertices, scatter points and the
    vertices of filled bands, clipped to the axes' area (what is drawn)."""
    points = [line.get_transform().transform(line.get_xydata()) for line in ax.lines
              if line.get_visible() and len(line.get_xydata())]  # fmt: skip
    for coll in ax.collections:
        if not coll.get_visible():
            continue
        offsets = coll.get_offsets()
        if len(offsets) and coll.get_offset_transform() is not None and not coll.get_paths()[1:]:
            points.append(coll.get_offset_transform().transform(offsets))
        for path in coll.get_paths():
            if len(path.vertices) > 1:
                points.append(coll.get_transform().transform(path.vertices))
    if not points:
        return np.empty((0, 2))
    xy = np.concatenate(points)
    area = ax.get_window_extent(ax.figure.canvas.get_renderer())
    inside = ((xy[:, 0] >= area.x0) & (xy[:, 0] <= area.x1)
              & (xy[:, 1] >= area.y0) & (xy[:, 1] <= area.y1))  # fmt: skip
    return xy[inside & np.isfinite(xy).all(axis=1)]


def layout_problems(fig) -> list[str]:
    """One line per collision in `fig`: overlapping tick labels on an axis, and any legend
    on a tick label, axis label or title, or on data points of any axes."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    problems = []
    axes = [ax for ax in fig.axes if ax.get_visible()]
    texts = []
    for i, ax in enumerate(axes):
        name = f"axes {i} ({ax.get_title() or 'untitled'})"
        for axis in "xy":
            shown = _shown_ticklabels(ax, axis)
            texts += [(f"{name} {axis} tick label {text!r}", box) for text, box in shown]
            for (ta, a), (tb, b) in itertools.combinations(shown, 2):
                if _overlap(a, b):
                    problems.append(f"{name}: {axis} tick labels {ta!r} and {tb!r} overlap")
        for label in (ax.xaxis.label, ax.yaxis.label, ax.title):
            if label.get_visible() and label.get_text():
                texts.append((f"{name} label {label.get_text()!r}", label.get_window_extent(renderer)))
    if fig._suptitle is not None:
        texts.append((f"title {fig._suptitle.get_text()!r}", fig._suptitle.get_window_extent(renderer)))
    legends = [ax.get_legend() for ax in axes if ax.get_legend() is not None] + list(fig.legends)
    for leg in legends:
        box = leg.get_window_extent(renderer)
        for what, other in texts:
            if _overlap(box, other):
                problems.append(f"legend overlaps {what}")
        for i, ax in enumerate(axes):
            xy = _data_points(ax)
            hit = ((xy[:, 0] > box.x0) & (xy[:, 0] < box.x1)
                   & (xy[:, 1] > box.y0) & (xy[:, 1] < box.y1))  # fmt: skip
            if hit.any():
                problems.append(f"legend covers {int(hit.sum())} data points of axes {i} "
                                f"({ax.get_title() or 'untitled'})")  # fmt: skip
    return problems


def _snakemake(inputs: dict, outputs, params: dict, log: Path):
    """The `snakemake` object a script is given: named inputs/params, outputs as a list
    that may also have names (learning curves: by_episode, by_env_steps)."""

    class Named(list):
        pass

    if isinstance(outputs, dict):
        out = Named(p for paths in outputs.values() for p in paths)
        for key, paths in outputs.items():
            setattr(out, key, paths)
    else:
        out = Named(outputs)
    return types.SimpleNamespace(input=types.SimpleNamespace(**inputs), output=out,
                                 params=types.SimpleNamespace(**params), log=[str(log)])  # fmt: skip


def figure_jobs(out: Path) -> dict[str, tuple[str, object]]:
    """Script and snakemake object of every matplotlib figure this test draws."""
    jobs = {
        "final_returns": ("plot_final_returns", _snakemake(
            {"final": str(AGG / "final.csv")}, [str(out / "final_returns.png")],
            {"envs": ENVS, "variants": VARIANTS, "labels": LABELS, "final_fraction": 0.1,
             "jitter_seed": 20240604}, out / "final.log")),
        "one_step_collapse": ("plot_one_step_collapse", _snakemake(
            {"episodes": str(AGG / "episodes.csv")}, [str(out / "one_step_collapse.png")],
            {"env": "CartPole-v1", "variant": "one_step", "variants": VARIANTS,
             "label": LABELS["one_step"], "window": 50, "collapse": COLLAPSE, "peak_window": 50,
             "notebook_eval": {"episodes": [0, 50, 100, 150, 200, 250, 300, 350, 400, 450, 500],
                               "returns": [27, 21, 64, 50, 175, 27, 10, 8, 9, 10, 9]}},
            out / "osc.log")),
        "ablations": ("plot_ablations", _snakemake(
            {"ablations": str(AGG / "ablations.csv"), "collapse": str(AGG / "collapse.csv")},
            [str(out / "ablations.png")],
            {"env": "CartPole-v1", "confidence": 0.95, "final_fraction": 0.1,
             "jitter_seed": 20240604}, out / "ablations.log")),
        "collapse_diagnostics": ("plot_collapse_diagnostics", _snakemake(
            {"aligned": str(AGG / "collapse_episodes.csv")}, [str(out / "diagnostics.png")],
            {"env": "CartPole-v1", "label": "notebook (as is)", "span": 100},
            out / "diagnostics.log")),
    }  # fmt: skip
    for env in ENVS:
        jobs[f"learning_curves_{env}"] = ("plot_learning_curves", _snakemake(
            {"episodes": str(AGG / "episodes.csv"), "summary": str(AGG / "summary.csv"),
             "summary_env_steps": str(AGG / "summary_env_steps.csv")},
            {"by_episode": [str(out / f"lc_{env}.png")],
             "by_env_steps": [str(out / f"lc_{env}_env_steps.png")]},
            {"env": env, "variants": VARIANTS, "labels": LABELS, "smoothing_window": 20,
             "confidence": 0.95}, out / f"lc_{env}.log"))  # fmt: skip
    return jobs


@pytest.fixture
def drawn(monkeypatch):
    """Runs a figure script with save_figure spied on: returns {output path: problems}."""
    import deterministic_io

    seen, figures = {}, {}
    save = deterministic_io.save_figure

    def spy(fig, paths):
        seen[paths[0]] = layout_problems(fig)
        figures[paths[0]] = fig
        save(fig, paths)

    monkeypatch.setattr(deterministic_io, "save_figure", spy)

    def draw(module: str, snakemake):
        __import__(module).main(snakemake)
        draw.figures = figures
        return seen

    return draw


@pytest.mark.parametrize("name", list(figure_jobs(Path("."))))
def test_figure_has_no_overlapping_labels_or_legend(name, tmp_path, drawn):
    module, snakemake = figure_jobs(tmp_path)[name]
    seen = drawn(module, snakemake)
    assert len(seen) == len(snakemake.output), f"{name}: drew {sorted(seen)}"
    problems = [f"{Path(path).name}: {p}" for path, found in seen.items() for p in found]
    assert not problems, f"{name}: {problems[0]} (and {len(problems) - 1} more)"


def test_check_catches_overprinted_ticks_and_a_legend_on_data(tmp_path):
    """The check fails on what the old figures had: three long unwrapped tick labels in a
    narrow panel, and a loc='best' legend with long labels over the data."""
    from deterministic_io import setup_matplotlib

    setup_matplotlib()
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(6, 3))
    a.bar(range(3), [1, 2, 3])
    a.set_xticks(range(3), [LABELS[v] for v in VARIANTS])
    x = np.linspace(0, 1, 200)
    for k in range(3):
        b.plot(x, np.sin(6 * x + k), label=f"{LABELS['episodic_notebook']} {k}")
    b.legend(loc="best")
    problems = layout_problems(fig)
    plt.close(fig)
    assert any("tick labels" in p and "overlap" in p for p in problems), problems
    assert any("legend covers" in p for p in problems), problems


def test_one_step_collapse_separates_a_collapsed_return_and_names_each_outcome(tmp_path, drawn):
    """A collapsed CartPole policy returns ~9: on a linear 0-500 axis that is a line on the
    floor, indistinguishable from 0 or 20. Here 9 and 20 must be at least a tenth of the
    axis height apart, and every panel's title must say what became of its seed."""
    module, snakemake = figure_jobs(tmp_path)["one_step_collapse"]
    drawn(module, snakemake)
    (fig,) = drawn.figures.values()
    panels = [ax for ax in fig.axes if ax.get_visible()]
    ax = panels[0]
    height = ax.get_window_extent().height
    y9, y20 = (ax.transData.transform((0, v))[1] for v in (9, 20))
    assert (y20 - y9) / height >= 0.1, f"returns 9 and 20 only {(y20 - y9) / height:.0%} of the axis apart"
    untold = [ax.get_title() for ax in panels
              if not any(o in ax.get_title() for o in ("collapsed", "survived", "never learned"))]
    assert not untold, f"panels without an outcome: {untold}"


def test_rollouts_gif_never_freezes_and_says_pushes_one_way():
    """The committed GIF (redrawn byte for byte by test_committed_results): neither side
    may stand still between consecutive frames (the collapsed side's short episode is
    replayed, not held), and it has frames for the whole of the longer episode."""
    from PIL import Image

    gif = Image.open(REPO / "figures" / "collapse_rollouts.gif")
    frames = []
    for i in range(gif.n_frames):
        gif.seek(i)
        frames.append(np.asarray(gif.convert("RGB")))
    half = frames[0].shape[1] // 2
    for side, cut in (("left", slice(0, half)), ("right", slice(half, None))):
        still = [i for i in range(1, len(frames)) if np.array_equal(frames[i][:, cut], frames[i - 1][:, cut])]
        assert not still, f"{side} side frozen at frames {still[:5]} of {len(frames)}"
    assert len(frames) > 20, f"only {len(frames)} frames"
