"""The GPU probe against fake NVML bindings and fake nvidia-smi executables."""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from gpu_fakes import install_fake_pynvml, smi_row, write_nvidia_smi

from tvselect.facts.model import GpuFacts
from tvselect.probe.gpu import (
    VisibleDevices,
    parse_visible_devices,
    read_gpus,
)
from tvselect.probe.smi import parse_nvidia_smi

MIB = 1024 * 1024
H100 = {
    "name": "NVIDIA H100 80GB HBM3",
    "uuid": "GPU-8932f937-d72c-4106-c12f-20bd9faed9f6",
    "cc": [9, 0],
    "memory": 81559 * MIB,
}
H100_B = {
    "name": "NVIDIA H100 80GB HBM3",
    "uuid": "GPU-8932aaaa-0000-4106-c12f-20bd9faed9f6",
    "cc": [9, 0],
    "memory": 81559 * MIB,
}
L4 = {
    "name": "NVIDIA L4",
    "uuid": "GPU-77e0c4a1-5d3b-4e07-9a51-0a2c1d3e4f50",
    "cc": [8, 9],
    "memory": 23034 * MIB,
}
T4 = {
    "name": "Tesla T4",
    "uuid": "GPU-0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
    "cc": [7, 5],
    "memory": 15360 * MIB,
}
A100 = {
    "name": "NVIDIA A100-SXM4-80GB",
    "uuid": "GPU-a100a100-0000-0000-0000-000000000000",
    "cc": [8, 0],
    "memory": 81920 * MIB,
}
MIG_UUID = "MIG-5e2c0f7b-1d3a-5b8e-9c4d-2f6a7b8c9d0e"


def gpu(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**base, **changes}


@dataclass
class Expect:
    """What a probe result must show; None means "not checked"."""

    source: str | None = None
    caps: list[tuple[int, int]] | None = None
    indices: list[int] | None = None
    excluded: dict[int, str] = field(default_factory=dict)
    driver: str | None = None
    cuda: str | None = None
    reason: str | None = None
    notes: list[str] = field(default_factory=list)
    no_notes: list[str] = field(default_factory=list)

    def check(self, facts: GpuFacts) -> None:
        if self.source is not None:
            assert facts.source == self.source, facts
        if self.caps is not None:
            assert [g.capability for g in facts.gpus] == self.caps, facts
        if self.indices is not None:
            assert [g.index for g in facts.gpus] == self.indices, facts
        assert {e.index: e.reason for e in facts.excluded}.keys() == self.excluded.keys(), facts
        for index, words in self.excluded.items():
            assert words in next(e.reason for e in facts.excluded if e.index == index), facts
        if self.driver is not None:
            assert facts.driver_version == self.driver, facts
        if self.cuda is not None:
            assert facts.cuda_driver_version == self.cuda, facts
        if self.reason is None:
            assert facts.unavailable_reason is None, facts
            assert facts.gpus, facts
        else:
            assert facts.unavailable_reason is not None and self.reason in facts.unavailable_reason, facts
            assert facts.source == "none" and facts.gpus == (), facts
        text = "\n".join(facts.notes)
        for words in self.notes:
            assert words in text, facts
        for words in self.no_notes:
            assert words not in text, facts


@dataclass
class Machine:
    """A tmp machine: its /proc/driver/nvidia, a bin folder first on PATH, and the fake bindings."""

    root: Path

    @property
    def bin(self) -> Path:
        return self.root / "bin"

    @property
    def driver_dir(self) -> Path:
        return self.root / "proc-driver-nvidia"

    def nvml(self, config: dict[str, Any]) -> None:
        install_fake_pynvml(self.root / "site", config)

    def smi(self, **kwargs: Any) -> None:
        write_nvidia_smi(self.bin, **kwargs)

    def probe(self, env: dict[str, str] | None = None, *, loaded: bool = True, **kwargs: Any) -> GpuFacts:
        if loaded:
            self.driver_dir.mkdir(exist_ok=True)
        self.bin.mkdir(exist_ok=True)
        environ = {"PATH": str(self.bin), **(env or {})}
        kwargs.setdefault("nvml_timeout", 3.0)
        kwargs.setdefault("smi_timeout", 3.0)
        return read_gpus(
            environ,
            driver_dir=str(self.driver_dir),
            wsl_device=str(self.root / "no-dxg"),
            library_dirs=(),
            **kwargs,
        )


