"""EM's lower bound: log L(θ) = L(q, θ) + KL(q ‖ p(z | x, θ)).

The E-step sets q to the posterior, so the bound touches log L (KL = 0);
the M-step raises the bound over θ, and log L with it. These functions
give the numbers the Log-likelihood tab draws in step mode.
"""

from __future__ import annotations

import numpy as np

from ..errors import InvalidDataError
from ..model.mixture import MixtureModel


def lower_bound(X: np.ndarray, model: MixtureModel, resp: np.ndarray,
                sample_weight: np.ndarray | None = None) -> float:
    """L(q, θ) = Σ_n w_n Σ_k q_nk (log π_k + log N(x_n | μ_k, Σ_k) − log q_nk).

    X (N, D); resp q (N, K), rows summing to one; sample_weight (N,) or None.
    With a noise component q's rows sum to 1 - q(noise), and the noise adds
    q_n0 (log π_0 - log V - log q_n0).
    Terms with q_nk = 0 count zero (0 log 0 = 0), even where a component's
    density underflows, so a one-hot q (hard EM) has a finite bound.
    """
    X = np.asarray(X, dtype=float)
    resp = np.asarray(resp, dtype=float)
    if resp.shape != (len(X), model.n_components):
        raise InvalidDataError(
            f"resp must be (N, K) = ({len(X)}, {model.n_components}), got {resp.shape}.")
    # With a noise component q(noise) = 1 - Σ_k q_nk, so rows sum to at most one.
    rows = resp.sum(axis=1)
    ok = (np.all(rows <= 1 + 1e-9) if model.has_noise
          else np.allclose(rows, 1.0, rtol=0, atol=1e-9))
    if np.any(resp < 0) or not ok:
        raise InvalidDataError("each row of resp must be probabilities that sum to one.")
    from scipy.special import xlogy  # lazily: scipy takes 0.2 s to import

    log_joint = model.weighted_log_prob(X)  # (N, K): log π_k + log N(x_n | k)
    # Where q is zero the joint may be -inf; 0 · (-inf) must be 0, not nan.
    per_row = np.zeros_like(resp)
    used = resp > 0
    per_row[used] = resp[used] * log_joint[used] - xlogy(resp[used], resp[used])
    totals = per_row.sum(axis=1)
    if model.has_noise:
        q0 = np.clip(1.0 - rows, 0.0, 1.0)
        noise_term = np.where(q0 > 0, q0 * model.noise_log_prob, 0.0) - xlogy(q0, q0)
        totals = totals + noise_term
    return float(totals.sum() if sample_weight is None else np.asarray(sample_weight) @ totals)
