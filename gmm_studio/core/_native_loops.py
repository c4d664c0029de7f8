"""The compiled loops of ``_native.c``, or None where the install has no C compiler.

Every user keeps a NumPy path beside them (same results to rounding; tests
compare the two). ``GMM_STUDIO_NATIVE=0`` in the environment turns them off,
to compare or to rule them out.
"""

from __future__ import annotations

import os

if os.environ.get("GMM_STUDIO_NATIVE", "1") == "0":
    native = None
else:
    try:
        from . import _native as native
    except ImportError:  # pragma: no cover - an install built without a compiler
        native = None
