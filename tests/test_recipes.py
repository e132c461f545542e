"""Reading the catalog from build-torchvision recipes: every real recipe, the flag table, bad recipes,
and the equivalence of the imported `pytorch-2.9` with the shipped `cuda-12_9` branch."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest
from machines import CPUINFO_DIR, machine, real_cpu

from tvselect.base.hardware import known_capabilities
from tvselect.catalog.flags import needs_of
from tvselect.catalog.importer import base_document, catalog_document, read_builds
from tvselect.catalog.lint import lint
from tvselect.catalog.model import Catalog, load_catalog, parse_document
from tvselect.catalog.nix import parse_recipe
from tvselect.catalog.recipes import Build, interpret, pname_parts
from tvselect.catalog.sources import read_folder
from tvselect.engine.decision import Decision, Options, select
from tvselect.errors import RecipeError

# The real recipes, shared beside the repository as a checkout per branch; never copied into it.
RECIPES_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "build-torchvision"
BRANCHES = ("main", "pytorch-2.9", "pytorch-2.10")
TEAM = Path(__file__).resolve().parent / "recipes" / "team"
KNOWN = known_capabilities()


def _real_files() -> list[Path]:
    return sorted(RECIPES_DIR.glob("*/.flox/pkgs/*.nix"))


def recipes(branch: str) -> list[Path]:
    """The recipe files of a branch's checkout: each one becomes one variant."""
    return sorted((checkout(branch) / ".flox" / "pkgs").glob("*.nix"))


def checkout(branch: str) -> Path:
    path = RECIPES_DIR / branch
    if not path.is_dir():
        pytest.skip(f"{path} is not here (the shared build-torchvision folder is absent)")
    return path


@cache
def imported(branch: str) -> Catalog:
    builds = read_builds([read_folder(str(checkout(branch)))]).builds
    return parse_document(catalog_document(builds), branch)


# ---- every real recipe ----------------------------------------------------------------------


def test_every_real_branch_is_here_with_recipes_or_skipped() -> None:
    if not RECIPES_DIR.is_dir():
        pytest.skip(f"{RECIPES_DIR} is not here")
    assert sorted(p.name for p in RECIPES_DIR.iterdir() if p.is_dir()) == sorted(BRANCHES)
    assert all(recipes(branch) for branch in BRANCHES)
    assert _real_files() == sorted(path for branch in BRANCHES for path in recipes(branch))


@pytest.mark.parametrize("path", _real_files(), ids=lambda p: f"{p.parts[-4]}/{p.stem}")
def test_real_recipe_agrees_with_its_pname_and_file(path: Path) -> None:
    build = interpret(parse_recipe(path.read_bytes(), str(path)), path.parts[-4], KNOWN)
    said = pname_parts(build.package)
    assert build.package == path.stem
    assert build.python == said["python"] == "3.13"
    sm = None if build.capability is None else build.capability.sm
    assert sm == said.get("sm")
    assert build.cuda == said.get("cuda")  # the overlay and the pname agree on every real recipe
    if said.get("kind") == "darwin":
        assert (build.platforms, build.flags, build.needs) == (("aarch64-darwin",), (), frozenset())
        return
    shipped = base_document()["isas"][said["isa"]]
    assert build.arch == shipped["arch"]
    assert build.needs == needs_of(build.flags).needs
    if set(build.flags) == set(shipped["flags"]):
        assert build.needs == frozenset(shipped["needs"])
    if build.needs != frozenset(shipped["needs"]):
        # Flags that need other features than the name's ISA are reported; the needs are the flags'.
        assert any(line.startswith(f"{path}:") for line in lint([read_folder(str(path.parents[2]))]))
    assert all(p.startswith(f"{build.arch}-") for p in build.platforms)
    if sm in ("sm110", "sm121"):
        assert build.platforms == ("aarch64-linux",)


