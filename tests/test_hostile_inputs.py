"""The installed `tvselect` against hostile recipes and documents (issue 23, items 1, 6, 7, 8).

The rows of test_hostile.py, for what that module (at its size limit) does not hold: recipes
nested deeply with a syntax error in every command that reads a catalog folder, recipes with
CR line endings, lint's exit status, `-o -`, endless and oversized documents, and the memory
and time of inputs within the documented caps. Each row asserts the exit status, one stderr
line, no traceback and a wall-clock bound; the scale rows also the child's peak memory.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from cli_helpers import tvselect_exe
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tvselect.base.capability import Capability
from tvselect.catalog.nix import Recipe, parse_recipe
from tvselect.errors import RecipeError

BOUND = 20.0  # seconds; each row ends well within it
TEAM = Path(__file__).parent / "recipes" / "team" / ".flox" / "pkgs"

# The recipes of the issue: deep, and each with a syntax error somewhere.
DEEP = {
    "parens": "let x = " + "(" * 100_000 + "1 +" + ")" * 100_000 + ";",
    "lets": "let a = 1; in " * 15_000 + "{ pname = ; }",
    "lambdas": "x: " * 30_000 + "{ pname = ; }",
}


@dataclass(frozen=True)
class Row:
    args: tuple[str, ...]
    code: int
    says: str | None
    env: tuple[tuple[str, str], ...] = ()
    wrap: str = '"$@"'
    stdout_empty: bool = True


def _recipes(folder: Path, texts: dict[str, bytes]) -> str:
    pkgs = folder / ".flox" / "pkgs"
    pkgs.mkdir(parents=True)
    for name, data in texts.items():
        (pkgs / name).write_bytes(data)
    return str(folder)


def _files(root: Path) -> dict[str, str]:
    """The files a row may name, made at test time."""
    found = {name: _recipes(root / f"deep-{name}", {"x.nix": text.encode()}) for name, text in DEEP.items()}
    facts = subprocess.check_output(
        [tvselect_exe(), "probe", "--json", "--gpu", "9.0", "--driver", "580.65.06"]
    )
    (root / "facts.json").write_bytes(facts)
    found["facts"] = str(root / "facts.json")
    (root / "bin").mkdir()
    flox = root / "bin" / "flox"
    flox.write_text(f'#!/bin/sh\necho "$*" >> {root / "flox.log"}\n')
    flox.chmod(0o755)
    return found


COMMANDS = {
    "main": (),
    "explain": ("--explain",),
    "list": ("list",),
    "show": ("show", "torchvision-python313-cpu-avx2"),
    "plan": ("plan", "{facts}"),
    "cover": ("plan", "--cover", "{facts}"),
    "verify": ("verify",),
    "install": ("--install", "--org", "acme"),
}
ROWS: dict[str, Row] = {
    **{
        f"deep-{name}-main": Row(("--catalog", f"{{{name}}}"), 2, "x.nix:1: Nix syntax error")
        for name in DEEP
    },
    **{
        f"deep-lets-{command}": Row((*args, "--catalog", "{lets}"), 2, "x.nix:1: Nix syntax error")
        for command, args in COMMANDS.items()
    },
    **{
        f"deep-lambdas-{command}-env": Row(
            args, 2, "x.nix:1: Nix syntax error", env=(("TVSELECT_CATALOG", "{lambdas}"),)
        )
        for command, args in COMMANDS.items()
    },
    # '-' is standard output; where standard output carries the answer, it is refused
    "assign-dash": Row(
        ("plan", "--cover", "--assign", "-", "{facts}"), 2, "--assign -: standard output carries"
    ),
    "nfd-dash": Row(("--cpu-only", "--nfd", "-"), 2, "--nfd -: standard output carries"),
    "deep-catalog-lint": Row(("catalog", "lint", "{lets}"), 1, "tvselect: 1 finding", stdout_empty=False),
    "deep-catalog-diff": Row(("catalog", "diff", "builtin", "{parens}"), 2, "x.nix:1: Nix syntax error"),
    "deep-catalog-import": Row(("catalog", "import", "{lets}"), 2, "x.nix:1: Nix syntax error"),
}


def _run(argv: list[str], env: dict[str, str], wrap: str) -> tuple[subprocess.CompletedProcess[bytes], float]:
    variables = {k: v for k, v in os.environ.items() if not k.startswith(("CUDA_", "NVIDIA_", "TVSELECT_"))}
    variables.update(env)
    started = time.monotonic()
    done = subprocess.run(
        ["bash", "-c", wrap, "tvselect", *argv],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        env=variables,
        timeout=BOUND * 3,
        check=False,
    )
    return done, time.monotonic() - started


def _one_line(done: subprocess.CompletedProcess[bytes], says: str) -> str:
    stderr = done.stderr.decode("utf-8", "replace")
    assert "Traceback" not in stderr and "unexpected error" not in stderr, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tvselect: "), stderr
    assert says in lines[0], stderr
    return lines[0]


@pytest.mark.parametrize("row", list(ROWS.values()), ids=list(ROWS))
def test_hostile_input(tmp_path: Path, row: Row) -> None:
    files = _files(tmp_path)
    argv = [tvselect_exe(), *(a.format(**files) for a in row.args)]
    env = {k: v.format(**files) for k, v in row.env}
    env["PATH"] = f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}"
    done, seconds = _run(argv, env, row.wrap)
    assert done.returncode == row.code, done.stderr
    assert seconds < BOUND
    if row.says is not None:
        _one_line(done, row.says)
    if row.stdout_empty:
        assert done.stdout == b""
    assert not (tmp_path / "flox.log").exists()  # nothing acted on a bad catalog


# ---- the Nix reader: facts or the one bad-input error, however deep

_OPEN_CLOSE = [
    ("(", ")"),
    ("[ ", " ]"),
    ("{ a = ", "; }"),
    ("rec { b = ", "; }"),
    ("let c = 1; in ", ""),
    ("x: ", ""),
    ("if true then ", " else 1"),
    ("with pkgs; ", ""),
    ('"${', '}"'),
]
_BREAKS = ["", " = ;", ";", "}", "(", "let", "in", '"', "${", "\r", "\r\n", "#", "/*"]


@st.composite
def _nested(draw: st.DrawFn) -> bytes:
    """Nix nested up to 12,000 deep through a cycle of constructs, broken (or not) somewhere."""
    layers = draw(st.lists(st.sampled_from(_OPEN_CLOSE), min_size=1, max_size=4))
    depth = draw(st.integers(1, 12_000))
    core = draw(st.sampled_from(['{ pname = "torchvision-python313-cpu-avx2"; }', "1", "{ pname = ; }"]))
    opening = "".join(layers[n % len(layers)][0] for n in range(depth))
    closing = "".join(layers[n % len(layers)][1] for n in reversed(range(depth)))
    text = opening + core + closing
    cut = draw(st.integers(0, len(text)))
    return (text[:cut] + draw(st.sampled_from(_BREAKS)) + text[cut:]).encode()


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(_nested())
def test_deep_nix_gives_facts_or_the_one_bad_input_error(data: bytes) -> None:
    try:
        recipe = parse_recipe(data, "deep.nix")
    except RecipeError as exc:
        assert str(exc).startswith("deep.nix:")
    else:
        assert isinstance(recipe, Recipe)


@pytest.mark.parametrize("name", list(DEEP))
def test_the_issues_deep_recipes_name_file_and_line(name: str) -> None:
    with pytest.raises(RecipeError, match=r"^deep\.nix:1: Nix syntax error"):
        parse_recipe(DEEP[name].encode(), "deep.nix")


@pytest.mark.parametrize("ending", ["\r\n", "\r"], ids=["CRLF", "CR"])
def test_recipes_with_cr_line_endings_read_as_with_lf(tmp_path: Path, ending: str) -> None:
    texts = {p.name: p.read_bytes() for p in sorted(TEAM.glob("*.nix"))}
    assert texts
    folder = _recipes(tmp_path / "cr", {n: t.replace(b"\n", ending.encode()) for n, t in texts.items()})
    lf = subprocess.run(
        [tvselect_exe(), "list", "--json", "--catalog", str(TEAM.parents[1])],
        capture_output=True,
        check=False,
    )
    cr = subprocess.run(
        [tvselect_exe(), "list", "--json", "--catalog", folder], capture_output=True, check=False
    )
    assert cr.returncode == lf.returncode == 0, cr.stderr
    packages = [v["package"] for v in json.loads(cr.stdout)]
    assert packages == [v["package"] for v in json.loads(lf.stdout)]
    linted = subprocess.run(
        [tvselect_exe(), "catalog", "lint", folder], capture_output=True, text=True, check=False
    )
    assert "no pname" not in linted.stdout and "syntax" not in linted.stdout, linted.stdout
    lines = {p: parse_recipe(t, p).pname for p, t in texts.items()}
    assert {p: parse_recipe(t.replace(b"\n", ending.encode()), p).pname for p, t in texts.items()} == lines


def _peak(argv: list[str], stdin: str = "") -> tuple[int, str, float, float]:
    """Run argv under a fresh Python: exit status, stderr, wall seconds, and peak memory in MiB."""
    probe = (
        "import resource, subprocess, sys\n"
        "stdin = open(sys.argv[1], 'rb') if sys.argv[1] else subprocess.DEVNULL\n"
        "done = subprocess.run(sys.argv[2:], stdin=stdin, stdout=subprocess.DEVNULL)\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, file=sys.stderr)\n"
        "sys.exit(done.returncode)\n"
    )
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", probe, stdin, *argv], capture_output=True, timeout=BOUND * 3, check=False
    )
    seconds = time.monotonic() - started
    *stderr, peak = done.stderr.decode("utf-8", "replace").strip().splitlines()
    return done.returncode, "\n".join(stderr), seconds, float(peak)


def test_plan_of_dev_zero_ends(tmp_path: Path) -> None:
    code, stderr, seconds, peak = _peak([tvselect_exe(), "plan", "-"], "/dev/zero")
    assert code == 2 and seconds < BOUND and peak < 400, (seconds, peak)
    assert stderr.splitlines() == ["tvselect: error: <stdin>:1: a line longer than 80 MiB; stopped reading"]


def test_a_plan_document_of_empty_objects_is_refused_before_it_is_parsed(tmp_path: Path) -> None:
    big = tmp_path / "fleet.json"
    with big.open("w") as out:
        out.write("[\n")
        for _ in range(63):
            out.write("{}," * (1024 * 1024 // 3))
        out.write("{}]\n")
    code, stderr, seconds, peak = _peak([tvselect_exe(), "plan", str(big)])
    assert code == 2 and seconds < BOUND and "Traceback" not in stderr
    assert "JSON values as one JSON text; give a big fleet as JSON Lines" in stderr.splitlines()[0]
    assert peak < 400, f"{peak:.0f} MiB"


def test_import_refuses_a_big_foreign_output_file_before_parsing_it(tmp_path: Path) -> None:
    foreign = tmp_path / "foreign.json"
    foreign.write_text("[" + "{}," * (20 * 1024 * 1024) + "{}]")
    before = foreign.stat()
    code, stderr, seconds, peak = _peak(
        [tvselect_exe(), "catalog", "import", str(TEAM.parents[1]), "-o", str(foreign)]
    )
    assert code == 2 and seconds < BOUND
    assert stderr.splitlines() == [
        f"tvselect: error: -o {foreign}: exists and is not a catalog tvselect wrote; not replaced"
    ]
    assert peak < 200, f"{peak:.0f} MiB"
    assert foreign.stat().st_mtime_ns == before.st_mtime_ns


def test_import_dash_o_dash_writes_standard_output(tmp_path: Path) -> None:
    done = subprocess.run(
        [tvselect_exe(), "catalog", "import", f"team={TEAM.parents[1]}", "-o", "-"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=BOUND,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["generator"] == "tvselect catalog import"
    assert done.stderr.strip().splitlines() == ["tvselect: imported team 2 variants"]
    assert list(tmp_path.iterdir()) == []


def test_lint_exits_1_on_findings_and_says_so_in_its_help(tmp_path: Path) -> None:
    folder = _recipes(tmp_path / "lint", {f"r{n}.nix": b"{ pname = ; }\n" for n in range(300)})
    done = subprocess.run(
        [tvselect_exe(), "catalog", "lint", folder],
        capture_output=True,
        text=True,
        timeout=BOUND,
        check=False,
    )
    assert done.returncode == 1
    assert len(done.stdout.splitlines()) == 300
    assert done.stderr.strip().splitlines() == ["tvselect: 300 findings"]
    helped = subprocess.run(
        [tvselect_exe(), "catalog", "lint", "--help"], capture_output=True, text=True, check=False
    )
    assert "Exit status:" in helped.stdout and "1  something found" in helped.stdout


def test_recipes_of_more_than_the_cap_in_all_are_refused_before_they_are_read(tmp_path: Path) -> None:
    from tvselect.catalog.sources import MAX_SOURCE_BYTES

    recipe = (TEAM / "torchvision-python313-cpu-avx2.nix").read_bytes()
    padded = recipe + b"#" + b"x" * (250 * 1024 - len(recipe)) + b"\n"
    count = MAX_SOURCE_BYTES // len(padded) + 2
    folder = _recipes(tmp_path / "big", {f"r{n:04d}.nix": padded for n in range(count)})
    for command in (["list", "--catalog", folder], ["catalog", "lint", folder]):
        code, stderr, seconds, peak = _peak([tvselect_exe(), *command])
        assert code == 2 and seconds < BOUND, stderr
        assert stderr.splitlines() == [
            f"tvselect: error: {folder}/.flox/pkgs: recipes of more than 32 MiB in all; real ones are a few KiB each"
        ]
        assert peak < 200, f"{peak:.0f} MiB"


# ---- time and memory grow with what matters: kinds that see the same options are one


def _fleet_lines(count: int) -> list[str]:
    """`count` hosts, each with a driver version of its own, across the catalog's driver minimums."""
    from tvselect.facts.document import to_document
    from tvselect.facts.model import Facts, Gpu, GpuFacts
    from tvselect.probe.cpu import parse_cpuinfo

    cpu = parse_cpuinfo(
        "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Xeon\n"
        "flags\t\t: fpu lm sse4_2 avx avx2 fma bmi2 avx512f avx512bw avx512vl avx512cd avx512dq\n"
    )
    lines = []
    for n in range(count):
        caps = [(), (Capability(9, 0),), (Capability(8, 0),) * 2, (Capability(7, 5),), (Capability(12, 0),)][
            n % 5
        ]
        gpus = tuple(Gpu(i, "NVIDIA GPU", f"GPU-{n}-{i}", cap, 81559, False) for i, cap in enumerate(caps))
        major = 450 + n % 150
        cuda = None if n % 7 == 0 else "13.0" if major >= 580 else "12.4" if major >= 550 else "11.8"
        driver = f"{major}.{n // 150 % 100:02d}.{n // 15_000:02d}" if gpus else None
        gpu = GpuFacts("nvml" if gpus else "none", gpus, (), driver, cuda if gpus else None, None)
        lines.append(json.dumps(to_document(Facts(cpu, gpu, f"node-{n:06d}"))))
    return lines