@pytest.fixture
def machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Machine]:
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    sys.modules.pop("pynvml", None)
    yield Machine(tmp_path)
    sys.modules.pop("pynvml", None)


def nvml_calls() -> list[str]:
    module = sys.modules["pynvml"]
    calls: list[str] = module.calls
    return calls


# ------------------------------------------------------------------------------- NVML answers

NVML_CASES: list[tuple[str, dict[str, Any], Expect]] = [
    (
        "one-gpu",
        {"gpus": [H100]},
        Expect(
            source="nvml",
            caps=[(9, 0)],
            indices=[0],
            driver="550.54.14",
            cuda="12.4",
            notes=["NVML: answered"],
        ),
    ),
    (
        "several-same",
        {"gpus": [A100, A100, A100, A100]},
        Expect(source="nvml", caps=[(8, 0)] * 4, indices=[0, 1, 2, 3]),
    ),
    ("mixed", {"gpus": [H100, L4, T4]}, Expect(source="nvml", caps=[(9, 0), (8, 9), (7, 5)])),
    ("mig-enabled", {"gpus": [gpu(A100, mig=1, mig_uuids=[MIG_UUID])]}, Expect(source="nvml", caps=[(8, 0)])),
    (
        "old-bindings-bytes",
        {"gpus": [H100], "bytes": True, "driver": "535.104.05"},
        Expect(source="nvml", caps=[(9, 0)], driver="535.104.05"),
    ),
    ("cuda-12.9", {"gpus": [H100], "cuda": 12090}, Expect(cuda="12.9")),
    (
        "cuda-v2-function-not-found",
        {"gpus": [H100], "cuda": 12020, "errors": {"cuda_v2": 13}},
        Expect(cuda="12.2", notes=["nvmlSystemGetCudaDriverVersion_v2 not in this driver"]),
    ),
    (
        "cuda-v2-not-in-bindings",
        {"gpus": [H100], "cuda": 11080, "no_cuda_v2_binding": True},
        Expect(cuda="11.8", notes=["bindings have no nvmlSystemGetCudaDriverVersion_v2"]),
    ),
    (
        "cuda-version-unknown",
        {"gpus": [H100], "errors": {"cuda_v2": 13, "cuda": 13}},
        Expect(source="nvml", caps=[(9, 0)]),
    ),
    (
        "driver-version-unknown",
        {"gpus": [H100], "errors": {"driver": 999}},
        Expect(source="nvml", caps=[(9, 0)], notes=["driver version unknown (NVML error 999"]),
    ),
    (
        "gpu-lost-at-handle",
        {"gpus": [H100, gpu(H100_B, errors={"handle": 15})]},
        Expect(source="nvml", indices=[0], excluded={1: "GPU is lost"}),
    ),
    (
        "gpu-lost-at-capability",
        {"gpus": [gpu(H100, errors={"cc": 15}), L4]},
        Expect(source="nvml", indices=[1], excluded={0: "GPU is lost"}),
    ),
    (
        "capability-unreadable",
        {"gpus": [gpu(H100, errors={"cc": 3}), L4]},
        Expect(indices=[1], excluded={0: "compute capability could not be read (not supported"}),
    ),
    (
        "no-permission-one-gpu",
        {"gpus": [gpu(H100, errors={"handle": 4}), L4]},
        Expect(indices=[1], excluded={0: "no permission to the GPU device"}),
    ),
    (
        "all-gpus-lost",
        {"gpus": [gpu(H100, errors={"handle": 15})]},
        Expect(excluded={0: "GPU is lost"}, reason="GPU 0: GPU is lost"),
    ),
    ("no-gpu", {"gpus": []}, Expect(reason="the NVIDIA driver reports no GPU", driver="550.54.14")),
]


