"""``python -m skgd``: the ``skgd`` command line (see :mod:`skgd._cli`)."""

import sys

from ._cli import main

if __name__ == "__main__":
    sys.exit(main())
