"""Node Feature Discovery labels: values, file format, atomic writes, and `tvselect --nfd`."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tvselect.base.capability import Capability
from tvselect.catalog.model import Catalog, load_catalog
from tvselect.engine.decision import Options, select
from tvselect.errors import BadInputError, ExitCode
from tvselect.facts.model import CpuFacts, Facts, Gpu, GpuFacts
from tvselect.fleet.nfd import (
    HEADER,
    NAMESPACE,
    check_target,
    expiry_time,
    is_label_value,
    label_value,
    nfd_labels,
    parse_duration,
    remove_nfd,
    render_nfd,
    write_nfd,
)

CPUINFO = Path(__file__).resolve().parents[1].parent / "shared" / "cpuinfo"
ROOTS = Path(__file__).parent / "roots"
TVSELECT = str(Path(sys.executable).with_name("tvselect"))
HASWELL = CPUINFO / "linux-rhel7-haswell.txt"
POWER9 = CPUINFO / "linux-rhel8-power9.txt"

LONG = "torchvision-python313-cuda12_9-sm90-avx512bf16-with-a-much-longer-suffix-than-fits"


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def _machine(caps: tuple[tuple[int, int], ...], features: frozenset[str], arch: str = "x86_64") -> Facts:
    cpu = CpuFacts(arch, "GenuineIntel", "test CPU", features, "test")
    gpus = tuple(Gpu(i, "test GPU", None, Capability(*cap), None, None) for i, cap in enumerate(caps))
    gpu = GpuFacts("simulated" if gpus else "none", gpus, (), "580.65.06", None, None if gpus else "none")
    return Facts(cpu, gpu)


AVX2 = frozenset({"avx", "avx2", "fma", "f16c"})


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        pytest.param("torchvision-python313-cuda12_9-sm90-avx512", True, id="package"),
        pytest.param("0.24.0", True, id="version"),
        pytest.param("a", True, id="one-char"),
        pytest.param("a" * 63, True, id="63-chars"),
        pytest.param("a" * 64, False, id="64-chars"),
        pytest.param("", False, id="empty"),
        pytest.param("-a", False, id="leading-dash"),
        pytest.param("a.", False, id="trailing-dot"),
        pytest.param("0.24.0+cu129", False, id="plus"),
        pytest.param("a b", False, id="space"),
        pytest.param("é", False, id="non-ascii"),
    ],
)
def test_is_label_value(value: str, valid: bool) -> None:
    assert is_label_value(value) is valid


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "torchvision-python313-cpu-avx2", "torchvision-python313-cpu-avx2", id="valid-unchanged"
        ),
        pytest.param("0.24.0+cu129", "0.24.0-cu129", id="plus-becomes-dash"),
        pytest.param("--x y--", "x-y", id="ends-stripped"),
        pytest.param("", "unknown", id="empty"),
        pytest.param("+++", "unknown", id="nothing-left"),
    ],
)
def test_label_value_sanitises(text: str, expected: str) -> None:
    assert label_value(text) == expected


def test_label_value_too_long_is_cut_and_hashed() -> None:
    value = label_value(LONG)
    digest = hashlib.sha256(LONG.encode()).hexdigest()[:8]
    # The first 54 characters, less a trailing separator, then '-' and 8 hex digits of SHA-256.
    assert value == "torchvision-python313-cuda12_9-sm90-avx512bf16-with-a-" + digest
    assert is_label_value(value) and len(value) <= 63
    assert value == label_value(LONG)  # deterministic
    assert value != label_value(LONG + "x")  # distinct texts stay distinct


@given(st.text(max_size=200))
def test_label_value_is_always_valid_and_stable(text: str) -> None:
    value = label_value(text)
    assert is_label_value(value)
    assert label_value(value) == value


@pytest.mark.parametrize(
    ("caps", "features", "arch", "expected"),
    [
        pytest.param(
            ((9, 0),),
            AVX2,
            "x86_64",
            {
                "package": "torchvision-python313-cuda12_9-sm90-avx2",
                "branch": "cuda-12_9",
                "gpu-arch": "sm90",
                "cpu-isa": "avx2",
                "torchvision": "0.24.0",
            },
            id="cuda",
        ),
        pytest.param(
            (),
            AVX2,
            "x86_64",
            {
                "package": "torchvision-python313-cpu-avx2",
                "branch": "cuda-12_9",
                "gpu-arch": "none",
                "cpu-isa": "avx2",
                "torchvision": "0.24.0",
            },
            id="cpu-only",
        ),
        pytest.param((), frozenset(), "ppc64le", {}, id="no-match"),
    ],
)
def test_nfd_labels(
    catalog: Catalog,
    caps: tuple[tuple[int, int], ...],
    features: frozenset[str],
    arch: str,
    expected: dict[str, str],
) -> None:
    decision = select(_machine(caps, features, arch), catalog, Options())
    labels = nfd_labels(decision, catalog)
    assert labels == [(NAMESPACE + k, v) for k, v in expected.items()]
    assert all(is_label_value(v) for _, v in labels)


def test_every_catalog_variant_makes_valid_labels(catalog: Catalog) -> None:
    """Whatever gets chosen, its labels fit Kubernetes unchanged (no sanitising needed)."""
    for variant in catalog.variants:
        branch = catalog.branches[variant.branch]
        for text in (
            variant.package,
            variant.branch,
            variant.gpu_arch or "none",
            variant.cpu_isa,
            branch.torchvision,
        ):
            assert text is None or is_label_value(text), text


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        pytest.param("45s", 45, id="seconds"),
        pytest.param("30m", 1800, id="minutes"),
        pytest.param("12h", 43200, id="hours"),
        pytest.param("7d", 604800, id="days"),
    ],
)
def test_parse_duration(text: str, seconds: int) -> None:
    assert parse_duration(text) == dt.timedelta(seconds=seconds)


@pytest.mark.parametrize(
    "text",
    ["", "0h", "12", "h", "1.5h", "-1h", "1H", "1h30m", " 1h", "1w", "01h", "1000000d"],
    ids=[
        "empty",
        "zero",
        "no-unit",
        "no-number",
        "fraction",
        "negative",
        "upper",
        "compound",
        "space",
        "weeks",
        "leading-zero",
        "too-big",
    ],
)
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(BadInputError, match="--nfd-expiry"):
        parse_duration(text)


def test_render_with_expiry_puts_the_directive_first() -> None:
    now = dt.datetime(2026, 1, 2, 3, 4, 5, 678, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    until = expiry_time(now, parse_duration("12h"))
    text = render_nfd([(NAMESPACE + "package", "p"), (NAMESPACE + "branch", "b")], until)
    assert text.splitlines() == [
        "# +expiry-time=2026-01-02T13:04:05Z",
        "# Written by tvselect --nfd; rewritten on every run.",
        "tvselect.feature.node.kubernetes.io/package=p",
        "tvselect.feature.node.kubernetes.io/branch=b",
    ]


def test_render_without_expiry_has_no_directive() -> None:
    text = render_nfd([(NAMESPACE + "package", "p")], None)
    assert "+expiry-time" not in text
    assert text.endswith("tvselect.feature.node.kubernetes.io/package=p\n")


def test_write_replaces_its_own_file_keeping_its_mode(tmp_path: Path) -> None:
    path = tmp_path / "tvselect"
    path.write_text(HEADER + "\nold=1\n")
    os.chmod(path, 0o600)
    write_nfd(str(path), "new\n")
    assert path.read_text() == "new\n"
    assert os.listdir(tmp_path) == ["tvselect"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_write_makes_a_new_file_0644(tmp_path: Path) -> None:
    path = tmp_path / "tvselect"
    write_nfd(str(path), "new\n")
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _link(path: Path) -> None:
    (path.parent / "target").write_text(HEADER + "\n")
    path.symlink_to(path.parent / "target")


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p.write_text("precious\n"), "tvselect did not write it"),
        (lambda p: p.write_text(""), "tvselect did not write it"),
        (lambda p: p.write_text("# +expiry-time=2026-01-01T00:00:00Z\nx=1\n"), "tvselect did not write it"),
        (lambda p: p.mkdir(), "not a regular file"),
        (_fifo, "not a regular file"),
        (_link, "a symbolic link"),
    ],
    ids=["foreign-file", "empty-file", "expiry-but-foreign", "directory", "fifo", "symlink"],
)
@pytest.mark.parametrize("act", ["write", "remove", "check"])
def test_never_touches_a_file_tvselect_did_not_write(
    tmp_path: Path, make: Callable[[Path], object], message: str, act: str
) -> None:
    path = tmp_path / "labels"
    make(path)
    before = sorted(os.listdir(tmp_path))
    text = path.read_text() if path.is_file() and not path.is_fifo() else None
    with pytest.raises(BadInputError, match=message):
        {"write": lambda: write_nfd(str(path), "new\n"), "remove": lambda: remove_nfd(str(path))}.get(
            act, lambda: check_target(str(path))
        )()
    assert sorted(os.listdir(tmp_path)) == before
    assert (path.read_text() if text is not None else None) == text


def test_write_into_a_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match=r"cannot write in .*no such directory"):
        write_nfd(str(tmp_path / "absent" / "tvselect"), "x\n")


@pytest.mark.parametrize("present", [True, False], ids=["present", "absent"])
def test_remove(tmp_path: Path, present: bool) -> None:
    path = tmp_path / "tvselect"
    if present:
        path.write_text("# +expiry-time=2026-01-01T00:00:00Z\n" + HEADER + "\n")
    assert remove_nfd(str(path)) is present
    assert not path.exists()


# --- the command line --------------------------------------------------------------------


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([TVSELECT, *args], capture_output=True, text=True, timeout=60, check=False, env=env)


@pytest.fixture
def cpuinfo() -> tuple[str, str]:
    if not (HASWELL.is_file() and POWER9.is_file()):
        pytest.skip(f"machine data in {CPUINFO} is not here")
    return str(HASWELL), str(POWER9)


def _node(tmp_path: Path, cpuinfo: str) -> dict[str, str]:
    """This node's own facts from a probe root: an H100 without its driver (tests/roots/nvidia-no-driver,
    identified by its PCI device ID) with the CPU of `cpuinfo`. --nfd refuses simulated facts."""
    root = tmp_path / "node"
    shutil.copytree(ROOTS / "nvidia-no-driver", root, symlinks=True)
    shutil.copy(cpuinfo, root / "proc" / "cpuinfo")
    return {**os.environ, "TVSELECT_ROOT": str(root), "PATH": "/nonexistent", "LD_LIBRARY_PATH": ""}


def test_cli_writes_then_removes_on_no_match(tmp_path: Path, cpuinfo: tuple[str, str]) -> None:
    haswell, power9 = cpuinfo
    path = tmp_path / "tvselect"
    done = _run("--json", "--nfd", str(path), "--nfd-expiry", "2h", env=_node(tmp_path / "a", haswell))
    assert done.returncode == ExitCode.OK, done.stderr
    lines = path.read_text().splitlines()
    assert lines[0].startswith("# +expiry-time=")
    stamp = dt.datetime.strptime(lines[0].split("=", 1)[1], "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=dt.timezone.utc
    )
    assert abs((stamp - dt.datetime.now(dt.timezone.utc)) - dt.timedelta(hours=2)) < dt.timedelta(minutes=5)
    assert f"{NAMESPACE}package=torchvision-python313-cuda12_9-sm90-avx2" in lines
    assert f"{NAMESPACE}gpu-arch=sm90" in lines

    done = _run("--json", "--nfd", str(path), env=_node(tmp_path / "b", power9))
    assert done.returncode == ExitCode.NO_MATCH
    assert not path.exists()
    assert "removed" in done.stderr
    assert sorted(os.listdir(tmp_path)) == ["a", "b"]


@pytest.mark.parametrize(
    "simulated",
    [("--gpu", "9.0"), ("--driver", "550.54.14"), ("--cpuinfo", "{haswell}"), ("--facts", "{facts}")],
    ids=["gpu", "driver", "cpuinfo", "facts"],
)
def test_cli_nfd_refuses_simulated_facts(
    tmp_path: Path, cpuinfo: tuple[str, str], simulated: tuple[str, ...]
) -> None:
    """NFD labels describe this node, as an install is for it: neither takes simulated facts."""
    path = tmp_path / "tvselect"
    facts = tmp_path / "facts.json"
    facts.write_text("{}")
    argv = [a.format(haswell=cpuinfo[0], facts=facts) for a in simulated]
    done = _run("--json", *argv, "--nfd", str(path))
    assert done.returncode == ExitCode.BAD_INPUT
    assert "--nfd labels this node from its own facts" in done.stderr
    assert not path.exists() and done.stdout == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(("--nfd", "{path}", "--nfd-expiry", "soon"), "--nfd-expiry 'soon'", id="bad-duration"),
        pytest.param(("--nfd-expiry", "1h"), "goes with --nfd", id="expiry-without-nfd"),
        pytest.param(("--nfd", "{missing}"), "cannot write in", id="missing-directory"),
        pytest.param(("--nfd", "{path}"), "tvselect did not write it", id="foreign-file"),
    ],
)
def test_cli_bad_nfd_input(
    tmp_path: Path, cpuinfo: tuple[str, str], args: tuple[str, ...], message: str
) -> None:
    path = tmp_path / "tvselect"
    path.write_text("kept\n")
    argv = [a.format(path=path, missing=tmp_path / "absent" / "x") for a in args]
    done = _run("--json", *argv, env=_node(tmp_path, cpuinfo[0]))
    assert done.returncode == ExitCode.BAD_INPUT
    assert message in done.stderr
    assert path.read_text() == "kept\n"
