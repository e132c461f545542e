from __future__ import annotations

import json
import subprocess
import sys
from importlib.resources import files
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from cli_helpers import make_fake_flox, run
from machines import cpuinfo_path
from referencing import Registry, Resource
from typer.testing import CliRunner

from tvselect import __version__
from tvselect.cli.main import app

ZEN4 = "linux-rocky8.5-zen4.txt"
# The catalog the installed script reads: expected counts come from it, never pinned.
SHIPPED = json.loads(files("tvselect").joinpath("data/variants.json").read_text(encoding="utf-8"))
HASWELL = "linux-rhel7-haswell.txt"


def schema_validator(name: str) -> jsonschema.Draft202012Validator:
    schemas = files("tvselect").joinpath("schemas")
    loaded = {n: json.loads(schemas.joinpath(n).read_text()) for n in ("result-v1.json", "facts-v1.json")}
    registry: Registry = Registry().with_resources(
        (f"https://tvselect.invalid/schemas/{n}", Resource.from_contents(s)) for n, s in loaded.items()
    )
    return jsonschema.Draft202012Validator(loaded[name], registry=registry)


def test_help_shows_the_three_uses_and_exit_codes() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    for text in ("tvselect --install --org acme", "tvselect --json", "Exit status", "3  no variant runs"):
        assert text in result.output


def test_version() -> None:
    done = run("--version")
    assert (done.code, done.stdout.strip()) == (0, f"tvselect {__version__}")


def test_json_from_a_real_pipe_matches_the_schema() -> None:
    done = run("--json", "--gpu", "9.0", "--driver", "550.54.14", "--cpuinfo", str(cpuinfo_path(ZEN4)))
    assert done.code == 0, done.stderr
    assert done.stderr == ""
    doc = done.json()
    schema_validator("result-v1.json").validate(doc)
    assert isinstance(doc, dict)
    assert (doc["status"], doc["package"], doc["gpu_arch"], doc["cpu_isa"], doc["gpu_match"]) == (
        "ok",
        "torchvision-python313-cuda12_9-sm90-avx512",
        "sm90",
        "avx512",
        "exact",
    )
    assert (doc["torchvision"], doc["pytorch"], doc["cuda"], doc["python"]) == (
        "0.24.0",
        "2.9.1",
        "12.9.1",
        "3.13",
    )
    assert doc["install"] == ["flox", "install", "<org>/torchvision-python313-cuda12_9-sm90-avx512"]
    assert doc["facts"]["gpu"]["devices"][0]["compute_capability"] == "9.0"


def test_warnings_go_to_stderr_and_stdout_stays_json() -> None:
    done = run("--json", "--gpu", "9.0", "--cpuinfo", str(cpuinfo_path(ZEN4)))
    assert done.code == 0
    assert "tvselect: warning: the NVIDIA driver version is unknown" in done.stderr
    doc = done.json()
    assert isinstance(doc, dict) and doc["warnings"] and "driver" in doc["warnings"][0]


def test_explain_json_lists_every_candidate() -> None:
    done = run(
        "--json", "--explain", "--gpu", "8.6", "--driver", "550.1", "--cpuinfo", str(cpuinfo_path(ZEN4))
    )
    doc = done.json()
    schema_validator("result-v1.json").validate(doc)
    assert isinstance(doc, dict) and len(doc["candidates"]) == len(SHIPPED["variants"])
    assert sum(c["status"] == "chosen" for c in doc["candidates"]) == 1


def test_no_match_prints_in_full_and_exits_3() -> None:
    done = run("--json", "--gpu", "7.0", "--driver", "550.1", "--cpuinfo", str(cpuinfo_path(ZEN4)))
    assert done.code == 3
    doc = done.json()
    schema_validator("result-v1.json").validate(doc)
    assert isinstance(doc, dict)
    assert (doc["status"], doc["package"], doc["install"]) == ("no-match", None, None)
    assert doc["reasons"][0]["code"] == "no-build-for-capability"
    assert doc["alternatives"][0]["package"] == "torchvision-python313-cpu-avx512"


def test_human_output_names_package_versions_and_install_command() -> None:
    done = run("--gpu", "9.0", "--driver", "550.54.14", "--cpuinfo", str(cpuinfo_path(ZEN4)))
    assert done.code == 0
    for text in (
        "torchvision-python313-cuda12_9-sm90-avx512",
        "TorchVision 0.24.0 · PyTorch 2.9.1 · CUDA 12.9.1",
        "compute capability 9.0",
        "flox install <org>/torchvision-python313-cuda12_9-sm90-avx512",
    ):
        assert text in done.stdout


def test_explain_human_groups_candidates() -> None:
    done = run("--explain", "--gpu", "8.6", "--driver", "550.1", "--cpuinfo", str(cpuinfo_path(ZEN4)))
    for text in ("Chosen (1)", "Runs here, ranked lower", "Cannot run here", "Not considered"):
        assert text in done.stdout


