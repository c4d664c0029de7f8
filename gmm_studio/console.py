"""The ``gmm-studio`` console command as a process: ``cli.main``, then a direct exit.

With numpy loaded, the interpreter's teardown -- freeing every module and
object it holds -- takes 20-60 ms on the project's machine, 15-25 % of
choosing K on a small file, and does nothing a finished subcommand needs:
its files are written atomically and closed, its output is printed. So after
a subcommand the output streams are flushed, the atexit handlers run (a log
flush, a temporary directory's clean-up) and the process exits at once.
With other threads still alive it exits normally, which waits for them; so
do the window and ``--self-test``, whose Qt objects have their own teardown.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
import threading

from .cli import SUBCOMMANDS, main


def run() -> None:
    """Run the command line in ``sys.argv`` and exit the process with its code."""
    argv = sys.argv[1:]
    code = main(argv)
    if argv[:1] and argv[0] in SUBCOMMANDS and threading.active_count() == 1:
        exit_now(code)
    sys.exit(code)


def exit_now(code: int) -> None:
    """Flush stdout and stderr, run the atexit handlers, and end the process with ``code``."""
    for stream in (sys.stdout, sys.stderr):
        # A closed pipe or stream: nothing more can reach it.
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    atexit._run_exitfuncs()   # what a normal exit runs first; the teardown after it is skipped
    os._exit(code)
