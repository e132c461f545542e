"""The installed `tvselect` against hostile surroundings: one row per case of the reliability issue.

Real files, FIFOs, devices, pipes, closed descriptors and a fake `flox` first on PATH. Each row
asserts the exit status, one line on stderr (where one is expected), no traceback, files it must
not touch left as they were, flox not started, and a wall-clock bound.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cli_helpers import tvselect_exe

from tvselect.errors import ExitCode

IVY = "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: {model}\nflags\t\t: fpu lm sse4_2 avx\n"
POWER = "processor\t: 0\ncpu\t\t: POWER9 (raw), altivec supported\nplatform\t: pSeries\n"
BOUND = 15.0  # seconds: every row ends well within this, hung children included (they get 1 s)

FLOX = """#!/bin/sh
echo "$*" >> "{log}"
if [ "$1" = show ]; then  # what the org has published, as flox 1.14.1 answers
  printf '%s - fake package\\nLatest:  %s@0.24.0\\n\\nOther versions:\\n    %s@0.24.0\\n' "$2" "$2" "$2"
  exit 0
fi
case "$FAKE_FLOX" in
  hang) echo $$ > "{log}.pid"; sleep 300 ;;
  flood) yes "flox output flood" ;;
  kill9) kill -9 $$ ;;
esac
"""


@dataclass
class Env:
    """A test's folder: the files a case may name, and the fake flox's log."""

    root: Path
    values: dict[str, str] = field(default_factory=dict)

    @property
    def flox_log(self) -> Path:
        return self.root / "flox.log"

    def flox_calls(self) -> list[str]:
        return self.flox_log.read_text().splitlines() if self.flox_log.exists() else []


def _make_env(tmp_path: Path) -> Env:
    env = Env(tmp_path)
    (tmp_path / "bin").mkdir()
    flox = tmp_path / "bin" / "flox"
    flox.write_text(FLOX.format(log=env.flox_log))
    flox.chmod(0o755)
    files = {
        "ivy": IVY.format(model="Intel(R) Core(TM) i7-3770"),
        "power": POWER,
        "escapes": IVY.format(model="Evil\x1b]0;owned\x07\x1b[2J\u202eCPU"),
        "arm-no-implementer": "processor\t: 0\nFeatures\t: fp asimd\n",
        "precious": "my precious data\n",
        "big-int-driver": "1" * 5000,
    }
    for name, text in files.items():
        (tmp_path / name).write_bytes(text.encode("utf-8", "surrogateescape"))
        env.values[name] = str(tmp_path / name)
    os.mkfifo(tmp_path / "fifo")
    env.values["fifo"] = str(tmp_path / "fifo")
    catalog = json.loads(_builtin_catalog())
    for name, change in {
        "catalog-empty-needs": lambda c: c["isas"]["avx512"].update(needs=[]),
        "catalog-cuda-12": lambda c: c["branches"]["main"].update(cuda="12"),
    }.items():
        copy = json.loads(json.dumps(catalog))
        change(copy)
        (tmp_path / name).write_text(json.dumps(copy))
        env.values[name] = str(tmp_path / name)
    (tmp_path / "catalog-big-int").write_text(
        json.dumps({"x": 1, **catalog}).replace('"x": 1', '"x": ' + "9" * 5000, 1)
    )
    env.values["catalog-big-int"] = str(tmp_path / "catalog-big-int")
    facts = _facts(env.values["ivy"])
    model = json.loads(facts)["cpu"]["model"]
    (tmp_path / "facts-surrogate.json").write_text(
        facts.replace(json.dumps(model), '"Bad\\ud800\\u001b[2JCPU"')
    )
    env.values["facts-surrogate"] = str(tmp_path / "facts-surrogate.json")
    env.values["facts"] = str(tmp_path / "facts.json")
    (tmp_path / "facts.json").write_text(facts)
    line = json.dumps(json.loads(facts))
    (tmp_path / "fleet.jsonl").write_text(
        line
        + "\n"
        + line.replace('"schema_version": 1', '"schema_version": ' + "1" * 5000)
        + "\n"
        + "[" * 100_000
        + "\n"
    )
    env.values["fleet"] = str(tmp_path / "fleet.jsonl")
    (tmp_path / "facts-big-int.json").write_text(
        facts.replace('"schema_version": 1', '"schema_version": ' + "1" * 5000)
    )
    env.values["facts-big-int"] = str(tmp_path / "facts-big-int.json")
    foreign = tmp_path / "foreign-0600"
    foreign.write_text("secret=1\n")
    foreign.chmod(0o600)
    env.values["foreign"] = str(foreign)
    flooding = tmp_path / "bin" / "flooding-python"
    flooding.write_text("#!/bin/sh\nexec yes flood\n")
    flooding.chmod(0o755)
    env.values["flooding-python"] = str(flooding)
    env.values["tmp"] = str(tmp_path)
    return env


_FACTS: dict[str, str] = {}


def _facts(cpuinfo: str) -> str:
    """A facts document of an Ivy Bridge with an H100 (made once; tvselect writes it itself)."""
    if "doc" not in _FACTS:
        _FACTS["doc"] = subprocess.check_output(
            [tvselect_exe(), "probe", "--json", "--cpuinfo", cpuinfo, "--gpu", "9.0", "--driver", "550.54.14"]
        ).decode()
    return _FACTS["doc"]


def _builtin_catalog() -> str:
    from importlib.resources import files

    return files("tvselect").joinpath("data").joinpath("variants.json").read_text("utf-8")


@dataclass(frozen=True)
class Case:
    args: tuple[str, ...]
    code: int
    says: str | None
    """A part of the one stderr line; None: stderr is not checked (it is flooded or silent)."""
    wrap: str = '"$@"'
    """The shell words that run tvselect ("$@"): redirections, pipes, a changed directory."""
    flox: str = ""
    stdin: bytes | None = b""
    env: tuple[tuple[str, str], ...] = ()
    stdout_empty: bool = True
    untouched: tuple[str, ...] = ()
    """Names of files whose content, mode and type must stay as they were."""


# The reader of tvselect's output goes away at once (`tvselect | head -0`); tvselect's status is kept.
_CLOSED_READER = '"$@" | (exec 0<&-; sleep 1); exit ${PIPESTATUS[0]}'

ROWS: dict[str, Case] = {
    # ---- data loss and acting on bad input
    # A Jetson AGX Orin (no build for 8.7): a no-match on this node's own facts, as --nfd needs.
    "nfd-precious-no-match": Case(
        ("--nfd", "{precious}"),
        2,
        "tvselect did not write it",
        env=(("TVSELECT_ROOT", str(Path(__file__).parent / "roots" / "jetson-agx-orin")),),
        untouched=("precious",),
    ),
    "nfd-on-simulated-facts": Case(
        ("--cpuinfo", "{power}", "--gpu", "none", "--nfd", "{precious}"),
        2,
        "--nfd labels this node from its own facts",
        untouched=("precious",),
    ),
    "nfd-dev-full": Case(("--nfd", "/dev/full"), 2, "/dev/full: not a regular file"),
    "nfd-foreign-0600": Case(("--nfd", "{foreign}"), 2, "refusing to replace it", untouched=("foreign",)),
    "nfd-fifo": Case(("--nfd", "{fifo}"), 2, "not a regular file", untouched=("fifo",)),
    # The other file tvselect writes, plan --assign, follows the same rule.
    "assign-foreign-file": Case(
        ("plan", "--cover", "--assign", "{precious}", "{facts}"),
        2,
        "tvselect did not write it",
        untouched=("precious",),
    ),
    "assign-fifo": Case(
        ("plan", "--cover", "--assign", "{fifo}", "{facts}"), 2, "not a regular file", untouched=("fifo",)
    ),
    "install-then-bad-nfd": Case(
        ("--install", "--org", "acme", "--nfd", "/nonexistent-dir/x"), 2, "no such directory"
    ),
    "install-on-simulated-facts": Case(
        ("--cpuinfo", "{ivy}", "--gpu", "12.1", "--install", "--org", "acme"), 2, "add --dry-run"
    ),
    "install-on-facts-document": Case(
        ("--facts", "{facts}", "--install", "--org", "acme"), 2, "add --dry-run"
    ),
    "catalog-isa-without-needs": Case(
        ("--catalog", "{catalog-empty-needs}", "--cpuinfo", "{ivy}", "--gpu", "none"),
        2,
        "field 'needs' is empty",
    ),
    "catalog-cuda-12": Case(("--catalog", "{catalog-cuda-12}"), 2, "cuda '12' is not a version like '12.9'"),
    # ---- hangs and unbounded memory
    "cpuinfo-fifo": Case(("--cpuinfo", "{fifo}"), 2, "a FIFO, not a regular file"),
    "facts-fifo": Case(("--facts", "{fifo}"), 2, "a FIFO, not a regular file"),
    "catalog-fifo": Case(("--catalog", "{fifo}"), 2, "a FIFO, not a regular file"),
    "plan-fifo": Case(("plan", "{fifo}"), 2, "not a file or directory"),
    "cpuinfo-dev-zero": Case(("--cpuinfo", "/dev/zero"), 2, "a character device"),
    "catalog-dev-zero": Case(("--catalog", "/dev/zero"), 2, "a character device"),
    "catalog-dev-urandom": Case(("--catalog", "/dev/urandom"), 2, "a character device"),
    "facts-stdin-dev-zero": Case(
        ("--facts", "-"), 2, "larger than 16 MiB", wrap='"$@" </dev/zero', stdin=None
    ),
    "flox-hangs": Case(
        ("--install", "--org", "acme", "--timeout", "1"),
        4,
        "did not finish within 1 s",
        flox="hang",
        stdout_empty=False,
    ),
    "flox-floods": Case(
        ("--install", "--org", "acme", "--timeout", "1", "--json"),
        4,
        None,
        wrap='"$@" 2>/dev/null',
        flox="flood",
        stdout_empty=False,
    ),
    "flox-killed": Case(
        ("--install", "--org", "acme", "--json"),
        4,
        "flox was killed by signal 9",
        flox="kill9",
        stdout_empty=False,
    ),
    "verify-python-floods": Case(
        ("verify", "--python", "{flooding-python}", "--timeout", "5", "--json"), 5, None, stdout_empty=False
    ),
    "verify-timeout-inf": Case(("verify", "--timeout", "inf"), 2, "--timeout inf"),
    "verify-timeout-1e400": Case(("verify", "--timeout", "1e400"), 2, "--timeout inf"),
    "gpu-10000-times": Case(("--explain", *("--gpu", "9.0") * 10_000), 2, "--gpu given 10000 times"),
    # ---- wrong exit codes and tracebacks
    "stdout-closed": Case(("--json",), 2, "standard output is closed", wrap='"$@" >&-'),
    "stderr-closed": Case(("--json", "--gpu", "9.9"), 2, None, wrap='"$@" 2>&-'),
    # A warning with stderr closed goes nowhere, never into the JSON on stdout.
    "stderr-closed-warning": Case(
        ("--json", "--cpuinfo", "{ivy}", "--gpu", "8.6"), 3, None, wrap='"$@" 2>&-', stdout_empty=False
    ),
    "stdout-dev-full": Case(
        ("--json",), 2, "cannot write output: No space left on device", wrap='"$@" >/dev/full'
    ),
    "stdout-dev-full-human": Case(("list",), 2, "No space left on device", wrap='"$@" >/dev/full'),
    "broken-pipe-json": Case(("--json", "--explain"), 141, None, wrap=_CLOSED_READER),
    "broken-pipe-list": Case(("list",), 141, None, wrap=_CLOSED_READER),
    "broken-pipe-explain": Case(("--explain",), 141, None, wrap=_CLOSED_READER),
    "broken-pipe-verify": Case(("verify",), 141, None, wrap=_CLOSED_READER),
    "driver-5000-digits": Case(("--gpu", "9.0", "--driver", "1" * 5000), 2, "not an NVIDIA driver version"),
    "facts-5000-digit-number": Case(("--facts", "{facts-big-int}"), 2, "more than 4300 digits"),
    "catalog-5000-digit-number": Case(("--catalog", "{catalog-big-int}"), 2, "more than 4300 digits"),
    "facts-stdin-closed": Case(("--facts", "-"), 2, "standard input is closed", wrap='"$@" <&-', stdin=None),
    "plan-stdin-closed": Case(("plan", "-"), 2, "standard input is closed", wrap='"$@" <&-', stdin=None),
    "surrogate-ascii-output": Case(
        ("--facts", "{facts-surrogate}", "--explain"),
        3,
        None,
        env=(("PYTHONIOENCODING", "ascii"),),
        stdout_empty=False,
    ),
    "nfd-from-deleted-cwd": Case(
        ("--nfd", "labels"),
        2,
        "the current directory is gone",
        wrap='mkdir gone && cd gone && rmdir ../gone && "$@"',
    ),
    "nfd-proc-sys": Case(("--nfd", "/proc/sys/kernel/tvselect-x"), 2, "cannot write in /proc/sys/kernel"),
    # ---- the contract, checked the same everywhere
    "json-before-list": Case(("--json", "list"), 2, "give it after the command: tvselect list --json"),
    "cpuinfo-before-probe": Case(("--cpuinfo", "/nonexistent", "probe"), 2, "--cpuinfo before 'probe'"),
    "gpu-before-list": Case(("--gpu", "9.9", "list"), 2, "'tvselect list' has no --gpu"),
    "verify-python-empty": Case(("verify", "--python", ""), 2, "--python '': empty"),
    "arm-without-implementer": Case(
        ("--cpuinfo", "{arm-no-implementer}"), 2, "has a 'Features' line but no 'CPU implementer'"
    ),
}


def _run(case: Case, env: Env) -> tuple[subprocess.CompletedProcess[bytes], float]:
    args = [a.format(**env.values) for a in case.args]
    variables = {k: v for k, v in os.environ.items() if not k.startswith(("CUDA_", "NVIDIA_"))}
    variables["PATH"] = f"{env.root / 'bin'}{os.pathsep}{variables.get('PATH', '')}"
    variables["FAKE_FLOX"] = case.flox
    variables.update(case.env)
    started = time.monotonic()
    done = subprocess.run(
        ["bash", "-c", case.wrap, "tvselect", tvselect_exe(), *args],
        input=case.stdin,
        stdin=subprocess.DEVNULL if case.stdin is None and "<" not in case.wrap else None,
        capture_output=True,
        env=variables,
        cwd=env.root,
        timeout=BOUND * 2,
        check=False,
    )
    return done, time.monotonic() - started


def _state(path: str) -> tuple[int, int, bytes | None]:
    status = os.lstat(path)
    content = Path(path).read_bytes() if stat.S_ISREG(status.st_mode) else None
    return status.st_mode, status.st_uid, content


@pytest.mark.parametrize("case", list(ROWS.values()), ids=list(ROWS))
def test_hostile(tmp_path: Path, case: Case) -> None:
    env = _make_env(tmp_path)
    before = {name: _state(env.values[name]) for name in case.untouched}
    done, seconds = _run(case, env)
    stderr = done.stderr.decode("utf-8", "replace")
    assert done.returncode == case.code, stderr
    assert seconds < BOUND
    assert "Traceback" not in stderr and "unexpected error" not in stderr
    if case.says is not None:
        lines = stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("tvselect: "), stderr
        assert case.says in lines[0], stderr
    if case.stdout_empty:
        assert done.stdout == b""
    elif b"--json" in b" ".join(a.encode() for a in case.args) and done.stdout:
        json.loads(done.stdout)
    if not case.flox:
        assert env.flox_calls() == []
    assert {name: _state(env.values[name]) for name in case.untouched} == before
    assert b"\x1b" not in done.stdout


def test_escapes_and_bidi_from_a_file_never_reach_the_terminal(tmp_path: Path) -> None:
    env = _make_env(tmp_path)
    done, _ = _run(Case(("--cpuinfo", "{escapes}", "--gpu", "none", "--explain"), 0, None), env)
    assert done.returncode == 0
    out = done.stdout.decode()
    assert "EvilCPU" in out.replace(" ", "") or "Evil" in out
    assert not any(c in out for c in "\x1b\x07\u202e")


def test_plan_skips_bad_lines_and_plans_the_rest(tmp_path: Path) -> None:
    env = _make_env(tmp_path)
    done, seconds = _run(Case(("plan", "--json", "{fleet}"), 3, None), env)
    stderr = done.stderr.decode()
    assert done.returncode == ExitCode.NO_MATCH, stderr  # an Ivy Bridge with an H100: no build serves it
    assert seconds < BOUND
    lines = stderr.strip().splitlines()
    assert len(lines) == 2 and "more than 4300 digits" in lines[0] and "nested too deeply" in lines[1], stderr
    doc = json.loads(done.stdout)
    assert doc["totals"]["hosts"] == 1


def test_a_single_document_over_the_cap_points_to_json_lines(tmp_path: Path) -> None:
    big = tmp_path / "fleet.json"
    with big.open("w") as handle:
        handle.write("[\n")
        handle.write(" " * (65 * 1024 * 1024))
        handle.write("]\n")
    done = subprocess.run(
        [tvselect_exe(), "plan", str(big)], capture_output=True, text=True, timeout=BOUND * 2, check=False
    )
    assert done.returncode == 2
    assert "give a big fleet as JSON Lines" in done.stderr


@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT], ids=["TERM", "HUP", "INT"])
def test_a_signal_to_tvselect_reaches_flox_and_all_it_started(tmp_path: Path, number: int) -> None:
    env = _make_env(tmp_path)
    variables = dict(os.environ, PATH=f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}", FAKE_FLOX="hang")
    process = subprocess.Popen(
        [tvselect_exe(), "--install", "--org", "acme", "--timeout", "60"],
        env=variables,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
        # A test run in a background job inherits SIGINT ignored; tvselect rightly keeps it so.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    pid_file = Path(f"{env.flox_log}.pid")
    deadline = time.monotonic() + BOUND
    # The whole line, not a file the fake has opened but not written yet.
    while not (pid_file.exists() and pid_file.read_text().endswith("\n")) and time.monotonic() < deadline:
        time.sleep(0.05)
    flox_pid = int(pid_file.read_text())
    started = time.monotonic()
    process.send_signal(number)
    code = process.wait(timeout=BOUND)
    assert time.monotonic() - started < 5
    assert code == (ExitCode.INTERRUPTED if number == signal.SIGINT else -number)
    assert not _alive(flox_pid)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_py_cpuinfo_names_are_the_kernels() -> None:
    from tvselect.probe.cpu import kernel_names

    assert kernel_names(["avx512vnni", "avx512f", "avx2"]) == {"avx512_vnni", "avx512f", "avx2"}
