"""The schemas are the contract: every command's --json output validates against its schema.

Each row runs the installed console script (real cpuinfo files, probe roots, fake flox and a
fake torch at the process boundary) and validates what it printed against the schema of that
document, where every object has `additionalProperties: false`: a key that is not in the
schema fails here. `tools/bundle_schemas.py --check` must pass too.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from importlib.resources import files
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from cli_helpers import run
from fakeenv import GOOD_H100, catalog_for_this_python, write_fake_flox, write_fake_torch
from fakeflox import make_org_flox
from machines import CPUINFO_DIR
from referencing import Registry, Resource

ROOT = Path(__file__).resolve().parents[1]
ROOTS = ROOT / "tests" / "roots"
SHARED_TV = ROOT.parent / "shared" / "build-torchvision"
SCHEMAS = files("tvselect").joinpath("schemas")
H100 = ROOT / "tests" / "fixtures" / "h100-nvml-probe.json"
SM90 = "torchvision-python313-cuda12_9-sm90-"


def schema_names() -> list[str]:
    return sorted(p.name for p in SCHEMAS.iterdir() if p.name.endswith("-v1.json"))


def validator(name: str) -> jsonschema.Draft202012Validator:
    loaded = {n: json.loads(SCHEMAS.joinpath(n).read_text()) for n in schema_names()}
    registry: Registry = Registry().with_resources(
        (f"https://tvselect.invalid/schemas/{n}", Resource.from_contents(s)) for n, s in loaded.items()
    )
    return jsonschema.Draft202012Validator(loaded[name], registry=registry)


def _cpu(name: str) -> str:
    return str(CPUINFO_DIR / f"linux-{name}.txt")


# (id, schema, arguments, environment); {ws} is the workspace folder made once per module.
CASES: list[tuple[str, str, tuple[str, ...], dict[str, str]]] = [
    (
        "main-h100-zen4",
        "result",
        ("--gpu", "9.0", "--driver", "580.65.06", "--cpuinfo", _cpu("rocky8.5-zen4")),
        {},
    ),
    (
        "main-spark-570",
        "result",
        ("--gpu", "12.1", "--driver", "570.86.10", "--cpuinfo", _cpu("rhel9-neoverse_v2")),
        {},
    ),
    ("main-no-gpu", "result", ("--gpu", "none", "--cpuinfo", _cpu("rhel7-haswell")), {}),
    ("main-power9-no-match", "result", ("--gpu", "none", "--cpuinfo", _cpu("rhel8-power9")), {}),
    (
        "main-v100-no-match",
        "result",
        ("--gpu", "7.0", "--driver", "560", "--cpuinfo", _cpu("rhel7-skylake_avx512")),
        {},
    ),
    ("main-explain", "result", ("--explain", "--gpu", "8.6", "--gpu", "8.9"), {}),
    ("main-cpu-only-bf16", "result", ("--cpu-only", "--workload", "bf16-training", "--gpu", "9.0"), {}),
    ("main-branch-main", "result", ("--branch", "main", "--gpu", "8.0", "--driver", "550.54.14"), {}),
    ("main-driver-unknown", "result", ("--gpu", "9.0"), {}),
    ("main-facts-h100", "result", ("--facts", str(H100)), {}),
    ("main-this-machine", "result", (), {}),
    (
        "main-available",
        "result",
        ("--available", "{ws}/published.txt", "--gpu", "9.0", "--driver", "580.65.06"),
        {},
    ),
    (
        "main-install-dry-run",
        "result",
        ("--install", "--dry-run", "--org", "acme", "--available", "{ws}/published.txt", "--gpu", "9.0"),
        {},
    ),
    ("main-org-flox", "result", ("--org", "acme", "--gpu", "9.0", "--driver", "580.65.06"), {"flox": "org"}),
    (
        "main-install-verify",
        "result",
        ("--install", "--org", "acme", "--dir", "{ws}/env", "--verify", "--catalog", "{ws}/catalog.json"),
        {"flox": "torch"},
    ),
    ("probe-simulated", "facts", ("probe", "--gpu", "9.0", "--gpu", "8.6", "--driver", "580.65.06"), {}),
    ("probe-this-machine", "facts", ("probe",), {}),
    ("list-all", "list", ("list",), {}),
    ("list-cpu-only", "list", ("list", "--cpu-only"), {}),
    ("list-sm90-avx512", "list", ("list", "--gpu-arch", "9.0", "--isa", "avx512"), {}),
    ("show-sm90", "show", ("show", SM90 + "avx512", "--gpu", "9.0", "--driver", "580.65.06"), {}),
    ("show-cpu-here", "show", ("show", "torchvision-python313-cpu-avx2"), {}),
    ("show-cannot-run", "show", ("show", SM90 + "armv9", "--gpu", "none"), {}),
    ("plan", "plan", ("plan", "{ws}/fleet"), {}),
    ("plan-available", "plan", ("plan", "--available", "{ws}/published.txt", "{ws}/fleet"), {}),
    ("plan-cover", "plan", ("plan", "--cover", "--org", "acme", "{ws}/fleet"), {}),
    ("plan-max-builds", "plan", ("plan", "--max-builds", "2", "{ws}/fleet"), {}),
    (
        "verify-good",
        "verify",
        (
            "verify",
            "--python",
            sys.executable,
            "--gpu",
            "9.0",
            "--driver",
            "550.54.14",
            "--catalog",
            "{ws}/catalog.json",
        ),
        {"torch": "good"},
    ),
    (
        "verify-no-torch",
        "verify",
        ("verify", "--python", sys.executable, "--gpu", "none", "--catalog", "{ws}/catalog.json"),
        {},
    ),
    ("catalog-diff-same", "catalog-diff", ("catalog", "diff", "builtin", "builtin"), {}),
]
for _root in ("nvidia-no-driver", "amd-radeon", "jetson-agx-orin", "wsl2"):
    CASES.append((f"main-root-{_root}", "result", (), {"TVSELECT_ROOT": str(ROOTS / _root)}))
    CASES.append((f"probe-root-{_root}", "facts", ("probe",), {"TVSELECT_ROOT": str(ROOTS / _root)}))
for _branch in ("main", "pytorch-2.9", "pytorch-2.10"):
    _checkout = f"{_branch}={SHARED_TV / _branch}"
    CASES.append(
        (
            f"catalog-diff-{_branch}",
            "catalog-diff",
            ("catalog", "diff", "builtin", _checkout),
            {"shared": "1"},
        )
    )
    CASES.append((f"list-{_branch}", "list", ("list", "--catalog", _checkout), {"shared": "1"}))
CASES.append(
    (
        "show-darwin-mps",
        "show",
        (
            "show",
            "torchvision-python313-darwin-mps",
            "--catalog",
            f"main={SHARED_TV / 'main'}",
            "--gpu",
            "none",
        ),
        {"shared": "1"},
    )
)

for _branch in ("main", "pytorch-2.9"):
    _lint = ("catalog", "lint", f"{_branch}={SHARED_TV / _branch}", "--format", "json")
    CASES.append((f"catalog-lint-{_branch}", "catalog-lint", _lint, {"shared": "1"}))
_TEAM = f"team={ROOT / 'tests' / 'recipes' / 'team'}"
CASES.append(("catalog-lint-team", "catalog-lint", ("catalog", "lint", _TEAM, "--format", "json"), {}))
CASES.append(("catalog-diff-team", "catalog-diff", ("catalog", "diff", "builtin", _TEAM), {}))

# Several products in one answer, from real family checkouts (products-v1.json).
SHARED = ROOT.parent / "shared"
_PT210 = str(SHARED / "build-pytorch" / "pytorch-2.10-python313")
_TV210 = str(SHARED / "build-torchvision" / "pytorch-2.10")
_TA = str(SHARED / "build-torchaudio" / "main")
_H200 = ("--gpu", "9.0", "--driver", "580.65.06", "--cpuinfo", _cpu("rocky8.5-zen4"))
_PT_TV = ("--product", "pytorch", "--product", "torchvision", "--catalog", _PT210, "--catalog", _TV210)
_TV_TA = ("--product", "torchvision", "--product", "torchaudio", "--catalog", _TV210, "--catalog", _TA)
_FAMILY = {"shared": "1", "checkouts": os.pathsep.join((_PT210, _TV210, _TA))}
CASES += [
    ("products-pytorch-torchvision", "products", (*_PT_TV, *_H200), _FAMILY),
    ("products-no-gpu", "products", (*_PT_TV, "--gpu", "none", "--cpuinfo", _cpu("rhel7-haswell")), _FAMILY),
    ("products-two-pytorch", "products", (*_TV_TA, *_H200), _FAMILY),
    (
        "products-install-refused",
        "products",
        (*_PT_TV, *_H200, "--install", "--dry-run", "--org", "acme"),
        _FAMILY,
    ),
    (
        "products-install-dry-run",
        "products",
        (*_PT_TV, *_H200, "--install", "--dry-run", "--org", "acme", "--allow-two-torch"),
        _FAMILY,
    ),
]

FLEET = [
    ("train-01", "rhel7-skylake_avx512", ("--gpu", "8.0", "--gpu", "8.0")),
    (
        "train-02",
        "rhel7-skylake_avx512",
        (
            "--gpu",
            "9.0",
        ),
    ),
    (
        "infer-01",
        "rocky8.5-zen4",
        (
            "--gpu",
            "8.6",
        ),
    ),
    (
        "gh-01",
        "rhel9-neoverse_v2",
        (
            "--gpu",
            "9.0",
        ),
    ),
    (
        "ci-01",
        "rhel7-haswell",
        (
            "--gpu",
            "none",
        ),
    ),
    (
        "old-01",
        "rhel8-power9",
        (
            "--gpu",
            "none",
        ),
    ),
    (
        "v100-01",
        "rhel7-skylake_avx512",
        (
            "--gpu",
            "7.0",
        ),
    ),
]


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fleet of facts documents, a list of published packages, fakes and a catalog for this Python."""
    if not CPUINFO_DIR.is_dir():
        pytest.skip(f"{CPUINFO_DIR} is not here")
    folder = tmp_path_factory.mktemp("json")
    fleet = folder / "fleet"
    fleet.mkdir()
    for host, cpu, gpus in FLEET:
        done = run("probe", "--json", "--cpuinfo", _cpu(cpu), *gpus, "--driver", "580.65.06")
        assert done.code == 0, done.stderr
        (fleet / f"{host}.json").write_text(done.stdout.replace('"host": null', f'"host": "{host}"'))
    (fleet / "broken.json").write_text('{"schema_version": 9}\n')
    (folder / "published.txt").write_text(f"{SM90}avx2\ntorchvision-python313-cpu-avx2\n")
    catalog_for_this_python(folder / "catalog.json")
    fakes = write_fake_torch(
        folder / "fakes",
        {**GOOD_H100, "cuda": None, "torch_version": "2.9.1+cpu", "devices": [], "arch_list": []},
    )
    write_fake_flox(folder / "bin", fakes, folder / "flox.log")
    write_fake_torch(folder / "good", GOOD_H100)
    return folder


