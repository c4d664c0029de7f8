"""The bookkeeping of a batch's runs: each restart's history, and each stack's progress.

``batch`` advances the stacked parameters; a ``Group`` holds one stack's
runs and decides, on arrays, which of them converged, ran out of
iterations, could be given up (``best_case``) or sit on the variance floor
(``count_floor``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..config import FitConfig
from ..model.floor import on_floor
from .notes import RunNotes
from .prepared import PreparedData
from .squarem import Accelerator
from .stacked import Stack

# A run can be given up (``iterate_many``'s ``give_up``) once it has this many
# recorded log-likelihoods; its pace is its largest gain among the last of them.
PACE_WINDOW = 10


@dataclass
class Run:
    """One restart of one fit inside a batch (its parameters live in a Stack)."""

    job: int
    restart: int
    config: FitConfig
    notes: RunNotes
    started: float
    history: list[float] = field(default_factory=list)
    iteration: int = 0


@dataclass
class Group:
    """A stack, its runs (R,) in stack order, their SQUAREM state, and per-run progress.

    ``last`` (R,) each run's last recorded log-likelihood (NaN before the
    first), ``passes`` (R,) its M-steps so far, ``tol`` and ``max_iter`` (R,)
    its config's: the convergence test runs on arrays, not run by run;
    ``taken`` (R,) which runs the last ``record`` recorded; ``on_floor`` (R,)
    for how many records in a row each has had a component on the floor;
    ``gains`` (R, PACE_WINDOW) each run's last gains between records, a ring
    written at column ``records % PACE_WINDOW``, and ``records`` (R,) how many
    values each has recorded (its history's length, kept as an array so
    ``best_case`` needs no loop over runs).
    """

    stack: Stack
    runs: list[Run]
    accel: Accelerator | None
    last: np.ndarray
    passes: np.ndarray
    tol: np.ndarray
    max_iter: np.ndarray
    taken: np.ndarray | None = None
    on_floor: np.ndarray | None = None
    gains: np.ndarray | None = None
    records: np.ndarray | None = None

    @classmethod
    def of(cls, stack: Stack, runs: list[Run], accelerate: bool) -> Group:
        n = len(runs)
        return cls(stack, runs, Accelerator.of(n) if accelerate else None, np.full(n, np.nan),
                   np.zeros(n, dtype=np.int64), np.array([run.config.tol for run in runs]),
                   np.array([run.config.max_iter for run in runs]),
                   on_floor=np.zeros(n, dtype=np.int64),
                   gains=np.full((n, PACE_WINDOW), np.nan), records=np.zeros(n, dtype=np.int64))

    def keep(self, runs: np.ndarray) -> None:
        """Keep the runs marked in ``runs`` (R,) bool."""
        if runs.all():
            return
        if self.accel is not None:
            self.accel.keep(self.stack, runs)
        self.stack.keep(runs)
        self.runs = [run for run, k in zip(self.runs, runs, strict=True) if k]
        self.last, self.passes = self.last[runs], self.passes[runs]
        self.tol, self.max_iter = self.tol[runs], self.max_iter[runs]
        self.taken = None if self.taken is None else self.taken[runs]
        self.on_floor = self.on_floor[runs]
        self.gains, self.records = self.gains[runs], self.records[runs]

    def record(self, log_l: np.ndarray, total_weight: float
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Take this pass's log-likelihoods (R,): which runs converged, ran out, went back.

        As ``em._status``: a run converges when a tested step gained less
        than tol per unit weight, and is out of iterations at max_iter.
        """
        n = len(self.runs)
        taken, tested, back = (self.accel.judge(log_l) if self.accel is not None else
                               (np.ones(n, bool), np.ones(n, bool), np.zeros(n, bool)))
        values = log_l.tolist()
        rows = np.flatnonzero(taken)
        for r in rows.tolist():
            self.runs[r].history.append(values[r])
        with np.errstate(invalid="ignore"):     # NaN before a run's first record
            gain = log_l - self.last
            converged = taken & tested & (np.abs(gain) / total_weight < self.tol)
        self.gains[rows, self.records[rows] % PACE_WINDOW] = gain[rows]
        self.records[rows] += 1
        self.last = np.where(taken, log_l, self.last)
        out = taken & ~converged & (self.passes >= self.max_iter)
        self.taken = taken
        return converged, out, back

    def best_case(self) -> np.ndarray:
        """Per run (R,): the log-likelihood it could reach by max_iter at its best recent pace.

        Its last value plus its largest gain over the last PACE_WINDOW
        records times the passes it has left (EM's gains shrink as it
        converges, and a SQUAREM jump's gain counts as a pass's); NaN where
        a run has fewer records or was not just recorded.
        """
        judged = self.taken & (self.records > PACE_WINDOW)
        pace = np.maximum(self.gains.max(axis=1), 0.0)
        return np.where(judged, self.last + pace * (self.max_iter - self.passes), np.nan)

    def count_floor(self, data: PreparedData) -> np.ndarray:
        """Count the runs just recorded with a component on the floor; the counts (R,).

        Uses the floor's own test (``floor.on_floor``) on the parameters the
        last E-step scored; a run off the floor starts again from 0.
        """
        stack, ends = self.stack, np.cumsum(self.stack.sizes)
        runs = np.flatnonzero(self.taken)
        for kind in {self.runs[r].config.covariance_type for r in runs.tolist()}:
            mine = [r for r in runs.tolist() if self.runs[r].config.covariance_type == kind]
            comps = np.concatenate([np.arange(ends[r] - stack.sizes[r], ends[r]) for r in mine])
            hit = on_floor(stack.covariances[comps], kind, data.floor_metric(kind),
                           self.runs[mine[0]].config.variance_floor)
            any_hit = np.logical_or.reduceat(hit, np.cumsum([0] + [int(stack.sizes[r])
                                                                   for r in mine[:-1]]))
            self.on_floor[mine] = np.where(any_hit, self.on_floor[mine] + 1, 0)
        return self.on_floor
