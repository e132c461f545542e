"""What a newcomer meets in the first hour, through the installed console script: errors that say
what is wrong (an option without its value, a bad environment variable, never Python's `None`),
output that survives narrow terminals and copying, completion, and the examples' honesty."""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import pytest
from cli_helpers import run
from fakeenv import GOOD_H100, catalog_for_this_python, write_fake_torch
from fakeflox import make_org_flox
from machines import cpuinfo_path

from tvselect.base.shipped import shipped_table
from tvselect.catalog.model import load_catalog

ROOT = Path(__file__).resolve().parents[1]
CATALOG = load_catalog()
HASWELL = "linux-rhel7-haswell.txt"
SM90 = "torchvision-python313-cuda12_9-sm90-"

# ---------------------------------------------------------------- an option given without its value

OPTION_WITHOUT_VALUE = [
    ("probe", "--gpu"),
    ("probe", "--json", "--gpu"),
    ("list", "--gpu-arch"),
    ("list", "--branch"),
    ("plan", "--org"),
    ("plan", "--available"),
    ("verify", "--python"),
    ("show", "--cpuinfo"),
    ("catalog", "import", "--branch"),
    ("--gpu",),
]


@pytest.mark.parametrize("args", OPTION_WITHOUT_VALUE, ids=" ".join)
def test_an_option_without_its_value_is_named(args: tuple[str, ...]) -> None:
    done = run(*args)
    command = " ".join(a for a in args[:-1] if not a.startswith("-"))
    assert done.code == 2 and done.stdout == ""
    assert done.stderr.splitlines() == [
        f"tvselect: error: Option '{args[-1]}' requires an argument. "
        f"(see 'tvselect {command + ' ' if command else ''}--help')"
    ]


def test_a_mistyped_command_still_gets_a_guess() -> None:
    done = run("prob", "--gpu", "9.0")
    assert done.code == 2 and "no such command 'prob'; did you mean probe?" in done.stderr


# ---------------------------------------------------------------- environment variables, checked as options are

BAD_TIMEOUTS = ["abc", "-5", "nan", "inf", "0", "1e400", "600.1", "-inf", "1" * 40, " "]


@pytest.mark.parametrize("value", BAD_TIMEOUTS)
def test_a_bad_flox_timeout_is_refused_naming_the_variable(tmp_path: Path, value: str) -> None:
    flox = make_org_flox(tmp_path, {f"{SM90}avx512": ["0.24.0"]})
    done = run("--org", "acme", "--gpu", "9.0", "-q", env={**flox.env(), "TVSELECT_FLOX_TIMEOUT": value})
    if not value.strip():
        assert done.code == 0, done.stderr  # empty: the default, as if unset
        return
    assert done.code == 2 and done.stdout == ""
    assert done.stderr.startswith("tvselect: error: TVSELECT_FLOX_TIMEOUT="), done.stderr
    assert "is not a number of seconds above 0 and at most 600" in done.stderr
    assert flox.calls() == [], "flox was asked before the variable was checked"


@pytest.mark.parametrize("value", ["0.5", "600", "10"])
def test_a_good_flox_timeout_is_taken(tmp_path: Path, value: str) -> None:
    flox = make_org_flox(tmp_path, {f"{SM90}avx512": ["0.24.0"]})
    done = run("--org", "acme", "--gpu", "9.0", "-q", env={**flox.env(), "TVSELECT_FLOX_TIMEOUT": value})
    assert (done.code, done.stdout.strip()) == (0, f"{SM90}avx512"), done.stderr


@pytest.mark.parametrize("command", [(), ("list",), ("show", f"{SM90}avx512"), ("plan", "-")])
def test_a_bad_catalog_variable_is_named(command: tuple[str, ...]) -> None:
    done = run(*command, env={"TVSELECT_CATALOG": "/nonexistent"}, stdin="")
    assert done.code == 2
    assert done.stderr.startswith("tvselect: error: TVSELECT_CATALOG=/nonexistent: "), done.stderr


def test_a_bad_catalog_option_is_not_blamed_on_the_variable() -> None:
    done = run("--catalog", "/nonexistent", env={"TVSELECT_CATALOG": "/also-nonexistent"})
    assert done.code == 2 and "TVSELECT_CATALOG" not in done.stderr and "/nonexistent" in done.stderr


# ---------------------------------------------------------------- no None, no misleading words


