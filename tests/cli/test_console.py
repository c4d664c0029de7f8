"""The console command's exit: atexit handlers run, live threads are waited for."""

import subprocess
import sys
from pathlib import Path

IRIS = Path(__file__).resolve().parents[2] / "assets" / "iris.csv"


def _python(code: str, tmp_path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)


def test_a_subcommand_runs_the_atexit_handlers_and_keeps_its_exit_code(tmp_path):
    code = ("import atexit, sys\n"
            "atexit.register(lambda: print('handler ran', file=sys.stderr))\n"
            f"sys.argv = ['gmm-studio', 'select', {str(IRIS)!r}, '-k', '1-2', '--json']\n"
            "from gmm_studio.console import run\n"
            "run()\n")
    done = _python(code, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "handler ran" in done.stderr
    assert done.stdout.strip().startswith("{") and done.stdout.strip().endswith("}")
    failed = _python(code.replace(str(IRIS), str(tmp_path / "missing.csv")), tmp_path)
    assert failed.returncode == 2
    assert "handler ran" in failed.stderr and "file not found" in failed.stderr


def test_with_another_thread_alive_the_process_waits_for_it(tmp_path):
    code = ("import sys, threading, time\n"
            "def late():\n"
            "    time.sleep(1.5)  # longer than the command itself\n"
            "    open('late.txt', 'w').write('done')\n"
            "threading.Thread(target=late).start()\n"
            f"sys.argv = ['gmm-studio', 'select', {str(IRIS)!r}, '-k', '1']\n"
            "from gmm_studio.console import run\n"
            "run()\n")
    done = _python(code, tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "late.txt").read_text() == "done"
