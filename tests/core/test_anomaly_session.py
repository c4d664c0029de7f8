"""Anomaly thresholds and session files."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gmm_studio.core import FitConfig, fit
from gmm_studio.core.analysis.anomalies import (
    AnomalyThreshold,
    anomaly_frame,
    flag,
    threshold_from_quantile,
)
from gmm_studio.core.analysis.scoring import log_density
from gmm_studio.core.data.dataset import make_dataset
from gmm_studio.core.files.model_file import saved_from_fit
from gmm_studio.core.files.session_file import Session, SessionError, load_session, save_session

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def planted():
    rng = np.random.default_rng(0)
    inliers = np.vstack([rng.normal([0, 0], 1.0, (300, 2)), rng.normal([8, 8], 1.0, (300, 2))])
    outliers = np.array([[4.0, 4.0], [-6.0, 9.0], [14.0, -3.0], [20.0, 20.0], [-9.0, -9.0]])
    X = np.vstack([inliers, outliers])
    return make_dataset(pd.DataFrame(X, columns=["a", "b"])), np.arange(600, 605)


def test_planted_outliers_rank_lowest():
    data, planted_rows = planted()
    model = fit(data.X, FitConfig(n_components=2, n_init=3)).model
    threshold = threshold_from_quantile(log_density(data, model), 5 / 605)
    frame = anomaly_frame(data, model, threshold)
    assert len(frame) == 5
    assert set(frame["row"] - 1) == set(planted_rows)
    assert list(frame["log_density"]) == sorted(frame["log_density"])
    assert list(frame.columns) == ["row", "a", "b", "log_density", "cluster"]


def test_quantile_and_absolute_thresholds_agree_with_direct_computation():
    dens = np.random.default_rng(1).normal(size=1000)
    t = threshold_from_quantile(dens, 0.05)
    assert flag(dens, t).sum() == 50
    assert t.log_density == np.sort(dens)[49]
    absolute = AnomalyThreshold(-1.5)
    np.testing.assert_array_equal(flag(dens, absolute), dens <= -1.5)
    with pytest.raises(ValueError, match="between 0 and 1"):
        threshold_from_quantile(dens, 1.5)


def _session(tmp_path, covariance_type="full"):
    data, _ = planted()
    csv = tmp_path / "d.csv"
    data.frame.to_csv(csv, index=False)
    result = fit(data.X, FitConfig(n_components=2, random_state=3,
                                   covariance_type=covariance_type))
    saved = saved_from_fit(result, data)
    threshold = threshold_from_quantile(log_density(data, result.model), 0.02)
    return Session({"path": str(csv), "sha256": "0" * 64},
                   {"features": ["a", "b"], "label": None, "weights": None,
                    "standardize": False},
                   result.config, saved, threshold, {"x": "a", "y": "b"})


@pytest.mark.parametrize("covariance_type", ["full", "VEV", "EEI"])
def test_session_round_trip_is_exact(tmp_path, covariance_type):
    session = _session(tmp_path, covariance_type)
    path = save_session(tmp_path / "s.gmmstudio", session)
    again = load_session(path)
    assert again.config == session.config
    assert again.threshold == session.threshold
    np.testing.assert_array_equal(again.saved_model.model.covariances,
                                  session.saved_model.model.covariances)
    np.testing.assert_array_equal(again.saved_model.model.means, session.saved_model.model.means)
    assert again.columns == session.columns and again.view == session.view
    assert again.saved_model.model.covariance_type == covariance_type


def test_version_1_session_fixture_stays_loadable():
    session = load_session(FIXTURES / "session_v1.gmmstudio")
    assert session.columns["features"] == ["eruptions", "waiting"]
    assert session.saved_model.model.n_components == 3
    assert session.threshold.quantile == 0.02


@pytest.mark.parametrize("doc, pattern", [
    ({"format": "nope"}, "not a GMM Studio session"),
    ({"format": "gmm-studio-session", "version": 7}, "version 7"),
    ({"format": "gmm-studio-session", "version": 1, "data": {"sample": "x.csv"},
      "columns": {}}, "features"),
    ({"format": "gmm-studio-session", "version": 1, "data": {}, "columns": {}}, "sample"),
])
def test_bad_sessions(tmp_path, doc, pattern):
    path = tmp_path / "bad.gmmstudio"
    path.write_text(json.dumps(doc))
    with pytest.raises(SessionError, match=pattern):
        load_session(path)
