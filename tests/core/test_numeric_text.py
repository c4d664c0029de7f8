"""The pandas-free reader of ``select`` against the pandas reader of every other command."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from gmm_studio.core import InvalidDataError
from gmm_studio.core.data.dataset import load_dataset
from gmm_studio.core.data.numeric_text import load_features, read_numeric_text

ASSETS = Path(__file__).resolve().parents[2] / "assets"

PLAIN = {
    "quoted header, R style": '"a","b"\n1,2\n3.5,-4e-2\n5,6\n',
    "missing marks": "a,b,c\n1,NA,3\n4,5,\n7,8,9\n10,nan,12\n13,14,15\n",
    "blank lines and a BOM": "\ufeffa;b\n\n1;2\n3;4\n\n5;6\n",
    "tabs, spaces after delimiters": "a\tb\n1\t 2\n3\t 4\n5\t 6\n",
    "integers and signs": "x,y\n+1,-2\n3,.5\n-7,8.\n",
}
PANDAS_ONLY = {
    "a text column": "name,a,b\nx,1,2\ny,3,4\nz,5,6\n",
    "decimal commas": "a;b\n1,5;2,5\n3,5;4,5\n5,5;6,5\n",
    "a short row": "a,b\n1,2\n3\n5,6\n",
    "an infinity": "a,b\n1,2\ninf,4\n5,6\n",
    "unnamed column": "a,\n1,2\n3,4\n",
}


@pytest.mark.parametrize("name", list(PLAIN) + list(PANDAS_ONLY))
@pytest.mark.parametrize("standardize", [False, True])
def test_the_same_matrix_or_the_same_error_as_pandas(tmp_path, name, standardize):
    text = {**PLAIN, **PANDAS_ONLY}[name]
    path = tmp_path / "data.csv"
    path.write_bytes(text.encode("utf-8"))
    parsed = read_numeric_text(path.read_bytes())
    assert (parsed is not None) == (name in PLAIN)
    try:
        expected = load_dataset(path, standardize=standardize)
    except InvalidDataError as exc:
        with pytest.raises(InvalidDataError) as caught:
            load_features(path, standardize=standardize)
        assert str(caught.value) == str(exc)
        return
    got = load_features(path, standardize=standardize)
    assert got.feature_names == expected.feature_names
    assert (got.n_rows, got.n_dropped) == (expected.n_rows, expected.n_dropped)
    np.testing.assert_array_equal(got.X, expected.X)
    assert got.preprocessing.log_jacobian() == expected.preprocessing.log_jacobian()


def test_columns_and_weights_as_the_dataset_picks_them(tmp_path):
    path = tmp_path / "w.csv"
    path.write_text("a,b,w\n1,2,1\n3,4,2\n5,NA,1\n7,8,3\n")
    got = load_features(path, ["b"], weights="w")
    expected = load_dataset(path, ["b"], weights="w")
    np.testing.assert_array_equal(got.X, expected.X)
    np.testing.assert_array_equal(got.weights, expected.weights)
    assert got.n_dropped == expected.n_dropped == 1
    with pytest.raises(InvalidDataError, match="unknown feature column"):
        load_features(path, ["c"])


def test_bundled_samples_read_without_pandas_and_equal_it():
    for name in ("old_faithful.csv", "iris.csv", "wine.csv"):
        path = ASSETS / name
        expected = load_dataset(path)
        got = load_features(path)
        assert got.feature_names == expected.feature_names, name
        np.testing.assert_array_equal(got.X, expected.X)


def test_select_on_a_plain_csv_imports_neither_pandas_nor_scipy():
    code = ("import sys; from gmm_studio.cli import main; "
            f"main(['select', {str(ASSETS / 'old_faithful.csv')!r}, '-k', '1-2', '--json']); "
            "print(sorted(m for m in ('pandas', 'scipy') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, timeout=120)
    assert done.stdout.strip().splitlines()[-1] == "[]"
