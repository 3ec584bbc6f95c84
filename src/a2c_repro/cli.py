"""``a2c-repro`` command line: train, defaults, bench.

Bad arguments exit with status 2 and one line naming the argument; nothing is written then.
A fault while running (an unwritable output, a full disk) exits with status 1 and one line
naming the path; no partial file is left behind.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
from pathlib import Path

import yaml

from .atomic_io import RunError
from .bench import CASES
from .config import VARIANTS, ConfigError, apply_overrides, default_config, parse_seeds
from .layout import default_record, run_dir, seed_csv

MAX_EPISODES = 10_000_000


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2 (argparse's own convention)
        self.exit(2, f"{self.prog}: error: {message}\n")


def _check_out_dir(out: str) -> Path:
    """Fail early (before any training) if --out cannot be created or written."""
    if not out.strip():
        raise ConfigError("--out '': expected a directory path")
    p = Path(out)
    try:
        p.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=p, prefix=".write-test-")
        os.close(fd)
        os.unlink(name)
    except OSError as exc:
        raise ConfigError(f"--out {out}: not a writable directory ({exc.strerror})") from None
    return p


def _build_parser() -> argparse.ArgumentParser:
    ap = _Parser(prog="a2c-repro", description=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True, parser_class=_Parser)

    t = sub.add_parser("train", help="train seeds of one variant on one env (one CSV per seed)")
    t.add_argument("--variant", required=True, help=f"one of {', '.join(VARIANTS)}")
    t.add_argument("--env", required=True, help="Gymnasium env id, e.g. CartPole-v1")
    t.add_argument("--seeds", required=True, help="e.g. 0-9, 3, 0,2,5, 0-4,10-14")
    t.add_argument("--episodes", required=True, type=int, help="training episodes per seed")
    out_csv = seed_csv("OUT", "<env>", "<k>")
    t.add_argument("--out", required=True, help=f"writes {out_csv}")
    t.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a hyperparameter (see `a2c-repro defaults`)",
    )
    t.add_argument(
        "--checkpoint-every",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="checkpoint interval for resume after a crash (default 60; <0 = never)",
    )
    t.add_argument(
        "--record",
        default=None,
        metavar="PATH",
        help="where to write the run's record (identity, key, timing); "
        f"default {default_record(run_dir('OUT', '<env>'), '<seeds>')}",
    )
    t.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    t.add_argument(
        "--implementation",
        "--engine",  # its earlier name, still accepted
        dest="implementation",
        choices=("fast", "notebook"),
        default="fast",
        help="fast (default): this engine; notebook: the notebooks' own PyTorch code, one seed after "
        "another (slow; its bits depend on the CPU; only gamma and, one_step, max_grad_norm "
        "may be --set; each seed's CSV is written when it finishes, no mid-seed checkpoints)",
    )

    d = sub.add_parser("defaults", help="print a variant's default (notebook) hyperparameters")
    d.add_argument("--variant", required=True, help=f"one of {', '.join(VARIANTS)}")

    b = sub.add_parser(
        "bench", help="engine vs the notebooks' code, same runs on both sides (agent-steps/CPU-s)"
    )
    b.add_argument("--seeds", type=int, default=10)
    b.add_argument("--episodes", type=int, default=100, help="episodes per seed, both sides")
    b.add_argument("--only", choices=tuple(CASES), default=None)
    return ap


def main(argv: list[str] | None = None) -> int:
    args = _build_parser().parse_args(argv)
    try:
        if args.cmd == "defaults":
            print(yaml.safe_dump(default_config(args.variant).as_dict(), sort_keys=False), end="")
            return 0
        if args.cmd == "bench":
            from .bench import run_bench

            return run_bench(args.seeds, args.episodes, args.only)
        if args.implementation == "notebook":
            from .notebook_engine import notebook_config

            cfg = notebook_config(args.variant, args.set)
        else:
            cfg = apply_overrides(default_config(args.variant), args.set)
        seeds = parse_seeds(args.seeds)
        if not 0 < args.episodes <= MAX_EPISODES:
            raise ConfigError(f"--episodes {args.episodes}: expected an integer in 1..{MAX_EPISODES}")
        if not math.isfinite(args.checkpoint_every):
            raise ConfigError(
                f"--checkpoint-every {args.checkpoint_every}: expected a finite number of seconds"
            )
        if args.record is not None and not args.record.strip():
            raise ConfigError("--record '': expected a file path")
        from .envs import env_dims

        env_dims(args.env)  # validates the env id before anything is written
        out = _check_out_dir(args.out)
        if args.implementation == "notebook":
            from .notebook_engine import train_notebook

            paths = train_notebook(
                args.variant, args.env, seeds, args.episodes, cfg, out,
                progress=not args.no_progress, record=args.record,
            )  # fmt: skip
        else:
            from .train import train

            paths = train(
                args.variant, args.env, seeds, args.episodes, cfg, out,
                checkpoint_every=args.checkpoint_every, progress=not args.no_progress,
                record=args.record,
            )  # fmt: skip
        print(f"wrote {len(paths)} CSV file(s) under {paths[0].parent}", file=sys.stderr)
        return 0
    except ConfigError as exc:
        print(f"a2c-repro: error: {exc}", file=sys.stderr)
        return 2
    except RunError as exc:
        print(f"a2c-repro: error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # any other I/O fault: one line, no traceback
        where = f" {exc.filename}" if exc.filename else ""
        print(f"a2c-repro: error: cannot access{where}: {exc.strerror or exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
