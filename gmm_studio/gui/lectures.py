"""Samples ▸ Lecture examples: open a worked example in step mode at its starting values."""

from __future__ import annotations

from ..core.teaching.lectures import LECTURES, lecture_example, narrowest_component


def open_lecture(window, key: str) -> None:
    """Show example ``key`` unstandardised, its settings in the Fit panel, ready to Step."""
    example = lecture_example(key)
    # The user's own settings come back when other data is opened (set_frame),
    # so no lecture setting (a floor of 0, say) leaks into real work.
    saved = window.lecture_saved_config or window.fit_panel.config()
    panel = window.data_panel
    panel.standardize.blockSignals(True)
    panel.standardize.setChecked(False)  # the hand calculation is in the data's own units
    panel.standardize.blockSignals(False)
    window.set_frame(example.frame, f"{example.title} (lecture example)", None, None)
    window.data_ref = {"generated": key}
    window.fit_panel.set_config(example.config)
    window.lecture_saved_config = saved
    config = window._config()
    if config is None or window.dataset is None:
        return
    window.fitting.start_stepping(example.start, config, example.note)
    window.tabs.setCurrentWidget(window.step_view)


def step_note(session) -> str:
    """What the Step tab says under its heading for ``session`` (floor off: the narrowest)."""
    if session.model is None or session.config.variance_floor > 0:
        return ""
    return "Variance floor off. " + narrowest_component(session)


def collapse_message(session, error: str) -> str:
    """Why a half-step with the floor off failed, and what the floor does about it."""
    return (f"A component has collapsed: {error} Its variance went to 0, so log L → +∞ — "
            "the lectures' K = N singularity. " + narrowest_component(session)
            + " Set a variance floor (e.g. 1e-3) and Reset to see EM stop at a finite log L.")


__all__ = ["LECTURES", "collapse_message", "open_lecture", "step_note"]
