"""Typed errors raised by the core.

Every error is a ``ValueError`` subclass so callers that only know the standard
library still catch them, and every message says what to change.
"""

from __future__ import annotations


class GMMStudioError(ValueError):
    """Base class of every error GMM Studio raises on purpose."""


class InvalidDataError(GMMStudioError):
    """The data cannot be fitted as given (NaN, wrong shape, too few rows...)."""


class InvalidConfigError(GMMStudioError):
    """A fit setting is unknown or out of range."""


class InvalidModelError(GMMStudioError):
    """A model (e.g. loaded from JSON) is malformed or not a valid mixture."""


class FitError(GMMStudioError):
    """Fitting failed on every restart (e.g. every run collapsed)."""
