"""The installed `tvselect catalog import` against git repositories and recipe files as hostile
input (issue 23, items 2, 4 and 5): a repository's filters, attributes, fsmonitor and hooks are
never run, GIT_* variables never redirect it, a partial clone never reaches for the network;
symlinks, submodules, oversized entries, blocking files and a misbehaving `git` are one line;
names with terminal escapes never reach the terminal raw.

Each row asserts the exit status, one stderr line, no traceback, the wall-clock bound, and that
no process the fake git recorded (with its grandchildren) is left running.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cli_helpers import tvselect_exe
from hostile_fakes import kill_recorded, left_running, write_fakes

TEAM = Path(__file__).resolve().parent / "recipes" / "team"
AVX2 = "torchvision-python313-cpu-avx2.nix"
EVIL = "ev\x1b]0;owned\x07il\u202e"
RAW = ("\x1b", "\x07", "\u202e")


def _git(repo: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t", GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@t")
    done = subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, env=env, text=True
    )
    return done.stdout.strip()


def _repo(root: Path, name: str = "repo") -> Path:
    repo = root / name
    shutil.copytree(TEAM, repo)
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "two recipes")
    return repo


def _commit(repo: Path, message: str) -> None:
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", message)


def _evil_config(root: Path) -> Path:
    """Filters, attributes, fsmonitor and hooks that would each leave a marker file if run."""
    repo = _repo(root)
    marker = root / "ran"
    (repo / ".gitattributes").write_text("*.nix filter=evil diff=evil export-ignore export-subst\n")
    _commit(repo, "attributes")
    for key, value in {
        "filter.evil.smudge": f"sh -c 'touch {marker}'",
        "filter.evil.clean": f"sh -c 'touch {marker}'",
        "filter.evil.process": f"sh -c 'touch {marker}'",
        "diff.evil.textconv": f"sh -c 'touch {marker}'",
        "core.fsmonitor": f"sh -c 'touch {marker}'",
        "core.pager": f"sh -c 'touch {marker}'",
    }.items():
        _git(repo, "config", key, value)
    (repo / ".git" / "info" / "attributes").write_text("* filter=evil\n")
    for hook in ("post-checkout", "pre-command", "reference-transaction"):
        path = repo / ".git" / "hooks" / hook
        path.write_text(f"#!/bin/sh\ntouch {marker}\n")
        path.chmod(0o755)
    return repo


def _other_repo_in_env(root: Path) -> Path:
    repo = _repo(root)
    other = _repo(root, "other")
    (other / ".flox/pkgs" / AVX2).unlink()
    _commit(other, "one recipe")
    return repo


def _symlink_blob(root: Path) -> Path:
    repo = _repo(root)
    (repo / ".flox/pkgs/passwd.nix").symlink_to("/etc/passwd")
    _commit(repo, "a link")
    return repo


def _submodule(root: Path) -> Path:
    repo = _repo(root)
    head = _git(repo, "rev-parse", "HEAD")
    _git(repo, "update-index", "--add", "--cacheinfo", f"160000,{head},.flox/pkgs/sub.nix")
    _git(repo, "commit", "-q", "-m", "a submodule")
    return repo


def _many_big_recipes(root: Path) -> Path:
    """21 recipes, 20 of 240 KiB (one replacing the avx2 recipe): 4.7 MiB, each under the recipe cap."""
    repo = _repo(root)
    text = (TEAM / ".flox/pkgs" / AVX2).read_text()
    padding = ("# " + "x" * 1021 + "\n") * 240
    for minor in range(10, 30):
        name = f"torchvision-python3{minor}-cpu-avx2.nix"
        (repo / ".flox/pkgs" / name).write_text(padding + text.replace("python313", f"python3{minor}"))
    _commit(repo, "many big recipes")
    return repo


def _oversized(root: Path) -> Path:
    repo = _repo(root)
    (repo / ".flox/pkgs/huge.nix").write_text("# " + "x" * (300 * 1024) + "\n")
    _commit(repo, "a huge recipe")
    return repo


def _partial_clone(root: Path) -> Path:
    source = _repo(root, "source")
    _git(source, "config", "uploadpack.allowFilter", "true")
    clone = root / "clone"
    subprocess.run(
        ["git", "clone", "-q", "--no-checkout", "--filter=blob:none", f"file://{source}", str(clone)],
        check=True,
        capture_output=True,
    )
    return clone


def _escaped_branch(root: Path) -> Path:
    repo = _repo(root)
    _git(repo, "branch", "-m", "main", "ev\u202eil")  # git refuses ESC and BEL in branch names
    return repo


@dataclass(frozen=True)
class Row:
    make: Callable[[Path], Path]
    args: tuple[str, ...]
    code: int
    says: str
    within: float = 10.0
    env: tuple[tuple[str, str], ...] = ()


IMPORT = ("catalog", "import", "{repo}", "--branch", "main")

ROWS = {
    "filters-attributes-fsmonitor-hooks-pager": Row(_evil_config, IMPORT, 0, "imported main 2 variants"),
    "git-dir-and-work-tree-in-env": Row(
        _other_repo_in_env,
        IMPORT,
        0,
        "imported main 2 variants",
        env=(("GIT_DIR", "{root}/other/.git"), ("GIT_WORK_TREE", "{root}/other"), ("GIT_INDEX_FILE", "/x")),
    ),
    "symlink-blob-outside": Row(_symlink_blob, IMPORT, 2, "main:.flox/pkgs/passwd.nix: a symbolic link"),
    "submodule-entry": Row(_submodule, IMPORT, 2, "main:.flox/pkgs/sub.nix: a submodule"),
    "recipes-over-4-mib": Row(_many_big_recipes, IMPORT, 0, "imported main 21 variants"),
    "oversized-entry": Row(
        _oversized, IMPORT, 2, "main:.flox/pkgs/huge.nix: 307203 bytes, more than 256 KiB"
    ),
    "partial-clone-no-network": Row(
        _partial_clone, IMPORT, 2, "not in the repository (a partial clone?); tvselect does not fetch"
    ),
    "escaped-branch-name": Row(
        _escaped_branch, ("catalog", "import", "{repo}", "--all-branches"), 0, "imported ev"
    ),
    "fake-git-answers-garbage": Row(_repo, IMPORT, 2, "git cat-file in", env=(("FAKE_GIT", "garbage"),)),
    "fake-git-floods": Row(_repo, IMPORT, 2, "printed more than", env=(("FAKE_GIT", "flood"),)),
    "fake-git-leaves-grandchild": Row(_repo, IMPORT, 0, "imported main 2", env=(("FAKE_GIT", "grandchild"),)),
    "fake-git-leaves-detached": Row(_repo, IMPORT, 0, "imported main 2", env=(("FAKE_GIT", "detached"),)),
    "git-timeout-not-a-number": Row(
        _repo, IMPORT, 2, "TVSELECT_GIT_TIMEOUT=nan: give a number", env=(("TVSELECT_GIT_TIMEOUT", "nan"),)
    ),
    "fake-git-closes-and-hangs": Row(
        _repo,
        IMPORT,
        2,
        "did not finish in 1 s",
        env=(("FAKE_GIT", "closes-and-hangs"), ("TVSELECT_GIT_TIMEOUT", "1")),
    ),
}


@pytest.fixture
def fakes(tmp_path: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    env = write_fakes(tmp_path)
    yield tmp_path, env
    kill_recorded(tmp_path)


def _run(args: list[str], env: dict[str, str], cwd: Path) -> tuple[subprocess.CompletedProcess[str], float]:
    variables = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "FAKE_", "TVSELECT_"))}
    variables.update(env)
    started = time.monotonic()
    done = subprocess.run(
        [tvselect_exe(), *args],
        env=variables,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return done, time.monotonic() - started


def _one_line(stderr: str, says: str) -> None:
    assert "Traceback" not in stderr and "unexpected error" not in stderr, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tvselect: ") and says in lines[0], stderr
    assert not any(c in stderr for c in RAW), repr(stderr)


@pytest.mark.parametrize("row", list(ROWS.values()), ids=list(ROWS))
def test_git_is_read_as_data(fakes: tuple[Path, dict[str, str]], row: Row) -> None:
    root, env = fakes
    repo = row.make(root)
    values = {"repo": str(repo), "root": str(root)}
    args = [a.format(**values) for a in row.args]
    extra = {k: v.format(**values) for k, v in row.env}
    done, seconds = _run(args, {**env, **extra}, root)
    assert done.returncode == row.code, done.stderr
    _one_line(done.stderr, row.says)
    assert seconds < row.within, seconds
    assert not (root / "ran").exists(), "a program the repository configures was run"
    assert left_running(root) == []


def _blocking_recipe(root: Path) -> tuple[Path, str]:
    folder = root / "checkout"
    shutil.copytree(TEAM, folder)
    os.mkfifo(root / "fifo")
    (folder / ".flox/pkgs/blocks.nix").symlink_to(root / "fifo")
    return folder, "blocks.nix: cannot be read (not a regular file)"


def _device_recipe(root: Path) -> tuple[Path, str]:
    folder = root / "checkout"
    shutil.copytree(TEAM, folder)
    (folder / ".flox/pkgs/zero.nix").symlink_to("/dev/zero")
    return folder, "zero.nix: cannot be read (not a regular file)"


def _kmsg_recipe(root: Path) -> tuple[Path, str]:
    """A kernel file that blocks, and that a read would drain: read no further than its size, 0."""
    if not os.path.exists("/proc/kmsg"):
        pytest.skip("no /proc/kmsg here")
    folder = root / "checkout"
    shutil.copytree(TEAM, folder)
    (folder / ".flox/pkgs/kmsg.nix").symlink_to("/proc/kmsg")
    return folder, "kmsg.nix:1: empty"


def _escaped_recipe_name(root: Path) -> tuple[Path, str]:
    folder = root / "checkout"
    shutil.copytree(TEAM, folder)
    (folder / ".flox/pkgs" / f"{EVIL}.nix").write_text("{ pname = ; }\n")
    return folder, "evil.nix"


def _escaped_folder_name(root: Path) -> tuple[Path, str]:
    folder = root / EVIL
    shutil.copytree(TEAM, folder)
    return folder, "imported evil 2 variants"


FILES = {
    "recipe-links-to-fifo": (_blocking_recipe, 2),
    "recipe-links-to-device": (_device_recipe, 2),
    "recipe-links-to-proc-kmsg": (_kmsg_recipe, 2),
    "recipe-name-with-escapes": (_escaped_recipe_name, 2),
    "folder-name-with-escapes": (_escaped_folder_name, 0),
}


@pytest.mark.parametrize("case", list(FILES.values()), ids=list(FILES))
def test_recipe_files_and_names(tmp_path: Path, case: tuple[Callable[[Path], tuple[Path, str]], int]) -> None:
    make, code = case
    folder, says = make(tmp_path)
    done, seconds = _run(["catalog", "import", str(folder)], {}, tmp_path)
    assert done.returncode == code, done.stderr
    _one_line(done.stderr, says)
    assert seconds < 8


def test_a_probe_root_whose_cpuinfo_is_a_fifo_never_hangs(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "proc").mkdir(parents=True)
    (root / "dev").mkdir()
    os.mkfifo(root / "dev" / "blocks")
    (root / "proc" / "cpuinfo").symlink_to("/dev/blocks")  # read inside the root: its dev/blocks
    done, seconds = _run(["--json", "--gpu", "none"], {"TVSELECT_ROOT": str(root)}, tmp_path)
    assert seconds < 8
    assert "Traceback" not in done.stderr
    assert done.returncode == 3, done.stderr  # no CPU facts: nothing can be shown to run


def test_flox_words_in_a_message_never_reach_the_terminal_raw(fakes: tuple[Path, dict[str, str]]) -> None:
    root, env = fakes
    flox = root / "bin" / "flox"
    flox.write_text(
        f"#!/bin/sh\necho $$ >> \"$PIDS\"\nprintf '\\342\\234\\230 ERROR: {EVIL}\\n' >&2\nexit 1\n"
    )
    done, seconds = _run(["--install", "--org", "acme"], env, root)
    assert done.returncode == 4, done.stderr
    _one_line(done.stderr, "evil")
    assert seconds < 8
    assert left_running(root) == []


def test_any_file_of_a_revision_reads_as_of_one_commit(tmp_path: Path) -> None:
    """The reader other readers share (a recipe's `import ./lib/x.nix` in a branch)."""
    from tvselect.catalog.gitread import read_paths, resolve
    from tvselect.catalog.sources import read_revision
    from tvselect.errors import BadInputError

    repo = _repo(tmp_path)
    (repo / "lib").mkdir()
    (repo / "lib" / "flags.nix").write_text("{ x = 1; }\n")
    (repo / "lib" / "link.nix").symlink_to("flags.nix")
    _commit(repo, "a lib")
    revision = resolve(str(repo), "main", dict(os.environ))
    (repo / "lib" / "flags.nix").write_text("{ x = 2; }\n")
    _commit(repo, "moved on")  # the revision stays where it was resolved
    assert read_paths(revision, ["lib/flags.nix"], 1024) == (("lib/flags.nix", b"{ x = 1; }\n"),)
    assert len(read_revision(revision).files) == 2
    with pytest.raises(BadInputError, match=r"main:lib/none\.nix: no such file"):
        read_paths(revision, ["lib/none.nix"], 1024)
    with pytest.raises(BadInputError, match=r"main:lib/link\.nix: a symbolic link"):
        read_paths(revision, ["lib/link.nix"], 1024)
    with pytest.raises(BadInputError, match="main:lib: a folder"):
        read_paths(revision, ["lib"], 1024)


def test_lint_findings_name_escaped_files_safely(tmp_path: Path) -> None:
    folder, _ = _escaped_recipe_name(tmp_path)
    done, seconds = _run(["catalog", "lint", str(folder)], {}, tmp_path)
    assert done.returncode == 1, done.stderr
    _one_line(done.stderr, "1 finding")
    assert "evil.nix:1:" in done.stdout and not any(c in done.stdout for c in RAW), repr(done.stdout)
    assert seconds < 8
