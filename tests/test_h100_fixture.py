"""Facts printed by `tvselect probe --json` on a real NVIDIA H100 machine (NVML; GPU UUID removed).

Captured on the device machine: NVIDIA H100 80GB HBM3, compute capability 9.0, driver
580.159.04 (CUDA up to 13.0), an Intel Xeon with AVX-512, BF16 and VNNI.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import run
from test_cli import schema_validator

FIXTURE = Path(__file__).parent / "fixtures" / "h100-nvml-probe.json"


def test_fixture_is_a_valid_facts_document() -> None:
    import json

    schema_validator("facts-v1.json").validate(json.loads(FIXTURE.read_text()))


@pytest.mark.parametrize(
    "workload,package",
    [
        ("general", "torchvision-python313-cuda12_9-sm90-avx512"),
        ("bf16-training", "torchvision-python313-cuda12_9-sm90-avx512bf16"),
        ("int8-inference", "torchvision-python313-cuda12_9-sm90-avx512vnni"),
    ],
    ids=["general", "bf16", "int8"],
)
def test_real_h100_decisions(workload: str, package: str) -> None:
    done = run("--json", "--facts", str(FIXTURE), "--workload", workload)
    assert done.code == 0, done.stderr
    doc = done.json()
    assert isinstance(doc, dict)
    assert (doc["package"], doc["gpu_match"], doc["warnings"]) == (package, "exact", [])
    assert doc["facts"]["gpu"]["source"] == "nvml"


def test_real_h100_driver_580_admits_cuda_13_branch() -> None:
    done = run("--json", "--facts", str(FIXTURE), "--branch", "cuda-13_0")
    doc = done.json()
    assert isinstance(doc, dict)
    # The driver is new enough for cuda-13_0, but that branch has no sm90 build: no match, and the reason says so.
    assert done.code == 3 and doc["status"] == "no-match"
    assert doc["alternatives"][-1]["package"] == "torchvision-python313-cuda12_9-sm90-avx512"
