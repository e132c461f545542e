"""The cached JSON Lines reader (fleet/lines.py): every line reads exactly as a whole parse reads it.

Lines of one kind are parsed once and later ones only have their host and UUIDs put in; these
tests compare that, line by line, with json.loads + from_document of the same line, in both
reading modes (full facts, and `kinds`: machine_kind with the host kept).
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_readers_fuzz import FACTS_DOC, FUZZ, json_texts

from tvselect.base.capability import Capability
from tvselect.facts.document import to_document
from tvselect.facts.model import CpuFacts, ExcludedGpu, Facts, Gpu, GpuFacts
from tvselect.fleet.documents import read_entries
from tvselect.fleet.lines import Entry, LineReader, machine_kind

TVSELECT = str(Path(sys.executable).with_name("tvselect"))
CPU = CpuFacts("x86_64", "GenuineIntel", "test CPU", frozenset({"avx2", "fma"}), "/proc/cpuinfo")


def _facts(host: str | None, uuids: tuple[str | None, ...], migs: tuple[str, ...] = ()) -> Facts:
    gpus = tuple(
        Gpu(i, "NVIDIA A100", uuid, Capability(8, 0), 81559, bool(migs) and i == 0, migs if i == 0 else ())
        for i, uuid in enumerate(uuids)
    )
    excluded = (ExcludedGpu(9, None, uuids[0] if uuids else None, "CUDA_VISIBLE_DEVICES"),)
    gpu = GpuFacts("nvml", gpus, excluded, "580.65.06", "13.0", None, (f"probed {host}",))
    return Facts(CPU, gpu, host)


def _drivers(facts: Facts, version: str | None, cuda: str | None) -> Facts:
    return facts._replace(gpu=facts.gpu._replace(driver_version=version, cuda_driver_version=cuda))


def _text(facts: Facts) -> str:
    return json.dumps(to_document(facts))


def _whole(lines: list[str], kinds: bool) -> list[Entry]:
    """Each line parsed by itself, without the cache."""
    return [LineReader(kinds).parse(line, "f", n) for n, line in enumerate(lines, 1)]


def _cached(lines: list[str], kinds: bool) -> list[Entry]:
    reader = LineReader(kinds)
    return [reader.read(line, "f", n) for n, line in enumerate(lines, 1)]


FLEETS = [
    pytest.param([_facts("a", ("GPU-1", "GPU-2")), _facts("b", ("GPU-3", None))], id="gpu-uuids"),
    pytest.param(
        [_facts("a", ("GPU-1",), ("MIG-1", "MIG-2")), _facts("b", ("GPU-2",), ("MIG-3", "MIG-4"))], id="mig"
    ),
    pytest.param([_facts('we"ird\\', ('GPU-"q"',)), _facts("\u00e9t\u00e9", ("GPU-\u2028",))], id="escaped"),
    pytest.param([_facts(None, ()), _facts("b", ())], id="no-gpu"),
    pytest.param(
        [
            _facts("a", ("GPU-1",)),
            _drivers(_facts("b", ("GPU-2",)), "550.54.14", None),
            _drivers(_facts("c", ("GPU-3",)), None, "12.4"),
        ],
        id="drivers",
    ),
]


@pytest.mark.parametrize("kinds", [False, True], ids=["facts", "kinds"])
@pytest.mark.parametrize("fleet", FLEETS)
def test_cached_lines_read_as_a_whole_parse_reads_them(fleet: list[Facts], kinds: bool) -> None:
    lines = [_text(f) for f in fleet] * 2  # the second time round, every line is a cache hit
    assert _cached(lines, kinds) == _whole(lines, kinds)
    got = [e.facts for e in _cached(lines, kinds)]
    want = [machine_kind(f)._replace(host=f.host) if kinds else f for f in fleet] * 2
    assert got == want


def test_kinds_share_one_cpu_and_gpu_object_per_kind_of_line() -> None:
    hosts = [_facts(f"h{n}", (f"GPU-{n}",)) for n in range(3)]
    entries = _cached([_text(h._replace(gpu=h.gpu._replace(notes=("same",)))) for h in hosts], kinds=True)
    facts = [e.facts for e in entries if e.facts]
    assert [f.host for f in facts] == ["h0", "h1", "h2"]
    assert all(f.gpu is facts[0].gpu and f.cpu is facts[0].cpu for f in facts)
    assert facts[0].gpu.gpus[0].uuid is None and facts[0].gpu.notes == ()


def _with(text: str, old: str, new: str) -> str:
    assert old in text
    return text.replace(old, new)


GOOD = _text(_facts("h1", ("GPU-1",), ("MIG-1",)))
BAD_LATER_LINES = [
    pytest.param(_with(GOOD, '"h1"', '"a\\x"'), "Invalid \\escape", id="bad-escape-in-host"),
    pytest.param(_with(GOOD, '"h1"', '"a\tb"'), "Invalid control character", id="tab-in-host"),
    pytest.param(_with(GOOD, '"GPU-1"', '"GPU\\u12"'), "Invalid \\uXXXX escape", id="short-unicode-escape"),
    pytest.param(_with(GOOD, '"MIG-1"', "null"), "mig_devices[0].uuid", id="null-mig-uuid"),
    pytest.param(_with(GOOD, '"h1"', "7"), "'host' must be str", id="number-host"),
    pytest.param(_with(GOOD, '"580.65.06"', '"580.x"'), "not an NVIDIA driver version", id="bad-driver"),
    pytest.param(_with(GOOD, '"13.0"', '"13.0-rc"'), "not a CUDA version", id="bad-cuda-driver"),
    pytest.param(_with(GOOD, '"580.65.06"', "580"), "driver_version", id="number-driver"),
]

# A key name written with escapes is not cut out, so its value stays in the key as the line wrote it.
FORGED = '"\\u0000tvselect-0\\u0000"'
SPELLED_PLACEHOLDERS = [
    pytest.param(_with(GOOD, '"host": "h1"', f'"ho\\u0073t": {FORGED}'), id="escaped-host-key"),
    pytest.param(_with(GOOD, '"uuid": "GPU-1"', f'"uu\\u0069d": {FORGED}'), id="escaped-uuid-key"),
    pytest.param(_with(GOOD, '"model": "test CPU"', f'"model": {FORGED}'), id="cpu-model"),
    pytest.param(
        _with(GOOD, '"host": "h1"', '"host": "h1", "x": {"uuid": "a", "uuid": "b"}, "h\\u006fst": ' + FORGED),
        id="duplicate-keys",
    ),
]


@pytest.mark.parametrize("kinds", [False, True], ids=["facts", "kinds"])
@pytest.mark.parametrize("line", SPELLED_PLACEHOLDERS)
def test_a_line_that_spells_a_placeholder_itself_reads_as_written(line: str, kinds: bool) -> None:
    lines = [line, line.replace("GPU-1", "GPU-2").replace('"h1"', '"h2"'), line]
    entries = _cached(lines, kinds)
    assert entries == _whole(lines, kinds)
    assert all(e.facts is not None for e in entries)


@pytest.mark.parametrize("kinds", [False, True], ids=["facts", "kinds"])
@pytest.mark.parametrize(("bad", "why"), BAD_LATER_LINES)
def test_a_bad_value_after_good_lines_of_its_kind_is_that_lines_error(
    bad: str, why: str, kinds: bool
) -> None:
    lines = [GOOD, bad, GOOD]
    entries = _cached(lines, kinds)
    assert entries == _whole(lines, kinds)
    assert entries[1].facts is None and entries[1].error is not None and why in entries[1].error
    assert entries[2].facts is not None


def test_a_bad_host_on_a_later_line_is_skipped_by_plan(tmp_path: Path) -> None:
    path = tmp_path / "fleet.jsonl"
    path.write_text(GOOD + "\n" + _with(GOOD, '"h1"', '"a\\x"') + "\n")
    entries = list(read_entries([str(path)], io.StringIO(), kinds=True))
    assert [(e.line, e.error is None) for e in entries] == [(1, True), (2, False)]


def test_the_cache_stays_bounded() -> None:
    reader = LineReader(kinds=True)
    for n in range(5000):
        facts = _facts(f"h{n}", ("GPU-1",))._replace(cpu=CPU._replace(model=f"CPU {n}" + "x" * 2000))
        assert reader.read(_text(facts), "f", n).facts is not None
    assert 0 < len(reader.cache) <= 4096
    assert sum(len(key) for key in reader.cache) <= 8 * 1024 * 1024


def test_a_line_of_more_values_than_any_facts_document_is_parsed_whole() -> None:
    document: dict[str, Any] = to_document(_facts("h", tuple(f"GPU-{n}" for n in range(2000))))
    line = json.dumps(document)
    reader = LineReader()
    [entry] = [reader.read(line, "f", 1)]
    assert entry == reader.parse(line, "f", 1) and entry.facts is not None
    assert reader.cache == {}


# Host and UUID values that are strings, escapes, null, wrong types, or forged placeholders.
values = (
    st.text(max_size=6)
    | st.sampled_from(["\x00tvselect-0\x00", "\x00tvselect-9\x00", 'a"b', "\\", "\u2028", "\ud800"])
    | st.none()
    | st.integers()
)


@st.composite
def fleet_lines(draw: st.DrawFn) -> list[str]:
    """A few lines of FACTS_DOC, each with its own host and UUIDs, some mutated anywhere, some repeated."""
    lines = []
    for _ in range(draw(st.integers(1, 4))):
        document = json.loads(json.dumps(FACTS_DOC))
        document["host"] = draw(values)
        for field in ("driver_version", "cuda_driver_version"):
            document["gpu"][field] = draw(values | st.sampled_from(["550.54.14", "13.0", "12", "1.2.3.4"]))
        for device in document["gpu"]["devices"]:
            device["uuid"] = draw(values)
            if draw(st.booleans()):
                device["mig_devices"] = [{"uuid": draw(values)} for _ in range(draw(st.integers(0, 2)))]
        lines.append(json.dumps(document, ensure_ascii=draw(st.booleans())))
    lines += draw(st.lists(json_texts(FACTS_DOC), max_size=2))
    return draw(st.permutations(lines + lines[:2]))


@FUZZ
@given(lines=fleet_lines(), kinds=st.booleans())
def test_cached_reading_is_a_whole_parse(lines: list[str], kinds: bool) -> None:
    lines = [line.replace("\n", " ") for line in lines]
    assert _cached(lines, kinds) == _whole(lines, kinds)


@pytest.mark.parametrize("extra", [(), ("--cover",)], ids=["plan", "cover"])
def test_plan_reads_kinds_and_checks_each_lines_capabilities(tmp_path: Path, extra: tuple[str, ...]) -> None:
    """Interleaved kinds, one with a capability no GPU has: exactly its lines are skipped, with the reason."""
    if extra:
        pytest.importorskip("highspy")
    good = [_facts(None, ("GPU-1",)), _facts(None, ())]
    impossible = _facts(None, ("GPU-1",))
    impossible = impossible._replace(
        gpu=impossible.gpu._replace(gpus=(impossible.gpu.gpus[0]._replace(capability=Capability(9, 9)),))
    )
    fleet = [(*good, impossible)[n % 3]._replace(host=f"node{n}") for n in range(30)]
    path = tmp_path / "fleet.jsonl"
    path.write_text("".join(_text(f) + "\n" for f in fleet))
    done = subprocess.run(
        [TVSELECT, "plan", "--json", *extra, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    document = json.loads(done.stdout)
    assert [i["line"] for i in document["invalid"]] == list(range(3, 31, 3))
    assert all("no GPU has compute capability 9.9" in i["error"] for i in document["invalid"])
    planned = sorted(h for group in document["packages"] + document["unserved"] for h in group["hosts"])
    assert planned == sorted(f"node{n}" for n in range(30) if n % 3 != 2)
