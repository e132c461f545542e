"""Tegra boards and PCI GPUs: the pure parsers over the real files' text, and the fact table."""

from __future__ import annotations

from typing import Any

import pytest

from tvselect.base.capability import parse_capability
from tvselect.base.shipped import shipped_table
from tvselect.catalog.model import load_catalog
from tvselect.probe.pci import PciGpu, excluded_reason, load_vendors, parse_pci_device
from tvselect.probe.tegra import (
    cuda_for_release,
    load_table,
    parse_compatible,
    parse_nv_tegra_release,
    parse_soc_family,
    soc_from,
    tegra_gpu,
)

TABLE = load_table()
VENDORS = load_vendors()


@pytest.mark.parametrize(
    ("text", "release"),
    [
        (
            "# R36 (release), REVISION: 4.3, GCID: 38968081, BOARD: generic, EABI: aarch64, "
            "DATE: Wed Jan  8 01:49:37 UTC 2025\n# KERNEL_VARIANT: oot\nTARGET_USERSPACE_LIB_DIR=nvidia\n",
            "36.4.3",
        ),
        (
            "# R32 (release), REVISION: 4.3, GCID: 21589087, BOARD: t186ref, EABI: aarch64, "
            "DATE: Fri Jun 26 04:34:27 UTC 2020\n",
            "32.4.3",
        ),
        ("# R32 (release), REVISION: 7.1, GCID: 29818004, BOARD: t210ref, EABI: aarch64\n", "32.7.1"),
        ("", None),
        ("garbage\0\xff", None),
    ],
    ids=["orin-jp6.2", "tx2-jp4.4", "nano-jp4.6", "empty", "garbage"],
)
def test_parse_nv_tegra_release(text: str, release: str | None) -> None:
    assert parse_nv_tegra_release(text) == release


@pytest.mark.parametrize(
    ("compatible", "family", "soc"),
    [
        ("nvidia,p3737-0000+p3701-0000\0nvidia,p3701-0000\0nvidia,tegra234\0", "Tegra\n", "tegra234"),
        ("nvidia,p3450-0000\0nvidia,tegra210\0", None, "tegra210"),
        ("", "tegra194\n", "tegra194"),
        ("", "Tegra\n", None),
        ("raspberrypi,4-model-b\0brcm,bcm2711\0", None, None),
    ],
    ids=["agx-orin", "nano", "family-only", "family-generic", "not-tegra"],
)
def test_soc(compatible: str, family: str | None, soc: str | None) -> None:
    parsed_family = parse_soc_family(family) if family is not None else None
    assert soc_from(parse_compatible(compatible), parsed_family) == soc


def test_soc_family_other_vendors() -> None:
    assert parse_soc_family("Samsung Exynos\n") is None
    assert parse_soc_family("Freescale i.MX\n") is None
    assert parse_soc_family("Tegra\n") == "Tegra"


@pytest.mark.parametrize(
    ("release", "cuda"),
    [
        ("36.4.3", "12.6"),
        ("36.3.0", "12.2"),
        ("35.6.0", "11.4"),
        ("32.7.1", "10.2"),
        ("38.2.0", "13.0"),
        ("99.1", None),
    ],
    ids=["jp6.2", "jp6.0", "jp5.1", "jp4.6", "jp7", "unknown"],
)
def test_cuda_for_release(release: str, cuda: str | None) -> None:
    assert cuda_for_release(release, TABLE["l4t_cuda"]) == cuda


