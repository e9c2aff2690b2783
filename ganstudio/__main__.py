"""`ganstudio` and `python -m ganstudio`: the desktop app, or a headless subcommand."""
import sys

from ganstudio.cli import main as _main


def main() -> int:
    return _main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
