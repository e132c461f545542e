"""NVIDIA GPUs that NVIDIA's tools cannot read, identified by their PCI device ID: the shipped device
table, its generator, and machines built from the real H200 capture (../shared/captures/h200, see its
README) run through the installed script."""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from cli_helpers import make_fake_flox, run
from gpu_fakes import install_fake_pynvml, smi_row, write_nvidia_smi
from hypothesis import given
from hypothesis import strategies as st
from test_cli import schema_validator

from tvselect.base.capability import parse_capability
from tvselect.probe.pci_nvidia import identify, load_devices, parse_module_version

REPO = Path(__file__).resolve().parents[1]
CAPTURE = REPO.parent / "shared" / "captures" / "h200"
ROOTS = Path(__file__).parent / "roots"
NO_NVIDIA_TOOLS = {"PATH": "/nonexistent", "LD_LIBRARY_PATH": ""}
TABLE = load_devices()
CUDA = json.loads((REPO / "data" / "cuda.json").read_text())
H200 = {"vendor": "0x10de", "device": "0x2335", "class": "0x030200"}  # the capture README's sysfs values


@functools.cache
def _tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("nvidia_devices", REPO / "tools" / "nvidia_devices.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ------------------------------------------------------------------------- the device table


@pytest.mark.parametrize(
    ("device", "cap"),
    [
        (0x1B06, "6.1"),
        (0x1DB4, "7.0"),
        (0x1EB8, "7.5"),
        (0x20B0, "8.0"),
        (0x2204, "8.6"),
        (0x2684, "8.9"),
        (0x2330, "9.0"),
        (0x2335, "9.0"),
        (0x2901, "10.0"),
        (0x2B85, "12.0"),
    ],
    ids=["gtx1080ti", "v100", "t4", "a100", "rtx3090", "rtx4090", "h100", "h200", "b200", "rtx5090"],
)
def test_device_table(device: int, cap: str) -> None:
    found = identify(device, TABLE)
    assert found is not None and found.capability == parse_capability(cap)


@pytest.mark.parametrize(
    ("name", "chip"),
    [
        ("GB10B [Jetson AGX Thor]", "GB10B"),
        ("GB100 [B200]", "GB100"),
        ("GB102 [B100]", "GB102"),
        ("GB110 [B300 SXM6 AC]", "GB110"),
        ("GB20B [GB10]", "GB20B"),
        ("GB202GL [RTX PRO 6000 Blackwell Workstation Edition]", "GB202"),
        ("GB203M / GN22 [GeForce RTX 5090 Max-Q / Mobile]", "GB203"),
        ("GA107BM / GN20-P0-R-K2 [GeForce RTX 3050 6GB Laptop GPU]", "GA107"),
        ("GB10 GEN5 X4 PCIe host", None),
        ("GB112", None),
        ("GK110B [GeForce GTX TITAN Z]", None),
    ],
)
def test_chip_names_sharing_a_prefix_are_told_apart(name: str, chip: str | None) -> None:
    chips = json.loads((REPO / "tools" / "nvidia_chips.json").read_text())["chips"]
    assert _tool().chip_of(name, chips) == chip


CHIPS = json.loads((REPO / "tools" / "nvidia_chips.json").read_text())["chips"]


@given(
    chip=st.sampled_from(sorted(CHIPS)),
    suffix=st.sampled_from(["", "GL", "GLM", "M", "BM"]),
    rest=st.sampled_from(["", " [Product]", " / GN22 [Mobile]", " Engineering Sample"]),
)
def test_a_chip_with_any_suffix_is_itself(chip: str, suffix: str, rest: str) -> None:
    assert _tool().chip_of(f"{chip}{suffix}{rest}", CHIPS) == chip


@given(chip=st.sampled_from(sorted(CHIPS)), extra=st.sampled_from(["X", "0", "B", "C", "GX"]))
def test_a_longer_name_is_never_taken_for_a_shorter_chip(chip: str, extra: str) -> None:
    """GB10 + 0 is GB100, its own chip; GB10B + X is no chip: prefixes never match."""
    found = _tool().chip_of(f"{chip}{extra} [Product]", CHIPS)
    assert found == (chip + extra if chip + extra in CHIPS else None)


def test_chips_of_the_shipped_table_are_those_of_the_chip_table() -> None:
    chips = json.loads((REPO / "tools" / "nvidia_chips.json").read_text())["chips"]
    assert TABLE["chips"] == {chip: entry["compute_capability"] for chip, entry in chips.items()}
    assert {entry[0] for entry in TABLE["devices"].values()} <= set(chips)


def test_regenerating_gives_the_shipped_file() -> None:
    """TVSELECT_PCI_IDS names a pci.ids (the PCI ID Repository, github.com/pciutils/pciids)."""
    path = os.environ.get("TVSELECT_PCI_IDS")
    if not path or not Path(path).is_file():
        pytest.skip("set TVSELECT_PCI_IDS to the pci.ids the shipped table was made from")
    chips = json.loads((REPO / "tools" / "nvidia_chips.json").read_text())
    text = _tool().generate(Path(path).read_text(encoding="utf-8", errors="replace"), chips)
    assert text == (REPO / "data" / "nvidia_pci_devices.json").read_text()


def test_generator_keeps_gpus_of_known_chips_only() -> None:
    pci_ids = (
        "#\tVersion: 2099.01.01\n"
        "10de  NVIDIA Corporation\n"
        "\t2335  GH100 [H200 SXM 141GB]\n"
        "\t\t10de 18bf  H200 subsystem\n"
        "\t22a3  GH100 [H100 NVSwitch]\n"
        "\t22ba  AD102 High Definition Audio Controller\n"
        "\t3000  GR100 [Reserved Dev ID A]\n"
        "10df  Emulex Corporation\n"
        "\t2336  GH100 [not NVIDIA's]\n"
    )
    doc = json.loads(
        _tool().generate(
            pci_ids,
            {
                "sources": {},
                "chips": {"GH100": {"compute_capability": "9.0"}, "AD102": {"compute_capability": "8.9"}},
            },
        )
    )
    assert doc["devices"] == {"2335": ["GH100", "H200 SXM 141GB"]}
    assert "2099.01.01" in doc["sources"]["pci-ids"]


@pytest.mark.parametrize(
    ("text", "version"),
    [("580.159.04\n" + "\0" * 4085, "580.159.04"), ("550.54.14", "550.54.14"), ("\0\0", None), ("abc", None)],
    ids=["capture-padding", "plain", "empty", "garbage"],
)
def test_parse_module_version(text: str, version: str | None) -> None:
    assert parse_module_version(text) == version


# ------------------------------------------------------------------ machines as folder trees


def _unknown_device() -> str:
    """An NVIDIA device ID the shipped table does not know (read from it, not assumed)."""
    for device in ("3000", "3200", "ffff"):  # GR100 and GB112 in pci.ids, chips without a capability here
        if device not in TABLE["devices"]:
            return device
    raise AssertionError("every candidate is in the table")


def _tree(tmp_path: Path, *, loaded: bool, device: str = "0x2335") -> Path:
    """An H200 machine: the capture's /proc/driver/nvidia and /sys/module/nvidia when `loaded`, and its
    PCI device as the capture README describes it; the CPU of tests/roots/nvidia-no-driver."""
    if not CAPTURE.is_dir():
        pytest.skip(f"{CAPTURE} is absent")
    root = tmp_path / "h200"
    folder = root / "sys" / "devices" / "pci0000:00" / "0000:00:06.0"
    folder.mkdir(parents=True)
    for name, value in {**H200, "device": device}.items():
        (folder / name).write_text(value + "\n")
    (root / "sys" / "bus" / "pci" / "devices").mkdir(parents=True)
    (root / "sys" / "bus" / "pci" / "devices" / "0000:00:06.0").symlink_to(
        "../../../devices/pci0000:00/0000:00:06.0"
    )
    if loaded:
        shutil.copytree(CAPTURE / "proc", root / "proc")
        shutil.copytree(CAPTURE / "sys" / "module", root / "sys" / "module")
        (root / "sys" / "bus" / "pci" / "drivers" / "nvidia").mkdir(parents=True)
        (folder / "driver").symlink_to("../../../bus/pci/drivers/nvidia")
    (root / "proc").mkdir(exist_ok=True)
    shutil.copy(ROOTS / "nvidia-no-driver" / "proc" / "cpuinfo", root / "proc" / "cpuinfo")
    return root


def _no_driver(tmp_path: Path, device: str) -> Path:
    """tests/roots/nvidia-no-driver (an H100 whose module is not loaded) with another device ID."""
    root = tmp_path / "no-driver"
    shutil.copytree(ROOTS / "nvidia-no-driver", root, symlinks=True)
    (root / "sys" / "devices" / "pci0000:64" / "0000:64:02.0" / "0000:65:00.0" / "device").write_text(
        f"0x{device}\n"
    )
    return root


def _decide(root: Path, *args: str) -> tuple[int, dict[str, Any], str]:
    done = run("--json", *args, env={"TVSELECT_ROOT": str(root), **NO_NVIDIA_TOOLS})
    doc = done.json()
    assert isinstance(doc, dict), done.stderr
    schema_validator("result-v1.json").validate(doc)
    return done.code, doc, done.stderr


def _min_driver(cuda: str) -> str:
    return str(CUDA["majors"][cuda.split(".")[0]]["min_driver"])


def test_h200_without_its_driver_gets_its_gpu_build(tmp_path: Path) -> None:
    code, doc, stderr = _decide(_tree(tmp_path, loaded=False))
    assert (code, doc["status"], doc["gpu_arch"]) == (0, "ok", "sm90")
    assert doc["facts"]["gpu"]["source"] == "pci"
    assert doc["facts"]["gpu"]["devices"][0]["name"] == "NVIDIA H200 SXM 141GB (GH100)"
    needs = f"load the NVIDIA driver, {_min_driver(doc['cuda'])} or newer"
    assert doc["machine_needs"]["text"] == needs
    assert [line for line in stderr.splitlines() if line.startswith("tvselect:")] == [
        "tvselect: warning: the GPU was identified by its PCI device ID (NVIDIA GPU 0000:00:06.0 found, but "
        f"the nvidia kernel module is not loaded); before this build can use it, this machine needs: {needs}"
    ]


def test_h200_with_its_module_bound_reads_the_driver_version_from_sysfs(tmp_path: Path) -> None:
    """Under a root NVML and nvidia-smi are not asked; the capture's module version is the driver."""
    code, doc, stderr = _decide(_tree(tmp_path, loaded=True))
    gpu = doc["facts"]["gpu"]
    assert (code, doc["gpu_arch"], gpu["source"], gpu["driver_version"]) == (0, "sm90", "pci", "580.159.04")
    assert "nvidia kernel module bound" in doc["machine_needs"]["why"]
    assert stderr.count("warning:") == 1, stderr


def test_unknown_nvidia_device_is_a_no_match_naming_both_ways_forward(tmp_path: Path) -> None:
    device = _unknown_device()
    root = _no_driver(tmp_path, device)
    code, doc, stderr = _decide(root)
    assert (code, doc["status"], doc["package"]) == (3, "no-match", None)
    # The GPU is the reason nothing is chosen, not a GPU left out: no "does not count" warning.
    assert doc["facts"]["gpu"]["excluded"] == [] and doc["warnings"] == [] and stderr == ""
    [why] = doc["reasons"]
    assert why["code"] == "gpu-unidentified"
    for words in (f"10de:{device}", "--gpu X.Y", "--cpu-only", "0000:65:00.0"):
        assert words in why["text"], why
    assert doc["alternatives"][0]["gpu_arch"] is None
    code, doc, _ = _decide(root, "--cpu-only")
    assert (code, doc["status"], doc["gpu_arch"], doc["machine_needs"]) == (0, "ok", None, None)


def test_install_needs_consent_for_a_gpu_identified_on_the_bus(tmp_path: Path) -> None:
    root = ROOTS / "nvidia-no-driver"
    flox = make_fake_flox(tmp_path)
    env = {**flox.env(), "TVSELECT_ROOT": str(root), "LD_LIBRARY_PATH": ""}
    refused = run("--json", "--install", "--org", "acme", env=env)
    assert refused.code == 4, refused.stderr
    assert not [c for c in flox.calls() if c[:1] == ["install"]], flox.calls()
    assert "--gpu-from-pci" in refused.stderr and "--cpu-only" in refused.stderr
    doc = refused.json()
    assert isinstance(doc, dict) and doc["installed"]["ok"] is False and doc["gpu_arch"] == "sm90"
    agreed = run("--json", "--install", "--org", "acme", "--gpu-from-pci", env=env)
    assert agreed.code == 0, agreed.stderr
    [install] = [c for c in flox.calls() if c[:1] == ["install"]]
    assert any("sm90" in part for part in install), install
    cpu = run("-q", "--install", "--org", "acme", "--cpu-only", env=env)
    assert cpu.code == 0 and "-cpu-" in cpu.stdout, cpu.stderr


# ------------------------------------------------ NVML and nvidia-smi hang, on this machine's root


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    folder = tmp_path / "site"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    sys.modules.pop("pynvml", None)
    yield folder
    sys.modules.pop("pynvml", None)


def test_hung_nvml_and_nvidia_smi_leave_the_gpu_identified_by_its_device_id(
    tmp_path: Path, site: Path
) -> None:
    """The issue's measurement: NVML and nvidia-smi both hang with the module bound; the H200 still counts."""
    from tvselect.probe.gpu import read_gpus
    from tvselect.probe.others import account_for_gpus
    from tvselect.probe.root import ProbeRoot

    root = _tree(tmp_path, loaded=True)
    install_fake_pynvml(site, {"gpus": [], "init_sleep": 30})
    write_nvidia_smi(tmp_path / "bin", stdout=smi_row(0, "NVIDIA H200", "GPU-1", "9.0"), sleep=30)
    start = time.monotonic()
    environ = {"PATH": str(tmp_path / "bin")}
    nvidia = read_gpus(
        environ, driver_dir=str(root / "proc" / "driver" / "nvidia"), nvml_timeout=0.3, smi_timeout=0.3
    )
    facts = account_for_gpus(nvidia, ProbeRoot(str(root)), environ)
    assert time.monotonic() - start < 5
    assert (facts.source, [g.capability for g in facts.gpus]) == ("pci", [(9, 0)])
    assert facts.tools_reason is not None and "NVML did not answer within 0.3 s" in facts.tools_reason
    assert facts.driver_version == "580.159.04"


@pytest.mark.parametrize(
    ("action", "minimum", "text"),
    [
        ("load the NVIDIA driver", "580", "load the NVIDIA driver, 580 or newer"),
        (
            "bind the GPU to the NVIDIA driver instead of vfio-pci",
            "550",
            "bind the GPU to the NVIDIA driver instead of vfio-pci (the build needs NVIDIA driver 550 or newer)",
        ),
        (
            "give this user read and write access to /dev/nvidiactl and /dev/nvidia*",
            "580",
            "give this user read and write access to /dev/nvidiactl and /dev/nvidia* (the build needs NVIDIA driver 580 or newer)",
        ),
        ("load the NVIDIA driver", None, "load the NVIDIA driver"),
    ],
    ids=["load", "bind", "permission", "no-minimum"],
)
def test_needs_text(action: str, minimum: str | None, text: str) -> None:
    from tvselect.engine.decision import Needs

    assert Needs(action, minimum).text == text


@pytest.mark.parametrize(
    ("driver", "root", "denied", "words", "needs"),
    [
        (None, "/", False, "the nvidia kernel module is not loaded", "load the NVIDIA driver"),
        (
            "vfio-pci",
            "/",
            False,
            "bound to vfio-pci",
            "bind the GPU to the NVIDIA driver instead of vfio-pci",
        ),
        (
            "nvidia",
            "/",
            False,
            "could not read it (NVML did not answer within 3 s)",
            "reload the NVIDIA driver (or reboot) so that NVML answers",
        ),
        (
            "nvidia",
            "/",
            True,
            "could not read it",
            "give this user read and write access to /dev/nvidiactl and /dev/nvidia*",
        ),
        (
            "nvidia",
            "/mnt/image",
            False,
            "NVML did not answer within 3 s",
            "check on the machine under /mnt/image that NVML reads the GPU",
        ),
    ],
    ids=["no-driver", "vfio", "tools-hang", "permission-denied", "under-a-root"],
)
def test_what_the_machine_needs(driver: str | None, root: str, denied: bool, words: str, needs: str) -> None:
    from tvselect.probe.pci import PciGpu
    from tvselect.probe.pci_nvidia import _situation
    from tvselect.probe.root import ProbeRoot

    gpu = PciGpu("0000:00:06.0", 0x10DE, 0x2335, "NVIDIA", driver)
    why, action = _situation(gpu, "NVML did not answer within 3 s", ProbeRoot(root), denied)
    assert words in why and action == needs


def test_the_h200_check_script_runs_where_there_is_no_gpu(tmp_path: Path) -> None:
    """tools/h200-pci-check.sh, which the lead runs on the H200: here it must still run every case."""
    import subprocess

    from cli_helpers import tvselect_exe

    env = {
        **os.environ,
        "OUT": str(tmp_path / "out"),
        "HANG_DIR": str(tmp_path / "hang"),
        "TVSELECT": tvselect_exe(),
    }
    env["PATH"] = f"{Path(tvselect_exe()).parent}{os.pathsep}{env.get('PATH', '')}"
    done = subprocess.run(
        ["bash", str(REPO / "tools" / "h200-pci-check.sh")],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    for name in (
        "normal-json",
        "normal-human",
        "hung-json",
        "hung-human",
        "hung-install-refused",
        "hung-cpu-only",
    ):
        assert f"## {name}: tvselect" in done.stdout, done.stdout
    assert done.stdout.count("   exit ") == 6 and "stdout is not JSON" not in done.stdout
    assert done.stdout.rstrip().endswith("none"), done.stdout


def test_human_text_says_what_the_machine_needs() -> None:
    env = {"TVSELECT_ROOT": str(ROOTS / "nvidia-no-driver"), **NO_NVIDIA_TOOLS}
    done = run(env=env)
    assert done.code == 0, done.stderr
    assert (
        "Needs   load the NVIDIA driver, " in done.stdout and "identified by its PCI device ID" in done.stdout
    )
    assert run("--cpu-only", env=env).stdout.count("Needs") == 0


@pytest.mark.parametrize(("tree", "loaded"), [("amd-radeon", False), ("nvidia-no-driver", True)])
def test_the_device_table_is_read_only_where_an_nvidia_gpu_is_unread(tree: str, loaded: bool) -> None:
    import subprocess

    code = (
        "import sys\n"
        "from tvselect.cli.main import main\n"
        "rc = main(['--json'])\n"
        "print('PCI_NVIDIA=' + str('tvselect.probe.pci_nvidia' in sys.modules), file=sys.stderr)\n"
        "sys.exit(rc)\n"
    )
    env = {**os.environ, "TVSELECT_ROOT": str(ROOTS / tree), **NO_NVIDIA_TOOLS}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 0, done.stderr
    assert f"PCI_NVIDIA={loaded}" in done.stderr


def test_every_chip_capability_is_one_nvidia_shipped() -> None:
    from tvselect.base.hardware import known_capabilities

    caps = {parse_capability(c) for c in TABLE["chips"].values()}
    assert None not in caps and caps <= known_capabilities()
