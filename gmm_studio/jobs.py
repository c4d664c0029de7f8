"""The window's background jobs, free of Qt, and a way to run one in a child process.

A job is a plain function ``job(cancel, report) -> result``: it checks the
``threading.Event`` ``cancel`` and calls ``report(progress)`` as it goes. The
window runs jobs on a worker thread; on big data a job runs in a child
process instead (``in_child_process``), so that the engine's threads compete
with the window neither for Python's interpreter lock nor, at a lower
priority, for the CPU. The worker thread then only relays messages. (With
engine threads in the window's process, its event loop stalled for 70-100 ms
at the 99th percentile during a 1e6-row fit; see docs/performance.md.)
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

import numpy as np

from .core import FitConfig, GMMStudioError, MixtureModel, fit
from .core.analysis.comparison import METHODS, compare_methods
from .core.analysis.selection import latest_rows, sweep
from .core.engine.fitting import is_dask
from .core.results import Snapshot

Job = Callable[[threading.Event, Callable[[object], None]], object]

# Fit jobs forward at most this many snapshots per second (plus every
# restart's last one); the window redraws at most ~30 times per second.
_EMIT_HZ = 60.0
# Sweep jobs report at most this many times per second (Choose K redraws at
# most 4 times a second).
_SWEEP_REPORT_HZ = 20.0
# From this many values (rows x features) a job runs in a child process: its
# ~0.3-0.6 s start-up is small next to such fits, and below it the window
# keeps up anyway.
PROCESS_MIN_VALUES = 500_000
_CHILD_NICENESS = 10


@dataclass(frozen=True)
class Progress:
    """A snapshot plus every restart's log-likelihood history so far.

    histories: restart -> (n,) read-only array, a view of a growing buffer
    (making one costs nothing, however long the fit has run).
    """

    snapshot: Snapshot
    histories: dict[int, np.ndarray]
    paced: bool = False  # the fit is slowed down to be watched: draw every snapshot

    @property
    def urgent(self) -> bool:
        """A restart's last snapshot, and every one of a paced fit, is always drawn."""
        return self.snapshot.done or self.paced


@dataclass(frozen=True)
class FitDelta:
    """What a fit sends as it goes: a snapshot and the values added since the last one.

    Sending only the new values keeps a long fit's messages (over a socket,
    from a child process) linear in its iterations; ``HistoryBook`` on the
    receiving side rebuilds the histories.
    """

    snapshot: Snapshot
    appended: dict[int, tuple[float, ...]]
    paced: bool = False


class HistoryBook:
    """Every restart's log-likelihoods, in buffers that grow by doubling."""

    def __init__(self) -> None:
        self._values: dict[int, np.ndarray] = {}
        self._sizes: dict[int, int] = {}

    def absorb(self, delta: FitDelta) -> Progress:
        """Append ``delta``'s values; the Progress it makes shares the buffers."""
        for restart, values in delta.appended.items():
            size = self._sizes.get(restart, 0)
            buffer = self._values.get(restart, np.empty(0))
            if size + len(values) > len(buffer):
                grown = np.empty(max(16, 2 * (size + len(values))))
                grown[:size] = buffer[:size]
                buffer = self._values[restart] = grown
            buffer[size:size + len(values)] = values
            self._sizes[restart] = size + len(values)
        views = {}
        for restart, buffer in self._values.items():
            view = buffer[:self._sizes[restart]]
            view.flags.writeable = False
            views[restart] = view
        return Progress(delta.snapshot, views, delta.paced)


def run_fit(cancel: threading.Event, report: Callable[[object], None], X: np.ndarray,
            weights: np.ndarray | None, config: FitConfig,
            initial_model: MixtureModel | None = None, pace: float = 0.0):
    """Fit, reporting throttled FitDeltas; returns the FitResult.

    ``pace`` > 0 slows the fit to that many iterations per second, so EM can
    be watched on small data (every snapshot is then reported).
    """
    unsent: dict[int, list[float]] = {}
    last_emit = [0.0]

    def on_snapshot(snap: Snapshot) -> None:
        unsent.setdefault(snap.restart, []).append(snap.log_likelihood)
        now = time.perf_counter()
        if pace > 0 and not snap.done:
            cancel.wait(max(0.0, 1.0 / pace - (now - last_emit[0])))  # Stop stays instant
        if pace > 0 or snap.done or now - last_emit[0] >= 1.0 / _EMIT_HZ:
            last_emit[0] = time.perf_counter()
            report(FitDelta(snap, {r: tuple(v) for r, v in unsent.items() if v}, pace > 0))
            unsent.clear()

    return fit(X, config, sample_weight=weights, initial_model=initial_model,
               callback=on_snapshot, cancel=cancel)


