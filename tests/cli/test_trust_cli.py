"""The command line on the files a first trial tripped over."""

import os
import stat
import subprocess
import sys

import numpy as np
import pandas as pd

from .test_cli import FAITHFUL, run


def test_a_ragged_file_exits_2_naming_the_line(tmp_path, monkeypatch):
    monkeypatch.setenv("GMM_STUDIO_CACHE_DIR", str(tmp_path / "cache"))
    path = tmp_path / "wine_data.csv"
    path.write_text("a,b,c,d,e\n" + "\n".join(",".join(["2.5"] * 14) for _ in range(4)) + "\n")
    for command in (["fit", path], ["select", path, "-k", "1-2"],
                    ["fit", path, "--out-of-core"]):
        done = run(*command)
        assert done.returncode == 2, done.stdout
        assert done.stderr.count("\n") == 1
        assert "line 2 has 14 fields but its header names 5" in done.stderr


def test_labels_of_a_file_with_gaps_have_one_row_per_input_row(tmp_path, monkeypatch):
    monkeypatch.setenv("GMM_STUDIO_CACHE_DIR", str(tmp_path / "cache"))
    path = tmp_path / "gaps.csv"
    frame = pd.DataFrame({"x": [1.0, 2.0, np.nan, 8.0, 9.0, 1.1], "y": [1, 2, 3, 8, 9, 1.2]})
    frame.to_csv(path, index=False)
    for extra in ([], ["--out-of-core"]):
        out = tmp_path / "labels.csv"
        done = run("fit", path, "-k", "2", "--labels", out, *extra)
        assert done.returncode == 0, done.stderr
        labels = pd.read_csv(out)
        assert list(labels["row"]) == [1, 2, 3, 4, 5, 6]
        assert labels["excluded"].fillna("").tolist() == ["", "", "missing value in x", "",
                                                          "", ""]
        assert labels["cluster"].isna().tolist() == [False, False, True, False, False, False]


def test_outputs_get_the_users_umask_not_0600(tmp_path):
    model, labels = tmp_path / "m.json", tmp_path / "l.csv"
    done = subprocess.run(
        ["sh", "-c", f'umask 022 && "{sys.executable}" -m gmm_studio fit "{FAITHFUL}" '
                     f'--model "{model}" --labels "{labels}"'],
        capture_output=True, text=True, timeout=120, env=os.environ)
    assert done.returncode == 0, done.stderr
    for path in (model, labels):
        assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_cv_with_one_fold_is_refused(tmp_path):
    done = run("select", FAITHFUL, "--criterion", "cv", "--folds", "1")
    assert done.returncode == 2
    assert "at least 2 folds" in done.stderr


def test_k_above_the_rows_and_a_one_row_file_say_so_plainly(tmp_path):
    one = tmp_path / "one.csv"
    one.write_text("a,b\n1,2\n")
    done = run("fit", one, "-k", "1")
    assert done.returncode == 2 and "only 1 row" in done.stderr
    three = tmp_path / "three.csv"
    three.write_text("a,b\n1,2\n3,4\n5,7\n")
    done = run("fit", three, "-k", "10")
    assert done.returncode == 2
    assert "K=10 components need at least 10 rows, but the data has 3 rows" in done.stderr


def test_more_parameters_than_rows_warns_towards_constrained_types(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "wide.csv"
    pd.DataFrame(rng.normal(size=(60, 13)), columns=[f"f{i}" for i in range(13)]).to_csv(
        path, index=False)
    done = run("fit", path, "-k", "3", "--covariance", "full")
    assert done.returncode == 0, done.stderr
    assert "free parameters but the data only 60 rows" in done.stdout
    assert "tied, diag or spherical" in done.stdout
    assert "80 free parameters" in run("fit", path, "-k", "3", "--covariance", "diag").stdout
    done = run("fit", path, "-k", "3", "--covariance", "spherical")   # 44 parameters
    assert done.returncode == 0 and "free parameters" not in done.stdout


def test_no_display_is_one_line_and_exit_2():
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    done = subprocess.run([sys.executable, "-m", "gmm_studio"], capture_output=True, text=True,
                          timeout=60, env=env)
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0
    assert "no display" in done.stderr and "QT_QPA_PLATFORM=offscreen" in done.stderr


def test_an_out_of_core_model_file_has_what_an_in_memory_one_has(tmp_path, monkeypatch):
    import json

    monkeypatch.setenv("GMM_STUDIO_CACHE_DIR", str(tmp_path / "cache"))
    docs = {}
    for name, extra in (("memory", []), ("streamed", ["--out-of-core"])):
        out = tmp_path / f"{name}.json"
        done = run("fit", FAITHFUL, "-k", "2", "--model", out, *extra)
        assert done.returncode == 0, done.stderr
        docs[name] = json.loads(out.read_text())
    assert set(docs["streamed"]["result"]) == set(docs["memory"]["result"])
    assert docs["streamed"]["result"]["n_parameters"] == 11
    assert isinstance(docs["streamed"]["result"]["warnings"], list)
    assert set(docs["streamed"]["data"]) == set(docs["memory"]["data"])
