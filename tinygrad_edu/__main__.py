"""`python -m tinygrad_edu COMMAND`: the same as the `tinygrad-edu` command.

A launcher, not part of the engine: nothing imports it, so the engine still never depends on the
demos built above it; only running the package as a program reaches up to them.
"""

import sys

from demos.cli import main

sys.exit(main())
