"""Every `tvselect verify` check says what it found as a coded reason: a table over the checks."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

import pytest

from tvselect.base.capability import Capability
from tvselect.catalog.model import Catalog, load_catalog
from tvselect.engine.decision import Options, select
from tvselect.facts.model import CpuFacts, ExcludedGpu, Facts, Gpu, GpuFacts
from tvselect.render.verify_json import document as verify_document
from tvselect.verify.checks import judge
from tvselect.verify.messages import TEMPLATES
from tvselect.verify.observations import read_observations
from tvselect.verify.run import PayloadFailure
from tvselect.verify.verdict import VerifyResult

CATALOG: Catalog = load_catalog()
H100 = Gpu(0, "NVIDIA H100 80GB HBM3", None, Capability(9, 0), 81559, False)
ZEN4_LIKE = CpuFacts(
    "x86_64", "AuthenticAMD", "test", frozenset().union(*(i.needs for i in CATALOG.isas.values())), "test"
)
HASWELL_LIKE = CpuFacts("x86_64", "GenuineIntel", "test", CATALOG.isas["avx2"].needs, "test")
ONE_H100 = Facts(ZEN4_LIKE, GpuFacts("nvml", (H100,), (), "575.57.08", "12.9", None))
TWO_H100 = Facts(ZEN4_LIKE, GpuFacts("nvml", (H100, H100._replace(index=1)), (), "575.57.08", "12.9", None))
NO_GPU = Facts(ZEN4_LIKE, GpuFacts("none", (), (), None, None, "no NVIDIA GPU"))
HIDDEN = Facts(
    ZEN4_LIKE,
    GpuFacts(
        "nvml", (), (ExcludedGpu(0, H100.name, None, "CUDA_VISIBLE_DEVICES is empty"),), None, None, "x"
    ),
)
DRIVER_ONLY = Facts(ZEN4_LIKE, GpuFacts("nvml", (H100,), (), "575.57.08", None, None))
OLD_DRIVER = Facts(ZEN4_LIKE, GpuFacts("nvml", (H100,), (), "470.42.01", None, None))
UNKNOWN_DRIVER = Facts(ZEN4_LIKE, GpuFacts("nvml", (H100,), (), None, None, None))
CUDA_11_DRIVER = Facts(ZEN4_LIKE, GpuFacts("nvml", (H100,), (), "470.42.01", "11.4", None))
CUDA_12_4_DRIVER = Facts(ZEN4_LIKE, GpuFacts("nvml", (H100,), (), "550.54.14", "12.4", None))
CUDA_13_DRIVER = Facts(ZEN4_LIKE, GpuFacts("nvml", (H100,), (), "580.65.06", "13.0", None))
RTX_3090 = Facts(
    ZEN4_LIKE,
    GpuFacts(
        "nvml",
        (Gpu(0, "NVIDIA GeForce RTX 3090", None, Capability(8, 6), 24576, False),),
        (),
        "575.57.08",
        "12.9",
        None,
    ),
)
HASWELL = Facts(HASWELL_LIKE, ONE_H100.gpu)

GOOD: dict[str, Any] = {
    "payload_version": 1,
    "python": {"executable": "/usr/bin/python3", "version": "3.13.1"},
    "env": {"CUDA_VISIBLE_DEVICES": None},
    "torch": {"version": "2.9.1+cu129", "error": None, "path": "/x/torch/__init__.py"},
    "torchvision": {"version": "0.24.0", "error": None, "path": "/x/torchvision/__init__.py"},
    "cuda": {
        "built_with": "12.9",
        "available": True,
        "device_count": 1,
        "devices": [{"index": 0, "name": H100.name, "capability": [9, 0]}],
        "arch_list": ["sm_90"],
    },
    "cpu": {"capability": "AVX512", "matmul": [[7.0, 10.0], [15.0, 22.0]]},
    "smoke": [
        {"device": "cpu", "nms": [3, 0], "conv_max_abs_diff": 0.0},
        {"device": "cuda:0", "nms": [3, 0], "conv_max_abs_diff": 0.0, "conv_compared_with": "cpu"},
    ],
}

Change = Callable[[dict[str, Any]], None]


def _set(path: str, value: Any) -> Change:
    """A change that sets one key of the payload's document, `a.b.c` naming nested keys."""

    def change(doc: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        for key in parents:
            doc = doc[key][int(key) if key.isdigit() else 0] if isinstance(doc, list) else doc[key]
        doc[last] = value

    return change


def _smoke(index: int, **values: Any) -> Change:
    def change(doc: dict[str, Any]) -> None:
        doc["smoke"][index].update(values)

    return change


def _cpu_build(doc: dict[str, Any]) -> None:
    doc["cuda"] = {
        "built_with": None,
        "available": False,
        "device_count": 0,
        "devices": [],
        "arch_list": None,
    }
    doc["smoke"] = doc["smoke"][:1]


CASES: list[tuple[str, Facts, list[Change], str, bool, str]] = [
    ("all-good", ONE_H100, [], "python", True, "python-ok"),
    ("payload-broke", ONE_H100, [_set("payload_error", "boom")], "payload", False, "payload-failed"),
    ("torch-ok", ONE_H100, [], "torch-import", True, "torch-imports"),
    (
        "torch-broken",
        ONE_H100,
        [_set("torch.error", "ImportError: libcudart")],
        "torch-import",
        False,
        "torch-import-failed",
    ),
    (
        "torch-missing",
        ONE_H100,
        [_set("torch.error", "ModuleNotFoundError: No module named 'torch'")],
        "torch-import",
        False,
        "torch-missing",
    ),
    ("vision-ok", ONE_H100, [], "torchvision-import", True, "torchvision-imports"),
    (
        "vision-broken",
        ONE_H100,
        [_set("torchvision.error", "RuntimeError: ops")],
        "torchvision-import",
        False,
        "torchvision-import-failed",
    ),
    (
        "vision-untried",
        ONE_H100,
        [_set("torch.error", "x"), _set("torchvision", None)],
        "torchvision-import",
        False,
        "torchvision-not-tried",
    ),
    ("pair-catalog", ONE_H100, [], "version-pair", True, "pair-in-catalog"),
    (
        "pair-table",
        ONE_H100,
        [_set("torch.version", "2.11.0"), _set("torchvision.version", "0.26.0")],
        "version-pair",
        True,
        "pair-by-table",
    ),
    (
        "pair-rule",
        ONE_H100,
        [_set("torch.version", "2.12.0"), _set("torchvision.version", "0.27.0")],
        "version-pair",
        True,
        "pair-by-rule",
    ),
    (
        "pair-mismatch-table",
        ONE_H100,
        [_set("torch.version", "2.11.0"), _set("torchvision.version", "0.24.0")],
        "version-pair",
        False,
        "pair-mismatch-table",
    ),
    (
        "pair-mismatch-rule",
        ONE_H100,
        [_set("torch.version", "2.12.0"), _set("torchvision.version", "0.24.0")],
        "version-pair",
        False,
        "pair-mismatch-rule",
    ),
    (
        "pair-no-rule",
        ONE_H100,
        [_set("torch.version", "1.13.1"), _set("torchvision.version", "0.14.1")],
        "version-pair",
        False,
        "pair-no-rule",
    ),
    (
        "pair-unreadable",
        ONE_H100,
        [_set("torchvision.version", "nightly")],
        "version-pair",
        False,
        "pair-unreadable",
    ),
    ("cuda-ok", ONE_H100, [], "cuda", True, "cuda-ok"),
    ("cpu-build-no-gpu", NO_GPU, [_cpu_build], "cuda", True, "cuda-cpu-build-no-gpu"),
    ("gpus-not-in-facts", NO_GPU, [], "cuda", False, "cuda-gpus-not-in-facts"),
    ("cuda-build-no-gpu", NO_GPU, [_set("cuda.available", False)], "cuda", False, "cuda-build-without-gpu"),
    ("cpu-build-with-gpu", ONE_H100, [_cpu_build], "cuda", False, "cuda-cpu-build-with-gpu"),
    (
        "sees-none",
        HIDDEN,
        [_set("cuda.available", False), _set("env.CUDA_VISIBLE_DEVICES", "")],
        "cuda",
        False,
        "cuda-sees-no-gpu",
    ),
    ("count-differs", TWO_H100, [], "cuda", False, "cuda-count-differs"),
    ("arch-exact", ONE_H100, [], "gpu-arch[0]", True, "gpu-arch-exact"),
    (
        "arch-compatible",
        RTX_3090,
        [_set("cuda.arch_list", ["sm_80"])],
        "gpu-arch[0]",
        False,
        "gpu-arch-compatible",
    ),
    ("arch-ptx", ONE_H100, [_set("cuda.arch_list", ["compute_80"])], "gpu-arch[0]", False, "gpu-arch-ptx"),
    (
        "arch-none",
        ONE_H100,
        [_set("cuda.arch_list", ["sm_120", "bogus"])],
        "gpu-arch[0]",
        False,
        "gpu-arch-none",
    ),
    (
        "driver-newer",
        CUDA_13_DRIVER,
        [],
        "cuda-driver",
        True,
        "driver-cuda-newer",
    ),
    ("driver-same", ONE_H100, [], "cuda-driver", True, "driver-cuda-same"),
    ("driver-minor", CUDA_12_4_DRIVER, [], "cuda-driver", True, "driver-cuda-minor-compatible"),
    ("driver-older", CUDA_11_DRIVER, [], "cuda-driver", False, "driver-cuda-older"),
    (
        "driver-older-no-minimum",
        CUDA_11_DRIVER,
        [_set("cuda.built_with", "14.0")],
        "cuda-driver",
        False,
        "driver-cuda-older-no-minimum",
    ),
    ("driver-meets", DRIVER_ONLY, [], "cuda-driver", True, "driver-meets-minimum"),
    ("driver-below", OLD_DRIVER, [], "cuda-driver", False, "driver-below-minimum"),
    (
        "driver-no-minimum",
        DRIVER_ONLY,
        [_set("cuda.built_with", "14.0")],
        "cuda-driver",
        False,
        "driver-no-minimum",
    ),
    ("driver-unknown-started", UNKNOWN_DRIVER, [], "cuda-driver", True, "driver-unknown-cuda-started"),
    (
        "driver-unknown",
        UNKNOWN_DRIVER,
        [_set("cuda.available", False)],
        "cuda-driver",
        False,
        "driver-unknown",
    ),
    (
        "driver-cuda-unreadable",
        ONE_H100,
        [_set("cuda.built_with", "twelve")],
        "cuda-driver",
        False,
        "driver-cuda-unreadable",
    ),
    ("cpu-ok", ONE_H100, [], "cpu-capability", True, "cpu-capability-ok"),
    (
        "cpu-unreported",
        ONE_H100,
        [_set("cpu.capability", None)],
        "cpu-capability",
        False,
        "cpu-capability-unreported",
    ),
    ("cpu-contradicts", HASWELL, [], "cpu-capability", False, "cpu-capability-contradicts-facts"),
    (
        "cpu-below-best",
        ONE_H100,
        [_set("cpu.capability", "AVX2")],
        "cpu-capability",
        False,
        "cpu-capability-below-best",
    ),
    ("matmul-ok", ONE_H100, [], "cpu-tensor-op", True, "matmul-ok"),
    ("matmul-failed", ONE_H100, [_set("cpu.matmul_error", "oops")], "cpu-tensor-op", False, "matmul-failed"),
    (
        "matmul-wrong",
        ONE_H100,
        [_set("cpu.matmul", [[0, 0], [0, 0]])],
        "cpu-tensor-op",
        False,
        "matmul-wrong",
    ),
    ("smoke-ok", ONE_H100, [], "smoke[cuda:0]", True, "smoke-ok"),
    ("smoke-nms", ONE_H100, [_smoke(1, nms=[0, 3])], "smoke[cuda:0]", False, "smoke-nms-wrong"),
    ("smoke-conv", ONE_H100, [_smoke(0, conv_error="bad")], "smoke[cpu]", False, "smoke-conv-wrong"),
    (
        "smoke-both",
        ONE_H100,
        [_smoke(0, nms_error="x", conv_max_abs_diff=None)],
        "smoke[cpu]",
        False,
        "smoke-both-wrong",
    ),
    ("variant-expected", ONE_H100, [], "variant", True, "variant-expected-isa-unknown"),
    ("variant-other", ONE_H100, [_set("cuda.arch_list", ["sm_80"])], "variant", False, "variant-other"),
    (
        "variant-not-in-catalog",
        ONE_H100,
        [_set("torch.version", "2.12.0"), _set("torchvision.version", "0.27.0")],
        "variant",
        False,
        "variant-not-in-catalog",
    ),
]


def _judge(facts: Facts, changes: list[Change]) -> VerifyResult:
    doc = copy.deepcopy(GOOD)
    for change in changes:
        change(doc)
    return judge(read_observations(["python"], doc), facts, CATALOG, select(facts, CATALOG, Options()))


@pytest.mark.parametrize(
    ("facts", "changes", "name", "ok", "code"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_each_check_gives_a_coded_reason(
    facts: Facts, changes: list[Change], name: str, ok: bool, code: str
) -> None:
    result = _judge(facts, changes)
    check = next(c for c in result.checks if c.name == name)
    assert (check.code, check.ok) == (code, ok), check.detail
    assert check.code in TEMPLATES
    assert not re.search(r"\{[a-z_]+\}", check.detail), check.detail
    row = next(c for c in verify_document(result)["checks"] if c["name"] == name)
    assert (row["code"], row["detail"]) == (code, check.detail)


@pytest.mark.parametrize(
    ("kind", "detail", "stderr", "says"),
    [
        ("not-started", "py could not be started (no such file)", "", "could not be started"),
        ("timeout", "no answer within 1 s; it was killed", "", "no answer within 1 s"),
        ("signal", "the interpreter was killed by SIGILL", "Illegal instruction\n", "stderr ends: Illegal"),
        ("exit-status", "the interpreter exited with status 3", "", "status 3"),
        ("bad-output", "the interpreter printed no JSON object (stdout: hi)", "", "no JSON object"),
    ],
    ids=["not-started", "timeout", "signal", "exit-status", "bad-output"],
)
def test_a_payload_failure_is_coded_by_its_kind(kind: str, detail: str, stderr: str, says: str) -> None:
    failure = PayloadFailure(("py", "payload.py"), kind, detail, None, stderr)
    result = judge(failure, NO_GPU, CATALOG, select(NO_GPU, CATALOG, Options()))
    (check,) = result.checks
    assert (check.name, check.code, check.ok) == ("python", f"python-{kind}", False)
    assert says in check.detail and check.detail.startswith(detail)


def test_the_variant_match_says_why_in_words() -> None:
    result = _judge(ONE_H100, [_set("cuda.arch_list", ["sm_80", "sm_90"])])
    assert result.match is not None and result.match.why_not is not None
    assert result.match.why_not.code == "match-many-archs"
    assert verify_document(result)["matched"]["why_not"] == (
        "it carries code for 2 architectures (sm_80, sm_90); build-torchvision variants carry one"
    )
