"""The ``a2c-repro`` command line: bad arguments exit 2 with one line naming them, and
nothing is written."""

from __future__ import annotations

import pytest
import yaml

from a2c_repro.cli import main
from a2c_repro.config import default_config

GOOD = ["train", "--variant", "one_step", "--env", "CartPole-v1", "--seeds", "0-1",
        "--episodes", "2", "--no-progress"]  # fmt: skip


def _with(args: list[str], flag: str, value: str) -> list[str]:
    """``args`` with ``flag``'s value replaced, or ``flag value`` appended (e.g. ``--set``)."""
    args = list(args)
    if flag in args and flag != "--set":
        args[args.index(flag) + 1] = value
    else:
        args += [flag, value]
    return args


# (flag, bad value[, what the one-line error must contain; default "flag value"])
BAD_ARGUMENTS = [
    ("--variant", "two_step"),
    ("--set", "learning_rate=0.1", "--set learning_rate"),
    ("--set", "gamma"),
    ("--seeds", "a-b"),
    ("--seeds", "5-2"),
    ("--seeds", "", "--seeds"),
    ("--episodes", "0"),
    ("--episodes", "-3"),
    ("--set", "actor_lr=0"),
    ("--set", "critic_lr=-1e-3", "--set critic_lr=-0.001"),
    ("--set", "gamma=1.5"),
    ("--set", "gamma=-0.1"),
    ("--set", "actor_hidden=128,zero"),
    ("--env", "NoSuchEnv-v0"),
    ("--env", "Pendulum-v1", "not Discrete"),
    # non-finite numbers never reach a run
    ("--set", "critic_lr=inf", "--set critic_lr=inf: expected a finite number"),
    ("--set", "entropy_coef=nan", "--set entropy_coef=nan: expected a finite number"),
    ("--set", "max_grad_norm=nan", "--set max_grad_norm=nan: expected a finite"),
    ("--set", "gamma=nan", "--set gamma=nan: expected a finite number"),
    ("--set", "adam_eps=-inf", "--set adam_eps=-inf: expected a finite number"),
    ("--checkpoint-every", "nan", "--checkpoint-every nan: expected a finite"),
    ("--checkpoint-every", "inf", "--checkpoint-every inf: expected a finite"),
    # seeds: the right reason, and a bound checked before anything is built
    ("--seeds", "5-2", "range 5-2 is empty (start > end)"),
    ("--seeds", "0-9999999", "--seeds 0-9999999: more than 100000 seeds"),
    ("--seeds", "-1", "--seeds -1: malformed part"),
    ("--episodes", "99999999999", "--episodes 99999999999: expected an integer in"),
    # absurd network sizes: one line, no OverflowError or MemoryError
    ("--set", "actor_hidden=99999999999999999999", "is outside 1..65536"),
    ("--set", "critic_hidden=60000,60000", "at most 50,000,000 parameters"),
    ("--set", "eval_interval=2.5", "--set eval_interval=2.5: expected an integer"),
]


@pytest.mark.parametrize("bad", BAD_ARGUMENTS, ids=lambda bad: " ".join(bad[:2]))
def test_bad_arguments_exit_2_with_one_line_and_write_nothing(tmp_path, capsys, bad):
    flag, value, *needle = bad
    needle = needle[0] if needle else f"{flag} {value}"
    out = tmp_path / "out"
    code = main(_with(GOOD + ["--out", str(out)], flag, value))
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


def test_empty_out_is_an_error_not_the_current_directory(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = main(GOOD + ["--out", ""])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err == "a2c-repro: error: --out '': expected a directory path"
    assert not any(tmp_path.iterdir())


def test_a_full_disk_gives_one_line_naming_the_path_and_leaves_no_temp_file(
    tmp_path, capsys, monkeypatch
):
    """ENOSPC while writing a CSV (simulated: the write raises it): exit 1, one line naming
    the file, no partial CSV and no temp file left."""
    import errno
    import importlib

    atomic_io = importlib.import_module("a2c_repro.atomic_io")

    real_open = open

    def full_disk_open(path, mode="r", *args, **kwargs):
        fh = real_open(path, mode, *args, **kwargs)
        if "w" in mode and str(path).endswith(".tmp") and "seed1.csv" in str(path):
            fh.close()
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return fh

    monkeypatch.setattr(atomic_io, "open", full_disk_open, raising=False)
    code = main(GOOD + ["--out", str(tmp_path)])
    err = capsys.readouterr().err.strip().splitlines()
    run_dir = tmp_path / "CartPole-v1"
    assert code == 1
    assert err[-1] == f"a2c-repro: error: cannot write {run_dir / 'seed1.csv'}: No space left on device"
    assert not (run_dir / "seed1.csv").exists()
    assert not list(run_dir.glob(".*.tmp"))


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
    text = (tmp_path / "CartPole-v1" / "seed0.csv").read_text().splitlines()
    assert len(text) == 3 and all(line.split(",")[10] != "" for line in text[1:])