def _skip_without_shared(extra: dict[str, str]) -> None:
    wanted = [SHARED_TV, *map(Path, filter(None, extra.get("checkouts", "").split(os.pathsep)))]
    missing = [str(p) for p in wanted if not p.is_dir()]
    if extra.get("shared") and missing:
        pytest.skip(f"{missing[0]} is not here")


def _environment(ws: Path, extra: dict[str, str], tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in extra.items() if k.startswith("TVSELECT_")}
    if extra.get("flox") == "org":
        flox = make_org_flox(tmp_path, {f"{SM90}avx2": ["0.24.0"]})
        env.update(flox.env())
    if extra.get("flox") == "torch":
        env["PATH"] = f"{ws / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"
    if extra.get("torch") == "good":
        env["PYTHONPATH"] = str(ws / "good")
    return env


@pytest.mark.parametrize(("schema", "args", "extra"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_json_output_validates(
    ws: Path, tmp_path: Path, schema: str, args: tuple[str, ...], extra: dict[str, str]
) -> None:
    _skip_without_shared(extra)
    if (
        extra.get("flox") == "torch"
        and run("--json", "--catalog", str(ws / "catalog.json")).json()["gpu_arch"]
    ):  # type: ignore[index]
        pytest.skip("--install acts on this machine: needs a machine without a GPU")
    argv = [a.replace("{ws}", str(ws)) for a in args]
    argv += [] if "--format" in argv else ["--json"]
    done = run(*argv, env=_environment(ws, extra, tmp_path), timeout=120)
    # 1: catalog lint found something; 4: --install refused two PyTorch builds (flox not run)
    assert done.code in (0, 1, 3, 4, 5), done.stderr
    doc = json.loads(done.stdout)
    errors = sorted(validator(f"{schema}-v1.json").iter_errors(doc), key=str)
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:5])