def test_merged_kinds_plan_and_cover_as_exact_kinds_do() -> None:
    from tvselect.catalog.model import load_catalog
    from tvselect.engine.decision import Options
    from tvselect.engine.rules import driver_classes
    from tvselect.fleet.coverage import cover_fleet
    from tvselect.fleet.lines import LineReader
    from tvselect.fleet.plan import group_fleet, plan_fleet
    from tvselect.render.plan_json import document as plan_document

    catalog = load_catalog(None)
    reader = LineReader(kinds=True)
    entries = [reader.read(line, "fleet", n + 1) for n, line in enumerate(_fleet_lines(3000))]
    exact = group_fleet(entries)
    merged = group_fleet(entries, driver_classes(catalog))
    assert len(merged.kinds) * 20 < len(exact.kinds)
    documents = [plan_document(plan_fleet(f, catalog, Options())) for f in (exact, merged)]
    for document in documents:
        del document["totals"]["kinds"]
    assert documents[0] == documents[1]
    assert any("this machine has 45" in u["reason"] for u in documents[1]["unserved"])
    covers = [cover_fleet(f, catalog, Options()) for f in (exact, merged)]
    assert covers[0].host_variants == covers[1].host_variants
    assert covers[0].totals == covers[1].totals


@pytest.mark.scale
def test_a_fleet_of_distinct_drivers_is_planned_in_time_and_memory(tmp_path: Path) -> None:
    fleet = tmp_path / "fleet.jsonl"
    fleet.write_text("\n".join(_fleet_lines(20_000)) + "\n")
    out = tmp_path / "cover.json"
    code, stderr, seconds, peak = _peak(
        ["sh", "-c", f'"$0" plan --json --cover "$1" > "{out}"', tvselect_exe(), str(fleet)]
    )
    assert code == 3, stderr  # some hosts' drivers are too old for every build
    assert seconds < BOUND * 2 and peak < 400, (seconds, peak)
    document = json.loads(out.read_text())
    assert any("others like it" in kind["machine"] for kind in document["cover"]["kinds"])
    assert document["totals"]["hosts"] == 20_000
    assert document["totals"]["kinds"] < 100
    assert document["cover"]["proved_optimal"]


