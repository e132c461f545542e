"""The build-* family: every shared PyTorch, TorchAudio and vLLM recipe read as its file name says,
each variation of the issue in a test of its own, and small recipes written here for the cases
the real ones do not have (Python 3.11, imports leaving `.flox/pkgs`, disagreeing capabilities)."""

from __future__ import annotations

import functools
import json
import subprocess
from pathlib import Path

import pytest
from cli_helpers import run

from tvselect.base.capability import parse_capability
from tvselect.catalog.flags import needs_of
from tvselect.catalog.importer import base_document, catalog_document, read_builds
from tvselect.catalog.lint import lint
from tvselect.catalog.model import Catalog, parse_document
from tvselect.catalog.recipes import Build, pname_parts
from tvselect.catalog.sources import read_folder, read_git
from tvselect.errors import RecipeError

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
FAMILY = ("build-pytorch", "build-torchaudio", "build-vllm")
PREFIX = {"pytorch": "pytorch", "torchvision": "torchvision", "torchaudio": "torchaudio", "vllm": "vllm"}


def family_branches() -> list[Path]:
    return sorted(p for repo in FAMILY for p in (SHARED / repo).glob("*") if (p / ".flox/pkgs").is_dir())


def family_recipes() -> list[Path]:
    return sorted(f for b in family_branches() for f in (b / ".flox/pkgs").glob("*.nix"))


def branch(repo: str, name: str) -> Path:
    path = SHARED / repo / name
    if not path.is_dir():
        pytest.skip(f"{path} is not here (the shared build-* folders are absent)")
    return path


@functools.cache
def builds_of(path: Path) -> dict[str, Build]:
    """Every build of a shared branch, by package name."""
    return {b.package: b for b in read_builds([read_folder(str(path))]).builds}


@functools.cache
def catalog_of(path: Path) -> Catalog:
    source = read_folder(str(path))
    return parse_document(catalog_document(read_builds([source]).builds), str(path))


SHIPPED = base_document()["isas"]


@functools.cache
def lint_of(path: Path) -> tuple[str, ...]:
    return tuple(lint([read_folder(str(path))]))


# ---- every shared recipe, against its file name ------------------------------------------------


@pytest.mark.parametrize("path", family_recipes(), ids=lambda p: f"{p.parts[-5]}/{p.parts[-4]}/{p.stem}")
def test_every_family_recipe_reads_as_its_file_name_says(path: Path) -> None:
    build = builds_of(path.parents[2])[path.stem]
    said = pname_parts(path.stem)
    assert build.package == path.stem  # the name flox builds and publishes it under
    assert path.stem.startswith(PREFIX[build.product] + "-")  # product read from the overridden package
    assert build.python == said["python"]
    sm = None if build.capability is None else build.capability.sm
    assert sm == said.get("sm")
    assert build.cuda == said.get("cuda")
    if said.get("kind") == "darwin":
        assert build.platforms == ("aarch64-darwin",) and not build.needs
        return
    shipped = SHIPPED[said["isa"]]
    assert build.arch == shipped["arch"]
    assert build.needs == needs_of(build.flags).needs
    if build.needs != frozenset(shipped["needs"]):
        # Flags that need other features than the name's ISA (vLLM's ARMv9 more, TorchAudio's AVX2
        # no F16C) are reported; the needs are the flags'.
        assert any(line.startswith(f"{path}:") and "cpuFlags" in line for line in lint_of(path.parents[2]))
    assert f"{build.arch}-linux" in build.platforms
    if not all(p.startswith(f"{build.arch}-") for p in build.platforms):
        # A recipe that lists another CPU's platform beside its flags' (cpu-avx2 on main) is reported.
        assert any(line.startswith(f"{path}:") for line in lint_of(path.parents[2]))


