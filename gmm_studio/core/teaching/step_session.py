"""EM one half-step at a time, for teaching: E-step, then M-step, and so on."""

from __future__ import annotations

import numpy as np

from ..config import FitConfig
from ..engine.fitting import fit
from ..model.mixture import MixtureModel
from .half_steps import e_step, hard_responsibilities, m_step


class StepSession:
    """Alternates E- and M-steps on the whole data set.

    ``phase`` names the next half-step: "init" (no model yet), "E" or "M".
    ``history`` holds the log-likelihood of every model so far (after each
    M-step), so in soft EM it never decreases.
    """

    def __init__(self, X: np.ndarray, config: FitConfig,
                 sample_weight: np.ndarray | None = None,
                 model: MixtureModel | None = None):
        self.X, self.config, self.sample_weight = X, config, sample_weight
        self.model = model
        self.resp: np.ndarray | None = None
        self.iteration = 0
        self.history: list[float] = []
        self.phase = "init" if model is None else "E"
        if model is not None:
            self.history.append(model.log_likelihood(X, sample_weight))

    def step(self) -> str:
        """Do the next half-step; returns which one ran ("init", "E" or "M")."""
        done = self.phase
        if done == "init":
            start = fit(self.X, self.config.replace(max_iter=0, n_init=1),
                        sample_weight=self.sample_weight)
            self.model = start.model
            self.history = [start.log_likelihood]
            self.phase = "E"
        elif done == "E":
            resp, _ = e_step(self.model, self.X)
            if self.config.algorithm != "em":
                resp = hard_responsibilities(resp)
            self.resp = resp
            self.phase = "M"
        else:
            self.model = m_step(self.X, self.resp, self.config.covariance_type,
                                self.config.variance_floor, self.sample_weight,
                                algorithm=self.config.algorithm)
            self.iteration += 1
            self.history.append(self.model.log_likelihood(self.X, self.sample_weight))
            self.phase = "E"
        return done
