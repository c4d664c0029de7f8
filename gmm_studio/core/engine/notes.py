"""What happened during a fit, in words a user can act on."""

from __future__ import annotations

import numpy as np

from ..config import FitConfig
from ..model.gaussian import n_parameters as n_params_of
from ..results import CANCELLED, COLLAPSED, FAILED, MAX_ITER, SCREENED
from ..text import plural
from .prepared import PreparedData


def _join(items) -> str:
    return ", ".join(str(int(i)) for i in items)


class RunNotes:
    """Collects events of one restart and turns them into warnings at the end."""

    def __init__(self) -> None:
        self.messages: list[str] = []
        self.reseeds: list[tuple[int, int, int]] = []  # (iteration, component, row)
        self.floored: np.ndarray | None = None

    def add(self, message: str) -> None:
        """Record a free-form message (e.g. why the run failed)."""
        self.messages.append(message)

    def reseeded(self, components: list[int], rows: list[int], iteration: int) -> None:
        """Record that ``components`` lost their data and moved to ``rows``."""
        self.reseeds.extend((iteration, k, r) for k, r in zip(components, rows, strict=True))

    def finish(self, status: str, iteration: int, config: FitConfig) -> tuple[str, ...]:
        """The run's warnings, given how it ended."""
        out = list(self.messages)
        if self.reseeds:
            first = self.reseeds[0]
            out.append(
                f"{len(self.reseeds)} time(s) a component lost all its points and was "
                f"restarted at the worst-explained row (first: component {first[1]} at "
                f"iteration {first[0]}, row {first[2]}); consider fewer components."
            )
        if self.floored is not None and np.any(self.floored):
            out.append(
                f"component(s) {_join(np.flatnonzero(self.floored))} are as narrow as the "
                f"variance floor allows ({config.variance_floor:g} of the data's own "
                "variance along some direction): they may sit on repeated values or a few "
                "rows. Raise the floor, use fewer components or a simpler covariance type if "
                "that is not what you expect."
            )
        if status == MAX_ITER:
            out.append(
                f"did not converge within max_iter={config.max_iter} iterations "
                f"(tol={config.tol:g}); raise max_iter or tol."
            )
        elif status == SCREENED:
            out.append(f"stopped at iteration {iteration} before converging: even at its best "
                       "recent pace up to max_iter it would stay behind the fits the sweep "
                       "refines.")
        elif status == COLLAPSED:
            out.append(f"stopped at iteration {iteration}: a component had been on the variance "
                       "floor for many iterations in a row, collapsing onto a few rows.")
        elif status == CANCELLED:
            out.append(f"stopped by the user; the result is iteration {max(iteration, 0)}.")
        return tuple(out)


def data_warnings(data: PreparedData) -> tuple[str, ...]:
    """Warnings about the data itself (constant columns)."""
    if not data.constant_columns:
        return ()
    return (
        f"feature(s) {_join(data.constant_columns)} have the same value in every row and "
        "carry no information; leave them out.",
    )


def restart_warnings(finals: dict, config: FitConfig) -> tuple[str, ...]:
    """Warnings about restarts that failed, or were stopped collapsing, while others ended."""
    failed = [r for r, s in finals.items() if s.status == FAILED]
    collapsed = [r for r, s in finals.items() if s.status == COLLAPSED]
    out = []
    if failed and len(failed) < len(finals):
        out.append(f"{len(failed)} of {len(finals)} restarts failed (a component collapsed); "
                   "the best of the others was kept. A positive variance floor prevents this.")
    if collapsed and len(failed) + len(collapsed) < len(finals):
        out.append(f"{len(collapsed)} of {len(finals)} restarts were stopped collapsing onto a "
                   "few rows (a component on the variance floor); the best of the others was "
                   "kept.")
    return tuple(out)


def size_warnings(n_parameters: int, n_rows: int, n_features: int,
                  config: FitConfig) -> tuple[str, ...]:
    """A warning when the model has more free parameters than there are rows."""
    if n_parameters <= n_rows:
        return ()
    # Only types that really have fewer parameters at this K and D.
    simpler = [t for t in ("tied", "diag", "spherical")
               if n_params_of(config.n_components, n_features, t) < n_parameters]
    listed = ", ".join(simpler[:-1]) + (" or " if len(simpler) > 1 else "") + (
        simpler[-1] if simpler else "")
    advice = (f"use a constrained covariance type ({listed}) or fewer components"
              if simpler and config.algorithm != "kmeans" else "use fewer components")
    return (f"the model has {n_parameters:,} free parameters but the data only "
            f"{plural(n_rows, 'row')}: the fit is not well determined and criteria such as BIC "
            f"are unreliable; {advice}.",)