@pytest.mark.parametrize(
    ("document", "says"),
    [
        ("{}", "schema_version is missing"),
        ('{"schema_version": null}', "schema_version is null"),
        ('{"schema_version": "1"}', 'schema_version is "1"'),
        ('{"schema_version": 1, "kind": null}', "kind is null, not a facts document"),
    ],
    ids=["missing", "null", "string", "kind-null"],
)
def test_facts_errors_speak_json_not_python(document: str, says: str) -> None:
    done = run("--facts", "-", stdin=document)
    assert done.code == 2 and says in done.stderr and "None" not in done.stderr, done.stderr


def test_catalog_errors_speak_json_not_python(tmp_path: Path) -> None:
    (tmp_path / "c.json").write_text('{"branches": {}}')
    done = run("--catalog", str(tmp_path / "c.json"))
    assert done.code == 2 and "schema_version: missing" in done.stderr and "None" not in done.stderr


def test_verify_without_torchvision_says_so(tmp_path: Path) -> None:
    catalog = catalog_for_this_python(tmp_path / "catalog.json")
    cpu_torch = {**GOOD_H100, "torch_version": "2.13.0+cpu", "cuda": None, "devices": [], "arch_list": []}
    fakes = write_fake_torch(tmp_path / "fakes", cpu_torch, torchvision=False)
    args = ("verify", "--python", sys.executable, "--gpu", "none", "--catalog", str(catalog))
    env = {"PYTHONPATH": str(fakes)}
    done = run(*args, env=env)
    assert done.code == 5
    assert "None" not in done.stdout + done.stderr, done.stdout
    assert "torchvision not importable" in done.stdout
    doc = run(*args, "--json", env=env).json()
    assert isinstance(doc, dict)
    texts = [c["detail"] for c in doc["checks"]]
    assert not [t for t in texts if re.search(r"\bNone\b", t)], texts


@pytest.mark.parametrize("install", [False, True], ids=["asking", "installing"])
def test_a_hung_flox_says_nothing_was_installed_only_when_installing(tmp_path: Path, install: bool) -> None:
    flox = make_org_flox(tmp_path, {}, mode="hang")
    args = ("--org", "acme", "-q", "--gpu", "9.0", *(("--install", "--dry-run") if install else ()))
    done = run(*args, env={**flox.env(), "TVSELECT_FLOX_TIMEOUT": "1"})
    assert done.code == 4 and "did not answer within 1 s" in done.stderr
    assert ("nothing was installed" in done.stderr) is install, done.stderr


# ---------------------------------------------------------------- narrow terminals, copying

HELPS = [(), ("list",), ("show",), ("probe",), ("plan",), ("verify",), ("catalog",), ("catalog", "import")]
HELPS += [("catalog", "lint"), ("catalog", "diff")]


@pytest.mark.parametrize("command", HELPS, ids=lambda c: " ".join(c) or "main")
@pytest.mark.parametrize("columns", [60, 80])
def test_help_fits_the_terminal(command: tuple[str, ...], columns: int) -> None:
    done = run(*command, "--help", env={"COLUMNS": str(columns)})
    assert done.code == 0
    wide = [line for line in done.stdout.splitlines() if len(line) > columns]
    assert wide == [], wide


@pytest.mark.parametrize("columns", [40, 60, 80, 100])
def test_commands_to_copy_are_never_broken(tmp_path: Path, columns: int) -> None:
    (tmp_path / "published.txt").write_text(f"{SM90}avx2\n")
    args = ("--install", "--dry-run", "--org", "acme", "--available", str(tmp_path / "published.txt"))
    done = run(
        *args,
        "--gpu",
        "9.0",
        "--driver",
        "580.65.06",
        "--cpuinfo",
        str(cpuinfo_path("linux-rocky8.5-zen4.txt")),
        env={"COLUMNS": str(columns)},
    )
    assert done.code == 0, done.stderr
    lines = [line.strip() for line in done.stdout.splitlines()]
    branch = shipped_table("branch-names")["repository_branch"]["cuda-12_9"]
    for command in (
        f"flox install acme/{SM90}avx2",
        f"git checkout {branch} && flox build {SM90}avx512",
        f"flox publish -o acme {SM90}avx512",
    ):
        assert any(line.endswith(command) for line in lines), (command, done.stdout)