@pytest.mark.parametrize(("config", "expect"), [c[1:] for c in NVML_CASES], ids=[c[0] for c in NVML_CASES])
def test_nvml(machine: Machine, config: dict[str, Any], expect: Expect) -> None:
    machine.nvml(config)
    expect.check(machine.probe())
    assert nvml_calls()[-1] == "nvmlShutdown"


def test_nvml_details(machine: Machine) -> None:
    machine.nvml(
        {"gpus": [gpu(A100, mig=1, mig_uuids=[MIG_UUID]), gpu(H100, errors={"mig": 3, "memory": 3})]}
    )
    first, second = machine.probe().gpus
    assert (first.name, first.uuid, first.memory_mib, first.mig) == (A100["name"], A100["uuid"], 81920, True)
    assert (second.name, second.memory_mib, second.mig) == (H100["name"], None, None)


def test_old_bindings_names_decoded(machine: Machine) -> None:
    machine.nvml({"gpus": [H100], "bytes": True})
    (only,) = machine.probe().gpus
    assert (only.name, only.uuid) == (H100["name"], H100["uuid"])


# ------------------------------------------------------------------------- NVML cannot answer

NVML_FAILURES: list[tuple[str, dict[str, Any], str]] = [
    ("library-not-found", {"errors": {"init": 12}}, "NVIDIA driver library libnvidia-ml.so.1 not found"),
    ("driver-not-loaded", {"errors": {"init": 9}}, "NVIDIA driver installed but not loaded"),
    ("no-permission", {"errors": {"init": 4}}, "no permission to the GPU device"),
    ("version-mismatch", {"errors": {"init": 18}}, "driver and library versions differ"),
    ("function-not-found", {"errors": {"init": 13}}, "function not found"),
    ("unknown-error", {"errors": {"init": 999}}, "NVML error 999 (fake NVML error 999)"),
    ("count-gpu-lost", {"errors": {"count": 15}}, "GPU is lost"),
    ("bindings-missing", {"import_error": True}, "Python bindings not installed (package nvidia-ml-py)"),
]


@pytest.mark.parametrize(
    ("config", "reason"), [c[1:] for c in NVML_FAILURES], ids=[c[0] for c in NVML_FAILURES]
)
def test_nvml_fails_without_nvidia_smi(machine: Machine, config: dict[str, Any], reason: str) -> None:
    machine.nvml({"gpus": [H100], **config})
    Expect(reason=reason, notes=[f"NVML: {reason}", "nvidia-smi: not found on PATH"]).check(machine.probe())


def test_nvml_shut_down_after_failure(machine: Machine) -> None:
    machine.nvml({"gpus": [H100], "errors": {"count": 999}})
    machine.probe()
    assert nvml_calls() == ["nvmlInit", "nvmlShutdown"]


def test_version_mismatch_hint(machine: Machine) -> None:
    machine.nvml({"errors": {"init": 18}, "gpus": []})
    Expect(reason="driver and library versions differ", notes=["reboot"]).check(machine.probe())


def test_nvml_hangs(machine: Machine) -> None:
    machine.nvml({"gpus": [H100], "init_sleep": 30})
    start = time.monotonic()
    facts = machine.probe(nvml_timeout=0.2)
    assert time.monotonic() - start < 2
    Expect(reason="NVML did not answer within 0.2 s").check(facts)


def test_nvml_hangs_nvidia_smi_answers(machine: Machine) -> None:
    machine.nvml({"gpus": [H100], "init_sleep": 30})
    machine.smi(stdout=smi_row(0, "NVIDIA H100 80GB HBM3", str(H100["uuid"]), "9.0"))
    Expect(
        source="nvidia-smi",
        caps=[(9, 0)],
        notes=["NVML: NVML did not answer within 0.2 s", "used nvidia-smi"],
    ).check(machine.probe(nvml_timeout=0.2))


# -------------------------------------------------------------------------- nvidia-smi fallback

LIB_MISSING = {"gpus": [], "errors": {"init": 12}}
SMI_H100 = smi_row(0, "NVIDIA H100 80GB HBM3", str(H100["uuid"]), "9.0", driver="560.35.03")
COULD_NOT_COMMUNICATE = (
    "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. "
    "Make sure that the latest NVIDIA driver is installed and running.\n"
)

