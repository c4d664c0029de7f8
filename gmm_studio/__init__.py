"""GMM Studio: exploratory clustering with Gaussian mixtures fitted by EM."""

__version__ = "0.1.0"
