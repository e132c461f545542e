"""`tvselect plan --cover / --max-builds / --assign` through the installed console script."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest
from cli_helpers import run, tvselect_exe
from machines import AVX2, AVX512, cpu, machine

from tvselect.facts.document import to_document
from tvselect.facts.model import Facts

FLEET: list[tuple[str, Facts]] = [
    ("train-01", machine(cpu(AVX512), "8.6")),
    ("train-02", machine(cpu(AVX512), "8.6")),
    ("infer-01", machine(cpu(AVX2), "8.0")),
    ("gh-01", machine(cpu(AVX2), "9.0")),
    ("ci-01", machine(cpu(AVX512))),
    ("old-01", machine(cpu(AVX2, arch="ppc64le"))),
]


@pytest.fixture
def fleet(tmp_path: Path) -> Path:
    path = tmp_path / "fleet.jsonl"
    path.write_text("".join(json.dumps(to_document(f._replace(host=h))) + "\n" for h, f in FLEET))
    return path


def test_cover_json_only_adds_a_cover_key(fleet: Path) -> None:
    plain = run("plan", "--json", str(fleet))
    covered = run("plan", "--cover", "--json", str(fleet))
    assert covered.code == plain.code == 3  # old-01: no variant runs on ppc64le
    document, cover_document = plain.json(), covered.json()
    assert isinstance(document, dict) and isinstance(cover_document, dict)
    cover = cover_document.pop("cover")
    assert cover_document == document
    assert cover["proved_optimal"] is True and cover["stopped_by_time_limit"] is None
    assert cover["totals"]["builds"] == 3
    hosts = {h for b in cover["builds"] for h in b["hosts"]}
    assert hosts == {"train-01", "train-02", "infer-01", "gh-01", "ci-01"}
    kinds = {k["example_host"]: k["gives_up"] for k in cover["kinds"]}
    assert kinds["train-01"] == ["exact sm86 → compatible sm80", "avx512 → avx2"]
    assert kinds["old-01"] == ["unserved"]


def test_max_builds_serves_the_most_hosts(fleet: Path) -> None:
    done = run("plan", "--max-builds", "1", "--json", str(fleet))
    cover = done.json()["cover"]  # type: ignore[index]
    assert cover["mode"] == "max-builds" and cover["totals"]["builds"] == 1
    # sm80/avx2 serves the two 8.6 hosts and the 8.0 one: three hosts, more than any other build.
    assert [(b["package"], b["count"]) for b in cover["builds"]] == [
        ("torchvision-python313-cuda12_9-sm80-avx2", 3)
    ]


def test_time_limit_says_it_stopped_and_still_serves_every_host(fleet: Path) -> None:
    done = run("plan", "--cover", "--json", "--time-limit", "1e-9", str(fleet))
    cover = done.json()["cover"]  # type: ignore[index]
    assert cover["proved_optimal"] is False and cover["stopped_by_time_limit"] == "builds"
    assert cover["totals"]["served"] == 5
    human = run("plan", "--cover", "--time-limit", "1e-9", str(fleet))
    assert "Not proved optimal: the time limit (1e-09 s) stopped the solver" in human.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--time-limit", "5"], "--time-limit goes with --cover or --max-builds N"),
        (["--assign", "x.jsonl"], "--assign goes with --cover or --max-builds N"),
        (["--cover", "--max-builds", "2"], "give --cover or --max-builds N, not both"),
        (["--max-builds", "-1"], "--max-builds -1: give 0 or more"),
        (["--cover", "--time-limit", "0"], "--time-limit 0.0: give a number of seconds above 0"),
        (["--cover", "--org", "-x"], "--org '-x'"),
        (["--cover", "--missing", "--org", "acme"], "--missing lists each host's best packages"),
    ],
    ids=["time-limit-alone", "assign-alone", "both", "negative", "zero-time", "bad-org", "missing"],
)
def test_bad_cover_options_are_one_line_exit_2(fleet: Path, args: list[str], message: str) -> None:
    done = run("plan", *args, str(fleet))
    assert done.code == 2 and done.stdout == ""
    assert len(done.stderr.splitlines()) == 1 and message in done.stderr


def _not_mine(tmp_path: Path) -> Path:
    path = tmp_path / "notes.txt"
    path.write_text("my notes\n")
    return path


def _folder(tmp_path: Path) -> Path:
    path = tmp_path / "folder"
    path.mkdir()
    return path


def _link(tmp_path: Path) -> Path:
    mine = tmp_path / "real.jsonl"
    mine.write_text('{"kind": "tvselect.assignment"}\n')
    link = tmp_path / "link.jsonl"
    link.symlink_to(mine)
    return link


def _fifo(tmp_path: Path) -> Path:
    path = tmp_path / "fifo"
    os.mkfifo(path)
    return path


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (_not_mine, "tvselect did not write it"),
        (_folder, "not a regular file"),
        (_link, "not a regular file"),
        (_fifo, "not a regular file"),
    ],
    ids=["other-file", "directory", "symlink", "fifo"],
)
def test_assign_never_replaces_what_tvselect_did_not_write(
    tmp_path: Path, fleet: Path, make: object, message: str
) -> None:
    target = make(tmp_path)  # type: ignore[operator]
    before = os.lstat(target)
    content = target.read_text() if target.is_file() and not target.is_symlink() else None
    done = run("plan", "--cover", "--json", "--assign", str(target), str(fleet))
    assert done.code == 2 and done.stdout == ""
    assert len(done.stderr.splitlines()) == 1 and message in done.stderr
    after = os.lstat(target)
    assert (after.st_ino, after.st_mode, after.st_mtime_ns) == (
        before.st_ino,
        before.st_mode,
        before.st_mtime_ns,
    )
    if content is not None:
        assert target.read_text() == content
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_assign_writes_one_line_per_host_and_replaces_its_own_file(tmp_path: Path, fleet: Path) -> None:
    target = tmp_path / "assignment.jsonl"
    for _ in range(2):
        done = run("plan", "--cover", "--org", "acme", "--assign", str(target), str(fleet))
        assert done.code == 3, done.stderr
    lines = [json.loads(line) for line in target.read_text().splitlines()]
    assert lines[0]["kind"] == "tvselect.assignment" and lines[0]["hosts"] == len(FLEET)
    by_host = {line["host"]: line for line in lines[1:]}
    assert list(by_host) == [h for h, _ in FLEET]
    assert by_host["train-01"]["install"] == [
        "flox",
        "install",
        "acme/torchvision-python313-cuda12_9-sm80-avx2",
    ]
    assert by_host["old-01"] == {"host": "old-01", "package": None, "branch": None, "install": None}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["assignment.jsonl", "fleet.jsonl"]


def test_package_names_are_whole_at_80_columns(fleet: Path) -> None:
    primary, secondary = pty.openpty()
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    process = subprocess.Popen(
        [tvselect_exe(), "plan", "--cover", str(fleet)], stdout=secondary, stderr=secondary, env=env
    )
    os.close(secondary)
    chunks = []
    while True:
        try:
            chunk = os.read(primary, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    process.wait(timeout=60)
    os.close(primary)
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", b"".join(chunks).decode())
    assert "Optimal: proved" in text
    for package in (
        "torchvision-python313-cuda12_9-sm80-avx2",
        "torchvision-python313-cuda12_9-sm90-avx2",
        "torchvision-python313-cpu-avx512",
    ):
        assert package in text
    assert max(len(line) for line in text.splitlines()) <= 80


@pytest.mark.parametrize(
    ("args", "imported"),
    [(["plan", "--json"], False), (["plan", "--cover", "--json"], True)],
    ids=["plan", "cover"],
)
def test_solver_is_imported_only_for_a_cover(fleet: Path, args: list[str], imported: bool) -> None:
    code = (
        "import sys\n"
        "from tvselect.cli.main import main\n"
        f"rc = main({[*args, str(fleet)]!r})\n"
        "print('SOLVER=' + str('highspy' in sys.modules), file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert f"SOLVER={imported}" in done.stderr, done.stderr


@pytest.mark.parametrize(
    ("args", "check"),
    [
        (["--branch", "main"], lambda b: b["branch"] == "main"),
        (["--cpu-only"], lambda b: b["gpu_arch"] is None),
        (["--workload", "bf16-training"], lambda b: True),
    ],
    ids=["branch", "cpu-only", "workload"],
)
def test_cover_combines_with_the_choice_options(fleet: Path, args: list[str], check: object) -> None:
    plain = run("plan", "--json", *args, str(fleet)).json()
    done = run("plan", "--cover", "--json", *args, str(fleet))
    document = done.json()
    assert isinstance(document, dict) and isinstance(plain, dict)
    cover = document.pop("cover")
    assert document == plain
    assert cover["proved_optimal"] is True and cover["builds"]
    assert all(check(b) for b in cover["builds"])  # type: ignore[operator]
    # Every host the plain plan serves, the cover serves.
    assert cover["totals"]["served"] == plain["totals"]["served"]


def test_max_builds_zero_serves_nobody(fleet: Path) -> None:
    done = run("plan", "--max-builds", "0", "--json", str(fleet))
    cover = done.json()["cover"]  # type: ignore[index]
    assert done.code == 3 and cover["builds"] == [] and cover["totals"]["served"] == 0
    assert all(k["gives_up"] == ["unserved"] for k in cover["kinds"])


def test_available_packages_cost_no_build(tmp_path: Path, fleet: Path) -> None:
    listing = tmp_path / "published.txt"
    listing.write_text("acme/torchvision-python313-cuda12_9-sm86-avx512\n")
    done = run("plan", "--cover", "--json", "--available", str(listing), "--org", "acme", str(fleet))
    document = done.json()
    assert isinstance(document, dict)
    cover = document["cover"]
    published = [b["package"] for b in cover["builds"] if b["published"]]
    assert published == ["torchvision-python313-cuda12_9-sm86-avx512"]
    assert cover["totals"]["published_used"] == 1
    # The 8.6 hosts keep their exact build, which costs nothing; the plan part marks it too.
    kinds = {k["example_host"]: k["gives_up"] for k in cover["kinds"]}
    assert kinds["train-01"] == []
    assert {p["package"]: p["published"] for p in document["packages"]}[published[0]] is True
