"""The gmm-studio command, run as a subprocess on real files."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ASSETS = Path(__file__).resolve().parents[2] / "assets"
FAITHFUL = ASSETS / "old_faithful.csv"
IRIS = ASSETS / "iris.csv"


def run(*args, cwd=None):
    env = {**os.environ, "PYTHONWARNINGS": "error::DeprecationWarning:gmm_studio"}
    return subprocess.run([sys.executable, "-m", "gmm_studio", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, env=env, timeout=120)


def test_fit_json_summary_and_outputs(tmp_path):
    labels, model = tmp_path / "labels.csv", tmp_path / "model.json"
    done = run("fit", FAITHFUL, "-k", "3", "--covariance", "tied", "--n-init", "3",
               "--labels", labels, "--model", model, "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    for key in ("n_components", "covariance_type", "algorithm", "log_likelihood", "bic", "aic",
                "n_iter", "converged", "n_rows_used", "n_rows_dropped", "warnings"):
        assert key in summary
    assert summary["n_rows_used"] == 272 and summary["n_rows_dropped"] == 0
    assert summary["log_likelihood"] > -1130
    out = pd.read_csv(labels)
    assert list(out.columns) == ["row", "eruptions", "waiting", "cluster", "p_0", "p_1", "p_2",
                                 "log_density", "excluded"]
    np.testing.assert_allclose(out[["p_0", "p_1", "p_2"]].sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(out["log_density"].sum(), summary["log_likelihood"], rtol=1e-9)
    doc = json.loads(model.read_text())
    assert doc["format"] == "gmm-studio-model" and doc["version"] == 2
    assert len(doc["data"]["sha256"]) == 64


def test_fit_then_score_round_trip(tmp_path):
    model, first, second = tmp_path / "m.json", tmp_path / "a.csv", tmp_path / "b.csv"
    fitted = run("fit", IRIS, "--columns", "petal_length,petal_width,sepal_length",
                 "--standardize", "-k", "3", "--labels", first, "--model", model, "--json")
    assert fitted.returncode == 0, fitted.stderr
    scored = run("score", model, IRIS, "--labels", second, "--json")
    assert scored.returncode == 0, scored.stderr
    a, b = pd.read_csv(first), pd.read_csv(second)
    pd.testing.assert_frame_equal(a, b)
    np.testing.assert_allclose(json.loads(scored.stdout)["log_likelihood"],
                               json.loads(fitted.stdout)["log_likelihood"], rtol=1e-10)
    assert "species" in a.columns  # text columns are carried through untouched


def test_human_summary_and_weights(tmp_path):
    data = tmp_path / "counts.csv"
    pd.DataFrame({"x": [0.0, 0.1, 5.0, 5.2, 9.9, 10.0], "n": [3, 1, 2, 2, 1, 4]}).to_csv(
        data, index=False)
    done = run("fit", data, "--columns", "x", "--weights", "n", "-k", "2")
    assert done.returncode == 0, done.stderr
    assert "log-likelihood" in done.stdout and "BIC" in done.stdout


def test_quirky_hand_written_csv(tmp_path):
    path = tmp_path / "quirky.csv"
    path.write_bytes(
        "\ufeffname;height;weight;note\n"
        "a;1,5;60,2;ok\n"
        "b;1,7;;missing weight\n"
        "c;1,62;55,0;x\n"
        "d;1,80;80,5;y\n"
        "e;1,75;72,1;z\n"
        "f;1,58;50,9;w\n".encode("utf-8"))
    done = run("fit", path, "-k", "2", "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["features"] == ["height", "weight"]
    assert summary["n_rows_used"] == 5 and summary["n_rows_dropped"] == 1


def test_latin1_tsv(tmp_path):
    path = tmp_path / "latin.tsv"
    rows = "\n".join(f"{i}\t{(i * 7) % 5}.5\tcaf\xe9" for i in range(20))
    path.write_bytes(("a\tb\tc\n" + rows + "\n").encode("latin-1"))
    done = run("fit", path, "-k", "2", "--json")
    assert done.returncode == 0, done.stderr


def _bad_model(tmp_path, patch):
    good = json.loads((ASSETS.parent / "tests" / "cli" / "fixtures" / "model_v1.json").read_text())
    for dotted, value in patch.items():
        node = good
        *parents, last = dotted.split(".")
        for p in parents:
            node = node[p]
        node[last] = value
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(good))
    return path


BAD_MODELS = {
    "wrong shapes": {"model.means": [[1.0, 2.0, 3.0]]},
    "nan": {"model.weights": [float("nan"), 0.5, 0.5]},
    "not positive definite": {"model.covariances": [[[1.0, 2.0], [2.0, 1.0]]] * 3},
    "unknown version": {"version": 99},
}


@pytest.mark.parametrize("case", [
    "missing file", "empty file", "header only", "binary", "no numeric column",
    "all-missing column", "unknown column", "k too large", "unwritable folder",
    *[f"model: {name}" for name in BAD_MODELS],
])
def test_bad_input_matrix(tmp_path, case):
    out = tmp_path / "out.csv"
    data = tmp_path / "data.csv"
    args = None
    if case == "missing file":
        args = ["fit", tmp_path / "nope.csv"]
    elif case == "empty file":
        data.write_text("")
    elif case == "header only":
        data.write_text("a,b\n")
    elif case == "binary":
        data.write_bytes(np.random.default_rng(0).bytes(4096))
    elif case == "no numeric column":
        data.write_text("a,b\nx,y\nz,w\n")
    elif case == "all-missing column":
        data.write_text("a,b\n1,\n2,\n3,\n")
        args = ["fit", data, "--columns", "a,b", "--labels", out]
    elif case == "unknown column":
        args = ["fit", FAITHFUL, "--columns", "eruptions,height", "--labels", out]
    elif case == "k too large":
        data.write_text("a\n1\n2\n3\n")
        args = ["fit", data, "-k", "5", "--labels", out]
    elif case == "unwritable folder":
        args = ["fit", FAITHFUL, "--labels", tmp_path / "no" / "such" / "dir" / "l.csv"]
    elif case.startswith("model: "):
        args = ["score", _bad_model(tmp_path, BAD_MODELS[case[7:]]), FAITHFUL, "--labels", out]
    args = args or ["fit", data, "--labels", out]
    done = run(*args)
    assert done.returncode == 2, (done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gmm-studio: error: "), done.stderr
    assert "Traceback" not in done.stderr
    assert not out.exists()
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(".tmp")]


def test_input_file_is_never_overwritten(tmp_path):
    data = tmp_path / "d.csv"
    data.write_bytes(FAITHFUL.read_bytes())
    before = data.read_bytes()
    done = run("fit", data, "--labels", data)
    assert done.returncode == 2
    assert data.read_bytes() == before


def test_usage_error_is_one_line():
    done = run("fit", FAITHFUL, "--covariance", "banana")
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1


def test_select_json_and_table(tmp_path):
    out = tmp_path / "table.csv"
    done = run("select", FAITHFUL, "-k", "1-3", "--covariance", "full,tied", "--criterion",
               "cv", "--folds", "3", "--out", out, "--json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert len(doc["table"]) == 6 and doc["best"]["k"] in (2, 3)
    assert {"k", "covariance_type", "bic", "aic", "icl", "log_likelihood", "degenerate",
            "cv_mean"} <= set(doc["table"][0])
    assert len(pd.read_csv(out)) == 6


def test_select_human_output_says_which_direction_is_better():
    done = run("select", FAITHFUL, "-k", "2-3", "--covariance", "tied")
    assert done.returncode == 0, done.stderr
    assert "best by bic (smallest is better): K=3, tied (EEE)" in done.stdout


def test_select_says_which_rows_did_not_converge_and_why():
    # On wine the default sweep stops a few first-stage fits far behind the
    # five it refines: the human output names each one, the JSON marks it.
    done = run("select", ASSETS / "wine.csv", "-k", "1-9", "--json")
    assert done.returncode == 0, done.stderr
    table = json.loads(done.stdout)["table"]
    stopped = [r for r in table if "far behind the fits refined" in r["note"]]
    assert stopped and not any(r["converged"] for r in stopped)
    human = run("select", ASSETS / "wine.csv", "-k", "1-9").stdout
    for row in stopped:
        if not row["degenerate"]:
            assert f"not converged: K={row['k']} " in human
    assert human.count("not converged:") == sum(
        not r["converged"] and not r["degenerate"] for r in table)


def test_select_on_big_data_says_once_how_its_rows_were_scored(tmp_path):
    # Above 100,000 rows each row is a subsample's fit, then two passes over
    # every row: one line says so, not "reached max_iter" for each row.
    rng = np.random.default_rng(0)
    path = tmp_path / "big.csv"
    pd.DataFrame(np.vstack([rng.normal(0, 1, (60_000, 2)), rng.normal(5, 1, (50_000, 2))]),
                 columns=["x", "y"]).to_csv(path, index=False)
    done = run("select", path, "-k", "1-3", "--covariance", "full,diag")
    assert done.returncode == 0, done.stderr
    assert "each fit runs on a 10,000-row subsample and is scored after 2 EM" in done.stdout
    assert "reached max_iter" not in done.stdout


def test_select_takes_every_mclust_model_by_name_and_the_two_sets():
    done = run("select", FAITHFUL, "-k", "1-2", "--covariance", "VEV,EII,VVV", "--json")
    assert done.returncode == 0, done.stderr
    table = json.loads(done.stdout)["table"]
    assert [(r["model"], r["covariance_type"]) for r in table][::2] == [
        ("VEV", "VEV"), ("EII", "EII"), ("VVV", "full")]
    done = run("select", FAITHFUL, "-k", "1", "--covariance", "sklearn", "--json")
    assert [r["model"] for r in json.loads(done.stdout)["table"]] == ["VVV", "EEE", "VVI", "VII"]
    done = run("select", FAITHFUL, "-k", "1", "--json")          # default: all fourteen
    assert len(json.loads(done.stdout)["table"]) == 14
    done = run("select", FAITHFUL, "-k", "1", "--covariance", "VEV,XYZ")
    assert done.returncode == 2 and "unknown covariance_type 'XYZ'" in done.stderr


def test_fit_any_model_and_save_it_as_version_2(tmp_path):
    model = tmp_path / "m.json"
    done = run("fit", FAITHFUL, "-k", "2", "--covariance", "vev", "--model", model, "--json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(model.read_text())
    assert doc["version"] == 2 and doc["model"]["covariance_type"] == "VEV"
    assert np.array(doc["model"]["covariances"]).shape == (2, 2, 2)
    done = run("fit", FAITHFUL, "--covariance", "banana")
    assert done.returncode == 2 and "unknown covariance_type 'banana'" in done.stderr


def test_fit_anomalies_then_score_with_stored_threshold(tmp_path):
    model, first, second = tmp_path / "m.json", tmp_path / "a.csv", tmp_path / "b.csv"
    done = run("fit", FAITHFUL, "-k", "3", "--covariance", "tied", "--model", model,
               "--anomalies", first, "--anomaly-quantile", "0.02", "--json")
    assert done.returncode == 0, done.stderr
    anomaly = json.loads(done.stdout)["anomaly"]
    assert anomaly["n_flagged"] == 6 and anomaly["quantile"] == 0.02
    assert json.loads(model.read_text())["anomaly"]["quantile"] == 0.02
    new_data = tmp_path / "new.csv"
    pd.DataFrame({"eruptions": [2.0, 4.5, 3.0, 1.0], "waiting": [55, 80, 100, 90]}).to_csv(
        new_data, index=False)
    scored = run("score", model, new_data, "--anomalies", second, "--json")
    assert scored.returncode == 0, scored.stderr
    flagged = pd.read_csv(second)
    assert list(flagged["row"]) in ([4, 3], [3, 4])  # the two implausible eruptions
    assert (flagged["log_density"] <= anomaly["log_density_threshold"]).all()
    absolute = run("score", model, new_data, "--anomaly-logpdf=-1e9", "--json")
    assert json.loads(absolute.stdout)["anomaly"]["n_flagged"] == 0


def test_score_without_stored_threshold_says_what_to_do(tmp_path):
    model = tmp_path / "m.json"
    assert run("fit", FAITHFUL, "--model", model).returncode == 0
    done = run("score", model, FAITHFUL, "--anomalies", tmp_path / "a.csv")
    assert done.returncode == 2 and "--anomaly-quantile" in done.stderr


def test_self_test_flag():
    done = run("--self-test")
    assert done.returncode == 0, done.stderr
    assert "self-test passed" in done.stdout


def test_out_of_core_fit_under_an_address_space_limit(tmp_path):
    import resource

    rng = np.random.default_rng(0)
    data = tmp_path / "big.csv"
    centres = np.array([[0.0, 0.0], [6.0, 2.0], [2.0, 7.0]])
    X = centres[rng.integers(0, 3, 600_000)] + rng.normal(size=(600_000, 2))
    pd.DataFrame(X, columns=["x", "y"]).to_csv(data, index=False)
    labels = tmp_path / "labels.csv"

    def limit():  # 900 MB of address space for the whole process
        resource.setrlimit(resource.RLIMIT_AS, (900 * 2**20, 900 * 2**20))

    env = {**os.environ, "GMM_STUDIO_CACHE_DIR": str(tmp_path / "cache"),
           "OPENBLAS_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-m", "gmm_studio", "fit", str(data), "-k", "3",
                           "--out-of-core", "--labels", str(labels), "--json"],
                          capture_output=True, text=True, env=env, preexec_fn=limit,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["n_rows_used"] == 600_000 and summary["converged"]
    assert "subsample" in summary["warnings"][0]
    out = pd.read_csv(labels)
    assert len(out) == 600_000 and {"cluster", "p_0", "log_density"} <= set(out.columns)
    np.testing.assert_allclose(out["log_density"].sum(), summary["log_likelihood"], rtol=1e-9)


def test_fit_soft_kmeans_keeps_the_spread_asked(tmp_path):
    model = tmp_path / "model.json"
    done = run("fit", FAITHFUL, "--algorithm", "soft_kmeans", "-k", "2", "--sigma", "3",
               "--model", model, "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["algorithm"] == "soft_kmeans" and summary["n_parameters"] == 4
    doc = json.loads(model.read_text())
    np.testing.assert_allclose(doc["model"]["covariances"], [9.0, 9.0])
    np.testing.assert_allclose(doc["model"]["weights"], [0.5, 0.5])
    assert doc["fit"]["sigma"] == 3.0 and doc["fit"]["equal_weights"] is True