@pytest.mark.parametrize("path", family_branches(), ids=lambda p: f"{p.parts[-2]}/{p.name}")
def test_every_family_branch_imports_one_variant_per_recipe(path: Path) -> None:
    done = run("catalog", "import", str(path))
    assert done.code == 0, done.stderr
    variants = done.json()["variants"]  # type: ignore[index]
    recipes = sorted(f.stem for f in (path / ".flox/pkgs").glob("*.nix"))  # lib/ not counted
    assert sorted(v["package"] for v in variants) == recipes


# ---- the variations, one test each --------------------------------------------------------------


def test_pytorch_version_set_by_an_overlay_is_read() -> None:
    path = branch("build-pytorch", "pytorch-2.10-python313")
    catalog = catalog_of(path)
    overlaid = [b for b in builds_of(path).values() if b.recipe.torch_version is not None]
    assert overlaid and {b.recipe.torch_version.value for b in overlaid if b.recipe.torch_version} == {
        "2.10.0"
    }
    for variant in catalog.variants:
        if variant.package in {b.package for b in overlaid}:
            assert (variant.product_version, variant.pytorch) == ("2.10.0", "2.10.0")
            assert variant.torch is not None and variant.torch.version == "2.10.0"


def test_pname_other_than_the_file_name_takes_the_file_name_and_lint_reports_the_pname() -> None:
    path = branch("build-pytorch", "pytorch-2.10-python313")
    differing = [b for b in builds_of(path).values() if b.recipe.pname and b.recipe.pname.value != b.package]
    assert differing
    findings = lint([read_folder(str(path))])
    for build in differing:
        assert build.package == Path(build.recipe.file).stem
        assert any(
            line.startswith(build.recipe.file + ":")
            and f"differs from pname {build.recipe.pname.value}" in line  # type: ignore[union-attr]
            and f"flox builds and publishes it as {build.package}" in line
            for line in findings
        )


def test_no_nixpkgs_pin_leaves_versions_unknown_and_says_so() -> None:
    path = branch("build-torchaudio", "main")
    catalog = catalog_of(path)
    assert {(v.product, v.nixpkgs, v.product_version, v.pytorch) for v in catalog.variants} == {
        ("torchaudio", None, None, None)
    }
    done = run("catalog", "import", str(path))
    assert "pin no nixpkgs" in done.stderr and "versions are unknown" in done.stderr
    shown = run("show", catalog.variants[0].package, "--catalog", str(path))
    assert shown.code == 0, shown.stderr
    assert "unknown" in shown.stdout


def test_vllm_flags_and_torch_come_from_its_lib_files() -> None:
    path = branch("build-vllm", "main")
    table = (path / ".flox/pkgs/lib/cpu-isa.nix").read_text()
    for build in builds_of(path).values():
        assert build.recipe.cpu_flags and all(
            f.file.endswith("lib/cpu-isa.nix") for f in build.recipe.cpu_flags
        )
        assert all(f'"{flag}"' in table for flag in build.flags)
        assert build.torch is not None and build.torch.origin == "lib/custom-torch.nix"


def test_vllm_gpu_from_cuda_capabilities_and_sm_capability() -> None:
    for name in ("main", "vllm-0.14.1-python312"):
        for build in builds_of(branch("build-vllm", name)).values():
            caps = build.recipe.cuda_capabilities
            assert caps and {parse_capability(c.value) for c in caps} == {build.capability}


def test_several_cudas_for_one_sm_on_one_branch_each_a_variant() -> None:
    catalog = catalog_of(branch("build-pytorch", "pytorch-2.9-python313"))
    sm90 = {v.cuda for v in catalog.variants if v.gpu_arch == "sm90" and v.cpu_isa == "avx512"}
    assert len(sm90) >= 3  # 12.8, 12.9 and 13.0 side by side
    assert sm90 == {pname_parts(v.package)["cuda"] for v in catalog.variants if v.gpu_arch == "sm90"}


def test_python_3_12_branch() -> None:
    catalog = catalog_of(branch("build-vllm", "vllm-0.14.1-python312"))
    assert {v.python for v in catalog.variants} == {"3.12"}
    assert {v.product_version for v in catalog.variants} == {"0.14.1"}  # set by the recipes' overrideAttrs


