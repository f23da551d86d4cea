"""``python -m skgd``: the ``skgd`` command line (see :mod:`skgd.study.cli`)."""

import sys

from .study.cli import main

if __name__ == "__main__":
    sys.exit(main())
