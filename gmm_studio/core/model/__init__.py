"""The mixture model itself: parameters, component densities, kernels and geometry.

``mixture`` (MixtureModel: weights, means, covariances), ``gaussian``
(precision Cholesky factors, parameter counts), ``kernels`` (the one
log-density computation, per covariance type, used by the model and the
engine's passes) and ``geometry`` (ellipses and projections for plots).
"""