SMI_CASES: list[tuple[str, dict[str, Any], dict[str, Any], Expect]] = [
    (
        "one-gpu",
        LIB_MISSING,
        {"stdout": SMI_H100},
        Expect(
            source="nvidia-smi",
            caps=[(9, 0)],
            driver="560.35.03",
            notes=["NVML: NVIDIA driver library libnvidia-ml.so.1 not found", "used nvidia-smi"],
        ),
    ),
    (
        "several-gpus-bindings-missing",
        {"import_error": True},
        {"stdout": "".join(smi_row(i, "NVIDIA A100-SXM4-80GB", f"GPU-a{i}", "8.0") for i in range(4))},
        Expect(
            source="nvidia-smi",
            caps=[(8, 0)] * 4,
            indices=[0, 1, 2, 3],
            notes=["Python bindings not installed"],
        ),
    ),
    (
        "mixed-with-mig",
        LIB_MISSING,
        {
            "stdout": smi_row(0, "NVIDIA A100-SXM4-80GB", "GPU-a", "8.0", mig="Enabled")
            + smi_row(1, "NVIDIA L4", "GPU-b", "8.9")
        },
        Expect(source="nvidia-smi", caps=[(8, 0), (8, 9)]),
    ),
    (
        "five-field-output",
        LIB_MISSING,
        {"stdout": "0, NVIDIA H100 PCIe, GPU-c, 9.0, 550.54.14\n"},
        Expect(source="nvidia-smi", caps=[(9, 0)]),
    ),
    (
        "capability-n/a-and-garbage",
        LIB_MISSING,
        {
            "stdout": "WARNING: infoROM is corrupted at gpu 0000:01:00.0\n"
            + SMI_H100
            + smi_row(1, "NVIDIA L4", "GPU-b", "[N/A]")
        },
        Expect(
            source="nvidia-smi",
            indices=[0],
            excluded={1: "compute capability as '[N/A]'"},
            notes=["line 1 is not a GPU row"],
        ),
    ),
    (
        "cannot-communicate",
        LIB_MISSING,
        {"stdout": COULD_NOT_COMMUNICATE, "status": 9},
        Expect(
            reason="nvidia-smi failed (exit status 9): NVIDIA-SMI has failed because it couldn't communicate "
            "with the NVIDIA driver"
        ),
    ),
    (
        "no-permission-reason-kept",
        {"gpus": [], "errors": {"init": 4}},
        {"stderr": "Failed to initialize NVML: Insufficient Permissions\n", "status": 4},
        Expect(
            reason="no permission to the GPU device",
            notes=["nvidia-smi: failed (exit status 4): Failed to initialize"],
        ),
    ),
    (
        "too-old-for-compute-cap",
        LIB_MISSING,
        {"stdout": 'Field "compute_cap" is not a valid field to query.\n', "status": 2},
        Expect(reason="too old to report compute capabilities"),
    ),
    ("prints-nothing", LIB_MISSING, {"stdout": "", "status": 0}, Expect(reason="nvidia-smi lists no GPU")),
    (
        "only-garbage",
        LIB_MISSING,
        {"stdout": "No devices were found\n", "status": 0},
        Expect(reason="printed no GPU row: No devices were found"),
    ),
    (
        "fails-after-some-rows",
        LIB_MISSING,
        {
            "stdout": SMI_H100 + "Unable to determine the device handle for GPU 0000:41:00.0: GPU is lost.\n",
            "status": 15,
        },
        Expect(source="nvidia-smi", caps=[(9, 0)], notes=["GPU is lost", "exited with status 15"]),
    ),
]


@pytest.mark.parametrize(("nvml", "smi", "expect"), [c[1:] for c in SMI_CASES], ids=[c[0] for c in SMI_CASES])
def test_nvidia_smi_fallback(
    machine: Machine, nvml: dict[str, Any], smi: dict[str, Any], expect: Expect
) -> None:
    machine.nvml(nvml)
    machine.smi(**smi)
    expect.check(machine.probe())
    args = (machine.bin / "nvidia-smi.args").read_text()
    assert "--query-gpu=index,name,uuid,compute_cap,driver_version" in args
    assert "--format=csv,noheader,nounits" in args