def _objects(schema: Any, where: str = "") -> list[tuple[str, dict[str, Any]]]:
    found: list[tuple[str, dict[str, Any]]] = []
    if isinstance(schema, dict):
        if schema.get("type") == "object" or "properties" in schema:
            found.append((where, schema))
        for key, value in schema.items():
            if key not in ("if", "then", "else"):  # conditions narrow the object they sit in
                found += _objects(value, f"{where}/{key}")
    elif isinstance(schema, list):
        for index, value in enumerate(schema):
            found += _objects(value, f"{where}/{index}")
    return found


@pytest.mark.parametrize("name", schema_names())
def test_every_object_of_every_schema_is_closed(name: str) -> None:
    schema = json.loads(SCHEMAS.joinpath(name).read_text())
    validator(name)  # a valid schema
    jsonschema.Draft202012Validator.check_schema(schema)
    open_objects = [where for where, obj in _objects(schema) if obj.get("additionalProperties") is not False]
    assert not open_objects, f"{name}: objects without additionalProperties false: {open_objects}"


def test_a_key_not_in_the_schema_is_refused() -> None:
    doc = run("--json", "--gpu", "9.0", "--driver", "580.65.06").json()
    assert isinstance(doc, dict)
    validator("result-v1.json").validate(doc)
    for broken in ({**doc, "surprise": 1}, {**doc, "facts": {**doc["facts"], "surprise": 1}}):
        with pytest.raises(jsonschema.ValidationError):
            validator("result-v1.json").validate(broken)