def test_vllm_armv9_needs_more_than_torchvisions_armv9() -> None:
    catalog = catalog_of(branch("build-vllm", "main"))
    armv9 = {catalog.isas[v.cpu_isa] for v in catalog.variants if v.package.endswith("-armv9")}
    assert len(armv9) == 1
    (isa,) = armv9
    shipped = frozenset(SHIPPED["armv9"]["needs"])
    assert isa.needs > shipped and {"bf16", "i8mm", "sve2"} <= isa.needs
    assert isa.name != "armv9"  # another ISA than build-torchvision's, though the name says armv9


# ---- small recipes written here ----------------------------------------------------------------

LIB_ISA = '{ avx512 = { name = "avx512"; flags = [ "-mavx512f" "-mavx512dq" "-mavx512vl" "-mavx512bw" "-mfma" ]; }; }\n'
LIB_TORCH = """{ lib, torchBase, smCapability, cpuISA, platform }:
(torchBase.override { cudaSupport = true; gpuTargets = [ smCapability ]; }).overrideAttrs (old: {
  pname = "pytorch-custom-${cpuISA.name}";
})
"""
VLLM = """{ pkgs ? import <nixpkgs> {} }:
let
  nixpkgs_pinned = import (builtins.fetchTarball {
    url = "https://github.com/NixOS/nixpkgs/archive/46336d4d6980ae6f136b45c8507b17787eb186a0.tar.gz";
  }) {
    config = { allowUnfree = true; cudaSupport = true; cudaCapabilities = [ "@CAPS@" ]; };
    overlays = [ (final: prev: { cudaPackages = final.cudaPackages_12_8; }) ];
  };
  inherit (nixpkgs_pinned) lib;
  smCapability = "9.0";
  variantName = "@NAME@";
  cpuISA = (import @ISA@).avx512;
  platform = "x86_64-linux";
  py = nixpkgs_pinned.python311.override {
    packageOverrides = self: super: {
      torch = import ./lib/custom-torch.nix {
        inherit lib smCapability cpuISA platform;
        torchBase = super.torch;
      };
    };
  };
in
  py.pkgs.vllm.overrideAttrs (oldAttrs: {
    pname = variantName;
    meta = oldAttrs.meta // { platforms = [ platform ]; };
  })
"""
NAME = "vllm-python311-cuda12_8-sm90-avx512"


def checkout_with(tmp_path: Path, recipe: str, name: str = NAME) -> Path:
    pkgs = tmp_path / "vllm-py311" / ".flox/pkgs"
    (pkgs / "lib").mkdir(parents=True)
    (pkgs / "lib/cpu-isa.nix").write_text(LIB_ISA)
    (pkgs / "lib/custom-torch.nix").write_text(LIB_TORCH)
    (pkgs / f"{name}.nix").write_text(recipe)
    return pkgs.parents[1]


def recipe(caps: str = "9.0", isa: str = "./lib/cpu-isa.nix", name: str = NAME) -> str:
    return VLLM.replace("@CAPS@", caps).replace("@ISA@", isa).replace("@NAME@", name)


def test_a_python_3_11_vllm_recipe_reads_its_libs(tmp_path: Path) -> None:
    (build,) = read_builds([read_folder(str(checkout_with(tmp_path, recipe())))]).builds
    assert (build.product, build.python, build.capability, build.cuda) == ("vllm", "3.11", (9, 0), "12.8")
    assert build.flags == ("-mavx512f", "-mavx512dq", "-mavx512vl", "-mavx512bw", "-mfma")
    assert build.torch is not None and build.torch.pname == "pytorch-custom-avx512"