def test_nvidia_smi_hangs(machine: Machine) -> None:
    machine.nvml(LIB_MISSING)
    machine.smi(stdout=SMI_H100, sleep=30)
    start = time.monotonic()
    facts = machine.probe(smi_timeout=0.3)
    assert time.monotonic() - start < 3
    Expect(reason="did not answer within 0.3 s", notes=["nvidia-smi: did not answer within 0.3 s"]).check(
        facts
    )


# ------------------------------------------------------------------------ no driver, fast path


def _neither(machine: Machine) -> None:
    pass


def _smi_only(machine: Machine) -> None:
    machine.smi(stdout=SMI_H100)


NOT_LOADED: list[tuple[str, Callable[[Machine], None], dict[str, str], str, str]] = [
    ("neither-present", _neither, {}, "no NVIDIA driver installed", "no nvidia-smi on PATH"),
    ("nvidia-smi-present", _smi_only, {}, "NVIDIA driver installed but not loaded", "nvidia-smi exists"),
    (
        "library-present",
        _neither,
        {"LD_LIBRARY_PATH": "LIB"},
        "NVIDIA driver installed but not loaded",
        "libnvidia-ml.so.1 exists",
    ),
]


@pytest.mark.parametrize(
    ("arrange", "env", "reason", "note"), [c[1:] for c in NOT_LOADED], ids=[c[0] for c in NOT_LOADED]
)
def test_driver_not_loaded(
    machine: Machine, arrange: Callable[[Machine], None], env: dict[str, str], reason: str, note: str
) -> None:
    machine.nvml({"gpus": [H100]})
    arrange(machine)
    if "LD_LIBRARY_PATH" in env:
        lib = machine.root / "lib"
        lib.mkdir()
        (lib / "libnvidia-ml.so.1").write_bytes(b"")
        env = {"LD_LIBRARY_PATH": str(lib)}
    Expect(reason=reason, notes=[note]).check(machine.probe(env, loaded=False))
    assert "pynvml" not in sys.modules
    assert not (machine.bin / "nvidia-smi.args").exists()


def test_never_raises(machine: Machine) -> None:
    # A driver folder that is a file and a PATH full of nonsense still give an answer.
    machine.root.joinpath("proc-driver-nvidia").write_text("")
    facts = read_gpus({"PATH": "\0"}, driver_dir=str(machine.root / "proc-driver-nvidia"), library_dirs=())
    assert facts.source == "none" and facts.unavailable_reason


# ---------------------------------------------------------------------- CUDA_VISIBLE_DEVICES

THREE = {"gpus": [gpu(H100), gpu(H100_B, mig=1, mig_uuids=[MIG_UUID]), gpu(L4)]}

