"""`python -m tinygrad_edu COMMAND`: the `tinygrad-edu` command, for when the console script is not on PATH.

The command and its demos are built on top of the engine, and the engine never imports what is
built on it (tests/demos/test_layering.py). So this file does not name them: it asks the installed
package's metadata which function the `tinygrad-edu` console script runs, and runs that.
"""

import sys
from importlib.metadata import entry_points


def main() -> int:
    scripts = entry_points(group="console_scripts", name="tinygrad-edu")
    if not scripts:
        print("python -m tinygrad_edu: the tinygrad-edu command is not installed. Install the project "
              "(pip install -e . in its folder), or run python -m demos from that folder.", file=sys.stderr)
        return 2
    command = next(iter(scripts)).load()
    return command()


if __name__ == "__main__":
    sys.exit(main())
