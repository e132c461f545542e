"""What a newcomer reads: whole package names at any width, reasons for every answer, their words.

Width tests run the installed console script with COLUMNS set (rich honours it, piped or not).
"""

from __future__ import annotations

import json
import os
import re
import sys
from importlib.resources import files
from pathlib import Path

import jsonschema
import pytest
from cli_helpers import Run, run
from hypothesis import given, settings
from hypothesis import strategies as st

from tvselect.app.published import TEMPLATES as PUBLISHED_TEMPLATES
from tvselect.base.capability import Capability
from tvselect.catalog.model import load_catalog
from tvselect.engine.decision import NO_MATCH, Options, select
from tvselect.engine.reasons import TEMPLATES
from tvselect.facts.model import CpuFacts, Facts, Gpu, GpuFacts
from tvselect.verify.messages import TEMPLATES as VERIFY_TEMPLATES

ROOT = Path(__file__).resolve().parents[1]
CATALOG = load_catalog()
WIDTHS = [60, 80, 120]
# No GPU here, whatever machine runs the tests: CUDA hides every GPU for an empty value.
NO_GPU = {"CUDA_VISIBLE_DEVICES": ""}


def _packages(value: object) -> set[str]:
    """Every package name anywhere in a JSON document."""
    if isinstance(value, dict):
        found = {value["package"]} if isinstance(value.get("package"), str) else set()
        return found.union(*(_packages(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(_packages(v) for v in value))
    return set()


def _assert_whole_and_wrapped(done: Run, names: set[str], columns: int) -> None:
    assert done.code in (0, 3), done.stderr
    assert names, "nothing to look for"
    words = set(re.findall(r"[\w.-]+", done.stdout))
    missing = sorted(n for n in names if n not in words)
    assert not missing, f"cut or missing at {columns} columns: {missing[:5]}"
    assert "…" not in done.stdout
    for line in done.stdout.splitlines():
        # A line may pass the width only when it is one word that cannot be broken.
        assert len(line.rstrip()) <= columns or " " not in line.strip(), line


def _fleet(tmp_path: Path) -> Path:
    folder = tmp_path / "fleet"
    folder.mkdir()
    for index, gpu in enumerate(["9.0", "8.6", "12.0", "7.0", "none", "10.0"]):
        done = run("probe", "--json", "--gpu", gpu, "--driver", "580.65.06")
        assert done.code == 0, done.stderr
        (folder / f"host{index}.json").write_text(done.stdout)
    return folder


@pytest.mark.parametrize("columns", WIDTHS, ids=[f"cols{c}" for c in WIDTHS])
def test_list_shows_every_name_whole(columns: int) -> None:
    names = _packages(run("list", "--json").json())
    assert len(names) > 50
    _assert_whole_and_wrapped(run("list", env={"COLUMNS": str(columns)}), names, columns)


@pytest.mark.parametrize("columns", WIDTHS, ids=[f"cols{c}" for c in WIDTHS])
@pytest.mark.parametrize("cover", [False, True], ids=["plan", "cover"])
def test_plan_shows_every_name_whole(columns: int, cover: bool, tmp_path: Path) -> None:
    if cover:
        pytest.importorskip("highspy")
    fleet = _fleet(tmp_path)
    names = {p["package"] for p in run("plan", "--json", str(fleet)).json()["packages"]}  # type: ignore[index]
    extra = ("--cover",) if cover else ()
    done = run("plan", str(fleet), *extra, env={"COLUMNS": str(columns)})
    _assert_whole_and_wrapped(done, names, columns)


@pytest.mark.parametrize("columns", WIDTHS, ids=[f"cols{c}" for c in WIDTHS])
@pytest.mark.parametrize(
    "machine", [("--gpu", "8.6"), ("--gpu", "none"), ("--gpu", "7.0")], ids=["sm86", "no-gpu", "unbuilt"]
)
def test_explain_shows_every_name_whole_and_wraps_reasons(columns: int, machine: tuple[str, ...]) -> None:
    args = ("--explain", *machine, "--driver", "550.54.14")
    names = _packages(run("--json", *args).json())
    done = run(*args, env={"COLUMNS": str(columns)})
    _assert_whole_and_wrapped(done, names, columns)


def test_piped_output_without_columns_is_not_cut_to_80() -> None:
    done = run("--explain", "--gpu", "8.6", "--driver", "550.54.14", env={"COLUMNS": ""})
    longest = max(len(line) for line in done.stdout.splitlines())
    assert longest > 80


@pytest.mark.parametrize(
    "args,title",
    [
        ((), "This machine"),
        (("--gpu", "8.6"), "Simulated machine"),
        (("--cpuinfo", "/proc/cpuinfo"), "Simulated machine"),
        (("--facts", "{facts}"), "Machine from {facts}"),
        (("--facts", "-"), "Machine from standard input"),
    ],
    ids=["probed", "gpu", "cpuinfo", "facts-file", "facts-stdin"],
)
def test_header_says_whose_machine(args: tuple[str, ...], title: str, tmp_path: Path) -> None:
    facts = tmp_path / "facts.json"
    facts.write_text(run("probe", "--json", "--gpu", "9.0").stdout)
    argv = [a.format(facts=facts) for a in args]
    done = run(*argv, stdin=facts.read_text(), env=NO_GPU)
    assert done.stdout.splitlines()[0] == title.format(facts=facts)


def test_simulated_gpu_line_says_its_capability_once_and_no_nested_brackets() -> None:
    gpu_line = next(line for line in run("--gpu", "8.6").stdout.splitlines() if "GPU 0" in line)
    assert gpu_line.count("8.6") == 1 and "simulated GPU" in gpu_line
    none = run("--gpu", "none").stdout
    assert "((" not in none and "))" not in none and "(--gpu none))" not in none


NO_MATCHES = [
    ("cuda-13_0-no-gpu", ("--branch", "cuda-13_0", "--gpu", "none")),
    ("cuda-13_0-cpu-only", ("--branch", "cuda-13_0", "--cpu-only", "--gpu", "9.0")),
    ("unbuilt-capability", ("--gpu", "7.0")),
    ("two-gpus-no-common", ("--gpu", "6.1", "--gpu", "12.1", "--driver", "550.54.14")),
]


@pytest.mark.parametrize("args", [n[1] for n in NO_MATCHES], ids=[n[0] for n in NO_MATCHES])
def test_every_no_match_says_why(args: tuple[str, ...]) -> None:
    done = run("--json", *args)
    doc = done.json()
    assert isinstance(doc, dict)
    assert (done.code, doc["status"]) == (3, "no-match")
    assert doc["reasons"], "a no-match without a reason"
    human = run(*args).stdout
    assert "No variant runs on this machine.\n  - " in human


def test_branch_without_builds_of_the_needed_kind_names_it() -> None:
    doc = run("--json", "--branch", "cuda-13_0", "--gpu", "none").json()
    assert isinstance(doc, dict)
    assert doc["reasons"][0]["text"].startswith("branch cuda-13_0 builds no CPU-only variant")


def _user_texts() -> list[tuple[str, str]]:
    texts = [("README.md", (ROOT / "README.md").read_text())]
    for templates in (TEMPLATES, VERIFY_TEMPLATES, PUBLISHED_TEMPLATES):
        texts += [(f"template {code}", text) for code, text in templates.items()]
    catalog = json.loads((ROOT / "data" / "variants.json").read_text())
    texts += [(f"branch {n}", json.dumps(b)) for n, b in catalog["branches"].items()]
    for command in ((), ("list",), ("show",), ("probe",), ("plan",), ("verify",)):
        texts.append((f"{' '.join(command)} --help", run(*command, "--help").stdout))
    texts.append(("show", run("show", "torchvision-python313-cuda13_0-sm121-armv9").stdout))
    texts.append(("no-match", run("--gpu", "7.0").stdout))
    return texts


def test_no_internal_jargon() -> None:
    for where, text in _user_texts():
        # "the seed" was the team's name for the build-torchvision README; a random seed is fine.
        assert not re.search(r"\bthe seed\b|\bseed's\b|\bseed readme\b", text, re.IGNORECASE), where


def test_driver_without_gpu_says_it_changes_nothing() -> None:
    done = run("--json", "--driver", "550.54.14", env=NO_GPU)
    doc = done.json()
    assert isinstance(doc, dict)
    assert "--driver 550.54.14 only replaces" in done.stderr
    assert any("changes nothing" in w for w in doc["warnings"])
    probed = run("probe", "--driver", "550.54.14", env=NO_GPU)
    assert "changes nothing" in probed.stderr
    assert "only replaces" not in run("--json", "--gpu", "9.0", "--driver", "550.54.14").stderr


def test_nfd_write_is_confirmed(tmp_path: Path) -> None:
    target = tmp_path / "tvselect"
    # This node's own facts (--nfd refuses simulated ones): an H100 identified by its PCI device ID.
    root = Path(__file__).parent / "roots" / "nvidia-no-driver"
    env = {"TVSELECT_ROOT": str(root), "PATH": "/nonexistent", "LD_LIBRARY_PATH": ""}
    done = run("--nfd", str(target), "--nfd-expiry", "3h", env=env)
    assert done.code == 0 and target.is_file()
    assert f"tvselect: wrote 5 Node Feature Discovery labels to {target}, expiring " in done.stderr


def test_list_branch_auto_lists_every_branch() -> None:
    every = run("list", "--json").json()
    auto = run("list", "--branch", "auto", "--json")
    assert auto.code == 0 and auto.json() == every
    shipped = json.loads((ROOT / "data" / "variants.json").read_text())
    assert isinstance(every, list) and {v["branch"] for v in every} == set(shipped["branches"])


@pytest.mark.parametrize("spelling", ["9.0", "sm_90", "sm90", "90", "SM90"], ids=str)
def test_list_gpu_arch_takes_the_spellings_of_gpu(spelling: str) -> None:
    done = run("list", "--gpu-arch", spelling, "--json")
    assert done.code == 0, done.stderr
    listed = done.json()
    assert isinstance(listed, list) and listed
    assert {v["gpu_arch"] for v in listed} == {"sm90"}


def test_list_json_help_says_array() -> None:
    assert "one JSON array" in " ".join(run("list", "--help").stdout.split())
    assert isinstance(run("list", "--json").json(), list)


@pytest.mark.parametrize(
    "args,count",
    [
        (("--gpu-arch", "12.1", "--isa", "armv9"), 1),
        (("--gpu-arch", "9.0", "--isa", "armv9"), 2),
        (
            (
                "--gpu-arch",
                "9.0",
            ),
            12,
        ),
    ],
    ids=["one", "two", "many"],
)
def test_counts_agree_with_their_nouns(args: tuple[str, ...], count: int) -> None:
    listed = run("list", *args, "--json").json()
    assert isinstance(listed, list) and len(listed) == count
    title = run("list", *args).stdout.splitlines()[0].strip()
    assert title == (f"{count} variants" if count != 1 else "1 variant")


def test_plan_of_one_host_is_singular(tmp_path: Path) -> None:
    facts = tmp_path / "one.json"
    facts.write_text(run("probe", "--json", "--gpu", "9.0", "--driver", "550.54.14").stdout)
    out = run("plan", str(facts)).stdout
    assert "1 host (1 kind of machine): 1 served by 1 package, 0 unserved" in out


def test_probe_names_the_host_before_the_notes() -> None:
    lines = run("probe", "--driver", "550.54.14").stdout.splitlines()
    host = next(i for i, line in enumerate(lines) if line.startswith("host"))
    note = next(i for i, line in enumerate(lines) if line.startswith("note"))
    assert host < note


def test_show_without_a_package_points_at_its_own_help() -> None:
    done = run("show")
    assert done.code == 2 and "see 'tvselect show --help'" in done.stderr


def test_quiet_prints_only_the_package_or_nothing() -> None:
    chosen = run("-q", "--gpu", "9.0", "--driver", "550.54.14")
    expected = run("--json", "--gpu", "9.0", "--driver", "550.54.14").json()
    assert isinstance(expected, dict)
    assert (chosen.code, chosen.stdout) == (0, expected["package"] + "\n")
    none = run("--quiet", "--gpu", "7.0")
    assert (none.code, none.stdout) == (3, "")
    assert run("-q", "--json").code == 2


def test_short_version_is_version() -> None:
    assert run("-V").stdout == run("--version").stdout != ""


@pytest.mark.parametrize(
    "args,env",
    [(("--no-color",), {}), ((), {"NO_COLOR": "1"}), (("list", "--no-color"), {})],
    ids=["option", "env", "subcommand"],
)
def test_no_color_removes_every_style(args: tuple[str, ...], env: dict[str, str]) -> None:
    styled = run(*[a for a in args if a != "--no-color"], env={"FORCE_COLOR": "1"})
    assert "\x1b[" in styled.stdout  # the check below can fail
    plain = run(*args, env={"FORCE_COLOR": "1", **env})
    assert plain.code == 0 and "\x1b[" not in plain.stdout


@pytest.mark.parametrize("typo,command", [("lst", "list"), ("plna", "plan"), ("prob", "probe")], ids=str)
def test_mistyped_subcommand_gets_a_suggestion(typo: str, command: str) -> None:
    done = run(typo)
    assert done.code == 2 and f"did you mean {command}?" in done.stderr


SUBCOMMANDS = [
    "list",
    "show",
    "probe",
    "plan",
    "verify",
    "catalog",
    "catalog import",
    "catalog lint",
    "catalog diff",
]


@pytest.mark.parametrize("command", SUBCOMMANDS, ids=str)
def test_every_subcommand_help_has_an_example(command: str) -> None:
    out = run(*command.split(), "--help").stdout
    assert re.search(r"Examples?:\n +tvselect " + command.split()[0], out), out


COMPLETION_REQUESTS = [
    ("bash", {"_TVSELECT_COMPLETE": "complete_bash", "COMP_WORDS": "tvselect li", "COMP_CWORD": "1"}),
    ("zsh", {"_TVSELECT_COMPLETE": "complete_zsh", "_TYPER_COMPLETE_ARGS": "tvselect li"}),
    (
        "fish",
        {
            "_TVSELECT_COMPLETE": "complete_fish",
            "_TYPER_COMPLETE_ARGS": "tvselect li",
            "_TYPER_COMPLETE_FISH_ACTION": "get-args",
        },
    ),
]


@pytest.mark.parametrize("env", [c[1] for c in COMPLETION_REQUESTS], ids=[c[0] for c in COMPLETION_REQUESTS])
def test_shell_completion_answers_each_shell(env: dict[str, str]) -> None:
    """What the completion scripts of bash, zsh and fish ask tvselect, in their protocols."""
    done = run(env=env)
    assert done.code == 0 and "list" in done.stdout and "plan" not in done.stdout, done.stdout


def test_shell_completion_script_is_shown() -> None:
    import shlex
    import subprocess

    from cli_helpers import tvselect_exe

    # typer detects the shell from the parent process: start tvselect from a real bash, as a
    # person would (under a test runner whose parent is no shell, detection finds nothing).
    done = subprocess.run(
        ["bash", "-c", f"{shlex.quote(tvselect_exe())} --show-completion; true"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "_TVSELECT_COMPLETE" in done.stdout, done.stderr
    assert "--install-completion" in run("--help").stdout


def test_result_schema_validates_with_plain_jsonschema() -> None:
    schemas = files("tvselect").joinpath("schemas")
    result = json.loads(schemas.joinpath("result-v1.json").read_text())
    facts = json.loads(schemas.joinpath("facts-v1.json").read_text())
    assert result["$defs"]["facts-v1"] == facts, "stale bundle: run python tools/bundle_schemas.py"
    doc = run("--json", "--explain", "--gpu", "9.0", "--driver", "550.54.14").json()
    jsonschema.validate(doc, result)
    jsonschema.validate(run("probe", "--json").json(), facts)
    assert isinstance(doc, dict)
    broken = {**doc, "facts": {**doc["facts"], "cpu": {}}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, result)


def _torch_here() -> bool:
    import importlib.util

    return importlib.util.find_spec("torch") is not None


@pytest.mark.skipif(_torch_here(), reason="torch is installed in this interpreter")
def test_verify_without_torch_names_python_option() -> None:
    done = run("verify", "--json", "--python", sys.executable, env=NO_GPU)
    doc = done.json()
    assert isinstance(doc, dict) and done.code == 5
    detail = next(c["detail"] for c in doc["checks"] if c["name"] == "torch-import")
    assert detail.startswith("no torch in this interpreter") and "--python" in detail


# What Python 3.6 (and 2.7, with another message) prints on the payload's first statement.
OLD_PYTHON = """#!/bin/sh
echo '  File "'"$1"'", line 11' >&2
echo '    from __future__ import annotations' >&2
echo '    ^' >&2
echo 'SyntaxError: future feature annotations is not defined' >&2
exit 1
"""


def test_verify_names_the_pythons_it_can_check(tmp_path: Path) -> None:
    python = tmp_path / "python3.6"
    python.write_text(OLD_PYTHON)
    python.chmod(0o755)
    done = run("verify", "--python", str(python), env=NO_GPU)
    assert done.code == 5
    assert "tvselect verify checks Python 3.7 or newer" in done.stdout


def test_license_is_mit_and_in_the_wheel(tmp_path: Path) -> None:
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License") and "tvselect developers" in text
    builder = pytest.importorskip("hatchling.builders.wheel")
    wheel = next(builder.WheelBuilder(str(ROOT)).build(directory=str(tmp_path), versions=["standard"]))
    import zipfile

    names = zipfile.ZipFile(wheel).namelist()
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names), names
    assert os.path.getsize(wheel) > 0


def test_ivy_bridge_reason_lists_avx2_for_avx512_builds() -> None:
    from machines import cpuinfo_path

    ivy = str(cpuinfo_path("linux-rhel7-ivybridge.txt"))
    doc = run("--json", "--cpuinfo", ivy, "--gpu", "9.0", "--driver", "550.54.14").json()
    assert isinstance(doc, dict) and doc["status"] == "no-match"
    texts = [r["text"] for r in doc["reasons"]]
    assert (
        "this CPU lacks avx2, avx512bw, avx512dq, avx512f, avx512vl, fma, which the avx512 build needs"
        in texts
    )


@settings(max_examples=300, deadline=None)
@given(
    arch=st.sampled_from(["x86_64", "aarch64", "ppc64le"]),
    features=st.sets(st.sampled_from(sorted({f for i in CATALOG.isas.values() for f in i.needs}))),
    caps=st.lists(st.sampled_from(sorted(CATALOG.known_capabilities)), max_size=3),
    driver=st.sampled_from([None, "470.57", "550.54.14", "580.65.06"]),
    branch=st.sampled_from([None, *CATALOG.branches]),
    cpu_only=st.booleans(),
)
def test_property_every_no_match_has_a_reason(
    arch: str,
    features: set[str],
    caps: list[tuple[int, int]],
    driver: str | None,
    branch: str | None,
    cpu_only: bool,
) -> None:
    devices = tuple(Gpu(i, "g", None, Capability(*cap), None, None) for i, cap in enumerate(caps))
    gpu = GpuFacts("simulated" if devices else "none", devices, (), driver, None, None if devices else "none")
    facts = Facts(CpuFacts(arch, None, None, frozenset(features), "hypothesis"), gpu)
    decision = select(facts, CATALOG, Options(branch=branch, cpu_only=cpu_only))
    if decision.status == NO_MATCH:
        assert decision.reasons, "a no-match without a reason"
        assert all("{" not in r.text for r in decision.reasons)