VISIBLE_CASES: list[tuple[str, str, Expect]] = [
    ("by-index", "1", Expect(indices=[1], excluded={0: "not in CUDA_VISIBLE_DEVICES=1", 2: "not in"})),
    ("by-indices-any-order", "2,0", Expect(indices=[0, 2], excluded={1: "not in CUDA_VISIBLE_DEVICES=2,0"})),
    ("spaces", " 1 , 2", Expect(indices=[1, 2], excluded={0: "not in"})),
    ("listed-twice", "0,0", Expect(indices=[0], excluded={1: "not in", 2: "not in"})),
    ("by-uuid", str(L4["uuid"]), Expect(indices=[2], excluded={0: "not in", 1: "not in"})),
    ("by-uuid-prefix", "GPU-8932f937", Expect(indices=[0], excluded={1: "not in", 2: "not in"})),
    ("by-uuid-upper-case", "GPU-8932F937", Expect(indices=[0], excluded={1: "not in", 2: "not in"})),
    ("by-mig-uuid", MIG_UUID, Expect(indices=[1], excluded={0: "not in", 2: "not in"})),
    ("by-old-mig-name", f"MIG-{L4['uuid']}/1/0", Expect(indices=[2], excluded={0: "not in", 1: "not in"})),
    (
        "empty",
        "",
        Expect(
            excluded={0: "empty", 1: "empty", 2: "empty"},
            reason="CUDA_VISIBLE_DEVICES is empty, which hides every GPU",
        ),
    ),
    (
        "no-such-index",
        "7",
        Expect(
            excluded={0: "not in", 1: "not in", 2: "not in"},
            reason="CUDA_VISIBLE_DEVICES=7 hides every GPU ('7' matches no GPU)",
        ),
    ),
    (
        "no-such-uuid",
        "GPU-deadbeef",
        Expect(excluded={0: "not in", 1: "not in", 2: "not in"}, reason="('GPU-deadbeef' matches no GPU)"),
    ),
    (
        "minus-one",
        "-1",
        Expect(excluded={0: "not in", 1: "not in", 2: "not in"}, reason="('-1' is not a GPU index or UUID)"),
    ),
    (
        "ambiguous-prefix",
        "GPU-8932",
        Expect(excluded={0: "not in", 1: "not in", 2: "not in"}, reason="('GPU-8932' matches 2 GPUs)"),
    ),
    (
        "stops-at-missing",
        "0,7,1",
        Expect(
            indices=[0],
            excluded={1: "after '7' matches no GPU, where CUDA stops reading", 2: "not in"},
            notes=["CUDA ignores that entry and every one after it"],
        ),
    ),
    (
        "stops-at-garbage",
        "2,foo,0",
        Expect(indices=[2], excluded={0: "not in", 1: "not in"}, notes=["'foo' is not a GPU index or UUID"]),
    ),
]


@pytest.mark.parametrize(
    ("value", "expect"), [c[1:] for c in VISIBLE_CASES], ids=[c[0] for c in VISIBLE_CASES]
)
def test_cuda_visible_devices(machine: Machine, value: str, expect: Expect) -> None:
    machine.nvml(THREE)
    expect.check(machine.probe({"CUDA_VISIBLE_DEVICES": value}))


def test_cuda_device_order_warning(machine: Machine) -> None:
    machine.nvml(THREE)
    Expect(indices=[1], excluded={0: "not in", 2: "not in"}, notes=["CUDA_DEVICE_ORDER=PCI_BUS_ID"]).check(
        machine.probe({"CUDA_VISIBLE_DEVICES": "1"})
    )
    Expect(indices=[1], excluded={0: "not in", 2: "not in"}, no_notes=["CUDA_DEVICE_ORDER"]).check(
        machine.probe({"CUDA_VISIBLE_DEVICES": "1", "CUDA_DEVICE_ORDER": "PCI_BUS_ID"})
    )


def test_cuda_visible_devices_with_nvidia_smi(machine: Machine) -> None:
    machine.nvml(LIB_MISSING)
    machine.smi(stdout=SMI_H100 + smi_row(1, "NVIDIA L4", "GPU-b", "8.9"))
    Expect(source="nvidia-smi", indices=[1], excluded={0: "not in CUDA_VISIBLE_DEVICES=GPU-b"}).check(
        machine.probe({"CUDA_VISIBLE_DEVICES": "GPU-b"})
    )


VISIBLE_PARSE: list[tuple[str, str | None, VisibleDevices]] = [
    ("unset", None, VisibleDevices(None, None)),
    ("empty", "", VisibleDevices("", ())),
    ("blank", "  ", VisibleDevices("  ", ())),
    ("indices", "0,1", VisibleDevices("0,1", ("0", "1"))),
    ("uuid-and-index", "GPU-8932f937,3", VisibleDevices("GPU-8932f937,3", ("GPU-8932f937", "3"))),
    ("mig", f"{MIG_UUID}", VisibleDevices(MIG_UUID, (MIG_UUID,))),
    ("minus-one", "-1", VisibleDevices("-1", (), "-1")),
    ("stops-at-garbage", "0,x,1", VisibleDevices("0,x,1", ("0",), "x")),
    ("trailing-comma", "0,", VisibleDevices("0,", ("0",), "")),
]


