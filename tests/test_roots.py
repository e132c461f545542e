"""Whole machines as folder trees of their real files (tests/roots/, see its README), probed through
the installed console script with TVSELECT_ROOT set: the facts and the decision for each."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import run
from test_cli import schema_validator

ROOTS = Path(__file__).parent / "roots"
NO_NVIDIA_TOOLS = {"PATH": "/nonexistent", "LD_LIBRARY_PATH": ""}


@dataclass(frozen=True)
class Machine:
    """What one tree must give."""

    tree: str
    source: str
    caps: list[str]
    reason: str | None
    excluded: dict[str, str] = field(default_factory=dict)  # pci_address or index -> words in the reason
    cuda: str | None = None
    status: str = "ok"
    code: int = 0
    package: str | None = None
    decision_reason: str = ""
    alternative: str | None = None
    notes: tuple[str, ...] = ()


MACHINES = [
    Machine(
        tree="jetson-agx-orin",
        source="tegra",
        caps=["8.7"],
        reason=None,
        cuda="12.6",
        status="no-match",
        code=3,
        decision_reason="no build exists for compute capability 8.7 (Tegra runs only exact builds)",
        alternative="torchvision-python313-cpu-armv8_2",
        notes=("L4T R36.4.3", "nvidia,tegra234"),
    ),
    Machine(
        tree="amd-radeon",
        source="none",
        caps=[],
        reason="no NVIDIA GPU, only AMD GPU 0000:0c:00.0: build-torchvision has no ROCm builds",
        excluded={"0000:0c:00.0": "AMD GPU: build-torchvision has no ROCm builds"},
        package="torchvision-python313-cpu-avx512",
        decision_reason="no usable GPU (no NVIDIA GPU, only AMD GPU 0000:0c:00.0: build-torchvision has no ROCm builds)",
    ),
    Machine(
        tree="nvidia-no-driver",
        source="pci",
        caps=["9.0"],
        reason=None,
        package="torchvision-python313-cuda12_9-sm90-avx512",
        decision_reason="the GPU (9.0) has an exact sm90 build",
        notes=(
            "libnvidia-ml.so.1 exists: the kernel driver is not loaded",
            "device 10de:2330 is NVIDIA H100 SXM5 80GB (GH100), compute capability 9.0",
        ),
    ),
    Machine(
        tree="wsl2",
        source="none",
        caps=[],
        reason="can be read only by NVML on that machine itself",
        package="torchvision-python313-cpu-avx512",
        decision_reason="can be read only by NVML on that machine itself",
        notes=("dev/dxg exists: a WSL2 machine", "NVML and nvidia-smi not tried"),
    ),
]


def _probe(root: Path, *args: str) -> Any:
    done = run("probe", "--json", *args, env={"TVSELECT_ROOT": str(root), **NO_NVIDIA_TOOLS})
    assert done.code == 0, done.stderr
    doc = done.json()
    schema_validator("facts-v1.json").validate(doc)
    return doc


@pytest.mark.parametrize("machine", MACHINES, ids=[m.tree for m in MACHINES])
def test_facts(machine: Machine) -> None:
    gpu = _probe(ROOTS / machine.tree)["gpu"]
    assert gpu["source"] == machine.source
    assert [d["compute_capability"] for d in gpu["devices"]] == machine.caps
    assert (
        (gpu["unavailable_reason"] is None)
        if machine.reason is None
        else machine.reason in gpu["unavailable_reason"]
    )
    assert {e["pci_address"]: e["reason"] for e in gpu["excluded"]}.keys() == machine.excluded.keys()
    for address, words in machine.excluded.items():
        assert words in next(e["reason"] for e in gpu["excluded"] if e["pci_address"] == address)
    if machine.cuda is not None:
        assert gpu["cuda_driver_version"] == machine.cuda
    for words in machine.notes:
        assert any(words in note for note in gpu["notes"]), gpu["notes"]


@pytest.mark.parametrize("machine", MACHINES, ids=[m.tree for m in MACHINES])
def test_decision(machine: Machine) -> None:
    done = run("--json", env={"TVSELECT_ROOT": str(ROOTS / machine.tree), **NO_NVIDIA_TOOLS})
    assert done.code == machine.code, done.stderr
    doc = done.json()
    assert isinstance(doc, dict)
    schema_validator("result-v1.json").validate(doc)
    assert (doc["status"], doc["package"]) == (machine.status, machine.package)
    assert any(machine.decision_reason in r["text"] for r in doc["reasons"]), doc["reasons"]
    if machine.alternative is not None:
        assert doc["alternatives"][0]["package"] == machine.alternative


def test_orin_host_name_and_cpu_come_from_the_tree() -> None:
    doc = _probe(ROOTS / "jetson-agx-orin")
    assert doc["host"] == "jetson-orin"
    assert (doc["cpu"]["arch"], doc["cpu"]["model"]) == (
        "aarch64",
        "ARM Cortex-A78AE (implementer 0x41, part 0xd42)",
    )


def _thor(tmp_path: Path, release: str | None) -> Path:
    """An AGX Thor as a tree built here from the Orin's, with Thor's SoC and L4T release (see README)."""
    root = tmp_path / "thor"
    shutil.copytree(ROOTS / "jetson-agx-orin", root, symlinks=True)
    base = root / "sys" / "firmware" / "devicetree" / "base"
    (base / "compatible").write_bytes(b"nvidia,tegra264\0")
    (base / "model").write_bytes(b"NVIDIA Jetson AGX Thor Developer Kit\0")
    if release is None:
        (root / "etc" / "nv_tegra_release").unlink()
    else:
        (root / "etc" / "nv_tegra_release").write_text(
            f"# R{release.split('.')[0]} (release), REVISION: {release.partition('.')[2]}, GCID: 1, BOARD: generic, EABI: aarch64\n"
        )
    features = "fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp sve sve2"
    cpu = f"processor\t: 0\nFeatures\t: {features}\nCPU implementer\t: 0x41\nCPU architecture: 8\nCPU part\t: 0xd83\n"
    (root / "proc" / "cpuinfo").write_text(cpu)
    return root


@pytest.mark.parametrize(
    ("release", "cap", "code", "package"),
    [
        ("38.2.0", "11.0", 0, "torchvision-python313-cuda13_0-sm110-armv9"),
        ("99.0", "11.0", 0, "torchvision-python313-cuda13_0-sm110-armv9"),
        (None, "11.0", 0, "torchvision-python313-cuda13_0-sm110-armv9"),
    ],
    ids=["cuda13-driver", "unknown-release", "no-release-file"],
)
def test_thor(tmp_path: Path, release: str | None, cap: str, code: int, package: str) -> None:
    """A Thor whose CUDA version is unknown gets its sm110 build, with one warning naming what was not
    checked (as a desktop GPU whose driver version is unknown); where it is known, no warning."""
    root = _thor(tmp_path, release)
    gpu = _probe(root)["gpu"]
    assert [d["compute_capability"] for d in gpu["devices"]] == [cap]
    done = run("--json", env={"TVSELECT_ROOT": str(root), **NO_NVIDIA_TOOLS})
    assert done.code == code, done.stderr
    doc = done.json()
    assert isinstance(doc, dict) and doc["package"] == package
    unchecked = [w for w in doc["warnings"] if "was not checked" in w]
    if gpu["cuda_driver_version"] is None:
        assert unchecked == [
            "this board's CUDA version is unknown (no Jetson Linux release tvselect knows was read), so "
            f"whether its CUDA driver runs this CUDA {doc['cuda']} build was not checked"
        ]
        assert done.stderr.count("warning:") == 1, done.stderr
    else:
        assert unchecked == [], doc["warnings"]


def test_orin_notes_and_warnings_agree_on_the_driver_check() -> None:
    """The Orin's CUDA version is known (L4T R36.4): the note says the driver need is checked through
    it, and no warning says the driver minimum was not checked."""
    env = {"TVSELECT_ROOT": str(ROOTS / "jetson-agx-orin"), **NO_NVIDIA_TOOLS}
    done = run("--json", env=env)
    doc = done.json()
    assert isinstance(doc, dict)
    notes = doc["facts"]["gpu"]["notes"]
    assert any("a build's driver need is checked through CUDA 12.6 alone" in n for n in notes), notes
    assert not [w for w in doc["warnings"] if "driver" in w], doc["warnings"]


def test_cuda_visible_devices_hides_the_tegra_gpu() -> None:
    done = run(
        "probe",
        "--json",
        env={"TVSELECT_ROOT": str(ROOTS / "jetson-agx-orin"), "CUDA_VISIBLE_DEVICES": "", **NO_NVIDIA_TOOLS},
    )
    gpu = done.json()["gpu"]  # type: ignore[index]
    assert gpu["devices"] == [] and "CUDA_VISIBLE_DEVICES is empty" in gpu["unavailable_reason"]


def test_a_root_that_is_not_a_folder_is_bad_input(tmp_path: Path) -> None:
    done = run("--json", env={"TVSELECT_ROOT": str(tmp_path / "missing")})
    assert done.code == 2
    assert "TVSELECT_ROOT" in done.stderr and done.stdout == ""


def test_tegra_where_nvml_answers_but_lists_no_gpu() -> None:
    """A Jetson whose display driver lets NVML start: NVML lists no GPU, the board's files still count."""
    from tvselect.facts.model import GpuFacts
    from tvselect.probe.others import account_for_gpus
    from tvselect.probe.root import ProbeRoot

    nvml = GpuFacts("none", (), (), "540.4.0", None, "the NVIDIA driver reports no GPU", ("NVML: answered",))
    facts = account_for_gpus(nvml, ProbeRoot(str(ROOTS / "jetson-agx-orin")), {})
    assert (facts.source, [g.capability for g in facts.gpus], facts.cuda_driver_version) == (
        "tegra",
        [(8, 7)],
        "12.6",
    )
    assert facts.notes[0] == "NVML: answered" and "the NVIDIA driver reports no GPU" in facts.notes[1]
