"""A built wheel (not the editable checkout) carries the sample data and icons."""

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w",
                           str(out), str(ROOT)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return next(out.glob("gmm_studio-*.whl"))


def test_wheel_contains_data_icons_and_desktop_files(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in ("old_faithful.csv", "iris.csv", "README.md", "gmm-studio.svg",
                 "gmm-studio-256.png", "io.github.gmm_studio.GMMStudio.desktop",
                 "io.github.gmm_studio.GMMStudio.metainfo.xml"):
        assert f"gmm_studio/assets/{name}" in names
    assert not any(n.startswith("tests/") for n in names)


def test_installed_wheel_finds_its_samples(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target",
                    str(target), str(wheel)], check=True, timeout=600)
    code = ("import gmm_studio, gmm_studio.gui.resources as m; "
            f"assert gmm_studio.__file__.startswith({str(target)!r}), gmm_studio.__file__; "
            "p = m.sample_path('old_faithful.csv'); assert p.exists(), p; "
            "assert m.sample_path('gmm-studio-64.png').exists(); print(p)")
    env = {**os.environ, "PYTHONPATH": str(target), "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    assert str(target) in done.stdout