def test_bundled_schemas_are_current() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "bundle_schemas.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def _has_json(command: str) -> bool:
    """Whether the command's --help lists a --json or --format option."""
    text = run(*command.split(), "--help").stdout
    return bool(re.search(r"^\s+(--json|--format)\b", text, re.MULTILINE))


def test_every_json_command_has_a_row() -> None:
    """Each command that can print JSON (read from its --help) is run above at least once."""
    commands = {
        "": "result",
        "probe": "facts",
        "list": "list",
        "show": "show",
        "plan": "plan",
        "verify": "verify",
    }
    commands |= {"catalog diff": "catalog-diff", "catalog lint": "catalog-lint", "catalog import": "catalog"}
    for command, schema in commands.items():
        if _has_json(command):
            assert any(c[1] == schema for c in CASES), f"tvselect {command} prints JSON: add its rows"
    assert all(_has_json(c) for c in ("", "probe", "list", "show", "plan", "verify", "catalog diff"))


def test_every_schema_has_a_row() -> None:
    assert [n for n in schema_names() if not any(f"{c[1]}-v1.json" == n for c in CASES)] == []


def test_a_key_not_in_the_products_schema_is_refused() -> None:
    """An answer's entry is closed too: its keys come from result-v1.json by reference."""
    if not all(Path(p).is_dir() for p in (_PT210, _TV210)):
        pytest.skip(f"{_PT210} or {_TV210} is not here")
    doc = run(*_PT_TV, *_H200, "--json").json()
    assert isinstance(doc, dict)
    check = validator("products-v1.json")
    check.validate(doc)
    answer = doc["answers"]["pytorch"]
    assert answer["product"] == "pytorch"
    for broken in (
        {**doc, "surprise": 1},
        {**doc, "answers": {**doc["answers"], "pytorch": {**answer, "surprise": 1}}},
        {**doc, "answers": {**doc["answers"], "pytorch": {**answer, "rule": "by-name"}}},
    ):
        with pytest.raises(jsonschema.ValidationError):
            check.validate(broken)


def test_the_docs_key_table_names_exactly_the_result_schemas_keys() -> None:
    """docs/json.md's table of `tvselect --json` keys, read cell by cell, against result-v1.json."""
    text = (ROOT / "docs" / "json.md").read_text()
    table = text.split("## `tvselect --json`", 1)[1].split("\n\n", 2)[1]
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    documented = {key for row in rows for key in re.findall(r"`([a-z_]+)`", row.split("|")[1])}
    schema = json.loads(SCHEMAS.joinpath("result-v1.json").read_text())
    assert documented == set(schema["properties"])


def test_the_docs_name_every_schema() -> None:
    text = (ROOT / "docs" / "json.md").read_text()
    assert [n for n in schema_names() if f"`{n}`" not in text] == []


@pytest.mark.parametrize(("schema", "args", "extra"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_human_output_never_shows_python_none(
    ws: Path, tmp_path: Path, schema: str, args: tuple[str, ...], extra: dict[str, str]
) -> None:
    """The same commands for a person: Python's `None` (or `nan`) never reaches what they read."""
    _skip_without_shared(extra)
    if extra.get("flox") == "torch":
        pytest.skip("installs: run with --json above")
    argv = [a.replace("{ws}", str(ws)) for a in args]
    if "--format" in argv:
        del argv[argv.index("--format") : argv.index("--format") + 2]
    done = run(*argv, env={**_environment(ws, extra, tmp_path), "NO_COLOR": "1"}, timeout=120)
    assert done.code in (0, 1, 3, 4, 5), done.stderr
    text = done.stdout + done.stderr
    assert not re.search(r"\bNone\b|\bnan\b", text), text