@pytest.mark.parametrize(
    ("value", "parsed"), [c[1:] for c in VISIBLE_PARSE], ids=[c[0] for c in VISIBLE_PARSE]
)
def test_parse_visible_devices(value: str | None, parsed: VisibleDevices) -> None:
    assert parse_visible_devices(value) == parsed


# --------------------------------------------------------------------- NVIDIA_VISIBLE_DEVICES

CONTAINER_CASES: list[tuple[str, dict[str, Any], str, Expect]] = [
    ("all", THREE, "all", Expect(indices=[0, 1, 2], no_notes=["NVIDIA_VISIBLE_DEVICES"])),
    (
        "none-but-gpus-visible",
        THREE,
        "none",
        Expect(
            indices=[0, 1, 2], notes=["NVIDIA_VISIBLE_DEVICES=none asks the container runtime for no GPU"]
        ),
    ),
    ("host-index-renumbered", {"gpus": [L4]}, "3", Expect(indices=[0], no_notes=["NVIDIA_VISIBLE_DEVICES"])),
    (
        "uuid-list-shorter",
        THREE,
        str(H100["uuid"]),
        Expect(indices=[0, 1, 2], notes=["lists 1 GPU(s) but 3"]),
    ),
    (
        "void-no-gpu",
        LIB_MISSING,
        "void",
        Expect(
            reason="NVIDIA_VISIBLE_DEVICES=void: the container runtime granted no GPU (NVIDIA driver library"
        ),
    ),
    (
        "empty-no-gpu",
        LIB_MISSING,
        "",
        Expect(reason="NVIDIA_VISIBLE_DEVICES='': the container runtime granted no GPU"),
    ),
    (
        "all-no-gpu",
        LIB_MISSING,
        "all",
        Expect(reason="libnvidia-ml.so.1 not found", notes=["started without the NVIDIA runtime"]),
    ),
]


@pytest.mark.parametrize(
    ("nvml", "value", "expect"), [c[1:] for c in CONTAINER_CASES], ids=[c[0] for c in CONTAINER_CASES]
)
def test_nvidia_visible_devices(machine: Machine, nvml: dict[str, Any], value: str, expect: Expect) -> None:
    machine.nvml(nvml)
    expect.check(machine.probe({"NVIDIA_VISIBLE_DEVICES": value}))


# ---------------------------------------------------------------------------- parse_nvidia_smi

SMI_PARSE: list[
    tuple[str, str, list[tuple[int, str | None, tuple[int, int] | None, int | None, bool | None]], int]
] = [
    ("empty", "", [], 0),
    (
        "one",
        smi_row(0, "NVIDIA H100 80GB HBM3", "GPU-a", "9.0"),
        [(0, "NVIDIA H100 80GB HBM3", (9, 0), 81559, False)],
        0,
    ),
    (
        "blackwell",
        smi_row(0, "NVIDIA B200", "GPU-a", "10.0", memory="183359"),
        [(0, "NVIDIA B200", (10, 0), 183359, False)],
        0,
    ),
    (
        "comma-in-name",
        "0, NVIDIA RTX A6000, Ada, GPU-a, 8.9, 550.54.14, 49140, [N/A]\n",
        [(0, "NVIDIA RTX A6000, Ada", (8, 9), 49140, None)],
        0,
    ),
    ("not-available", "0, [N/A], [N/A], [N/A], [N/A], [N/A], [N/A]\n", [(0, None, None, None, None)], 0),
    (
        "unsorted",
        smi_row(1, "B", "GPU-b", "8.6") + smi_row(0, "A", "GPU-a", "8.0"),
        [(0, "A", (8, 0), 81559, False), (1, "B", (8, 6), 81559, False)],
        0,
    ),
    ("garbage", "hello\n0, x\n\nindex, name\n", [], 3),
]


@pytest.mark.parametrize(
    ("text", "gpus", "bad_lines"), [c[1:] for c in SMI_PARSE], ids=[c[0] for c in SMI_PARSE]
)
def test_parse_nvidia_smi(
    text: str,
    gpus: list[tuple[int, str | None, tuple[int, int] | None, int | None, bool | None]],
    bad_lines: int,
) -> None:
    found = parse_nvidia_smi(text)
    assert [(g.index, g.name, g.capability, g.memory_mib, g.mig) for g in found.gpus] == gpus
    assert len(found.notes) == bad_lines


