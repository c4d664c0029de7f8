"""Loading tables, choosing columns, exports and the model file format."""

import json

import numpy as np
import pandas as pd
import pytest

from gmm_studio.core import FitConfig, InvalidDataError, InvalidModelError, fit
from gmm_studio.core.data.dataset import load_dataset, make_dataset
from gmm_studio.core.data.readers import read_table, read_text_table, sniff_format
from gmm_studio.core.files.atomic import ExportError, atomic_write
from gmm_studio.core.files.labels import write_labels_csv
from gmm_studio.core.files.model_file import load_model, save_model, saved_from_fit

from .helpers import ASSETS


@pytest.mark.parametrize("text, expected", [
    ("a,b\n1.5,2\n3,4.25\n", (",", ".")),
    ("a;b\n1,5;2\n3;4,25\n", (";", ",")),
    ("a\tb\n1.5\t2\n3\t4\n", ("\t", ".")),
    ("a|b\n1|2\n3|4\n", ("|", ".")),
])
def test_sniff_format(text, expected):
    assert sniff_format(text) == expected


def test_bom_and_decimal_comma_are_read():
    frame = read_text_table("\ufeffx;y;tag\n1,5;2;a\n3,25;-4,5;b\n".encode())
    assert list(frame.columns) == ["x", "y", "tag"]
    np.testing.assert_allclose(frame["y"], [2.0, -4.5])


def test_missing_rows_are_dropped_and_counted():
    frame = pd.DataFrame({"a": [1.0, np.nan, 3.0, 4.0], "b": [1.0, 2.0, None, 5.0],
                          "t": ["x", "y", "z", "w"]})
    data = make_dataset(frame)
    assert data.feature_names == ("a", "b")
    assert data.n_dropped == 2 and list(data.rows) == [0, 3]
    assert data.drop_note == "2 rows dropped for missing values in a, b"


def test_inf_is_rejected_with_row_and_column():
    frame = pd.DataFrame({"a": [1.0, 2.0, np.inf], "b": [1.0, 2.0, 3.0]})
    with pytest.raises(InvalidDataError, match="column 'a' at row 3"):
        make_dataset(frame)


def test_text_column_as_feature_is_refused():
    frame = pd.DataFrame({"a": [1.0, 2.0], "t": ["x", "y"]})
    with pytest.raises(InvalidDataError, match="not numeric"):
        make_dataset(frame, ["a", "t"])


def test_standardisation_is_stored_and_reapplied(tmp_path):
    data = load_dataset(ASSETS / "iris.csv", ["petal_length", "sepal_width"], standardize=True)
    np.testing.assert_allclose(data.X.mean(axis=0), 0.0, atol=1e-12)
    result = fit(data.X, FitConfig(n_components=3))
    path = save_model(tmp_path / "m.json", saved_from_fit(result, data))
    saved = load_model(path)
    again = load_dataset(ASSETS / "iris.csv", list(saved.feature_names),
                         preprocessing=saved.preprocessing)
    np.testing.assert_allclose(again.X, data.X)


@pytest.mark.parametrize("suffix", [".xlsx", ".parquet"])
def test_excel_and_parquet(tmp_path, suffix):
    frame = pd.read_csv(ASSETS / "old_faithful.csv")
    path = tmp_path / f"f{suffix}"
    frame.to_excel(path, index=False) if suffix == ".xlsx" else frame.to_parquet(path)
    pd.testing.assert_frame_equal(read_table(path), frame, check_dtype=False)


def test_missing_optional_reader_names_the_extra(tmp_path, monkeypatch):
    import builtins
    real_import = builtins.__import__

    def fake(name, *args, **kwargs):
        if name == "openpyxl":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake)
    (tmp_path / "a.xlsx").write_bytes(b"PK")
    with pytest.raises(InvalidDataError, match=r"pip install 'gmm-studio\[excel\]'"):
        read_table(tmp_path / "a.xlsx")


def test_labels_csv_keeps_every_original_column_in_order(tmp_path):
    data = load_dataset(ASSETS / "iris.csv", ["petal_length", "petal_width"])
    model = fit(data.X, FitConfig(n_components=2)).model
    out = pd.read_csv(write_labels_csv(tmp_path / "l.csv", data, model))
    assert list(out.columns)[1:6] == list(data.frame.columns)
    assert list(out.columns)[0] == "row" and list(out["row"]) == list(range(1, 151))
    assert list(out.columns)[6:] == ["cluster", "p_0", "p_1", "log_density", "excluded"]
    assert len(out) == 150 and out["excluded"].isna().all()


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "x.txt"

    def boom(tmp):
        tmp.write_text("partial")
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError):
        atomic_write(target, boom)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ExportError, match="does not exist"):
        atomic_write(tmp_path / "no" / "x.txt", lambda tmp: None)


def test_model_file_validates_and_never_executes(tmp_path):
    path = tmp_path / "m.json"
    path.write_text(json.dumps({"format": "gmm-studio-model", "version": 1,
                                "features": ["a"], "model": {"covariance_type": "full"}}))
    with pytest.raises(InvalidModelError, match="missing field"):
        load_model(path)
    path.write_text("{not json")
    with pytest.raises(InvalidModelError, match="not valid JSON"):
        load_model(path)
    path.write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(InvalidModelError, match="not a GMM Studio model"):
        load_model(path)
