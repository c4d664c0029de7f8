"""Entry point of the bundled application (PyInstaller)."""

import sys

from gmm_studio.jobs import CHILD_FLAG

if __name__ == "__main__":
    # Big fits run in a child process; a frozen app has no ``python -c``, so
    # the child is this executable again, started with CHILD_FLAG and a socket.
    if len(sys.argv) == 3 and sys.argv[1] == CHILD_FLAG:
        from gmm_studio.jobs import child_main

        child_main(int(sys.argv[2]))
        sys.exit(0)
    from gmm_studio.cli import main

    sys.exit(main())