@pytest.mark.parametrize(
    "isa,says",
    [
        ("../../../outside.nix", "outside .flox/pkgs: not followed"),
        ("/etc/passwd", "not a file beside the recipes"),
        ("<nixpkgs/x.nix>", "not a file beside the recipes"),
        ("./lib/absent.nix", "which is not among the files read beside it"),
    ],
    ids=["parent", "absolute", "search-path", "absent"],
)
def test_imports_are_never_followed_outside_the_checkouts_pkgs(tmp_path: Path, isa: str, says: str) -> None:
    (tmp_path / "outside.nix").write_text(LIB_ISA)
    folder = checkout_with(tmp_path, recipe(isa=isa))
    with pytest.raises(RecipeError) as caught:
        read_builds([read_folder(str(folder))])
    assert says in str(caught.value) and str(caught.value).count("\n") == 0
    assert str(caught.value).startswith(str(folder / ".flox/pkgs" / f"{NAME}.nix") + ":")


def test_cuda_capabilities_that_disagree_with_the_torch_target_are_an_error(tmp_path: Path) -> None:
    folder = checkout_with(tmp_path, recipe(caps="8.0"))
    with pytest.raises(RecipeError, match=r"cudaCapabilities 8\.0 disagree with the GPU target 9\.0"):
        read_builds([read_folder(str(folder))])


def test_a_lib_that_imports_itself_is_refused(tmp_path: Path) -> None:
    folder = checkout_with(tmp_path, recipe())
    (folder / ".flox/pkgs/lib/cpu-isa.nix").write_text("(import ./cpu-isa.nix)\n")
    with pytest.raises(RecipeError):
        read_builds([read_folder(str(folder))])


def test_a_git_branch_reads_its_lib_files_from_the_same_tree(tmp_path: Path) -> None:
    folder = checkout_with(tmp_path, recipe())
    git = ["git", "-C", str(folder), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "x"], check=True)
    # The work tree now says other flags; the branch's own tree is what is read.
    (folder / ".flox/pkgs/lib/cpu-isa.nix").write_text(LIB_ISA.replace('"-mavx512bw" ', ""))
    (build,) = read_builds([read_git(str(folder), "main", {})]).builds
    assert "-mavx512bw" in build.flags
    assert build.recipe.cpu_flags and build.recipe.cpu_flags[0].file == "main:.flox/pkgs/lib/cpu-isa.nix"


def test_catalog_diff_shows_the_commits_the_recipes_were_read_from(tmp_path: Path) -> None:
    folder = checkout_with(tmp_path, recipe())
    git = ["git", "-C", str(folder), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "one"], check=True)
    first = run("catalog", "import", str(folder), "--branch", "main", "-o", str(tmp_path / "a.json"))
    assert first.code == 0, first.stderr
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "two"], check=True)
    second = run("catalog", "import", str(folder), "--branch", "main", "-o", str(tmp_path / "b.json"))
    assert second.code == 0, second.stderr
    commits = [
        subprocess.run(
            [*git, "rev-parse", f"main~{n}"], capture_output=True, text=True, check=True
        ).stdout.strip()
        for n in (1, 0)
    ]
    saved = json.loads((tmp_path / "a.json").read_text())
    assert saved["branches"]["main"]["commit"] == commits[0]
    done = run("catalog", "diff", str(tmp_path / "a.json"), str(tmp_path / "b.json"))
    assert f"  branch main: recipes of commit {commits[0][:12]} -> {commits[1][:12]}" in done.stdout


def test_vllm_torch_pname_spelled_with_replace_strings_is_read() -> None:
    for build in builds_of(branch("build-vllm", "main")).values():
        said = pname_parts(build.package)
        sm, isa = said["sm"], build.package.rsplit("-", 1)[-1]
        assert build.torch is not None
        assert build.torch.pname == f"pytorch-custom-cuda{said['cuda'].replace('.', '_')}-{sm}-{isa}"