@pytest.mark.parametrize("branch", BRANCHES, ids=BRANCHES)
def test_import_reads_every_recipe_as_one_variant(branch: str) -> None:
    catalog = imported(branch)
    assert sorted(Path(v.recipe or "").name for v in catalog.variants) == [p.name for p in recipes(branch)]
    assert {v.branch for v in catalog.variants} == {branch}


def test_pytorch_2_10_holds_two_cudas_with_their_pins_and_driver() -> None:
    catalog = imported("pytorch-2.10")
    seen = {
        (v.cuda, v.nixpkgs, v.min_driver_text, v.torchvision, v.pytorch) for v in catalog.variants if v.cuda
    }
    assert seen == {
        ("13.0", "6a030d5", "580", "0.24.0", "2.10.0"),
        ("13.1", "2017d6d", "580", None, "2.10.0"),  # an unknown pin: TorchVision unknown, not guessed
    }
    assert {v.gpu_arch for v in catalog.variants} >= {"sm75", "sm110", "sm121"}
    assert "sm61" not in {v.gpu_arch for v in catalog.variants}


def test_darwin_recipe_is_listed_with_unknown_pytorch() -> None:
    (darwin,) = [v for v in imported("main").variants if v.package.endswith("darwin-mps")]
    assert (darwin.platforms, darwin.cuda, darwin.pytorch, darwin.torchvision) == (
        ("aarch64-darwin",),
        None,
        None,  # PyTorch comes from the build-pytorch repository: its version is not in the recipe
        "0.23.0",
    )


# ---- the flag table -------------------------------------------------------------------------


@pytest.mark.parametrize("isa", sorted(load_catalog().isas), ids=sorted(load_catalog().isas))
def test_flag_table_gives_todays_needs(isa: str) -> None:
    shipped = load_catalog().isas[isa]
    found = needs_of(shipped.flags)
    assert (found.arch, found.needs) == (shipped.arch, shipped.needs)


@pytest.mark.parametrize(
    "flags,needs",
    [
        (["-march=armv9-a+sve2"], {"atomics", "asimdrdm", "fphp", "asimdhp", "asimddp", "sve", "sve2"}),
        (["-mavx2", "-mfma"], {"avx2", "fma"}),
        (["-mavx", "-mno-avx2"], {"avx"}),
        ([], set()),
    ],
    ids=["sve2-implies-sve", "avx2-without-f16c", "mno-needs-nothing", "no-flags"],
)
def test_flag_table_other_forms(flags: list[str], needs: set[str]) -> None:
    assert needs_of(flags).needs == needs


# ---- equivalence with the shipped cuda-12_9 branch -------------------------------------------

SETUPS = ["6.1", "7.5", "8.0", "8.6", "8.9", "9.0", "10.0", "12.0", "none"]
CPUINFOS = sorted(p.name for p in CPUINFO_DIR.glob("*.txt")) if CPUINFO_DIR.is_dir() else ["absent.txt"]


@pytest.mark.parametrize("gpu", SETUPS, ids=SETUPS)
@pytest.mark.parametrize("cpuinfo", CPUINFOS, ids=CPUINFOS)
def test_pytorch_2_9_chooses_as_the_shipped_cuda_12_9(cpuinfo: str, gpu: str) -> None:
    """The same answer (a package, or no match), and the same verdict on every package both have."""
    facts = machine(real_cpu(cpuinfo), *(() if gpu == "none" else (gpu,)))
    ours = select(facts, imported("pytorch-2.9"), Options())
    shipped = select(facts, load_catalog(), Options(branch="cuda-12_9"))
    assert (ours.status, ours.rule) == (shipped.status, shipped.rule)
    assert (ours.variant and ours.variant.package) == (shipped.variant and shipped.variant.package)
    mine, theirs = _verdicts(ours, "pytorch-2.9"), _verdicts(shipped, "cuda-12_9")
    assert theirs.keys() <= mine.keys()  # the recipes also build a macOS package, which is not shipped
    assert {p: mine[p] for p in theirs} == theirs


