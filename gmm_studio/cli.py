"""The ``gmm-studio`` command (placeholder until the CLI issue lands)."""

from __future__ import annotations

import argparse
import sys

from . import __version__


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(prog="gmm-studio", description=__doc__)
    parser.add_argument("--version", action="version", version=f"gmm-studio {__version__}")
    parser.parse_args(argv)
    parser.print_help()
    return 0


if __name__ == "__main__":
    sys.exit(main())
