"""`tvselect verify`: the installed console script against fake torch/torchvision/flox processes."""

from __future__ import annotations

import copy
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from fakeenv import GOOD_H100, catalog_for_this_python, write_fake_flox, write_fake_torch
from machines import CPUINFO_DIR

from tvselect.base.capability import Capability
from tvselect.facts.model import CpuFacts, Facts, GpuFacts
from tvselect.verify.checks import judge
from tvselect.verify.machine import arch_runs_on
from tvselect.verify.observations import ArchEntry, parse_arch, read_observations, release
from tvselect.verify.run import PayloadFailure
from tvselect.verify.verdict import ERROR, WARNING

CPUINFO = CPUINFO_DIR
ZEN4 = CPUINFO / "linux-rocky8.5-zen4.txt"
TVSELECT = shutil.which("tvselect", path=str(Path(sys.executable).parent)) or "tvselect"

needs_cpuinfo = pytest.mark.skipif(not ZEN4.exists(), reason=f"{CPUINFO} is not here")


def config(**changes: Any) -> dict[str, Any]:
    result = copy.deepcopy(GOOD_H100)
    result.update(changes)
    return result


def run(
    args: list[str], env: dict[str, str], cwd: Path, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [TVSELECT, *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=timeout, check=False
    )


@pytest.fixture
def catalog(tmp_path: Path) -> Path:
    return catalog_for_this_python(tmp_path / "catalog.json")


def verify(
    tmp_path: Path,
    catalog: Path,
    fake: dict[str, Any] | None,
    *extra: str,
    gpu: str = "9.0",
    **env_extra: str,
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any] | None]:
    """Run `tvselect verify --json` with the fake torch of `fake` (None: no torch at all)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "CUDA_VISIBLE_DEVICES")}
    if fake is not None:
        env["PYTHONPATH"] = str(
            write_fake_torch(tmp_path / "fakes", fake, torchvision=fake.get("torchvision", True))
        )
    env.update(env_extra)
    args = ["verify", "--python", sys.executable, "--gpu", gpu, "--driver", "550.54.14"]
    args += ["--cpuinfo", str(ZEN4), "--catalog", str(catalog), "--json", *extra]
    completed = run(args, env, tmp_path)
    doc = json.loads(completed.stdout) if completed.stdout.strip() else None
    return completed, doc


def checks(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in doc["checks"]}


def failed(doc: dict[str, Any]) -> set[str]:
    return {c["name"] for c in doc["checks"] if not c["ok"] and c["severity"] == ERROR}


def warned(doc: dict[str, Any]) -> set[str]:
    return {c["name"] for c in doc["checks"] if not c["ok"] and c["severity"] == WARNING}


tag = f"python{sys.version_info.major}{sys.version_info.minor}"


# --------------------------------------------------------------------------- the console script


@needs_cpuinfo
def test_all_good_exact_match(tmp_path: Path, catalog: Path) -> None:
    completed, doc = verify(tmp_path, catalog, config())
    assert completed.returncode == 0, completed.stderr
    assert doc is not None
    assert doc["schema_version"] == 1 and doc["ok"] is True
    assert doc["python"] and doc["observations"]["torch"]["version"] == "2.9.1+cu129"
    assert failed(doc) == set() and warned(doc) == set()
    names = [c["name"] for c in doc["checks"]]
    assert names[:5] == ["python", "torch-import", "torchvision-import", "version-pair", "cuda"]
    assert {
        "gpu-arch[0]",
        "cuda-driver",
        "cpu-capability",
        "cpu-tensor-op",
        "smoke[cpu]",
        "smoke[cuda:0]",
    } <= set(names)
    assert doc["expected_package"] == f"torchvision-{tag}-cuda12_9-sm90-avx512"
    assert doc["matched"]["branches"] == ["cuda-12_9"] and doc["matched"]["gpu_arch"] == "sm90"
    assert doc["matched"]["cpu_isa"] is None and doc["matched_package"] is None
    assert "CPU ISA it was compiled for is unknown" in checks(doc)["variant"]["detail"]
    assert completed.stderr == ""


@needs_cpuinfo
@pytest.mark.parametrize(
    ("fake", "env", "gpu", "fails", "says"),
    [
        (
            config(arch_list=["sm_80", "sm_86", "sm_120", "compute_120"]),
            {},
            "9.0",
            "gpu-arch[0]",
            "has no code that runs on it",
        ),
        (config(), {"CUDA_VISIBLE_DEVICES": ""}, "9.0", "cuda", "CUDA_VISIBLE_DEVICES is set to ''"),
        (config(torchvision_version="0.23.0"), {}, "9.0", "version-pair", "goes with torchvision 0.24"),
        (config(cuda=None, torch_version="2.9.1+cpu", devices=[]), {}, "9.0", "cuda", "CPU-only build"),
        (config(conv_offset={"cuda": 0.5}), {}, "9.0", "smoke[cuda:0]", "conv2d differs from the CPU's"),
        (config(nms_override={"cuda": [0, 3]}), {}, "9.0", "smoke[cuda:0]", "nms kept [0, 3]"),
        (config(nms_override={"cpu": [1]}), {}, "9.0", "smoke[cpu]", "the known answer is [3, 0]"),
    ],
    ids=[
        "no-sm90",
        "cuda-visible-devices-empty",
        "version-mismatch",
        "cpu-torch-on-gpu",
        "conv-off",
        "nms-gpu-off",
        "nms-cpu-off",
    ],
)
def test_a_failed_check_exits_5(
    tmp_path: Path, catalog: Path, fake: dict[str, Any], env: dict[str, str], gpu: str, fails: str, says: str
) -> None:
    completed, doc = verify(tmp_path, catalog, fake, gpu=gpu, **env)
    assert completed.returncode == 5, completed.stderr
    assert doc is not None and doc["ok"] is False
    assert fails in failed(doc)
    assert says in checks(doc)[fails]["detail"]


@needs_cpuinfo
@pytest.mark.parametrize(
    ("mode", "kind", "says"),
    [
        ("sigill", "signal", "killed by SIGILL during 'import torch'"),
        ("garbage", "bad-output", "printed no JSON object (stdout: this is not json)"),
        ("exit3", "exit-status", "exited with status 3 during 'import torch'"),
    ],
    ids=["sigill", "not-json", "exit-status"],
)
def test_a_broken_interpreter_is_a_failed_check(
    tmp_path: Path, catalog: Path, mode: str, kind: str, says: str
) -> None:
    completed, doc = verify(tmp_path, catalog, config(mode=mode))
    assert completed.returncode == 5
    assert "Traceback" not in completed.stderr
    assert doc is not None and doc["ok"] is False and doc["observations"] is None
    assert doc["failure"]["kind"] == kind
    assert [c["name"] for c in doc["checks"]] == ["python"]
    assert says in checks(doc)["python"]["detail"]
    if mode == "exit3":
        assert "fatal: something broke" in doc["failure"]["stderr_tail"]


@needs_cpuinfo
def test_a_hang_is_cut_by_the_timeout(tmp_path: Path, catalog: Path) -> None:
    started = time.monotonic()
    completed, doc = verify(tmp_path, catalog, config(mode="hang"), "--timeout", "2")
    assert time.monotonic() - started < 60
    assert completed.returncode == 5
    assert doc is not None and doc["failure"]["kind"] == "timeout"
    assert "no answer within 2 s during 'import torch'" in checks(doc)["python"]["detail"]


@needs_cpuinfo
def test_suboptimal_gpu_code_is_a_warning(tmp_path: Path, catalog: Path) -> None:
    fake = config(devices=[{"name": "NVIDIA RTX A6000", "capability": [8, 6]}], arch_list=["sm_80"])
    completed, doc = verify(tmp_path, catalog, fake, gpu="8.6")
    assert completed.returncode == 0, completed.stderr
    assert doc is not None and doc["ok"] is True and failed(doc) == set()
    assert warned(doc) == {"gpu-arch[0]", "variant"}
    assert "sm_80 code runs on it by binary compatibility" in checks(doc)["gpu-arch[0]"]["detail"]
    assert doc["matched"]["gpu_arch"] == "sm80"
    assert doc["expected_package"] == f"torchvision-{tag}-cuda12_9-sm86-avx512"
    assert f"would choose torchvision-{tag}-cuda12_9-sm86-avx512" in checks(doc)["variant"]["detail"]


@needs_cpuinfo
def test_avx2_kernels_on_an_avx512_cpu_is_a_warning(tmp_path: Path, catalog: Path) -> None:
    completed, doc = verify(tmp_path, catalog, config(cpu_capability="AVX2"))
    assert completed.returncode == 0
    assert doc is not None and warned(doc) == {"cpu-capability"}
    assert "can run AVX512" in checks(doc)["cpu-capability"]["detail"]


@needs_cpuinfo
def test_cpu_only_torch_on_a_machine_without_gpu(tmp_path: Path, catalog: Path) -> None:
    fake = config(cuda=None, torch_version="2.9.1+cpu", devices=[], arch_list=[])
    completed, doc = verify(tmp_path, catalog, fake, gpu="none")
    assert completed.returncode == 0, completed.stderr
    assert doc is not None and doc["ok"] is True and failed(doc) == set() and warned(doc) == set()
    assert checks(doc)["cuda"]["detail"] == "no GPU on this machine, and torch is a CPU-only build"
    assert [c["name"] for c in doc["checks"] if c["name"].startswith("smoke")] == ["smoke[cpu]"]
    assert doc["expected_package"] == f"torchvision-{tag}-cpu-avx512"
    assert doc["matched"]["gpu_arch"] is None and doc["matched"]["branches"] == ["cuda-12_9"]


@needs_cpuinfo
def test_torch_not_installed(tmp_path: Path, catalog: Path) -> None:
    if importlib.util.find_spec("torch") is not None:
        pytest.skip("this interpreter has a real torch")
    completed, doc = verify(tmp_path, catalog, None)
    assert completed.returncode == 5
    assert doc is not None
    assert failed(doc) == {"torch-import", "torchvision-import"}
    assert "No module named 'torch'" in checks(doc)["torch-import"]["detail"]


@needs_cpuinfo
def test_torchvision_not_installed(tmp_path: Path, catalog: Path) -> None:
    completed, doc = verify(tmp_path, catalog, config(torchvision=False))
    assert completed.returncode == 5
    assert doc is not None and failed(doc) == {"torchvision-import"}
    assert "nms not run" in checks(doc)["smoke[cpu]"]["detail"]


@needs_cpuinfo
def test_human_output_is_a_checklist(tmp_path: Path, catalog: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "CUDA_VISIBLE_DEVICES"}
    env["PYTHONPATH"] = str(write_fake_torch(tmp_path / "fakes", config(arch_list=["sm_80"])))
    args = [
        "verify",
        "--python",
        sys.executable,
        "--gpu",
        "9.0",
        "--cpuinfo",
        str(ZEN4),
        "--catalog",
        str(catalog),
    ]
    completed = run(args, env, tmp_path)
    assert completed.returncode == 5
    lines = completed.stdout.splitlines()
    assert any(line.strip().startswith("✗ gpu-arch[0]") for line in lines)
    assert any(line.strip().startswith("✓ smoke[cpu]") for line in lines)
    assert lines[-1].startswith("FAILED: 1 check failed")


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["verify", "--python", "/nonexistent/python"], "--python '/nonexistent/python': not found"),
        (["verify", "--python", "/"], "not an executable file"),
        (["verify", "--timeout", "0"], "--timeout 0"),
        (["--verify"], "--verify goes with --install"),
        (["--install", "--org", "acme", "--dry-run", "--verify"], "--verify goes with --install"),
    ],
    ids=[
        "python-missing",
        "python-not-executable",
        "timeout-zero",
        "verify-without-install",
        "verify-dry-run",
    ],
)
def test_bad_usage_exits_2(tmp_path: Path, args: list[str], says: str) -> None:
    completed = run([*args, "--gpu", "none"], dict(os.environ), tmp_path)
    assert completed.returncode == 2
    assert says in completed.stderr
    assert completed.stdout == ""


# --------------------------------------------------------------------------- --install --verify through flox


CPU_TORCH = {"cuda": None, "torch_version": "2.9.1+cpu", "devices": [], "arch_list": []}


@pytest.mark.parametrize(
    ("fake", "status", "ok"),
    [(config(**CPU_TORCH), 0, True), (config(**CPU_TORCH, nms_override={"cpu": [1]}), 5, False)],
    ids=["verified", "verification-fails"],
)
def test_install_then_verify_in_the_flox_environment(
    tmp_path: Path, catalog: Path, fake: dict[str, Any], status: int, ok: bool
) -> None:
    # --install acts only on this machine's own facts: the choice is whatever it is here.
    fakes = write_fake_torch(tmp_path / "fakes", fake)
    log = tmp_path / "flox.log"
    write_fake_flox(tmp_path / "bin", fakes, log)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "CUDA_VISIBLE_DEVICES")}
    env["PATH"] = f"{tmp_path / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    here = json.loads(run(["--json", "--catalog", str(catalog)], env, tmp_path).stdout)
    if here["package"] is None or here["gpu_arch"] is not None:
        pytest.skip("needs a machine without a GPU on which a CPU build runs")
    args = ["--install", "--org", "acme", "--dir", "envdir", "--verify", "--json", "--catalog", str(catalog)]
    completed = run(args, env, tmp_path)
    assert completed.returncode == status, completed.stderr
    doc = json.loads(completed.stdout)
    assert doc["installed"]["ok"] is True
    assert doc["verification"]["ok"] is ok
    assert doc["verification"]["command"][:6] == ["flox", "activate", "-d", "envdir", "--", "python"]
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    assert calls[0][0] == "show" and calls[0][1].startswith(f"acme/{here['package']}")  # what acme publishes
    assert calls[1] == ["install", "-d", "envdir", here["install"][-1].replace("<org>", "acme")]
    assert calls[2][:5] == ["activate", "-d", "envdir", "--", "python"]
    assert calls[2][5].endswith("verify/payload.py")
    assert len(calls) == 3


def test_failed_install_is_not_verified(tmp_path: Path, catalog: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    (tmp_path / "bin").mkdir()
    flox = tmp_path / "bin" / "flox"
    # Published (flox show answers as flox 1.14.1 does), but the install fails.
    flox.write_text('#!/bin/sh\n[ "$1" = show ] && echo "$2 - x" && exit 0\nexit 1\n')
    flox.chmod(0o755)
    env["PATH"] = f"{tmp_path / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    args = ["--install", "--org", "acme", "--verify", "--json", "--catalog", str(catalog)]
    completed = run(args, env, tmp_path)
    if completed.returncode == 3:
        pytest.skip("no variant runs on this machine")
    assert completed.returncode == 4
    assert "verification" not in json.loads(completed.stdout)


# --------------------------------------------------------------------------- the pure parts


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2.9.1+cu129", (2, 9, 1)),
        ("0.24.0a0", (0, 24, 0)),
        ("2.11.0.dev20260101+cu130", (2, 11, 0)),
        ("12.9", (12, 9, 0)),
        ("0.26.0+cu130", (0, 26, 0)),
        ("nightly", None),
        (None, None),
    ],
    ids=["local-tag", "alpha", "dev", "cuda", "tv-local", "words", "none"],
)
def test_release(text: str | None, expected: tuple[int, int, int] | None) -> None:
    assert release(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sm_90", ArchEntry("sm_90", False, (9, 0), "")),
        ("sm_90a", ArchEntry("sm_90a", False, (9, 0), "a")),
        ("sm_100f", ArchEntry("sm_100f", False, (10, 0), "f")),
        ("compute_90", ArchEntry("compute_90", True, (9, 0), "")),
        ("sm_120", ArchEntry("sm_120", False, (12, 0), "")),
        ("gfx90a", None),
    ],
    ids=["sm", "sm-a", "sm-f", "ptx", "sm-3-digits", "rocm"],
)
def test_parse_arch(text: str, expected: ArchEntry | None) -> None:
    assert parse_arch(text) == expected


TEGRA = frozenset({(8, 7), (11, 0)})


@pytest.mark.parametrize(
    ("arch", "gpu", "expected"),
    [
        ("sm_90", (9, 0), None),
        ("sm_80", (8, 6), None),
        ("sm_86", (8, 0), "gpu-minor-too-new"),
        ("sm_80", (9, 0), "gpu-major-differs"),
        ("sm_90a", (9, 0), None),
        ("sm_100a", (10, 3), "arch-specific"),
        ("sm_100f", (10, 3), None),
        ("sm_100f", (12, 0), "gpu-major-differs"),
        ("sm_80", (8, 7), "gpu-tegra-exact"),
        ("compute_80", (9, 0), None),
        ("compute_80", (12, 0), None),
        ("compute_90", (8, 6), "ptx-too-new"),
        ("compute_90a", (10, 0), "arch-specific"),
        ("compute_100f", (12, 0), "ptx-family"),
    ],
    ids=[
        "exact",
        "same-major-lower-minor",
        "minor-too-new",
        "major-differs",
        "arch-specific-exact",
        "arch-specific-other",
        "family",
        "family-other-major",
        "tegra",
        "ptx-newer-gpu",
        "ptx-across-majors",
        "ptx-older-gpu",
        "ptx-arch-specific",
        "ptx-family-other-major",
    ],
)
def test_arch_runs_on(arch: str, gpu: tuple[int, int], expected: str | None) -> None:
    entry = parse_arch(arch)
    assert entry is not None
    assert arch_runs_on(entry, Capability(*gpu), TEGRA) == expected


def _no_gpu_facts() -> Facts:
    cpu = CpuFacts("x86_64", "AuthenticAMD", "test", frozenset({"avx2", "fma", "f16c"}), "test")
    return Facts(cpu, GpuFacts("none", (), (), None, None, "none"))


@pytest.mark.parametrize(
    ("torch_version", "vision_version", "ok", "severity", "says"),
    [
        ("2.9.1+cu129", "0.24.0a0", True, ERROR, "a catalog pair (branch cuda-12_9)"),
        ("2.11.0+cu130", "0.26.0", True, ERROR, "torchvision's compatibility table); not a catalog pair"),
        ("2.12.0", "0.27.0", True, ERROR, "rule for torch 2.x, minor + 15"),
        ("2.11.0", "0.24.0", False, ERROR, "torch 2.11 goes with torchvision 0.26"),
        ("1.13.1", "0.14.1", False, WARNING, "no known rule pairs torch 1.13"),
    ],
    ids=["catalog", "documented-outside-catalog", "rule-beyond-table", "mismatch", "unknown-1x"],
)
def test_version_pair(torch_version: str, vision_version: str, ok: bool, severity: str, says: str) -> None:
    from tvselect.catalog.model import load_catalog
    from tvselect.engine.decision import Options, select

    catalog = load_catalog()
    facts = _no_gpu_facts()
    doc = {
        "payload_version": 1,
        "python": {"executable": "/usr/bin/python3", "version": "3.12.3"},
        "env": {"CUDA_VISIBLE_DEVICES": None},
        "torch": {"version": torch_version, "error": None, "path": "/x/torch/__init__.py"},
        "torchvision": {"version": vision_version, "error": None, "path": "/x/torchvision/__init__.py"},
        "cuda": {"built_with": None, "available": False, "device_count": 0, "devices": [], "arch_list": []},
        "cpu": {"capability": "AVX2", "matmul": [[7.0, 10.0], [15.0, 22.0]]},
        "smoke": [],
    }
    result = judge(read_observations(["python"], doc), facts, catalog, select(facts, catalog, Options()))
    pair = next(c for c in result.checks if c.name == "version-pair")
    assert (pair.ok, pair.severity) == (ok, severity)
    assert says in pair.detail


def test_judge_of_a_failure_names_it() -> None:
    from tvselect.catalog.model import load_catalog
    from tvselect.engine.decision import Options, select

    catalog = load_catalog()
    facts = _no_gpu_facts()
    failure = PayloadFailure(
        ("py", "payload.py"), "signal", "the interpreter was killed by SIGILL", "import torch", ""
    )
    result = judge(failure, facts, catalog, select(facts, catalog, Options()))
    assert result.ok is False and result.python == "py"
    assert [(c.name, c.ok) for c in result.checks] == [("python", False)]


# --------------------------------------------------------------------------- the H100 helper


@needs_cpuinfo
def test_the_no_sm90_helper_hides_sm90_from_a_torch(tmp_path: Path, catalog: Path) -> None:
    """tools/fake_torch_no_sm90.py on the fake torch, as docs/verify-h100.md runs it on the real one."""
    tool = Path(__file__).resolve().parents[1] / "tools" / "fake_torch_no_sm90.py"
    fakes = write_fake_torch(
        tmp_path / "fakes", config(arch_list=["sm_80", "sm_90", "sm_90a", "compute_90", "sm_120"])
    )
    made = subprocess.run(
        [sys.executable, str(tool), str(tmp_path / "nosm90"), "--python", sys.executable],
        capture_output=True,
        text=True,
        check=True,
    )
    wrapper = made.stdout.strip()
    env = {k: v for k, v in os.environ.items() if k != "CUDA_VISIBLE_DEVICES"}
    env["PYTHONPATH"] = str(fakes)
    args = [
        "verify",
        "--python",
        wrapper,
        "--gpu",
        "9.0",
        "--cpuinfo",
        str(ZEN4),
        "--catalog",
        str(catalog),
        "--json",
    ]
    completed = run(args, env, tmp_path)
    assert completed.returncode == 5, completed.stderr
    doc = json.loads(completed.stdout)
    assert doc["observations"]["cuda"]["arch_list"] == ["sm_80", "sm_120"]
    assert failed(doc) == {"gpu-arch[0]"}
    assert "has no code that runs on it" in checks(doc)["gpu-arch[0]"]["detail"]


@needs_cpuinfo
def test_cpu_facts_that_contradict_torch_are_a_warning(tmp_path: Path, catalog: Path) -> None:
    haswell = CPUINFO / "linux-rhel7-haswell.txt"
    completed, doc = verify(tmp_path, catalog, config(), "--cpuinfo", str(haswell))
    assert completed.returncode == 0
    assert doc is not None and "cpu-capability" in warned(doc)
    assert "the facts say this CPU lacks avx512bw" in checks(doc)["cpu-capability"]["detail"]


def test_gpus_hidden_by_cuda_visible_devices_fail_the_cuda_check() -> None:
    """As the NVML probe reports CUDA_VISIBLE_DEVICES='': no usable GPU, the H100 in `excluded`."""
    from tvselect.catalog.model import load_catalog
    from tvselect.engine.decision import Options, select
    from tvselect.facts.model import ExcludedGpu

    catalog = load_catalog()
    cpu = CpuFacts("x86_64", "AuthenticAMD", "test", frozenset({"avx2", "fma", "f16c"}), "test")
    hidden = ExcludedGpu(
        0, "NVIDIA H100 80GB HBM3", None, "CUDA_VISIBLE_DEVICES is empty, which hides every GPU"
    )
    facts = Facts(cpu, GpuFacts("nvml", (), (hidden,), "570.86.15", "12.8", "every GPU is hidden"))
    doc = {
        "payload_version": 1,
        "python": {"executable": "/usr/bin/python3", "version": "3.12.3"},
        "env": {"CUDA_VISIBLE_DEVICES": ""},
        "torch": {"version": "2.11.0+cu128", "error": None, "path": "/x/torch/__init__.py"},
        "torchvision": {"version": "0.26.0+cu128", "error": None, "path": "/x/torchvision/__init__.py"},
        "cuda": {"built_with": "12.8", "available": False, "device_count": 0, "devices": [], "arch_list": []},
        "cpu": {"capability": "AVX2", "matmul": [[7.0, 10.0], [15.0, 22.0]]},
        "smoke": [],
    }
    result = judge(read_observations(["python"], doc), facts, catalog, select(facts, catalog, Options()))
    cuda = next(c for c in result.checks if c.name == "cuda")
    assert result.ok is False and cuda.ok is False and cuda.severity == ERROR
    assert "CUDA_VISIBLE_DEVICES is set to ''" in cuda.detail
    assert "GPU 0: CUDA_VISIBLE_DEVICES is empty" in cuda.detail
    assert not any(c.name.startswith("gpu-arch") for c in result.checks)


# --------------------------------------------------------------------------- the build-* family


def _fake_product(root: Path, name: str, body: str) -> None:
    (root / name).mkdir(parents=True, exist_ok=True)
    (root / name / "__init__.py").write_text(body, encoding="utf-8")


@needs_cpuinfo
def test_torchaudio_and_vllm_are_checked_when_installed(tmp_path: Path, catalog: Path) -> None:
    completed, doc = verify(tmp_path, catalog, config())
    assert doc is not None and not {"torchaudio-import", "vllm-import"} & set(checks(doc))
    assert checks(doc)["one-torch"]["ok"] is True
    fakes = tmp_path / "fakes"
    _fake_product(fakes, "torchaudio", "import torch\n__version__ = '2.9.1'\n")
    _fake_product(fakes, "vllm", "raise ImportError('libcudart.so.12: cannot open shared object file')\n")
    env = {"PYTHONPATH": str(fakes)}
    args = ["verify", "--python", sys.executable, "--gpu", "9.0", "--driver", "550.54.14"]
    args += ["--cpuinfo", str(ZEN4), "--catalog", str(catalog), "--json"]
    base = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "CUDA_VISIBLE_DEVICES")}
    completed = run(args, {**base, **env}, tmp_path)
    doc = json.loads(completed.stdout)
    assert checks(doc)["torchaudio-import"]["ok"] is True
    assert "torchaudio 2.9.1" in checks(doc)["torchaudio-import"]["detail"]
    assert failed(doc) == {"vllm-import"} and completed.returncode == 5
    assert "libcudart.so.12" in checks(doc)["vllm-import"]["detail"]


@needs_cpuinfo
def test_two_torch_packages_on_the_path_fail_verify(tmp_path: Path, catalog: Path) -> None:
    second = write_fake_torch(tmp_path / "second", config())
    completed, doc = verify(tmp_path, catalog, config())
    assert doc is not None and checks(doc)["one-torch"]["ok"] is True
    fakes = tmp_path / "fakes"
    base = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "CUDA_VISIBLE_DEVICES")}
    args = ["verify", "--python", sys.executable, "--gpu", "9.0", "--driver", "550.54.14"]
    args += ["--cpuinfo", str(ZEN4), "--catalog", str(catalog), "--json"]
    completed = run(args, {**base, "PYTHONPATH": f"{fakes}{os.pathsep}{second}"}, tmp_path)
    doc = json.loads(completed.stdout)
    assert completed.returncode == 5 and failed(doc) == {"one-torch"}
    detail = checks(doc)["one-torch"]["detail"]
    assert "2 torch packages on the path" in detail and str(second / "torch") in detail