def test_catalog_indexes_take_linear_time() -> None:
    from tvselect.catalog.records import Variant, index_gpu_archs, index_packages

    variants = tuple(Variant(f"tv{n}", f"b{n % 3}", f"sm{n % 11}", "avx2") for n in range(200_000))
    started = time.process_time()
    archs = index_gpu_archs(variants)
    packages = index_packages(variants)
    assert time.process_time() - started < 5  # rebuilding a tuple per variant took minutes
    assert sum(len(p) for p in archs.values()) == len(packages) == len(variants)
    assert archs["sm3"] == tuple(range(3, 200_000, 11))


def test_an_over_long_line_is_skipped_and_the_next_read(tmp_path: Path) -> None:
    facts = subprocess.check_output([tvselect_exe(), "probe", "--json", "--gpu", "none"]).decode()
    fleet = tmp_path / "fleet.jsonl"
    fleet.write_text(
        json.dumps(json.loads(facts))
        + "\n"
        + "x" * (17 * 1024 * 1024)
        + "\n"
        + json.dumps(json.loads(facts))
        + "\n"
    )
    done = subprocess.run(
        [tvselect_exe(), "plan", "--json", str(fleet)],
        capture_output=True,
        text=True,
        timeout=BOUND,
        check=False,
    )
    assert done.stderr.splitlines() == [
        f"tvselect: warning: {fleet}:2: skipped: a line longer than 16 MiB, which no facts document is"
    ]
    assert json.loads(done.stdout)["totals"]["hosts"] == 2


