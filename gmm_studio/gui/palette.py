"""One colour per component everywhere, from colour-blind-safe palettes."""

from __future__ import annotations

from PySide6.QtGui import QColor

# Okabe & Ito (2008), "Color Universal Design", without black; then Paul Tol's
# "muted" scheme for K > 7.
_OKABE_ITO = ["#E69F00", "#56B4E9", "#009E73", "#0072B2", "#D55E00", "#CC79A7", "#F0E442"]
_TOL_MUTED = ["#332288", "#88CCEE", "#44AA99", "#117733", "#999933", "#DDCC77", "#CC6677",
              "#882255", "#AA4499"]
PALETTE = _OKABE_ITO + _TOL_MUTED


def component_color(k: int) -> QColor:
    """The colour of component k (cycles after 16)."""
    return QColor(PALETTE[k % len(PALETTE)])


def component_rgb(k: int) -> tuple[int, int, int]:
    """(r, g, b) 0-255 of component k."""
    c = component_color(k)
    return c.red(), c.green(), c.blue()
