"""Entry point of the frozen app: the same as the `ganstudio` command."""
import sys

from ganstudio.__main__ import main

if __name__ == "__main__":
    sys.exit(main())
