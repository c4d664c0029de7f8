"""How a model sweep's stage splits its fits into batches that run side by side.

``selection.sweep`` runs each part as a batch of its own (``engine.batch``)
on its own thread (``engine.parallel.interleaved``), with its own screening.
"""

from __future__ import annotations

from ..config import FitConfig
from ..engine.prepared import PreparedData
from ..model.families import mclust_name

# A stage's fits run as PARTS batches of their own, on as many threads as
# there are cores (up to PARTS), when the data has at least PARALLEL_CELLS
# rows x features² and the stage fits EVE or VVE: their orientation sweeps
# (compiled) and the floor's eigendecompositions run one matrix at a time,
# outside the interpreter lock, where BLAS's own threads cannot help. Other
# models' M-steps are mostly products that BLAS already spreads over the
# cores. Measured on 569 x 30 (512,100 rows x features²), whole sweeps run
# first in their process, six each, alternating: the fourteen models 2.58-3.07
# s in one batch per stage, 2.20-2.65 s in two; the four models (no EVE or
# VVE) 0.72-0.85 s in one, 1.05-1.17 s in two. Wine (178 x 13: 30,082) and
# smaller data: a pass is mostly Python, which threads would take turns at.
PARTS = 2
PARALLEL_CELLS = 100_000
_OVERLAPPING = ("EVE", "VVE")


def stage_parts(configs: list[FitConfig], data: PreparedData, batched: bool
                ) -> list[list[FitConfig]]:
    """``configs`` split into the batches a stage runs: PARTS where threads pay, else one.

    By K, largest first, dealt in a snake (A B B A A B ...) so the parts take
    about as many components each and both see every covariance model (each
    part's screening has its own best fits to race against). A fixed split,
    whatever the cores: the rows do not depend on the machine.
    """
    if (not batched or data.n_rows * data.n_features**2 < PARALLEL_CELLS
            or not any(mclust_name(c.covariance_type, data.n_features) in _OVERLAPPING
                       for c in configs)):
        return [configs]
    ks = sorted({c.n_components for c in configs}, reverse=True)
    deal = {k: PARTS - 1 - i % PARTS if (i // PARTS) % 2 else i % PARTS
            for i, k in enumerate(ks)}
    parts = [[c for c in configs if deal[c.n_components] == p] for p in range(PARTS)]
    return [part for part in parts if part]
