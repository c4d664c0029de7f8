"""What the window draws for its data and model: the main plot, Parameters and Pairs.

Kept out of main_window so the window composes and wires, and this decides
which axes the plot shows and what each view gets.
"""

from __future__ import annotations

import numpy as np

from .axes import column_scale, data_projection, model_projection


def redraw_data(window) -> None:
    """The data on screen, on the chosen axes, then its model if there is one."""
    ds = window.dataset
    if ds is None or len(ds.feature_names) != len(window.data_panel.checked_features()):
        return
    axes = window.data_panel.axes()
    projection, note = data_projection(ds, axes)
    projection = model_projection(ds, window.model, axes) or projection
    if note and projection is not None and projection.kind != "discriminant":
        window._set_status(note)
    window.plot.set_data(ds.X, ds.raw, list(ds.feature_names), window.data_panel.plot_dims(),
                         ds.preprocessing, ds.weights, projection)
    draw_model(window, window.model)


def draw_model(window, model, resp=None, live: bool = False) -> None:
    """Draw ``model`` of the data on screen; ``live`` while a fit runs (cheaper, axes still)."""
    ds = window.dataset
    if model is None or ds is None or model.n_features != len(ds.feature_names):
        return
    if not live:  # the discriminant axes and the pairs follow a settled model only
        window.pairs_view.set_model(model)
        projection = model_projection(ds, model, window.data_panel.axes())
        if projection is not None:
            window.plot.set_projection(projection)
    window.plot.set_model(model, resp, live=live)
    result = window.result
    counts = None
    if result is not None and result.model is model and len(result.labels):
        labels = result.labels
        # Rows per component, and last the rows a noise component claims (label -1).
        counts = np.append(np.bincount(labels[labels >= 0], minlength=model.n_components),
                           np.count_nonzero(labels == -1))
    window.params.show_model(model, ds.preprocessing, list(ds.feature_names), ds.total_weight,
                             column_scale(ds), counts)
