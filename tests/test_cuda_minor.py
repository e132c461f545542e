"""A build of a newer CUDA minor than the driver names is chosen (CUDA's minor-version
compatibility, data/cuda.json) and the answer says why, so that nobody reads it as a mistake."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_helpers import run

H100 = Path(__file__).parent / "fixtures" / "h100-nvml-probe.json"
SHARED = Path(__file__).resolve().parents[1].parent / "shared"
PYTORCH_210 = SHARED / "build-pytorch" / "pytorch-2.10-python313"


def _codes(answer: dict[str, object]) -> list[str]:
    return [r["code"] for r in answer["reasons"]]  # type: ignore[index, union-attr]


@pytest.mark.parametrize(
    ("catalog", "says"),
    [
        pytest.param(None, False, id="builtin-cuda12_9-on-a-cuda13_0-driver"),
        pytest.param(PYTORCH_210, True, id="build-pytorch-cuda13_1-on-a-cuda13_0-driver"),
    ],
)
def test_a_newer_cuda_minor_says_why_it_runs(catalog: Path | None, says: bool) -> None:
    if catalog is not None and not catalog.is_dir():
        pytest.skip(f"{catalog} is not here")
    extra = ["--catalog", str(catalog)] if catalog is not None else []
    done = run("--json", "--facts", str(H100), *extra)
    assert done.code == 0, done.stderr
    answer = json.loads(done.stdout)
    facts_cuda = tuple(int(p) for p in answer["facts"]["gpu"]["cuda_driver_version"].split(".")[:2])
    chosen_cuda = tuple(int(p) for p in answer["cuda"].split(".")[:2])
    newer_minor = chosen_cuda[0] == facts_cuda[0] and chosen_cuda > facts_cuda
    assert newer_minor == says
    assert ("chose-cuda-minor" in _codes(answer)) == says
