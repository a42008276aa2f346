"""``python -m ldtui`` and the ``ldtui`` script: the command line lives in ``ldtui.cli``."""

from __future__ import annotations

import sys

from ldtui.cli import main

if __name__ == "__main__":
    sys.exit(main())