@pytest.mark.parametrize(
    "args",
    [
        ("list",),
        ("plan", "--cover", "{fleet}"),
        ("plan", "{fleet}"),
        ("--explain", "--gpu", "9.0"),
        ("show", f"{SM90}avx512"),
    ],
    ids=["list", "cover", "plan", "explain", "show"],
)
def test_piped_output_has_no_trailing_spaces(tmp_path: Path, args: tuple[str, ...]) -> None:
    fleet = tmp_path / "fleet.json"
    fleet.write_text(run("probe", "--json", "--gpu", "9.0", "--driver", "580.65.06").stdout)
    done = run(*(a.replace("{fleet}", str(fleet)) for a in args))
    assert done.code in (0, 3), done.stderr
    assert done.stdout.strip()
    assert [line for line in done.stdout.splitlines() if line != line.rstrip()] == []


def test_missing_cpu_features_are_said_in_words() -> None:
    done = run("probe", "--gpu", "none", "--cpuinfo", str(cpuinfo_path(HASWELL)), env={"NO_COLOR": "1"})
    lines = done.stdout.splitlines()
    has = next(line for line in lines if "features that matter:" in line)
    lacks = next(line for line in lines if "features it lacks:" in line)
    assert "avx2" in has.split() and "avx512f" in lacks.split() and "avx512f" not in has.split()
    assert not re.search(r"\s-\w", has + lacks), "a bare '-' marker"


@pytest.mark.parametrize("columns", [40, 60, 80, 200])
def test_list_never_drops_columns_silently(columns: int) -> None:
    text = run("list", "--gpu-arch", "9.0", env={"COLUMNS": str(columns)}).stdout
    has_columns = "CPU ISA" in text or re.search(r"-sm90-avx512\s+sm90\s+avx512\b", text)
    assert has_columns or "too narrow for the GPU arch and CPU ISA columns" in text, text


# ---------------------------------------------------------------- completion, suggestions


def _complete(words: str) -> list[str]:
    env = {
        "_TVSELECT_COMPLETE": "complete_bash",
        "COMP_WORDS": words,
        "COMP_CWORD": str(len(words.split()) - (0 if words.endswith(" ") else 1)),
    }
    done = run(env=env)
    assert done.code == 0, done.stderr
    return done.stdout.split()


def test_completion_of_workload_branch_and_package() -> None:
    assert set(_complete("tvselect --workload ")) == set(CATALOG.workloads)
    assert set(_complete("tvselect --branch ")) == {"auto", *CATALOG.branches}
    assert set(_complete("tvselect list --branch cu")) == {b for b in CATALOG.branches if b.startswith("cu")}
    assert set(_complete(f"tvselect show {SM90}avx")) == {
        p for p in CATALOG.branches_of_package if p.startswith(f"{SM90}avx")
    }


def test_completion_follows_the_catalog_in_use(tmp_path: Path) -> None:
    data = json.loads((ROOT / "src" / "tvselect" / "data" / "variants.json").read_text())
    data["branches"]["team-2026"] = data["branches"].pop("main")
    data["branch_preference"] = [b if b != "main" else "team-2026" for b in data["branch_preference"]]
    for variant in data["variants"]:
        variant["branch"] = "team-2026" if variant["branch"] == "main" else variant["branch"]
    (tmp_path / "c.json").write_text(json.dumps(data))
    done = run(
        env={
            "_TVSELECT_COMPLETE": "complete_bash",
            "COMP_WORDS": "tvselect --branch te",
            "COMP_CWORD": "2",
            "TVSELECT_CATALOG": str(tmp_path / "c.json"),
        }
    )
    assert done.stdout.split() == ["team-2026"]


@pytest.mark.parametrize("part", ["sm90-avx512", "cpu-avx2", "cuda13_0-sm121"])
def test_a_part_of_a_name_lists_the_names_that_contain_it(part: str) -> None:
    done = run("show", part)
    names = sorted(p for p in CATALOG.branches_of_package if part in p)
    assert done.code == 2 and names
    assert "names containing it: " in done.stderr
    assert all(n in done.stderr for n in names[:3] if n.endswith(part)), done.stderr


# ---------------------------------------------------------------- the examples tell the truth


def test_the_daemonset_installs_tvselect_the_way_that_works() -> None:
    daemonset = (ROOT / "examples" / "nfd" / "daemonset.yaml").read_text()
    containerfile = (ROOT / "examples" / "nfd" / "Containerfile").read_text()
    assert "pip install tvselect" not in daemonset + containerfile  # not on PyPI
    assert "examples/nfd/Containerfile" in daemonset
    assert "python -m pip install --no-cache-dir /src" in containerfile
    copied = re.findall(r"^COPY (.+) /src", containerfile, re.MULTILINE)
    for line in copied:
        for name in line.split():
            assert (ROOT / name).exists(), name


