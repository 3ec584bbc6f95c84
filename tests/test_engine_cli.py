"""The ``a2c-repro`` command line: bad arguments exit 2 with one line naming them, and
nothing is written."""

from __future__ import annotations

import pytest
import yaml

from a2c_repro.cli import main
from a2c_repro.config import default_config

GOOD = ["train", "--variant", "one_step", "--env", "CartPole-v1", "--seeds", "0-1",
        "--episodes", "2", "--no-progress"]  # fmt: skip


def _with(args: list[str], **changes: str) -> list[str]:
    args = list(args)
    for flag, value in changes.items():
        flag = "--" + flag
        args[args.index(flag) + 1] = value
    return args


@pytest.mark.parametrize(
    "changes,extra,needle",
    [
        ({"variant": "two_step"}, [], "--variant two_step"),
        ({}, ["--set", "learning_rate=0.1"], "--set learning_rate"),
        ({}, ["--set", "gamma"], "--set gamma"),
        ({"seeds": "a-b"}, [], "--seeds a-b"),
        ({"seeds": "5-2"}, [], "--seeds 5-2"),
        ({"seeds": ""}, [], "--seeds"),
        ({"episodes": "0"}, [], "--episodes 0"),
        ({"episodes": "-3"}, [], "--episodes -3"),
        ({}, ["--set", "actor_lr=0"], "--set actor_lr=0"),
        ({}, ["--set", "critic_lr=-1e-3"], "--set critic_lr=-0.001"),
        ({}, ["--set", "gamma=1.5"], "--set gamma=1.5"),
        ({}, ["--set", "gamma=-0.1"], "--set gamma=-0.1"),
        ({}, ["--set", "actor_hidden=128,zero"], "--set actor_hidden=128,zero"),
        ({"env": "NoSuchEnv-v0"}, [], "--env NoSuchEnv-v0"),
        ({"env": "Pendulum-v1"}, [], "not Discrete"),
    ],
)  # fmt: skip
def test_bad_arguments_exit_2_with_one_line_and_write_nothing(
    tmp_path, capsys, changes, extra, needle
):
    out = tmp_path / "out"
    code = main(_with(GOOD, **changes) + ["--out", str(out)] + extra)
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and needle in err, err
    assert not out.exists() or not any(out.rglob("*")), "nothing may be written"


def test_argparse_errors_also_exit_2(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["train", "--variant", "one_step", "--env", "CartPole-v1", "--seeds", "0",
              "--episodes", "many", "--out", str(tmp_path)])  # fmt: skip
    assert exc.value.code == 2
    assert "--episodes" in capsys.readouterr().err


def test_unwritable_out_is_rejected_before_training(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    code = main(GOOD + ["--out", str(blocker / "sub")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and f"--out {blocker / 'sub'}" in err and len(err.splitlines()) == 1


def test_image_observation_env_is_rejected(capsys):
    from a2c_repro.config import ConfigError
    from a2c_repro.envs import make_env

    # CarRacing with discrete actions: 96×96×3 image observations
    with pytest.raises(ConfigError, match="not a 1-D Box"):
        make_env("CarRacing-v3")


def test_set_overrides_reach_the_run_and_defaults_print_the_notebook_settings(tmp_path, capsys):
    assert main(["defaults", "--variant", "episodic"]) == 0
    printed = yaml.safe_load(capsys.readouterr().out)
    assert printed == default_config("episodic").as_dict()
    assert printed["gamma"] == 0.97 and printed["actor_hidden"] == [128, 128]
    code = main(GOOD + ["--out", str(tmp_path), "--set", "actor_hidden=16,16",
                        "--set", "critic_hidden=16,16", "--set", "eval_interval=1"])  # fmt: skip
    assert code == 0
    text = (tmp_path / "CartPole-v1" / "one_step" / "seed0.csv").read_text().splitlines()
    assert len(text) == 3 and all(line.split(",")[10] != "" for line in text[1:])
