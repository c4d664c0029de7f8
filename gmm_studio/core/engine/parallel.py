"""Row blocks on all cores: threads (NumPy releases the GIL), BLAS pinned to one.

On our machines OpenBLAS runs the engine's tall-skinny products slower on two
threads than on one, so the engine parallelises over blocks itself and keeps
BLAS single-threaded inside each block. Results are reduced in block order, so
they do not depend on the number of threads.

A model sweep's stages are split the same way (``interleaved``): a fixed
number of parts, each a batch of its own, on as many threads as there are
cores; a part's results depend on its own fits only, never on the threads.
"""

from __future__ import annotations

import itertools
import os
import queue
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

    from threadpoolctl import ThreadpoolController

T = TypeVar("T")
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()  # creating or replacing the pool
_niceness = 0


def run_in_background(niceness: int = 10) -> None:
    """Make engine threads yield the CPU to an interactive thread (the window's).

    Applies to pool threads started afterwards and to the calling thread via
    ``lower_current_thread``. A no-op where the OS has no per-thread priority.
    """
    global _niceness, _pool
    with _pool_lock:
        _niceness = niceness
        if _pool is not None:
            _pool.shutdown(wait=False)
            _pool = None


def lower_current_thread() -> None:
    """Lower the calling thread's priority by the configured niceness (Linux)."""
    if _niceness and hasattr(os, "setpriority"):
        try:
            tid = threading.get_native_id()
            current = os.getpriority(os.PRIO_PROCESS, tid)
            os.setpriority(os.PRIO_PROCESS, tid, max(current, _niceness))
        except OSError:
            pass


def n_threads() -> int:
    """Worker threads for block passes: $GMM_STUDIO_THREADS or the core count."""
    env = os.environ.get("GMM_STUDIO_THREADS", "")
    if env.isdigit() and int(env) > 0:
        return int(env)
    return _CORES


_CORES = os.cpu_count() or 1


class _BlasPin:
    """A process-wide "BLAS on one thread" shared by overlapping users.

    threadpoolctl's limit is process-wide and restores what it found on exit,
    so two fits overlapping in time (the window's Fit, Compare and Choose K)
    each restored the other's limit and left BLAS on one thread for good.
    Here the first user pins and the last one restores the original limits.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.users = 0
        self.limiter = None
        self.controller: ThreadpoolController | None = None  # scanning libraries costs ms
        self.modules = 0   # len(sys.modules) when the controller scanned the libraries

    def enter(self) -> None:
        with self.lock:
            if self.users == 0:
                # A controller knows the libraries loaded when it was made: after
                # an import (SciPy brings its own OpenBLAS) it scans again, or the
                # new library's threads would stay unpinned.
                if self.controller is None or self.modules != len(sys.modules):
                    # Imported here: threadpoolctl takes 25 ms to import, a tenth of a
                    # small sweep, and a run on one block never pins BLAS.
                    from threadpoolctl import ThreadpoolController

                    self.controller = ThreadpoolController()
                    self.modules = len(sys.modules)
                self.limiter = self.controller.limit(limits=1, user_api="blas")
            self.users += 1

    def leave(self) -> None:
        with self.lock:
            self.users -= 1
            if self.users == 0:
                self.limiter.restore_original_limits()
                self.limiter = None


_blas_pin = _BlasPin()


@contextmanager
def single_threaded_blas():
    """Pin BLAS to one thread while any caller is inside (restored by the last)."""
    _blas_pin.enter()
    try:
        yield
    finally:
        _blas_pin.leave()


def map_blocks(fn: Callable[[tuple[int, int]], T], blocks: Sequence[tuple[int, int]]) -> list[T]:
    """``[fn(b) for b in blocks]`` on the thread pool, results in block order.

    One pool task per thread, each taking the next block from a shared
    counter until none are left: a thread slowed by the OS (or by a block
    with more work) does fewer blocks instead of making the other wait, and
    no task is queued per block.
    """
    threads = min(n_threads(), len(blocks))
    if len(blocks) == 1:
        return [fn(blocks[0])]  # small data: BLAS does not thread tiny products anyway
    with single_threaded_blas():
        if threads == 1:
            return [fn(b) for b in blocks]
        from concurrent.futures import wait  # with logging, 5 ms to import: big data only

        pool = _get_pool(threads)
        results: list = [None] * len(blocks)
        claim = itertools.count()  # next() on a count is atomic under the GIL

        def work() -> None:
            while (i := next(claim)) < len(blocks):
                results[i] = fn(blocks[i])

        futures = [pool.submit(work) for _ in range(threads)]
        wait(futures)  # all threads done before any error propagates
        for future in futures:
            future.result()
        return results


def _get_pool(threads: int) -> ThreadPoolExecutor:
    """The shared pool, with at least ``threads`` workers (created under a lock)."""
    from concurrent.futures import ThreadPoolExecutor

    global _pool
    with _pool_lock:
        if _pool is None or _pool._max_workers < threads:
            # A pool another thread is still using keeps running its tasks.
            _pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="gmm-block",
                                       initializer=lower_current_thread)
        return _pool


class EitherEvent:
    """Set when any of ``events`` is (None entries ignored): a caller's cancel or our stop."""

    def __init__(self, *events: threading.Event | None) -> None:
        self.events = [e for e in events if e is not None]

    def is_set(self) -> bool:
        """Whether any of the events is set."""
        return any(e.is_set() for e in self.events)


_DONE = object()


def interleaved(sources: Sequence[Callable[[EitherEvent], Iterator[T]]],
                cancel: threading.Event | None = None) -> Iterator[T]:
    """The items of every ``source(stop)`` as they come, each source on its own thread.

    Each source is called with an event it must treat as its cancel: set
    when ``cancel`` is, or when the caller stops iterating or a source
    fails (its error is raised here, after every thread has ended). With
    one core (``n_threads``) the sources run one after the other on the
    calling thread, and a single source always does. With more than one
    source BLAS is pinned to one thread either way, so a source's items
    never depend on the number of threads.
    """
    stop = threading.Event()
    either = EitherEvent(cancel, stop)
    if len(sources) == 1:
        yield from sources[0](either)
        return
    if n_threads() == 1:
        # BLAS pinned as on threads: its products' last bits can depend on
        # how many threads it splits them over, and the items must not.
        with single_threaded_blas():
            for source in sources:
                yield from source(either)
        return
    items: queue.SimpleQueue = queue.SimpleQueue()

    def work(source) -> None:
        lower_current_thread()
        try:
            for item in source(either):
                items.put((True, item))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
            items.put((False, exc))
            return
        items.put((True, _DONE))

    # Threads of their own, not the block pool: a source may itself map
    # blocks on the pool and wait for them, which with every pool worker
    # running a source would wait for ever.
    threads = [threading.Thread(target=work, args=(source,), daemon=True,
                                name="gmm-sweep-part") for source in sources]
    with single_threaded_blas():
        for thread in threads:
            thread.start()
        try:
            running = len(threads)
            while running:
                ok, item = items.get()
                if not ok:
                    raise item
                if item is _DONE:
                    running -= 1
                else:
                    yield item
        finally:
            stop.set()
            for thread in threads:
                thread.join()