def test_advice_names_the_branch_of_the_catalog_in_use(tmp_path: Path) -> None:
    """Built-in catalog: the repository's branch name; a catalog read from recipes: its own."""
    renamed = shipped_table("branch-names")["repository_branch"]
    (tmp_path / "published.txt").write_text(f"{SM90}avx2\n")
    args = (
        "--available",
        str(tmp_path / "published.txt"),
        "--org",
        "acme",
        "--gpu",
        "9.0",
        "--driver",
        "580.65.06",
    )
    args += ("--cpuinfo", str(cpuinfo_path("linux-rocky8.5-zen4.txt")))
    done = run(*args)
    assert f"git checkout {renamed['cuda-12_9']} && flox build {SM90}avx512" in done.stdout
    data = json.loads((ROOT / "src" / "tvselect" / "data" / "variants.json").read_text())
    (tmp_path / "c.json").write_text(json.dumps(data))
    own = run(*args, "--catalog", str(tmp_path / "c.json"))
    assert f"git checkout cuda-12_9 && flox build {SM90}avx512" in own.stdout, own.stdout


def test_every_link_in_the_docs_leads_somewhere() -> None:
    pages = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *(ROOT / "docs").glob("*.md")]
    for page in pages:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text()):
            if "://" not in target:
                assert (page.parent / target).exists(), f"{page.name}: {target}"


def test_the_readme_links_build_torchvision_and_flox_and_says_linux() -> None:
    readme = (ROOT / "README.md").read_text()
    head = "\n".join(readme.splitlines()[:20])
    seed_readme = ROOT.parent / "shared" / "seed" / "build-torchvision-README.md"
    assert "https://github.com/barstoolbluz/build-torchvision" in head
    assert "https://flox.dev" in head and "Linux" in head
    assert "not on PyPI" in readme and "this checkout" in readme
    if seed_readme.is_file():
        assert "build-torchvision" in seed_readme.read_text()
    assert os.path.exists(ROOT / "CONTRIBUTING.md")


def test_the_readme_counts_the_catalog_it_ships() -> None:
    readme = (ROOT / "README.md").read_text()
    assert f"in {len(CATALOG.variants)} variants" in readme


def test_the_container_image_builds_from_what_it_copies(tmp_path: Path) -> None:
    """examples/nfd/Containerfile copies a few paths of the checkout and runs `pip install` on them:
    those paths alone make the wheel, with the data tables and schemas in it."""
    import shutil
    import zipfile

    builder = pytest.importorskip("hatchling.builders.wheel")
    containerfile = (ROOT / "examples" / "nfd" / "Containerfile").read_text()
    context = tmp_path / "src"
    for line in re.findall(r"^COPY (.+)$", containerfile, re.MULTILINE):
        *sources, destination = line.split()
        target = context / destination.removeprefix("/src").lstrip("/")
        for name in sources:
            if (ROOT / name).is_dir():
                # As a container build copies: links stay links (src/tvselect/data/ links into data/).
                shutil.copytree(
                    ROOT / name, target, symlinks=True, ignore=shutil.ignore_patterns("__pycache__")
                )
            else:
                target.mkdir(parents=True, exist_ok=True)
                shutil.copy(ROOT / name, target / name)
    wheel = next(builder.WheelBuilder(str(context)).build(directory=str(tmp_path), versions=["standard"]))
    names = zipfile.ZipFile(wheel).namelist()
    for shipped in (
        "tvselect/data/variants.json",
        "tvselect/data/branch-names.json",
        "tvselect/schemas/result-v1.json",
    ):
        assert shipped in names, shipped


def test_every_docs_page_is_reached_from_the_readme() -> None:
    """Each page of docs/ is linked from the README's table, or from a page linked there."""

    def links(page: Path) -> set[Path]:
        found = re.findall(r"\]\(([^)#\s]+\.md)(?:#[^)]*)?\)", page.read_text())
        return {(page.parent / target).resolve() for target in found if "://" not in target}

    first = links(ROOT / "README.md")
    reached = first.union(*(links(p) for p in first if p.exists()))
    pages = {p.resolve() for p in (ROOT / "docs").glob("*.md")}
    assert sorted(p.name for p in pages - reached) == []


def test_every_option_of_the_main_command_is_in_the_docs() -> None:
    """docs/commands.md's tables name every option `tvselect --help` lists."""
    options = set(re.findall(r"^\s+(?:-\w, )?(--[a-z][a-z-]*)", run("--help").stdout, re.MULTILINE))
    text = (ROOT / "docs" / "commands.md").read_text()
    assert options and sorted(o for o in options if f"`{o}" not in text) == []
