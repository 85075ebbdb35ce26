"""``python -m tinyae ...`` is the ``tinyae`` command (see tinyae/cli.py)."""
import sys

from tinyae.cli import main

if __name__ == "__main__":
    sys.exit(main())
