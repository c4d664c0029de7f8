"""Malformed model and session files give a GMMStudioError that says what is wrong.

Valid files are mutated at random (a value replaced by one of another type, a
key dropped, a list cut short) and loaded; anything but success or a
GMMStudioError is a defect.
"""

import copy
import json
import math
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gmm_studio.core import GMMStudioError, load_model, load_session
from gmm_studio.core.files.model_file import from_json_dict
from gmm_studio.core.files.session_file import from_json

ROOT = Path(__file__).resolve().parents[1]
MODEL = json.loads((ROOT / "cli" / "fixtures" / "model_v1.json").read_text())
SESSION = json.loads((ROOT / "fixtures" / "session_v1.gmmstudio").read_text())

values = st.one_of(
    st.none(), st.booleans(), st.integers(-10, 10**6),
    st.sampled_from([math.nan, math.inf, -math.inf, 0.0, -1.5, 1e308]),
    st.text(max_size=5), st.lists(st.integers(-3, 3), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))


def _paths(doc, prefix=()):
    """Every (path) to a value inside ``doc``."""
    yield prefix
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            yield from _paths(value, (*prefix, i))


@st.composite
def mutated(draw, original):
    doc = copy.deepcopy(original)
    for _ in range(draw(st.integers(1, 3))):
        paths = [p for p in _paths(doc) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        kind = draw(st.sampled_from(["replace", "delete", "truncate"]))
        if kind == "delete":
            del parent[path[-1]]
        elif kind == "truncate" and isinstance(parent[path[-1]], list) and parent[path[-1]]:
            parent[path[-1]] = parent[path[-1]][:draw(st.integers(0, len(parent[path[-1]]) - 1))]
        else:
            parent[path[-1]] = draw(values)
    return doc


def _loads_or_says_why(loader, doc):
    try:
        loader(doc)
    except GMMStudioError as exc:
        assert str(exc), "an error must say what is wrong"


FUZZ = settings(max_examples=1500, derandomize=True, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(mutated(MODEL))
def test_mutated_model_files(doc):
    _loads_or_says_why(from_json_dict, doc)


@FUZZ
@given(mutated(SESSION))
def test_mutated_session_files(doc):
    _loads_or_says_why(from_json, doc)


def test_the_fit_section_as_a_number_is_a_typed_error(tmp_path):
    doc = copy.deepcopy(MODEL)
    doc["fit"] = 5
    path = tmp_path / "m.json"
    path.write_text(json.dumps(doc))
    try:
        load_model(path)
    except GMMStudioError as exc:
        assert "'fit'" in str(exc)
    else:
        raise AssertionError("a model whose fit section is a number must be refused")


def test_unreadable_session_and_model_files_are_typed_errors(tmp_path):
    for loader in (load_model, load_session):
        for text in ("", "{", "[1, 2]", "null", '"text"'):
            path = tmp_path / "f.json"
            path.write_text(text)
            _loads_or_says_why(loader, path)