def fit_job(X: np.ndarray, weights: np.ndarray | None, config: FitConfig,
            initial_model: MixtureModel | None = None, pace: float = 0.0) -> Job:
    """The job behind Run: reports Progress with every restart's history."""
    inner = make_job(run_fit, X, weights, config, initial_model, pace)

    def job(cancel: threading.Event, report: Callable[[object], None]):
        book = HistoryBook()
        return inner(cancel, lambda delta: report(book.absorb(delta)))
    return job


def step_in_background(stepper) -> Job:
    """The next half-step of a ``StepSession`` as a job (for big data)."""
    return lambda cancel, report: stepper.step()


def run_compare(cancel: threading.Event, report: Callable[[object], None], X: np.ndarray,
                config: FitConfig, truth, weights, log_jacobian: float):
    """Soft EM, hard EM and k-means on X; reports (method index, iteration)."""
    last = [0.0]

    def on_snapshot(algorithm, snap) -> None:
        now = time.perf_counter()
        if now - last[0] > 0.05:
            last[0] = now
            report((METHODS.index(algorithm), snap.iteration))
    return compare_methods(X, config, truth=truth, sample_weight=weights,
                           log_jacobian=log_jacobian, callback=on_snapshot, cancel=cancel)


def run_sweep(cancel: threading.Event, report: Callable[[object], None], X: np.ndarray,
              ks, types, base: FitConfig, folds: int, weights, log_jacobian: float,
              total: int):
    """Fit every (K, covariance type); reports (done, total, rows so far).

    Reports at most _SWEEP_REPORT_HZ times a second (the result carries the
    last rows): on small data rows come every millisecond or so, and a
    message per row would cost the window's thread, and so the sweep's, more
    than the redraws it can show.
    """
    rows: list = []
    fits = sweep(X, ks, types, base=base, folds=folds, sample_weight=weights,
                 log_jacobian=log_jacobian, cancel=cancel)
    last = 0.0
    for done, row in enumerate(fits, start=1):
        rows = latest_rows(rows + [row])      # a refined fit replaces its first row
        now = time.perf_counter()
        if now - last >= 1.0 / _SWEEP_REPORT_HZ:
            report((done, total, list(rows)))
            last = now
    return rows


def make_job(target: Callable, X: np.ndarray, *args) -> Job:
    """``target(cancel, report, X, *args)`` as a job: in a child process for big X."""
    if _use_process(X):
        return in_child_process(target, X, *args)
    return lambda cancel, report: target(cancel, report, X, *args)


def _use_process(X: np.ndarray) -> bool:
    """$GMM_STUDIO_FIT_PROCESS = 1 / 0 forces the choice; else by data size."""
    if os.name == "nt":
        return False  # handing a socket to the child (pass_fds) is POSIX-only
    if is_dask(X):
        return False  # the cluster does the work; a thread here only drives it
    forced = os.environ.get("GMM_STUDIO_FIT_PROCESS", "")
    if forced in ("0", "1"):
        return forced == "1"
    return int(np.asarray(X).size) >= PROCESS_MIN_VALUES


class ChildProcessDied(GMMStudioError):  # noqa: N818 - says what happened
    """The child process running a job stopped without a result."""


class ChildProcessCrash(RuntimeError):  # noqa: N818 - says what happened
    """A bug in a job run in the child; ``child_traceback`` is the child's traceback."""

    def __init__(self, message: str, child_traceback: str) -> None:
        super().__init__(f"{message}\n--- in the child process ---\n{child_traceback}")
        self.child_traceback = child_traceback


CHILD_FLAG = "--gmm-studio-fit-child"


def child_command(fd: int) -> list[str]:
    """The command that starts a child on socket ``fd``.

    A frozen app has no ``-c``: its entry point runs ``child_main`` when it
    sees CHILD_FLAG. Plain Python imports only this Qt-free module.
    """
    if getattr(sys, "frozen", False):
        return [sys.executable, CHILD_FLAG, str(fd)]
    # -P: "python -c" would put the current directory first on sys.path, so an
    # installed app started inside a checkout would run the checkout's code.
    return [sys.executable, "-P", "-c", "import sys; from gmm_studio.jobs import child_main; "
            "child_main(int(sys.argv[1]))", str(fd)]


