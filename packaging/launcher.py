"""Entry point of the frozen app: the same as the `ganstudio` command."""
import multiprocessing
import sys

from ganstudio.__main__ import main

if __name__ == "__main__":
    multiprocessing.freeze_support()  # the trainer process is spawned from this executable: run it, not the app
    sys.exit(main())