CYCLES = [
    ('variantName = "@NAME@";', 'variantName = builtins.replaceStrings [ variantName ] [ "x" ] variantName;'),
    ('variantName = "@NAME@";', 'variantName = "${variantName}";'),
    ('smCapability = "9.0";', "smCapability = smCapability;"),
    ("cpuISA = (import @ISA@).avx512;", "cpuISA = cpuISA.avx512;"),
]


@pytest.mark.parametrize("old,new", CYCLES, ids=["replace-strings", "interpolation", "name", "select"])
def test_names_that_refer_to_themselves_are_one_line_errors_or_unread(
    tmp_path: Path, old: str, new: str
) -> None:
    text = VLLM.replace(old, new)
    assert text != VLLM
    folder = checkout_with(
        tmp_path, recipe().replace(old.replace("@NAME@", NAME).replace("@ISA@", "./lib/cpu-isa.nix"), new)
    )
    try:
        read_builds([read_folder(str(folder))])
    except RecipeError as exc:
        assert str(exc).count("\n") == 0 and str(exc).startswith(str(folder))


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=200) | st.text(max_size=200).map(str.encode), st.integers(0, 2000), st.booleans())
def test_property_any_bytes_in_a_recipe_or_its_lib_give_builds_or_one_line_errors(
    noise: bytes, at: int, in_lib: bool
) -> None:
    recipe_bytes, lib = recipe().encode(), LIB_ISA.encode()
    if in_lib:
        lib = lib[: at % (len(lib) + 1)] + noise + lib[at % (len(lib) + 1) :]
    else:
        recipe_bytes = (
            recipe_bytes[: at % (len(recipe_bytes) + 1)]
            + noise
            + recipe_bytes[at % (len(recipe_bytes) + 1) :]
        )
    from tvselect.catalog.sources import RecipeFiles

    source = RecipeFiles(
        "b",
        ((f"p/{NAME}.nix", recipe_bytes),),
        (("lib/cpu-isa.nix", lib), ("lib/custom-torch.nix", LIB_TORCH.encode())),
        "p",
    )
    try:
        read_builds([source])
    except RecipeError as exc:
        assert str(exc).startswith("p/") and "\n" not in str(exc)


def test_a_deeply_parenthesised_package_is_an_error_not_a_crash(tmp_path: Path) -> None:
    deep = "(" * 3000 + "py.pkgs.vllm" + ")" * 3000
    folder = checkout_with(tmp_path, recipe().replace("py.pkgs.vllm.overrideAttrs", f"{deep}.overrideAttrs"))
    try:
        read_builds([read_folder(str(folder))])
    except RecipeError as exc:
        assert "\n" not in str(exc)


def test_vllm_armv9_is_chosen_only_where_the_cpu_has_bf16_and_i8mm() -> None:
    from machines import machine, real_cpu

    from tvselect.engine.decision import Options, select

    catalog = catalog_of(branch("build-vllm", "main"))
    v2 = real_cpu("linux-rhel9-neoverse_v2.txt")
    chosen = select(machine(v2, "9.0"), catalog, Options()).variant
    assert chosen is not None and chosen.package.endswith("-sm90-armv9")
    without = v2._replace(features=v2.features - {"i8mm"})
    fallback = select(machine(without, "9.0"), catalog, Options()).variant
    assert fallback is not None and fallback.package.endswith("-sm90-armv8_2")


def test_importing_checkouts_of_one_folder_name_names_them_by_repository(tmp_path: Path) -> None:
    paths = [branch(repo, "main") for repo in FAMILY]
    out = tmp_path / "family.json"
    done = run("catalog", "import", *map(str, paths), "-o", str(out))
    assert done.code == 0, done.stderr
    counts = ", ".join(f"{p.parent.name}/main {len(list(p.glob('.flox/pkgs/*.nix')))}" for p in paths)
    assert done.stderr.splitlines()[0] == f"tvselect: imported {counts} variants into {out}"
    listed = run("list", "--json", "--catalog", str(out), "--product", "vllm").json()
    assert isinstance(listed, list) and {v["branch"] for v in listed} == {"build-vllm/main"}