def in_child_process(target: Callable, X: np.ndarray, *args) -> Job:
    """A job that runs ``target(cancel, report, X, *args)`` in a child process.

    ``target`` must be a module-level function of a Qt-free module. X is
    handed over as a temporary .npy file the child maps read-only (one copy,
    no pickling of the data); the target, the other arguments, progress and
    the result travel over a socket between the two processes. Cancelling
    sends "cancel", which the child turns into its engine's cancel event. A
    child that dies is reported as a ChildProcessDied instead of hanging the
    job, and a child whose parent dies stops by itself. If the data cannot be
    written (say the temporary disk is full), the job runs in this process.
    """
    def job(cancel: threading.Event, report: Callable[[object], None]):
        remove_orphaned_data()
        folder = Path(tempfile.mkdtemp(prefix=f"{_TEMP_PREFIX}{os.getpid()}-"))
        path = folder / "X.npy"
        try:
            np.save(path, np.asarray(X, dtype=np.float64), allow_pickle=False)
        except OSError:  # e.g. a full temporary disk: run here instead
            shutil.rmtree(folder, ignore_errors=True)
            return target(cancel, report, X, *args)
        ours, theirs = socket.socketpair()
        try:
            child = subprocess.Popen(child_command(theirs.fileno()), pass_fds=(theirs.fileno(),),
                                     stdin=subprocess.DEVNULL)
            theirs.close()
            conn = Connection(ours.detach())
            try:
                # A cancel that came before the child started travels with the job.
                conn.send((target, str(path), args, cancel.is_set()))
                return _relay(child, conn, cancel, report)
            finally:
                conn.close()
                try:
                    child.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    child.kill()
                    child.wait()
        finally:
            theirs.close()
            ours.close()
            shutil.rmtree(folder, ignore_errors=True)
    return job


_TEMP_PREFIX = "gmm-studio-fit-"


def remove_orphaned_data(folder: str | Path | None = None) -> list[Path]:
    """Delete data files left by windows that died before their child mapped them.

    Each job's temporary folder is named after the window's process id; a
    folder whose process is gone belongs to nobody. Returns what was removed.
    """
    removed = []
    for path in Path(folder or tempfile.gettempdir()).glob(f"{_TEMP_PREFIX}*-*"):
        pid = path.name[len(_TEMP_PREFIX):].split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. another user's process: alive, not ours to judge
        return True
    return True


def _relay(child: subprocess.Popen, conn: Connection, cancel: threading.Event, report):
    """Pass the child's messages on until it sends a result or an error."""
    cancel_sent = False
    while True:
        if cancel.is_set() and not cancel_sent:
            with contextlib.suppress(OSError):
                conn.send("cancel")
            cancel_sent = True
        if conn.poll(0.05):
            try:
                kind, payload = conn.recv()
            except (EOFError, OSError):  # the child is gone without a word
                break
            if kind == "progress":
                report(payload)
            elif kind == "result":
                return payload
            elif kind == "error":
                raise payload  # the GMMStudioError itself, its type kept
            else:
                message, trace = payload
                raise ChildProcessCrash(message, trace)
        elif child.poll() is not None:
            break
    code = child.wait()
    raise ChildProcessDied(
        f"the computation stopped unexpectedly (its process ended with code {code}); "
        "the data may be too large for the memory left -- try fewer rows or float32.")


def child_main(fd: int) -> None:
    """Child process: take a job from socket ``fd``, run it, send progress and the result."""
    if hasattr(os, "nice"):
        os.nice(_CHILD_NICENESS)  # the window's process must win the CPU
    conn = Connection(fd)
    target, path, args, cancelled = conn.recv()
    stop = threading.Event()
    if cancelled:
        stop.set()

    def listen() -> None:
        # "cancel", or the parent gone (EOF): either way, stop the engine.
        with contextlib.suppress(EOFError, OSError):
            while conn.recv() != "cancel":
                pass
        stop.set()

    threading.Thread(target=listen, daemon=True).start()
    try:
        X = np.load(path, mmap_mode="r", allow_pickle=False)
        # Mapped data outlives its file, and no file is left behind even if
        # the window is killed.
        shutil.rmtree(Path(path).parent, ignore_errors=True)
        try:
            result = target(stop, lambda p: conn.send(("progress", p)), X, *args)
            conn.send(("result", result))
        except GMMStudioError as exc:
            conn.send(("error", exc))
        except (BrokenPipeError, ConnectionResetError):
            raise
        except Exception as exc:  # noqa: BLE001 - the parent must hear of every failure
            conn.send(("crash", (repr(exc), traceback.format_exc())))
    except (BrokenPipeError, ConnectionResetError):
        pass  # the window is gone: nobody to tell
