"""Every command shown in README.md and docs/*.md is run here and its output compared.

The convention (docs/README-conventions are in CONTRIBUTING.md, "Examples in the docs"):

- A ```console block is run: each line starting with `$ ` is a command (a line ending in `\\`
  continues it), and the lines up to the next `$ ` are what it prints, standard error and
  standard output together as a terminal shows them. Commands run with bash, in one folder per
  page (so a later block can use what an earlier one wrote), with the installed `tvselect`
  first on PATH, 100 columns, no colour, and these files there: `cpuinfo/` (the real
  /proc/cpuinfo files of ../shared/cpuinfo), `h100.json` (the facts the H100 machine's probe
  printed), `published.txt` (two package names), `recipes/` (the real build-torchvision
  branches of ../shared/build-torchvision).
- `<!-- run: OPTION ... -->` just before a block sets, for that block: `columns=N`;
  `flox=acme` (a fake flox first on PATH, in flox 1.14.1's formats, for which the org acme has
  published the packages of published.txt), `flox=logged-out`; `root=no-gpu` (the probe reads a
  machine without a GPU, built from a real cpuinfo file, through TVSELECT_ROOT); `env=NAME=VALUE`;
  `needs-shared` (the block names the family checkouts as `../shared/...`, as from the repository
  root: the page folders sit next to a `shared` link to ../shared; skipped when a
  `../shared/...` path the block names is not here).
- A block of commands that is not run (set-up commands, a command that needs a GPU) is a ```sh
  block right after `<!-- not run: WHY -->`. Every ```sh, ```bash or ```shell block needs that
  marker, and a ```text or ```json block must not hold `$ ` commands, so that no command goes
  unrun unnoticed.
- Figures that vary from run to run (`0.30 s`) compare as equal whatever their value.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from fakeflox import make_org_flox

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
PAGES = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(\w*)\s*$")
MARK = re.compile(r"^<!-- (run|not run):?(.*?)-->\s*$")
SECONDS = re.compile(r"\b\d+\.\d+ s\b")


@dataclass(frozen=True)
class Block:
    page: Path
    line: int
    lang: str
    mark: str | None
    options: str
    text: str

    @property
    def id(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def blocks(page: Path) -> list[Block]:
    """The fenced blocks of a page, with the marker comment just before each."""
    found: list[Block] = []
    lines = page.read_text(encoding="utf-8").splitlines()
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if not opening:
            index += 1
            continue
        end = next(i for i in range(index + 1, len(lines)) if lines[i].startswith("```"))
        before = MARK.match(lines[index - 1]) if index else None
        text = "\n".join(lines[index + 1 : end])
        kind, options = (before.group(1), before.group(2).strip()) if before else (None, "")
        found.append(Block(page, index + 1, opening.group(1), kind, options, text))
        index = end + 1
    return found


def commands(block: Block) -> list[tuple[str, str]]:
    """(command, expected output) pairs of a console block."""
    pairs: list[tuple[str, list[str]]] = []
    lines = block.text.splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        if line.startswith("$ "):
            command = line[2:]
            while command.endswith("\\") and index + 1 < len(lines):
                index += 1
                command += "\n" + lines[index]  # bash reads backslash-newline as one line
            heredoc = re.search(r"<<'(\w+)'", command)
            while heredoc and index + 1 < len(lines) and command.splitlines()[-1] != heredoc.group(1):
                index += 1
                command += "\n" + lines[index]
            pairs.append((command, []))
        else:
            assert pairs, f"{block.id}: output before the first '$ ' command"
            pairs[-1][1].append(line)
        index += 1
    return [(command, "\n".join(output)) for command, output in pairs]


ALL = [b for page in PAGES if page.exists() for b in blocks(page)]
RUN = [b for b in ALL if b.lang == "console" and b.mark != "not run"]


def _normal(text: str) -> str:
    lines = [SECONDS.sub("#.## s", line.rstrip()) for line in text.splitlines()]
    return "\n".join(lines).strip("\n")


_WORKSPACES: dict[Path, Path] = {}


def _workspace(page: Path, base: Path) -> Path:
    """One folder per page, made once: cpuinfo/, h100.json, published.txt, recipes/."""
    if page in _WORKSPACES:
        return _WORKSPACES[page]
    folder = base / page.stem
    folder.mkdir()
    if SHARED.is_dir() and not (base / "shared").exists():
        (base / "shared").symlink_to(SHARED)  # so that `../shared/...` reads as from the repository
    if (SHARED / "cpuinfo").is_dir():
        shutil.copytree(SHARED / "cpuinfo", folder / "cpuinfo")
    if (SHARED / "build-torchvision").is_dir():
        (folder / "recipes").symlink_to(SHARED / "build-torchvision")
    shutil.copy(ROOT / "tests" / "fixtures" / "h100-nvml-probe.json", folder / "h100.json")
    (folder / "roots").symlink_to(ROOT / "tests" / "roots")
    (folder / "published.txt").write_text(
        "torchvision-python313-cuda12_9-sm90-avx2\ntorchvision-python313-cpu-avx2\n"
    )
    _WORKSPACES[page] = folder
    return folder


EXAMPLE_MACHINE = Path("/tmp/tvselect-example-machine")
"""A machine without a GPU (a Zen 4 server's real /proc/cpuinfo, no NVIDIA driver), read through
TVSELECT_ROOT. A fixed path, so that the path the output shows is the same on every run; runs
that share it write the same files, each through a rename."""


def _no_gpu_root() -> Path:
    import tempfile

    if not (EXAMPLE_MACHINE / "proc" / "cpuinfo").is_file():
        fresh = Path(tempfile.mkdtemp(prefix="tvselect-example-", dir=EXAMPLE_MACHINE.parent))
        (fresh / "proc").mkdir()
        shutil.copy(SHARED / "cpuinfo" / "linux-rocky8.5-zen4.txt", fresh / "proc" / "cpuinfo")
        try:
            fresh.rename(EXAMPLE_MACHINE)
        except OSError:
            shutil.rmtree(fresh)  # another run made it first
    return EXAMPLE_MACHINE


def _environment(block: Block, folder: Path, tmp: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CUDA_", "NVIDIA_", "TVSELECT_", "PYTHON", "FAKE_FLOX")) and k != "COLUMNS"
    }
    env.update(COLUMNS="100", NO_COLOR="1", TERM="dumb", LC_ALL="C.UTF-8")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    for option in block.options.split():
        key, _, value = option.partition("=")
        if key == "columns":
            env["COLUMNS"] = value
        elif key == "env":
            name, _, setting = value.partition("=")
            env[name] = setting
        elif key == "root" and value == "no-gpu":
            env["TVSELECT_ROOT"] = str(_no_gpu_root())
        elif key == "needs-shared":
            pass  # read by _skip_reason and _workspace
        elif key == "flox":
            published = {p: ["0.24.0"] for p in (folder / "published.txt").read_text().split()}
            mode = "not-logged-in" if value == "logged-out" else "ok"
            flox = make_org_flox(tmp, published, mode=mode)
            env["PATH"] = f"{flox.bin_dir}{os.pathsep}{env['PATH']}"
            env["FAKE_FLOX_STATE"] = str(flox.state)
        else:
            raise AssertionError(f"{block.id}: unknown run option {option!r}")
    return env


def _skip_reason(block: Block) -> str | None:
    needs = ("cpuinfo/", "root=no-gpu", "recipes/")
    if any(n in block.text + block.options for n in needs) and not (SHARED / "cpuinfo").is_dir():
        return f"{SHARED} is not here"
    if "recipes/" in block.text and not (SHARED / "build-torchvision").is_dir():
        return f"{SHARED / 'build-torchvision'} is not here"
    if "needs-shared" in block.options.split():
        named = re.findall(r"\.\./shared/([\w./-]+)", block.text)
        missing = [n for n in named or ["."] if not (SHARED / n).exists()]
        if missing:
            return f"{SHARED / missing[0]} is not here"
    if re.search(r"\bjq\b", block.text) and shutil.which("jq") is None:
        return "jq is not installed here"
    return None


_DONE: set[str] = set()


def _run(block: Block, folder: Path, tmp: Path) -> list[tuple[str, str, str]]:
    """(command, what the page shows, what it printed) for each command of the block."""
    env = _environment(block, folder, tmp)
    ran = []
    for command, expected in commands(block):
        done = subprocess.run(
            ["bash", "-c", command],
            cwd=folder,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=300,
            check=False,
        )
        ran.append((command, expected, done.stdout))
    _DONE.add(block.id)
    return ran


@pytest.mark.parametrize("block", RUN, ids=[b.id for b in RUN])
def test_example_prints_what_the_page_shows(
    block: Block, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    reason = _skip_reason(block)
    if reason:
        pytest.skip(reason)
    if not _WORKSPACES:
        _WORKSPACES[Path()] = tmp_path_factory.mktemp("docs")
    folder = _workspace(block.page, _WORKSPACES[Path()])
    # A block may use what an earlier block of its page wrote: run those first when -k left them out.
    for earlier in RUN:
        same_page = earlier.page == block.page and earlier.line < block.line
        if same_page and earlier.id not in _DONE and _skip_reason(earlier) is None:
            _run(earlier, folder, tmp_path)
    ran = _run(block, folder, tmp_path)
    if os.environ.get("TVSELECT_DOCS_UPDATE"):
        # TVSELECT_DOCS_UPDATE=1 writes what the commands printed into the page (then review the diff).
        printed = [f"$ {command}\n{output.rstrip()}".rstrip() for command, _, output in ran]
        new = "\n".join(line.rstrip() for line in "\n".join(printed).splitlines())
        text = block.page.read_text(encoding="utf-8")
        block.page.write_text(text.replace(f"```console\n{block.text}\n```", f"```console\n{new}\n```", 1))
        return
    for command, expected, output in ran:
        assert _normal(output) == _normal(expected), f"{block.id}: $ {command}\n{output}"


@pytest.mark.parametrize("block", ALL, ids=[b.id for b in ALL])
def test_no_command_is_shown_unrun(block: Block) -> None:
    if block.lang in ("sh", "bash", "shell"):
        assert block.mark == "not run" and block.options, (
            f"{block.id}: a ```{block.lang} block needs <!-- not run: WHY -->"
        )
    elif block.lang == "console":
        assert block.mark != "not run" or block.options, f"{block.id}: say why it is not run"
        assert block.mark == "not run" or block.text.startswith("$ "), (
            f"{block.id}: a console block starts with '$ '"
        )
    else:
        assert not any(line.startswith("$ ") for line in block.text.splitlines()), (
            f"{block.id}: a command in a ```{block.lang or 'plain'} block: make it a ```console block"
        )


def test_pages_have_examples_that_run() -> None:
    """The runner finds the README's examples (a page renamed or a fence misspelled would hide them)."""
    assert sum(b.page.name == "README.md" for b in RUN) >= 4
    assert {b.page.name for b in RUN} >= {"README.md", "json.md", "fleets.md", "recipes.md", "published.md"}


def test_the_readme_gives_exactly_the_test_command_ci_runs() -> None:
    """.ci/run's last line is the command; the README shows it once, verbatim, in its set-up."""
    ci = (ROOT / ".ci" / "run").read_text().strip().splitlines()[-1]
    readme = (ROOT / "README.md").read_text()
    assert readme.count(ci) == 1, f"README.md does not show .ci/run's command once: {ci}"


def test_readme_is_read_in_five_minutes() -> None:
    assert len((ROOT / "README.md").read_text().splitlines()) <= 250
