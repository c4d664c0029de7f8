"""The status line's words for fitting and stepping."""

from __future__ import annotations

import numpy as np

from .panels import ALGORITHM_LABELS

_STATES = {"converged": "converged", "max_iter": "max iterations reached",
           "cancelled": "stopped", "failed": "failed", "screened": "stopped early, far behind",
           "collapsed": "stopped, collapsing"}


def progress_status(progress, restarts: int, offset: float = 0.0) -> str:
    """'restart 1/3 · iteration 17 · log L -1130.26 · Δ 3e-07 · 0.21 s · running'.

    ``offset`` turns log-likelihoods of the fitted (maybe standardised) data
    into the data file's units, the one unit the user sees.
    """
    snap = progress.snapshot
    history = progress.histories.get(snap.restart, ())
    delta = f" · Δ {history[-1] - history[-2]:.3g}" if len(history) > 1 else ""
    where = f"restart {snap.restart + 1}/{restarts} · " if restarts > 1 else ""
    state = "running" if not snap.done else _STATES.get(snap.status, snap.status)
    return (f"{where}iteration {snap.iteration} · log L {snap.log_likelihood + offset:.6g}"
            f"{delta} · "
            f"{snap.elapsed:.2f} s · {state}")


def finished_status(result, offset: float = 0.0) -> str:
    """The status line once a fit has ended (log L in the data file's units)."""
    history = result.log_likelihood_history
    delta = f" · Δ {np.diff(history)[-1]:.3g}" if len(history) > 1 else ""
    return (f"{ALGORITHM_LABELS[result.config.algorithm]} · iteration {result.n_iter} · "
            f"log L {result.log_likelihood + offset:.6g}{delta} · {result.elapsed:.2f} s · "
            f"{_STATES.get(result.status, result.status)}")


def step_status(phase: str, session, offset: float = 0.0) -> str:
    """What the half-step just did and what comes next."""
    if phase == "E":
        return (f"iteration {session.iteration} · E-step: points coloured by their new "
                "responsibilities · next: M-step (ellipses move)")
    what = "initial model" if phase == "init" else "M-step: parameters re-estimated"
    history = session.history
    delta = "" if len(history) < 2 else f" · Δ {history[-1] - history[-2]:.3g}"
    return (f"iteration {session.iteration} · {what} · log L {history[-1] + offset:.6g}"
            f"{delta} · "
            "next: E-step")