def test_json_path_does_not_import_rich_or_other_paths_modules() -> None:
    code = (
        "import sys\n"
        "from tvselect.cli.main import main\n"
        f"rc = main(['--json', '--gpu', 'none', '--cpuinfo', {str(cpuinfo_path(ZEN4))!r}])\n"
        "heavy = ('rich', 'tvselect.verify', 'tvselect.render.report_text', 'tvselect.render.console', 'pynvml', 'cpuinfo', 'tree_sitter',\n"
        "         'tree_sitter_nix', 'tvselect.catalog.nix', 'tvselect.catalog.importer', 'tvselect.cli.catalog_cmd',\n"
        "         'highspy', 'numpy', 'tvselect.fleet.cover')\n"
        "loaded = sorted(m for m in sys.modules if m in heavy or m.startswith(('rich.', 'tree_sitter'))\n"
        "                or (m.startswith('tvselect.render.') and m.endswith('_text')))\n"
        "print('RICH=' + ','.join(loaded), file=sys.stderr)\n"
        "sys.exit(rc)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "RICH=\n" in done.stderr


def test_json_path_skips_the_costly_standard_modules() -> None:
    # dataclasses and importlib.resources each cost ms of every run; the shipped tables are
    # read from the package's files and the facts are NamedTuples (README "What it takes").
    code = (
        "import sys\n"
        "from tvselect.cli.main import main\n"
        f"rc = main(['--json', '--gpu', 'none', '--cpuinfo', {str(cpuinfo_path(ZEN4))!r}])\n"
        "costly = ('dataclasses', 'importlib.resources', 'zipfile', 'tvselect.base.children')\n"
        "print('COSTLY=' + ','.join(m for m in costly if m in sys.modules), file=sys.stderr)\n"
        "sys.exit(rc)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "COSTLY=\n" in done.stderr


# ---- --install through a fake flox --------------------------------------------------------


def _here(env: dict[str, str]) -> dict[str, Any]:
    """This machine's answer: --install acts only on this machine's own facts."""
    doc = run("--json", env=env).json()
    assert isinstance(doc, dict)
    if doc["package"] is None:
        pytest.skip("no variant runs on this machine")
    return doc


@pytest.mark.parametrize(
    "extra,expected_args",
    [((), ["install"]), (("--dir", "/srv/env"), ["install", "-d", "/srv/env"])],
    ids=["plain", "dir"],
)
def test_install_runs_flox_with_an_argument_list(
    tmp_path: Path, extra: tuple[str, ...], expected_args: list[str]
) -> None:
    flox = make_fake_flox(tmp_path)
    spec = _here(flox.env())["install"][-1].replace("<org>", "acme")
    done = run("--install", "--org", "acme", *extra, "--json", env=flox.env())
    assert done.code == 0, done.stderr
    package = spec.split("/", 1)[1].split("@")[0]
    assert flox.calls() == [["show", f"acme/{package}"], [*expected_args, spec]]  # what acme publishes, then
    doc = done.json()
    schema_validator("result-v1.json").validate(doc)
    assert isinstance(doc, dict)
    assert doc["installed"] == {
        "command": ["flox", *expected_args, spec],
        "dry_run": False,
        "exit_status": 0,
        "ok": True,
        "error": None,
    }
    assert "fake flox: installed" in done.stderr  # flox's own output never reaches stdout


@pytest.mark.parametrize(
    ("branch", "spec"),
    [
        ("auto", "acme/torchvision-python313-cpu-avx2@0.24.0"),
        ("main", "acme/torchvision-python313-cpu-avx2@0.23.0"),
    ],
    ids=["cuda-12_9", "main"],
)
def test_install_pins_cpu_names_shared_by_two_branches(tmp_path: Path, branch: str, spec: str) -> None:
    flox = make_fake_flox(tmp_path)
    haswell = str(cpuinfo_path(HASWELL))
    args = ("--install", "--org", "acme", "--dry-run", "--json", "--branch", branch, "--gpu", "none")
    done = run(*args, "--cpuinfo", haswell, env=flox.env())
    assert done.code == 0, done.stderr
    doc = done.json()
    assert isinstance(doc, dict)
    assert doc["installed"]["command"] == ["flox", "install", spec]
    assert all(
        call[0] == "show" for call in flox.calls()
    )  # --dry-run asks flox what is published, installs nothing


def test_install_failure_shows_flox_message_and_exits_4(tmp_path: Path) -> None:
    flox = make_fake_flox(tmp_path)
    _here(flox.env())
    done = run(
        "--install", "--org", "acme", "--json", env=flox.env(status=1, says="package not found in catalog")
    )
    assert done.code == 4
    assert "fake flox: package not found in catalog" in done.stderr
    assert "tvselect: error: flox exited with status 1; nothing was installed" in done.stderr
    doc = done.json()
    assert isinstance(doc, dict)
    assert (doc["installed"]["ok"], doc["installed"]["exit_status"]) == (False, 1)
    human = run("--install", "--org", "acme", env=flox.env(status=1))
    assert human.code == 4 and "Installed" not in human.stdout and "Not installed" in human.stdout


def test_install_without_flox_on_path_exits_4(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    _here({"PATH": str(empty)})
    done = run("--install", "--org", "acme", env={"PATH": str(empty)})
    assert done.code == 4
    assert (
        "flox was not found on PATH; install flox first: https://flox.dev/docs/install-flox/" in done.stderr
    )


def test_dry_run_runs_nothing(tmp_path: Path) -> None:
    flox = make_fake_flox(tmp_path)
    done = run(
        "--install",
        "--org",
        "acme",
        "--dry-run",
        "--gpu",
        "none",
        "--cpuinfo",
        str(cpuinfo_path(ZEN4)),
        env=flox.env(),
    )
    assert done.code == 0
    # flox is asked what acme has published (read only), and installs nothing.
    assert flox.calls() == [["show", "acme/torchvision-python313-cpu-avx512"]]
    assert "would run flox install acme/torchvision-python313-cpu-avx512@0.24.0" in done.stdout


@pytest.mark.parametrize(
    "facts",
    [("--gpu", "7.0"), ("--cpuinfo", "{zen4}"), ("--driver", "550.1"), ("--facts", "-")],
    ids=["gpu", "cpuinfo", "driver", "facts"],
)
def test_install_on_simulated_facts_is_refused(tmp_path: Path, facts: tuple[str, ...]) -> None:
    flox = make_fake_flox(tmp_path)
    args = [a.format(zen4=cpuinfo_path(ZEN4)) for a in facts]
    done = run("--install", "--org", "acme", *args, env=flox.env(), stdin="{}")
    assert done.code == 2
    assert done.stderr.count("\n") == 1 and "add --dry-run" in done.stderr
    assert flox.calls() == [] and done.stdout == ""


# ---- bad input: exit 2, one line, no traceback, flox never started ----------------------------


def _bad_files(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "empty").write_text("")
    (tmp_path / "binary").write_bytes(b"\x00\x01\x02\xff" * 100)
    (tmp_path / "catalog.json").write_text('{"schema_version": 1, "branches": {}}')
    return {
        "empty": str(tmp_path / "empty"),
        "binary": str(tmp_path / "binary"),
        "catalog": str(tmp_path / "catalog.json"),
    }


BAD = [
    ("install-without-org", ["--install"], "--install needs --org ORG"),
    ("org-shell", ["--install", "--org", "acme; rm -rf ~"], "--org 'acme; rm -rf ~'"),
    ("org-path", ["--install", "--org", "../x"], "--org '../x'"),
    ("org-option", ["--install", "--org", "-d"], "--org '-d'"),
    ("org-dotdot", ["--install", "--org", ".."], "--org '..'"),
    ("unknown-option", ["--install", "--org", "acme", "--bogus"], "No such option: --bogus"),
    ("workload", ["--install", "--org", "acme", "--workload", "fp8"], "--workload 'fp8'"),
    ("branch", ["--install", "--org", "acme", "--branch", "dev"], "--branch 'dev'"),
    (
        "cpuinfo-missing",
        ["--install", "--org", "acme", "--cpuinfo", "/nonexistent/cpuinfo"],
        "--cpuinfo /nonexistent/cpuinfo: cannot be read",
    ),
    ("cpuinfo-empty", ["--install", "--org", "acme", "--cpuinfo", "{empty}"], "--cpuinfo {empty}: empty"),
    ("cpuinfo-binary", ["--install", "--org", "acme", "--cpuinfo", "{binary}"], "binary data"),
    (
        "catalog-broken",
        ["--install", "--org", "acme", "--catalog", "{catalog}"],
        "catalog {catalog}: branches: no branch defined",
    ),
    ("dir-without-install", ["--dir", "/tmp"], "--dir and --dry-run go with --install"),
    ("gpu-8.x", ["--install", "--org", "acme", "--gpu", "8.x"], "--gpu '8.x'"),
    ("gpu-sm_", ["--install", "--org", "acme", "--gpu", "sm_"], "--gpu 'sm_'"),
    ("gpu-impossible", ["--install", "--org", "acme", "--gpu", "9.9"], "compute capability 9.9"),
    ("driver", ["--install", "--org", "acme", "--gpu", "9.0", "--driver", "latest"], "--driver 'latest'"),
    (
        "facts-invalid-json",
        ["--install", "--org", "acme", "--facts", "{catalog}x"],
        "facts document {catalog}x: invalid JSON at line 1",
    ),
    (
        "facts-with-gpu",
        ["--install", "--org", "acme", "--facts", "-", "--gpu", "9.0"],
        "--facts cannot be combined with --gpu",
    ),
]


@pytest.mark.parametrize("args,message", [(a, m) for _, a, m in BAD], ids=[i for i, _, _ in BAD])
def test_bad_input_is_one_line_exit_2_and_flox_not_started(
    tmp_path: Path, args: list[str], message: str
) -> None:
    flox = make_fake_flox(tmp_path)
    paths = _bad_files(tmp_path)
    # --install on simulated facts is refused first; these rows are about what comes next.
    args = [a.format(**paths) for a in args]
    if "--org" in args:
        args.insert(args.index("--install") + 1, "--dry-run")
    (tmp_path / "catalog.jsonx").write_text("{not json")
    done = run(
        *args, *(() if "--gpu" in args or "--facts" in args else ("--gpu", "none")), env=flox.env(), stdin=""
    )
    assert done.code == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tvselect: error: "), done.stderr
    assert message.format(**paths) in lines[0]
    assert "Traceback" not in done.stderr and done.stdout == ""
    assert flox.calls() == []


# ---- list and show ------------------------------------------------------------------------


def test_list_json_filters() -> None:
    done = run("list", "--json", "--gpu-arch", "sm90", "--isa", "avx512")
    rows = done.json()
    assert isinstance(rows, list)
    assert [(r["package"], r["branch"]) for r in rows] == [
        ("torchvision-python313-cuda12_9-sm90-avx512", "cuda-12_9"),
        ("torchvision-python313-cuda12_8-sm90-avx512", "main"),
    ]
    assert {"package", "branch", "gpu_arch", "cpu_isa", "torchvision", "pytorch", "cuda"} <= set(rows[0])
    cpu_main = [v for v in SHIPPED["variants"] if v["branch"] == "main" and v["gpu_arch"] is None]
    assert len(run("list", "--json", "--cpu-only", "--branch", "main").json()) == len(cpu_main)  # type: ignore[arg-type]
    assert len(run("list", "--json").json()) == len(SHIPPED["variants"])  # type: ignore[arg-type]


def test_show_cpu_name_on_both_branches_and_verdict_here() -> None:
    done = run(
        "show",
        "torchvision-python313-cpu-avx2",
        "--json",
        "--cpuinfo",
        str(cpuinfo_path("linux-rhel7-ivybridge.txt")),
    )
    doc = done.json()
    assert isinstance(doc, dict)
    assert [e["branch"] for e in doc["variants"]] == ["cuda-12_9", "main"]
    entry = doc["variants"][0]
    assert entry["compile_flags"] == ["-mavx2", "-mfma", "-mf16c"]
    assert entry["runs_here"] is False
    assert entry["why_not_here"] == ["this CPU lacks avx2, fma, which the avx2 build needs"]


def test_show_gpu_package_human() -> None:
    done = run(
        "show",
        "torchvision-python313-cuda13_0-sm121-armv9",
        "--gpu",
        "12.1",
        "--driver",
        "570.1",
        "--cpuinfo",
        str(cpuinfo_path("linux-rhel9-neoverse_v2.txt")),
    )
    assert done.code == 0
    for text in (
        "not yet known",
        "DGX Spark",
        "580",
        "need NVIDIA driver 580 or newer; this machine has 570.1",
    ):
        assert text in done.stdout


def test_show_unknown_package_suggests_close_names() -> None:
    done = run("show", "torchvision-python313-cuda12_9-sm90-avx521")
    assert done.code == 2
    assert "did you mean torchvision-python313-cuda12_9-sm90-avx512" in done.stderr
    assert "Traceback" not in done.stderr


# ---- an unexpected failure: exit 1, a request to report it, a traceback only with --debug ----


def test_unexpected_error_asks_for_a_report_and_hides_the_traceback(tmp_path: Path) -> None:
    broken = tmp_path / "broken" / "rich"
    broken.mkdir(parents=True)
    (broken / "__init__.py").write_text("raise RuntimeError('simulated bug in a dependency')\n")
    env = {"PYTHONPATH": str(broken.parent)}
    args = ("--gpu", "none", "--cpuinfo", str(cpuinfo_path(ZEN4)))
    done = run(*args, env=env)
    assert done.code == 1
    assert "tvselect: unexpected error: RuntimeError: simulated bug in a dependency" in done.stderr
    assert "please report it" in done.stderr and "Traceback" not in done.stderr
    debug = run("--debug", *args, env=env)
    assert debug.code == 1 and "Traceback (most recent call last)" in debug.stderr
    # The JSON path never imports rich, so it still answers.
    assert run("--json", *args, env=env).code == 0