MIG_SPARSE = ["MIG-11111111-1d3a-5b8e-9c4d-2f6a7b8c9d0e", None, "MIG-33333333-1d3a-5b8e-9c4d-2f6a7b8c9d0e"]


@pytest.mark.parametrize(
    ("visible", "indices"),
    [(None, [0, 1]), (MIG_SPARSE[2], [1]), (f"{MIG_SPARSE[0]},{H100['uuid']}", [0, 1])],
    ids=["all", "by-mig-uuid", "mig-and-gpu"],
)
def test_mig_devices_listed_under_their_gpu(
    machine: Machine, visible: str | None, indices: list[int]
) -> None:
    from tvselect.facts.document import from_document, to_document
    from tvselect.facts.model import CpuFacts, Facts

    # Slot 1 is empty: real NVML answers NOT_FOUND there and the probe goes on to slot 2.
    machine.nvml({"gpus": [gpu(H100), gpu(A100, mig=1, mig_uuids=MIG_SPARSE)]})
    facts = machine.probe({"CUDA_VISIBLE_DEVICES": visible} if visible else {})
    assert [g.index for g in facts.gpus] == indices
    a100 = next(g for g in facts.gpus if g.index == 1)
    assert (a100.capability, a100.mig, a100.mig_devices) == ((8, 0), True, (MIG_SPARSE[0], MIG_SPARSE[2]))
    cpu = CpuFacts(arch="x86_64", vendor=None, model=None, features=frozenset(), source="test")
    doc = to_document(Facts(cpu=cpu, gpu=facts))
    devices = {d["index"]: d for d in doc["gpu"]["devices"]}
    assert devices[1]["mig_devices"] == [{"uuid": MIG_SPARSE[0]}, {"uuid": MIG_SPARSE[2]}]
    assert all("mig_devices" not in d for i, d in devices.items() if i != 1)  # other documents unchanged
    assert from_document(doc, "test").gpu == facts
    from test_cli import schema_validator

    schema_validator("facts-v1.json").validate(doc)


def test_no_tegra_or_pci_work_where_nvml_lists_a_gpu(tmp_path: Path) -> None:
    """The default path on a GPU machine reads no extra file and imports no extra probe module."""
    import os
    import subprocess

    install_fake_pynvml(tmp_path / "site", {"gpus": [H100]})
    (tmp_path / "driver").mkdir()
    code = (
        "import sys\n"
        "from tvselect.probe.gpu import read_gpus\n"
        "from tvselect.probe.others import account_for_gpus\n"
        "from tvselect.probe.root import HOST_ROOT\n"
        f"facts = read_gpus({{'PATH': ''}}, driver_dir={str(tmp_path / 'driver')!r}, library_dirs=())\n"
        "same = account_for_gpus(facts, HOST_ROOT, {}) is facts\n"
        "print(same, len(facts.gpus), sorted(m for m in sys.modules if m.startswith(('tvselect.probe.tegra', 'tvselect.probe.pci'))))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "site")}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.stdout.strip() == "True 1 []", done.stderr


def test_nvidia_smi_that_floods_is_killed_at_the_cap(machine: Machine) -> None:
    machine.nvml({"import_error": True})
    machine.bin.mkdir(exist_ok=True)
    smi = machine.bin / "nvidia-smi"
    row = "0, NVIDIA H100 80GB HBM3, GPU-1, 9.0, 550.54.14, 81559, Disabled"
    smi.write_text(f'#!/bin/sh\nexec {shutil.which("yes")} "{row}"\n')
    smi.chmod(0o755)
    started = time.monotonic()
    facts = machine.probe(smi_timeout=30.0)
    assert time.monotonic() - started < 10  # the cap, not the 30 s deadline, ended it
    assert facts.gpus == ()
    assert any("printed more than 1024 KiB" in note for note in facts.notes), facts.notes
