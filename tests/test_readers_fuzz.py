"""Every reader of outside data, fed arbitrary bytes and arbitrary JSON: facts, or the one bad-input error.

cpuinfo files, facts documents, catalogs, a fleet's JSON Lines, nvidia-smi's output and the
verify payload's line each either give their record or raise a BadInputError subclass;
never a ValueError, RecursionError, OverflowError, TypeError or anything else.
"""

from __future__ import annotations

import contextlib
import io
import json
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tvselect.catalog.model import Catalog, parse_catalog
from tvselect.errors import BadInputError
from tvselect.facts.document import load_facts
from tvselect.facts.model import CpuFacts, Facts
from tvselect.fleet.documents import Entry, read_entries
from tvselect.probe.cpu import parse_cpuinfo, read_cpuinfo_file
from tvselect.probe.smi import parse_nvidia_smi
from tvselect.probe.visibility import Found
from tvselect.verify.observations import RawObservations, observations_from_line

FIXTURE = Path(__file__).parent / "fixtures" / "h100-nvml-probe.json"
FACTS_DOC: dict[str, Any] = json.loads(FIXTURE.read_text())
CATALOG_DOC: dict[str, Any] = json.loads(
    files("tvselect").joinpath("data").joinpath("variants.json").read_text("utf-8")
)
PAYLOAD_DOC: dict[str, Any] = {
    "payload_version": 1,
    "python": {"executable": "/usr/bin/python3", "version": "3.13.1"},
    "torch": {"version": "2.9.1+cu129"},
    "torchvision": {"version": "0.24.0"},
    "cuda": {"devices": [{"index": 0, "name": "H100", "capability": [9, 0]}], "arch_list": ["sm_90"]},
    "cpu": {"capability": "AVX512"},
    "smoke": [{"device": "cpu", "nms": [3, 0], "conv_max_abs_diff": 0.0}],
}

# Values that broke readers before: huge integers, 1e400, deep nesting, surrogates, controls.
NASTY_TEXT = ["1" * 5000, "1e400", "-1e400", "[" * 50_000, '"\\ud800"', "NaN", "Infinity", '"\\u001b[31m"']
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    | st.sampled_from(["\ud800", "\x1b[2J", "12", "9.9", "-1", "abc", ""])
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value[:3]):
            found += _paths(item, (*prefix, index))
    return found


@st.composite
def mutated(draw: st.DrawFn, document: dict[str, Any]) -> str:
    """`document` with one value anywhere replaced by arbitrary JSON (or a nasty literal), as text."""
    copy = json.loads(json.dumps(document))
    paths = _paths(copy)
    path = draw(st.sampled_from(paths[1:]))
    nasty = draw(st.sampled_from([None, *NASTY_TEXT]))
    marker = "__tvselect_fuzz__"
    target = copy
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = marker if nasty is not None else draw(json_values)
    text = json.dumps(copy)
    return text.replace(f'"{marker}"', nasty) if nasty is not None else text


def json_texts(document: dict[str, Any]) -> st.SearchStrategy[str]:
    return mutated(document) | json_values.map(json.dumps) | st.sampled_from(NASTY_TEXT)


FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _file(tmp_path: Path, data: bytes) -> str:
    path = tmp_path / "input"
    path.write_bytes(data)
    return str(path)


@FUZZ
@given(
    data=st.binary(max_size=2000) | st.text(max_size=2000).map(lambda t: t.encode("utf-8", "surrogatepass"))
)
def test_cpuinfo_file(tmp_path_factory: pytest.TempPathFactory, data: bytes) -> None:
    path = _file(tmp_path_factory.mktemp("cpuinfo"), data)
    with contextlib.suppress(BadInputError):
        assert isinstance(read_cpuinfo_file(path), CpuFacts)
    assert isinstance(parse_cpuinfo(data.decode("utf-8", "replace")), CpuFacts)


@FUZZ
@given(text=json_texts(FACTS_DOC))
def test_facts_document(text: str) -> None:
    with contextlib.suppress(BadInputError):
        assert isinstance(load_facts("-", io.StringIO(text)), Facts)


@FUZZ
@given(data=st.binary(max_size=500))
def test_facts_document_bytes(data: bytes) -> None:
    stdin = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8")
    with contextlib.suppress(BadInputError):
        assert isinstance(load_facts("-", stdin), Facts)


@FUZZ
@given(text=json_texts(CATALOG_DOC) | st.text(max_size=200))
def test_catalog(text: str) -> None:
    with contextlib.suppress(BadInputError):
        assert isinstance(parse_catalog(text, "fuzz"), Catalog)


@FUZZ
@given(
    lines=st.lists(
        json_texts(FACTS_DOC) | st.binary(max_size=100).map(lambda b: b.decode("utf-8", "replace")),
        min_size=1,
        max_size=4,
    ),
    pretty=st.booleans(),
)
def test_fleet_lines(tmp_path_factory: pytest.TempPathFactory, lines: list[str], pretty: bool) -> None:
    text = "\n\n".join(lines) if pretty else "\n".join(line.replace("\n", " ") for line in lines)
    path = _file(tmp_path_factory.mktemp("fleet"), text.encode("utf-8", "surrogatepass"))
    try:
        entries = list(read_entries([path], None))
    except BadInputError:
        return
    assert all(isinstance(e, Entry) and (e.facts is None) != (e.error is None) for e in entries)


@FUZZ
@given(
    text=st.lists(
        st.lists(
            st.text(max_size=12) | st.sampled_from(["9.0", "1" * 5000, "1e400", "550.54.14"]), max_size=8
        ).map(", ".join),
        max_size=4,
    ).map("\n".join)
)
def test_nvidia_smi_output(text: str) -> None:
    assert isinstance(parse_nvidia_smi(text), Found)


@FUZZ
@given(text=json_texts(PAYLOAD_DOC))
def test_verify_payload_line(text: str) -> None:
    with contextlib.suppress(BadInputError):
        assert isinstance(observations_from_line(("python",), text), RawObservations)


def test_the_payload_fixture_is_read() -> None:
    """The mutations start from documents each reader accepts, so they test more than the first check."""
    assert isinstance(observations_from_line(("python",), json.dumps(PAYLOAD_DOC)), RawObservations)
    assert isinstance(load_facts("-", io.StringIO(json.dumps(FACTS_DOC))), Facts)
    assert isinstance(parse_catalog(json.dumps(CATALOG_DOC), "built-in"), Catalog)
