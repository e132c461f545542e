"""The probe root: paths resolved inside it as a chroot would, links never leading out of it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tvselect.errors import BadInputError
from tvselect.probe.cpu import read_cpuinfo
from tvselect.probe.root import HOST_ROOT, ProbeRoot, probe_root


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A root with a file, links of each kind, a loop and a FIFO; and a file outside it."""
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "hostname").write_text("inside\n")
    (tmp_path / "hostname").write_text("outside\n")
    (root / "sys" / "firmware" / "base").mkdir(parents=True)
    (root / "sys" / "firmware" / "base" / "model").write_text("board")
    (root / "proc").mkdir()
    os.symlink("/sys/firmware/base", root / "proc" / "device-tree")  # absolute: re-rooted
    os.symlink("/etc/hostname", root / "absolute")
    os.symlink("../../../../../../../../hostname", root / "climbs")  # .. stops at the root
    os.symlink("../etc/hostname", root / "etc" / "relative")
    os.symlink("loop-b", root / "loop-a")
    os.symlink("loop-a", root / "loop-b")
    os.mkfifo(root / "fifo")
    return root


@pytest.mark.parametrize(
    ("path", "text"),
    [
        ("/etc/hostname", "inside\n"),
        ("/proc/device-tree/model", "board"),
        ("/absolute", "inside\n"),
        ("/etc/relative", "inside\n"),
        ("/etc/../etc/./hostname", "inside\n"),
    ],
    ids=["plain", "absolute-dir-link", "absolute-file-link", "relative-link", "dots"],
)
def test_reads_inside_the_root(tree: Path, path: str, text: str) -> None:
    assert ProbeRoot(str(tree)).read_text(path) == text


@pytest.mark.parametrize(
    ("path", "error"),
    [
        ("/climbs", "No such file"),  # would be tmp_path/hostname ("outside") if links escaped
        ("/loop-a", "symbolic links"),
        ("/fifo", "not a regular file"),
        ("/missing/file", "No such file"),
    ],
    ids=["link-climbing-out", "link-loop", "fifo-never-opened", "missing"],
)
def test_never_reads_outside_or_blocks(tree: Path, path: str, error: str) -> None:
    with pytest.raises(OSError, match=error):
        ProbeRoot(str(tree)).read_text(path)
    assert not ProbeRoot(str(tree)).isdir(path)


def test_size_cap(tree: Path) -> None:
    (tree / "big").write_bytes(b"x" * 100_000)
    assert len(ProbeRoot(str(tree)).read_text("/big", 1000)) == 1000


def test_host_root_is_the_path_itself() -> None:
    assert HOST_ROOT.resolve("/proc/cpuinfo") == "/proc/cpuinfo"
    assert HOST_ROOT.shown("/proc/cpuinfo") == "/proc/cpuinfo"


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, "/"), ("", "/"), ("/", "/"), ("//", "/")],
    ids=["unset", "empty", "slash", "double-slash"],
)
def test_probe_root_from_environment(value: str | None, expected: str) -> None:
    environ = {} if value is None else {"TVSELECT_ROOT": value}
    assert probe_root(environ).path == expected
    assert probe_root(environ).is_host


def test_probe_root_must_be_a_folder(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    for value in (str(tmp_path / "missing"), str(tmp_path / "file")):
        with pytest.raises(BadInputError, match=r"TVSELECT_ROOT=.*not a folder"):
            probe_root({"TVSELECT_ROOT": value})
    assert probe_root({"TVSELECT_ROOT": str(tmp_path)}) == ProbeRoot(str(tmp_path))


def test_cpu_under_a_root_never_asks_this_machine(tree: Path) -> None:
    facts = read_cpuinfo(ProbeRoot(str(tree)))
    assert (facts.arch, facts.source) == ("unknown", "none")
    assert facts.unknown_reason is not None and "proc/cpuinfo cannot be read" in facts.unknown_reason
