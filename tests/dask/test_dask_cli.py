"""gmm-studio fit FOLDER --dask local: Parquet parts in, one labels CSV per partition out."""

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("distributed", reason="the 'dask' extra is not installed "
                                          "(pip install -e '.[dask]'; .ci/run installs it)")

from gmm_studio.core import FitConfig, fit, load_model  # noqa: E402


def run(*args):
    return subprocess.run([sys.executable, "-m", "gmm_studio", *map(str, args)],
                          capture_output=True, text=True, timeout=300, env=dict(os.environ))


def test_cli_fits_a_folder_of_parquet_on_a_local_cluster(tmp_path):
    rng = np.random.default_rng(0)
    folder = tmp_path / "data"
    folder.mkdir()
    parts = []
    for i in range(3):
        part = pd.DataFrame(np.vstack([rng.normal(0, 1, (3000, 2)),
                                       rng.normal([4, 2], 0.7, (3000, 2))]), columns=["u", "v"])
        part["site"] = f"s{i}"
        part.to_parquet(folder / f"part-{i}.parquet")
        parts.append(part)
    model_path, labels = tmp_path / "model.json", tmp_path / "labels"
    done = run("fit", folder, "--dask", "local", "-k", "2", "--labels", labels,
               "--model", model_path, "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["n_rows_used"] == 18000 and summary["dask"] == "local"
    written = sorted(labels.glob("labels-*.csv"))
    assert len(written) == 3
    out = pd.concat([pd.read_csv(p) for p in written], ignore_index=True)
    assert list(out.columns) == ["u", "v", "site", "cluster", "p_0", "p_1", "log_density",
                                 "excluded"]
    model = load_model(model_path).model
    data = pd.concat(parts, ignore_index=True)[["u", "v"]].to_numpy()
    np.testing.assert_array_equal(out["cluster"].to_numpy(), model.predict(data))
    np.testing.assert_allclose(out["log_density"].sum(), summary["log_likelihood"], rtol=1e-9)
    here = fit(data, FitConfig(n_components=2))
    assert summary["log_likelihood"] == pytest.approx(here.log_likelihood, rel=1e-6)


def test_cli_dask_refuses_what_it_cannot_do(tmp_path):
    done = run("fit", tmp_path / "none-*.parquet", "--dask", "local", "-k", "2")
    assert done.returncode == 2 and "no such file" in done.stderr
    pd.DataFrame({"a": [1.0, 2.0]}).to_parquet(tmp_path / "x.parquet")
    done = run("fit", tmp_path / "x.parquet", "--dask", "local", "--standardize")
    assert done.returncode == 2 and "--standardize" in done.stderr


def test_cli_fits_through_a_running_scheduler_address(tmp_path):
    import distributed

    rng = np.random.default_rng(1)
    path = tmp_path / "rows.parquet"
    pd.DataFrame(rng.normal(size=(4000, 2)), columns=["a", "b"]).to_parquet(path)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None, silence_logs=40) as cluster:
        done = run("fit", path, "--dask", cluster.scheduler_address, "-k", "1", "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["dask"].startswith("tcp://") and summary["n_rows_used"] == 4000
