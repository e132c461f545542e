"""Facts of another machine: --gpu, --driver, --facts, and how gather_facts combines them."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any

import pytest

from tvselect.base.capability import Capability
from tvselect.catalog.model import Catalog, load_catalog
from tvselect.errors import BadInputError
from tvselect.facts.document import MAX_FACTS_BYTES, load_facts, to_document
from tvselect.facts.model import GPU_SOURCES, CpuFacts, Facts, Gpu, GpuFacts
from tvselect.probe import gather_facts
from tvselect.probe.simulate import simulated_gpus

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "cpuinfo"


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


ACCEPTED: list[tuple[str, list[str], list[tuple[int, int]]]] = [
    ("dotted", ["8.6"], [(8, 6)]),
    ("sm_", ["sm_86"], [(8, 6)]),
    ("sm", ["sm86"], [(8, 6)]),
    ("digits", ["86"], [(8, 6)]),
    ("upper-case", ["SM_90"], [(9, 0)]),
    ("spaces", [" 9.0 "], [(9, 0)]),
    ("blackwell-dotted", ["10.0"], [(10, 0)]),
    ("blackwell-digits", ["100"], [(10, 0)]),
    ("gb10", ["121"], [(12, 1)]),
    ("several", ["8.0", "sm_89", "90"], [(8, 0), (8, 9), (9, 0)]),
    ("same-twice", ["8.6", "86"], [(8, 6), (8, 6)]),
]


@pytest.mark.parametrize(("values", "caps"), [c[1:] for c in ACCEPTED], ids=[c[0] for c in ACCEPTED])
def test_simulated_gpus(catalog: Catalog, values: list[str], caps: list[tuple[int, int]]) -> None:
    facts = simulated_gpus(values, None, catalog)
    assert facts.source == "simulated"
    assert [g.capability for g in facts.gpus] == caps
    assert [g.index for g in facts.gpus] == list(range(len(caps)))
    assert all(g.uuid is None for g in facts.gpus)
    assert facts.gpus[0].name == "simulated GPU"
    assert facts.driver_version is None and facts.unavailable_reason is None


@pytest.mark.parametrize("value", ["none", "None", "NONE"], ids=["lower", "title", "upper"])
def test_simulated_no_gpu(catalog: Catalog, value: str) -> None:
    facts = simulated_gpus([value], "550.54.14", catalog)
    assert (facts.gpus, facts.driver_version) == ((), "550.54.14")
    assert facts.unavailable_reason == "simulated with --gpu none"


REJECTED: list[tuple[str, list[str], str | None, str]] = [
    ("x-minor", ["8.x"], None, "--gpu '8.x': not a compute capability; write it like 8.6, sm_86, sm86 or 86"),
    ("sm-alone", ["sm_"], None, "--gpu 'sm_': not a compute capability"),
    ("empty", [""], None, "--gpu '': empty"),
    ("blank", ["  "], None, "--gpu '  ': empty"),
    ("word", ["hopper"], None, "--gpu 'hopper': not a compute capability"),
    ("one-digit", ["8"], None, "--gpu '8': not a compute capability"),
    ("comma-list", ["8.6,9.0"], None, "give --gpu once per GPU"),
    ("cannot-exist-9.9", ["9.9"], None, "--gpu '9.9': no GPU has compute capability 9.9 (known: 1.0,"),
    ("cannot-exist-4.0", ["4.0"], None, "no GPU has compute capability 4.0"),
    ("cannot-exist-sm_99", ["sm_99"], None, "no GPU has compute capability 9.9"),
    ("bad-after-good", ["8.6", "8.x"], None, "--gpu '8.x'"),
    (
        "none-mixed",
        ["none", "8.6"],
        None,
        "--gpu none means no GPU and cannot be combined with other --gpu values",
    ),
    ("none-twice", ["none", "none"], None, "--gpu none means no GPU"),
    ("driver-words", ["8.6"], "latest", "--driver 'latest': not an NVIDIA driver version like 550.54.14"),
    ("driver-x", ["8.6"], "550.x", "--driver '550.x'"),
    ("driver-empty", ["8.6"], "", "--driver '':"),
    ("driver-trailing-dot", ["8.6"], "550.", "--driver '550.'"),
]


@pytest.mark.parametrize(
    ("values", "driver", "message"), [c[1:] for c in REJECTED], ids=[c[0] for c in REJECTED]
)
def test_simulated_gpus_rejects(
    catalog: Catalog, values: list[str], driver: str | None, message: str
) -> None:
    with pytest.raises(BadInputError) as caught:
        simulated_gpus(values, driver, catalog)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("driver", ["550.54.14", "535", "570.86.15.1"], ids=["three", "one", "four"])
def test_driver_accepted(catalog: Catalog, driver: str) -> None:
    assert simulated_gpus(["9.0"], driver, catalog).driver_version == driver


# ------------------------------------------------------------------------------------- --facts

FACTS = Facts(
    cpu=CpuFacts(
        arch="x86_64",
        vendor="GenuineIntel",
        model="Xeon",
        features=frozenset({"avx2", "fma"}),
        source="/proc/cpuinfo",
    ),
    gpu=GpuFacts(
        source="nvml",
        gpus=(
            Gpu(
                index=0,
                name="NVIDIA H100",
                uuid="GPU-1",
                capability=Capability(9, 0),
                memory_mib=81559,
                mig=False,
            ),
        ),
        excluded=(),
        driver_version="550.54.14",
        cuda_driver_version="12.4",
        unavailable_reason=None,
        notes=("NVML: answered",),
    ),
    host="gpu-node-1",
)
GOOD = json.dumps(to_document(FACTS)).encode()


def _doc(**changes: Any) -> bytes:
    doc = to_document(FACTS)
    doc.update(changes)
    return json.dumps(doc).encode()


def test_load_facts_file(tmp_path: Path) -> None:
    path = tmp_path / "facts.json"
    path.write_bytes(GOOD)
    assert load_facts(str(path), io.StringIO("")) == FACTS


def test_load_facts_stdin() -> None:
    stdin = io.TextIOWrapper(io.BytesIO(GOOD), encoding="utf-8")
    assert load_facts("-", stdin) == FACTS


def test_load_facts_text_only_stdin() -> None:
    assert load_facts("-", io.StringIO(GOOD.decode())) == FACTS


BAD_FACTS: list[tuple[str, bytes | None, str]] = [
    ("missing", None, "cannot be read (No such file or directory)"),
    ("empty", b"", ": empty"),
    ("blank", b"  \n", ": empty"),
    ("binary", b"\x00\x01\x02{}", "binary data, not JSON"),
    ("not-utf8", b'{"a": "\xff"}', "not UTF-8 text"),
    ("huge", b"HUGE", "larger than 16 MiB"),
    ("invalid-json", b'{"schema_version": 1,', "invalid JSON at line 1 column 22"),
    ("nested-too-deeply", b"[" * 200_000, "nested too deeply"),
    ("array", b"[1, 2]", "'top level' must be an object"),
    ("wrong-schema-version", _doc(schema_version=2), "schema_version is 2; this tvselect reads version 1"),
    ("no-schema-version", b'{"cpu": {}}', "schema_version is None"),
    ("wrong-kind", _doc(kind="tvselect.decision"), "not a facts document"),
    (
        "missing-gpu",
        b'{"schema_version": 1, "cpu": ' + json.dumps(to_document(FACTS)["cpu"]).encode() + b"}",
        "missing field 'gpu'",
    ),
    ("excluded-not-a-list", _doc(gpu={**to_document(FACTS)["gpu"], "excluded": 5}), "facts document"),
    (
        "driver-not-a-version",
        _doc(gpu={**to_document(FACTS)["gpu"], "driver_version": "abc"}),
        "field 'gpu.driver_version' is 'abc', not an NVIDIA driver version like 550.54.14",
    ),
    (
        "cuda-driver-negative",
        _doc(gpu={**to_document(FACTS)["gpu"], "cuda_driver_version": "-1"}),
        "field 'gpu.cuda_driver_version' is '-1', not a CUDA version like 12.9",
    ),
    (
        "unknown-gpu-source",
        _doc(gpu={**to_document(FACTS)["gpu"], "source": "rocm-smi"}),
        f"field 'gpu.source' is 'rocm-smi', not one of {', '.join(GPU_SOURCES)}",
    ),
]


@pytest.mark.parametrize(("data", "words"), [c[1:] for c in BAD_FACTS], ids=[c[0] for c in BAD_FACTS])
def test_load_facts_rejects(tmp_path: Path, data: bytes | None, words: str) -> None:
    path = tmp_path / "facts.json"
    if data == b"HUGE":
        with open(path, "wb") as handle:
            handle.truncate(MAX_FACTS_BYTES + 1)
    elif data is not None:
        path.write_bytes(data)
    with pytest.raises(BadInputError) as caught:
        load_facts(str(path), io.StringIO(""))
    message = str(caught.value)
    assert message.startswith(f"facts document {path}: ")
    assert words in message
    assert "\n" not in message


def test_load_facts_stdin_named() -> None:
    with pytest.raises(BadInputError, match=r"^facts document standard input: empty$"):
        load_facts("-", io.StringIO(""))


# -------------------------------------------------------------------------------- gather_facts


def _gather(catalog: Catalog, **options: Any) -> Facts:
    defaults: dict[str, Any] = {"cpuinfo": None, "gpus": (), "driver": None, "facts_path": None}
    return gather_facts(catalog, environ=dict(os.environ), stdin=io.StringIO(""), **{**defaults, **options})


EXCLUSIVE: list[tuple[str, dict[str, Any], str]] = [
    ("cpuinfo", {"cpuinfo": "x"}, "--facts cannot be combined with --cpuinfo"),
    ("gpu", {"gpus": ["8.6"]}, "--facts cannot be combined with --gpu"),
    ("driver", {"driver": "550"}, "--facts cannot be combined with --driver"),
    ("all", {"cpuinfo": "x", "gpus": ["8.6"], "driver": "550"}, "with --cpuinfo, --gpu, --driver"),
]


@pytest.mark.parametrize(("options", "message"), [c[1:] for c in EXCLUSIVE], ids=[c[0] for c in EXCLUSIVE])
def test_facts_is_exclusive(catalog: Catalog, options: dict[str, Any], message: str) -> None:
    with pytest.raises(BadInputError, match=message):
        _gather(catalog, facts_path="-", **options)


def test_gather_from_facts(catalog: Catalog, tmp_path: Path) -> None:
    path = tmp_path / "facts.json"
    path.write_bytes(GOOD)
    assert _gather(catalog, facts_path=str(path)) == FACTS


def test_gather_simulated(catalog: Catalog) -> None:
    cpuinfo = SHARED / "linux-rocky8.5-zen4.txt"
    if not cpuinfo.is_file():
        pytest.skip(f"{cpuinfo} is not here")
    facts = _gather(catalog, cpuinfo=str(cpuinfo), gpus=["sm_90"], driver="550.54.14")
    assert facts.cpu.arch == "x86_64" and "avx512_bf16" in facts.cpu.features
    assert [g.capability for g in facts.gpu.gpus] == [(9, 0)]
    assert facts.gpu.driver_version == "550.54.14"
    assert facts.host is None


def test_gather_driver_overrides_probe(catalog: Catalog) -> None:
    facts = _gather(catalog, driver="535.104.05")
    assert facts.gpu.driver_version == "535.104.05"
    assert any("from --driver" in note for note in facts.gpu.notes)
    assert facts.host


def test_gather_bad_driver_fails_before_probing(catalog: Catalog) -> None:
    with pytest.raises(BadInputError, match="--driver 'new'"):
        _gather(catalog, driver="new")


def test_gather_bad_cpuinfo(catalog: Catalog, tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match=r"--cpuinfo .*: cannot be read"):
        _gather(catalog, cpuinfo=str(tmp_path / "absent"), gpus=["8.6"])


# ------------------------------------------------ the command line's checks on facts documents

UNKNOWN_CAPABILITY = _doc(
    gpu={
        **to_document(FACTS)["gpu"],
        "devices": [{**to_document(FACTS)["gpu"]["devices"][0], "compute_capability": "9.9"}],
    }
)


@pytest.mark.parametrize(
    "args",
    [("--gpu", "9.9"), ("--facts", "{facts}"), ("--facts", "-")],
    ids=["gpu-option", "facts-file", "facts-stdin"],
)
def test_unknown_capability_is_an_error_from_option_and_document(
    tmp_path: Path, args: tuple[str, str]
) -> None:
    from cli_helpers import run

    from tvselect.errors import ExitCode

    path = tmp_path / "facts.json"
    path.write_bytes(UNKNOWN_CAPABILITY)
    done = run("--json", *(a.format(facts=path) for a in args), stdin=UNKNOWN_CAPABILITY.decode())
    assert done.code == ExitCode.BAD_INPUT, done.stderr
    assert done.stdout == ""
    assert "no GPU has compute capability 9.9 (known: " in done.stderr
    assert "Traceback" not in done.stderr


def test_unknown_capability_in_a_fleet_is_an_invalid_document(tmp_path: Path) -> None:
    from tvselect.app.inputs import Choice
    from tvselect.app.plan import PlanRequest, plan_fleet

    good, bad = tmp_path / "a.json", tmp_path / "b.json"
    good.write_bytes(GOOD)
    bad.write_bytes(UNKNOWN_CAPABILITY)
    skipped: list[str] = []
    result = plan_fleet(
        PlanRequest((str(tmp_path),), Choice()),
        io.StringIO(""),
        lambda e: e,
        lambda i: skipped.append(i.error),
    )
    assert result.totals.hosts == 1 and result.totals.invalid == 1
    assert skipped == [
        "field 'gpu.devices[0].compute_capability' is '9.9': no GPU has compute capability 9.9 (known: "
        + ", ".join(f"{a}.{b}" for a, b in sorted(load_catalog().known_capabilities))
        + ")"
    ]
