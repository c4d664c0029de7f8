"""The console command's exit: atexit handlers run, live threads are waited for."""

import subprocess
import sys
from pathlib import Path

IRIS = Path(__file__).resolve().parents[2] / "assets" / "iris.csv"


def _command_after(prelude: str, args: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    """``prelude`` (Python), then ``gmm-studio args`` through console.run, in one process."""
    code = (f"{prelude}\nimport sys\nsys.argv = ['gmm-studio', *{args!r}]\n"
            "from gmm_studio.console import run\nrun()\n")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)


def test_a_subcommand_runs_the_atexit_handlers_and_keeps_its_exit_code(tmp_path):
    handler = ("import atexit, sys\n"
               "atexit.register(lambda: print('handler ran', file=sys.stderr))")
    done = _command_after(handler, ["select", str(IRIS), "-k", "1-2", "--json"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert "handler ran" in done.stderr
    assert done.stdout.strip().startswith("{") and done.stdout.strip().endswith("}")
    failed = _command_after(handler, ["select", str(tmp_path / "missing.csv")], tmp_path)
    assert failed.returncode == 2
    assert "handler ran" in failed.stderr and "file not found" in failed.stderr


def test_with_another_thread_alive_the_process_waits_for_it(tmp_path):
    late = ("import threading, time\n"
            "def late():\n"
            "    time.sleep(1.5)  # longer than the command itself\n"
            "    open('late.txt', 'w').write('done')\n"
            "threading.Thread(target=late).start()")
    done = _command_after(late, ["select", str(IRIS), "-k", "1"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "late.txt").read_text() == "done"