_VERSIONS = st.tuples(st.integers(0, 700), st.integers(0, 200), st.integers(0, 99)).map(
    lambda v: ".".join(map(str, v))
) | st.sampled_from(["550", "580", "579.99.99", "549", "580.0", "525.60.13", "garbage", ""])
_CUDAS = st.sampled_from(["11.8", "12.0", "12.9", "13.0", "13.1", "14.0", "x", ""])


@settings(max_examples=60, deadline=None)
@given(
    a=st.tuples(_VERSIONS, _CUDAS),
    b=st.tuples(_VERSIONS, _CUDAS),
    cap=st.sampled_from([Capability(9, 0), Capability(8, 6), Capability(7, 5), Capability(12, 0)]),
)
def test_drivers_of_one_class_get_the_same_decision(
    a: tuple[str, str], b: tuple[str, str], cap: Capability
) -> None:
    from tvselect.catalog.model import load_catalog
    from tvselect.engine.decision import Decision, Options, select
    from tvselect.engine.rules import driver_classes, for_driver
    from tvselect.facts.model import CpuFacts, Facts, Gpu, GpuFacts

    catalog = load_catalog(None)
    classes = driver_classes(catalog)
    cpu = CpuFacts("x86_64", "GenuineIntel", "test CPU", frozenset({"avx2", "fma", "avx"}), "/proc/cpuinfo")

    def decide(driver: tuple[str, str]) -> Decision:
        gpu = GpuFacts(
            "nvml", (Gpu(0, "GPU", None, cap, 81559, False),), (), driver[0] or None, driver[1] or None, None
        )
        return select(Facts(cpu, gpu, None), catalog, Options())

    one, other = decide(a), decide(b)
    if classes(a[0] or None, a[1] or None) != classes(b[0] or None, b[1] or None):
        return
    assert one.variant == other.variant
    said = for_driver(one.reasons, (a[0] or None, a[1] or None), (b[0] or None, b[1] or None))
    assert [r.text for r in said] == [r.text for r in other.reasons]


@pytest.mark.scale
def test_a_catalog_of_197000_variants_answers_in_time_and_memory(tmp_path: Path) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from big_catalog import big_catalog

    catalog = tmp_path / "catalog.json"
    catalog.write_text(big_catalog(197_000))
    code, stderr, seconds, peak = _peak([tvselect_exe(), "--json", "--gpu", "9.0", "--catalog", str(catalog)])
    assert code == 0, stderr
    assert seconds < BOUND and peak < 400, (seconds, peak)  # the quadratic index took 95 s
