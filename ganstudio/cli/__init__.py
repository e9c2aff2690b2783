"""The headless command line: `ganstudio train`, `sample`, `directions`, `export`, `eval`, `import`, `drag`,
`translate` and `models` (no subcommand opens the app). One module per command, each a thin shell over core; this
one assembles the parser and turns errors into one line."""
from __future__ import annotations

import argparse
import logging
import sys
from typing import Sequence

from ganstudio import __version__
from ganstudio.cli import directions, drag, evaluate, export, import_model, models, sample, train, translate
from ganstudio.cli.train import config_from_args
from ganstudio.core.errors import GanStudioError

__all__ = ["build_parser", "config_from_args", "main"]

COMMANDS = {"train": train, "sample": sample, "directions": directions, "export": export, "eval": evaluate,
            "import": import_model, "drag": drag, "models": models, "translate": translate}


class OneLineParser(argparse.ArgumentParser):
    """Argument errors as one clear line, without the usage block."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The parser of every command."""
    parser = OneLineParser(prog="ganstudio", description="Train GANs and explore what they learned. "
                           "With no command, opens the desktop app.")
    parser.add_argument("--version", action="version", version=f"ganstudio {__version__}")
    parser.add_argument("--self-test", action="store_true",
                        help="check this installation offscreen (window, bundled models, training) and exit")
    sub = parser.add_subparsers(dest="command", parser_class=OneLineParser)
    for command in COMMANDS.values():
        command.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run a subcommand; errors are one line on stderr and a non-zero exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    from ganstudio.logs import setup_logging

    setup_logging()
    log = logging.getLogger("ganstudio.cli")
    log.info("ganstudio %s %s", __version__, " ".join(argv if argv is not None else sys.argv[1:]))
    if args.self_test:
        from ganstudio.selftest import run_self_test

        return run_self_test()
    if args.command is None:
        from ganstudio.gui.app import run_app

        return run_app()
    try:
        if getattr(args, "checkpoint", None):
            from ganstudio.core.bundled import resolve_model_path

            args.checkpoint = str(resolve_model_path(args.checkpoint))
        return COMMANDS[args.command].run(args)
    except GanStudioError as exc:
        log.error("%s: %s", args.command, exc)
        print(f"ganstudio {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"ganstudio {args.command}: interrupted", file=sys.stderr)
        return 130
    except MemoryError:
        print(f"ganstudio {args.command}: error: out of memory; try a smaller batch size or model",
              file=sys.stderr)
        return 1
    except torch_oom_error() as exc:
        print(f"ganstudio {args.command}: error: the GPU ran out of memory ({str(exc).splitlines()[0][:100]}); "
              "try a smaller batch size or model", file=sys.stderr)
        return 1


def torch_oom_error() -> type[BaseException]:
    """torch's out-of-memory error, or MemoryError where torch has none."""
    try:
        import torch

        return torch.OutOfMemoryError
    except (ImportError, AttributeError):
        return MemoryError