@pytest.mark.parametrize(
    ("soc", "cuda", "cap", "problem"),
    [
        ("tegra210", "10.2", "5.3", None),
        ("tegra186", "10.2", "6.2", None),
        ("tegra194", "11.4", "7.2", None),
        ("tegra234", "12.6", "8.7", None),
        ("tegra234", None, "8.7", None),
        ("tegra264", "13.0", "11.0", None),
        ("tegra264", "12.8", "10.1", None),
        ("tegra264", None, "11.0", None),
        ("tegra124", "6.5", "3.2", None),
        ("tegra30", None, None, "not in tvselect's table"),
        (None, "12.6", None, "no file names its SoC"),
    ],
    ids=[
        "nano",
        "tx2",
        "xavier",
        "orin",
        "orin-no-cuda",
        "thor-cuda13",
        "thor-cuda12",
        "thor-unknown",
        "k1",
        "tegra3-no-cuda-gpu",
        "no-soc",
    ],
)
def test_tegra_gpu(soc: str | None, cuda: str | None, cap: str | None, problem: str | None) -> None:
    found, why = tegra_gpu(soc, cuda, TABLE["socs"])
    assert found == (parse_capability(cap) if cap else None)
    assert (why is None) if problem is None else (why is not None and problem in why)


def test_every_tegra_capability_is_one_the_catalog_treats_as_tegra_and_nvidia_shipped() -> None:
    catalog = load_catalog()
    sources = shipped_table("hardware")["sources"]
    for soc, entry in TABLE["socs"].items():
        for key in ("compute_capability", "compute_capability_before_cuda_13"):
            if key in entry:
                cap = parse_capability(entry[key])
                assert cap in catalog.tegra_capabilities, (soc, key)
                assert cap in catalog.known_capabilities, (soc, key)
        assert entry["sources"] and all(source in sources for source in entry["sources"]), soc


@pytest.mark.parametrize(
    ("files", "gpu"),
    [
        (("0x030000\n", "0x1002\n", "0x73bf\n"), PciGpu("0000:0c:00.0", 0x1002, 0x73BF, "AMD")),
        (("0x030200\n", "0x10de\n", "0x2330\n"), PciGpu("0000:0c:00.0", 0x10DE, 0x2330, "NVIDIA")),
        (("0x038000\n", "0x8086\n", "0x56c0\n"), PciGpu("0000:0c:00.0", 0x8086, 0x56C0, "Intel")),
        (("0x040300\n", "0x1002\n", "0xab28\n"), None),
        (("0x060000\n", "0x1022\n", "0x1480\n"), None),
        (("junk", "0x10de", "0x2330"), None),
        (("", "", ""), None),
    ],
    ids=["amd-vga", "nvidia-3d", "intel-other-display", "hdmi-audio", "host-bridge", "junk", "empty"],
)
def test_parse_pci_device(files: tuple[str, str, str], gpu: PciGpu | None) -> None:
    assert parse_pci_device("0000:0c:00.0", *files, VENDORS) == gpu


@pytest.mark.parametrize(
    ("gpu", "reason"),
    [
        (
            PciGpu("0000:65:00.0", 0x10DE, 0x2330, "NVIDIA"),
            "NVIDIA GPU 0000:65:00.0 found, but the nvidia kernel module is not loaded",
        ),
        (
            PciGpu("0000:65:00.0", 0x10DE, 0x2330, "NVIDIA", "vfio-pci"),
            "bound to vfio-pci, not the nvidia kernel module",
        ),
        (PciGpu("0000:65:00.0", 0x10DE, 0x2330, "NVIDIA", "nouveau"), "bound to nouveau"),
        (PciGpu("0000:65:00.0", 0x10DE, 0x2330, "NVIDIA", "nvidia"), None),
        (
            PciGpu("0000:0c:00.0", 0x1002, 0x73BF, "AMD", "amdgpu"),
            "AMD GPU: build-torchvision has no ROCm builds",
        ),
        (
            PciGpu("0000:00:02.0", 0x8086, 0x56C0, "Intel", "i915"),
            "Intel GPU: build-torchvision has no builds for Intel GPUs",
        ),
    ],
    ids=["nvidia-no-driver", "nvidia-vfio", "nvidia-nouveau", "nvidia-bound", "amd", "intel"],
)
def test_excluded_reason(gpu: PciGpu, reason: Any) -> None:
    got = excluded_reason(gpu, VENDORS)
    assert got is None if reason is None else (got is not None and reason in got)