def _verdicts(decision: Decision, branch: str) -> dict[str, tuple[str, str | None]]:
    """Per package of `branch`: its verdict and the code of its first reason (none when chosen)."""
    return {
        v.variant.package: (v.status, v.reasons[0].code if v.reasons else None)
        for v in decision.verdicts
        if v.variant.branch == branch
    }


# ---- bad recipes: one line each, naming FILE:LINE -----------------------------------------------

GOOD = (TEAM / ".flox/pkgs/torchvision-python313-cuda12_8-sm75-avx512.nix").read_text()
BAD = [
    ("syntax", GOOD.replace('gpuArchSM = "7.5";', 'gpuArchSM = "7.5"'), ":18: Nix syntax error near '='"),
    (
        "unknown-flag",
        GOOD.replace('"-mavx512dq"', '"-mavx512zz"'),
        ":20: compiler flag '-mavx512zz' is not in",
    ),
    ("no-pname", GOOD.replace("pname =", "name ="), ":1: no pname"),
    ("not-a-capability", GOOD.replace('"7.5"', '"7.7"'), ":15: GPU target '7.7' is not a compute capability"),
    ("two-targets", GOOD.replace("[ gpuArchSM ]", '[ gpuArchSM "8.0" ]'), ":28: gpuTargets lists 2 targets"),
    ("interpolated", GOOD.replace('"-mfma"', '"${x}"'), ":23: an element of cpuFlags is not a plain string"),
    (
        "mixed-arches",
        GOOD.replace('"-mfma"', '"-march=armv9-a"'),
        ":23: compiler flag '-march=armv9-a' is for aarch64",
    ),
    ("binary", "\0\1\2", ":1: binary data, not a Nix recipe"),
    ("not-utf8", GOOD.replace("# A small", "# \udcff small"), ":1: not UTF-8 text"),
    ("oversized", GOOD + "#" * 300_000, ":1: larger than 256 KiB, not a recipe"),
    ("no-cuda", GOOD.replace("cuda12_8-", ""), ":28: a CUDA build with no CUDA version"),
]


def _bytes(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


@pytest.mark.parametrize("text,message", [(t, m) for _, t, m in BAD], ids=[i for i, _, _ in BAD])
def test_bad_recipe_is_one_line_naming_file_and_line(text: str, message: str) -> None:
    with pytest.raises(RecipeError) as caught:
        interpret(parse_recipe(_bytes(text), "pkgs/x.nix"), "team", KNOWN)
    assert str(caught.value).startswith("pkgs/x.nix:")
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_every_recipe_build_is_a_frozen_record() -> None:
    build = interpret(parse_recipe(_bytes(GOOD), "x.nix"), "team", KNOWN)
    assert isinstance(build, Build)
    assert (build.capability, build.cuda, build.platforms) == ((7, 5), "12.8", ("x86_64-linux",))


# ---- property: reading never fails with anything but a one-line RecipeError --------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400) | st.text(max_size=400).map(str.encode), st.integers(0, len(GOOD)))
def test_property_reading_any_bytes_gives_a_recipe_or_one_line_error(noise: bytes, at: int) -> None:
    data = _bytes(GOOD)[:at] + noise + _bytes(GOOD)[at:]
    try:
        interpret(parse_recipe(data, "pkgs/x.nix"), "team", KNOWN)
    except RecipeError as exc:
        assert str(exc).startswith("pkgs/x.nix:") and "\n" not in str(exc)


@pytest.mark.parametrize(
    "url",
    ["https://[github.com/NixOS/nixpkgs/archive/x.tar.gz", "[", "http://[::1/x", "not a url"],
    ids=["bracket-host", "lone-bracket", "unclosed-ipv6", "no-scheme"],
)
def test_a_url_that_is_not_a_url_pins_nothing(url: str) -> None:
    """Found by the property test above: '[' in a fetchTarball URL once raised urllib's ValueError."""
    text = GOOD.replace("https://github.com/NixOS/nixpkgs/archive/", url + "#", 1)
    assert text != GOOD
    recipe = interpret(parse_recipe(_bytes(text), "pkgs/x.nix"), "team", KNOWN)
    assert recipe is not None
