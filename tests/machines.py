"""Facts of machines for tests: real /proc/cpuinfo files from ../shared/cpuinfo, and built ones."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tvselect.base.capability import parse_capability
from tvselect.facts.model import CpuFacts, Facts, Gpu, GpuFacts
from tvselect.probe.cpu import read_cpuinfo_file

# Real machines' /proc/cpuinfo, shared beside the repository; never copied into it.
# TVSELECT_TEST_CPUINFO names that folder for a checkout that is not beside it (a git worktree).
CPUINFO_DIR = Path(
    os.environ.get("TVSELECT_TEST_CPUINFO")
    or Path(__file__).resolve().parents[1].parent / "shared" / "cpuinfo"
)


def cpuinfo_path(name: str) -> Path:
    """Path of a shared cpuinfo file; skips the test when the shared folder is absent."""
    path = CPUINFO_DIR / name
    if not path.is_file():
        pytest.skip(f"{path} is not here (the shared cpuinfo folder is absent)")
    return path


def real_cpu(name: str) -> CpuFacts:
    return read_cpuinfo_file(str(cpuinfo_path(name)))


AVX = frozenset({"avx", "sse4_2", "lm"})
AVX2 = AVX | {"avx2", "fma", "f16c"}
AVX512 = AVX2 | {"avx512f", "avx512dq", "avx512vl", "avx512bw", "avx512cd"}
# Graviton3 / Neoverse V1: SVE but not SVE2 (its kernel Features line).
NEOVERSE_V1 = frozenset(
    [
        "fp",
        "asimd",
        "evtstrm",
        "aes",
        "pmull",
        "sha1",
        "sha2",
        "crc32",
        "atomics",
        "fphp",
        "asimdhp",
        "cpuid",
        "asimdrdm",
        "jscvt",
        "fcma",
        "lrcpc",
        "dcpop",
        "sha3",
        "sm3",
        "sm4",
        "asimddp",
        "sha512",
        "sve",
        "asimdfhm",
        "dit",
        "uscat",
        "ilrcpc",
        "flagm",
        "ssbs",
        "paca",
        "pacg",
        "dcpodp",
        "svei8mm",
        "svebf16",
        "i8mm",
        "bf16",
        "dgh",
        "rng",
    ]
)


def cpu(features: frozenset[str] | set[str], arch: str = "x86_64") -> CpuFacts:
    return CpuFacts(arch=arch, vendor=None, model="test CPU", features=frozenset(features), source="test")


def gpus(*caps: str, driver: str | None = "580.65.06", cuda: str | None = None) -> GpuFacts:
    devices = []
    for index, text in enumerate(caps):
        cap = parse_capability(text)
        assert cap is not None, text
        devices.append(Gpu(index, f"test GPU {text}", None, cap, None, None))
    if not devices:
        return GpuFacts("none", (), (), None, None, "no NVIDIA driver installed")
    return GpuFacts("simulated", tuple(devices), (), driver, cuda, None)


def machine(
    cpu_facts: CpuFacts, *caps: str, driver: str | None = "580.65.06", cuda: str | None = None
) -> Facts:
    return Facts(cpu=cpu_facts, gpu=gpus(*caps, driver=driver, cuda=cuda))
