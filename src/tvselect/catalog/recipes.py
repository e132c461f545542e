"""What a recipe builds: one `Build` per recipe, interpreted from what nix.py read.

Every value comes from the recipe's own bindings (through the fact tables in data/), never
from its file name; the pname is only used where the recipe says nothing else (the CUDA
version of a recipe without a cudaPackages overlay, the Python version). A recipe that
cannot be understood is a RecipeError naming FILE:LINE.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

from tvselect.base.capability import Capability, parse_capability
from tvselect.catalog.nix import PRODUCTS, Located, Recipe, TorchSource
from tvselect.errors import RecipeError


class Build(NamedTuple):
    """One recipe, interpreted: the variant it builds."""

    recipe: Recipe
    """What the recipe binds, with lines."""
    branch: str
    """The branch (checkout) it was read from."""
    package: str
    """Its package name: the recipe's file name without `.nix`, the name `flox build` and
    `flox publish` use (flox names a `.flox/pkgs/NAME.nix` expression NAME); lint reports a pname
    that differs."""
    python: str
    """The Python version, from the pname (`python313` -> `3.13`), else from the file name."""
    capability: Capability | None
    """The compute capability its cubins are built for; None: no CUDA target."""
    flags: tuple[str, ...]
    """Its compiler flags, in recipe order."""
    arch: str
    """The CPU architecture it runs on (from its flags, or else its platforms)."""
    needs: frozenset[str]
    """The CPU features its flags need."""
    cuda: str | None
    """The CUDA version it builds with; None without a CUDA target."""
    platforms: tuple[str, ...]
    """The Nix systems it is built for: `meta.platforms` where given, else `ARCH-linux`."""
    nixpkgs: str | None
    """The full nixpkgs revision it pins."""
    product: str = "torchvision"
    """What it builds, from the package its final expression overrides: `pytorch` (nixpkgs'
    `torch`/`pytorch`), `torchvision`, `torchaudio` or `vllm`."""
    version: str | None = None
    """The product version its overrideAttrs sets; None: that of its nixpkgs pin."""
    torch: TorchSource | None = None
    """The PyTorch it builds or brings."""


def pname_parts(package: str) -> dict[str, str]:
    """What a pname says (see _pname_parts); a fresh dict each call."""
    return dict(_pname_parts(package))


@lru_cache(maxsize=4096)
def _pname_parts(package: str) -> dict[str, str]:
    """What a pname says: python, cuda (`12.8`), sm (`sm90`), isa, darwin; only what it says.

    `torchvision-python313-cuda12_8-sm90-avx512`, `torchvision-python313-cpu-avx2`,
    `torchvision-python313-darwin-mps`.
    """
    parts = package.split("-")
    said: dict[str, str] = {}
    if len(parts) >= 3 and parts[1].startswith("python"):
        digits = parts[1].removeprefix("python")
        if len(digits) >= 2 and digits.isascii() and digits.isdigit():
            said["python"] = f"{digits[0]}.{digits[1:]}"
        said["isa"] = parts[-1].replace(".", "_")
    for part in parts[2:-1]:
        major, _, minor = part.removeprefix("cuda").partition("_")
        if part.startswith("cuda") and major.isdigit() and minor.isdigit():
            said["cuda"] = f"{major}.{minor}"
        elif part.startswith("sm") and parse_capability(part) is not None:
            said["sm"] = part
        elif part in ("darwin", "cpu"):
            said["kind"] = part
    return said


def _where(recipe: Recipe, line: int, file: str = "") -> str:
    return f"{file or recipe.file}:{max(line, 1)}"


def stem(file: str) -> str:
    """The package name flox gives `.flox/pkgs/NAME.nix` (also `BRANCH:.flox/pkgs/NAME.nix`)."""
    return file.rsplit("/", 1)[-1].rsplit(":", 1)[-1].removesuffix(".nix")


def _capability(recipe: Recipe, known: frozenset[Capability]) -> Capability | None:
    targets = recipe.gpu_targets
    if targets is None:
        return None
    if len(targets) != 1:
        raise RecipeError(
            f"{_where(recipe, recipe.gpu_targets_line)}: gpuTargets lists {len(targets)} targets; "
            "tvselect reads recipes that build for one"
        )
    target = targets[0]
    cap = parse_capability(target.value)
    if cap is None or cap not in known:
        raise RecipeError(
            f"{_where(recipe, target.line, target.file)}: GPU target {target.value!r} is not a compute capability"
        )
    stated = recipe.cuda_capabilities
    if stated and {parse_capability(c.value) for c in stated} != {cap}:
        raise RecipeError(
            f"{_where(recipe, stated[0].line)}: cudaCapabilities {', '.join(c.value for c in stated)} "
            f"disagree with the GPU target {target.value} its PyTorch is built for"
        )
    return cap


def _flags(recipe: Recipe) -> tuple[str | None, frozenset[str]]:
    from tvselect.catalog.flags import UnknownFlag, needs_of

    flags = recipe.cpu_flags or ()
    try:
        found = needs_of([f.value for f in flags])
    except UnknownFlag as exc:
        raise RecipeError(
            f"{_where(recipe, flags[exc.position].line, flags[exc.position].file)}: {exc}"
        ) from None
    return found.arch, found.needs


def _cuda(recipe: Recipe, said: dict[str, str]) -> str:
    """The CUDA version: the overlay's (`cudaPackages_13_1`), completed or else given by the pname."""
    overlay = recipe.cuda_packages
    named = said.get("cuda")
    if overlay is None:
        if named is None:
            raise RecipeError(
                f"{_where(recipe, recipe.gpu_targets_line)}: a CUDA build with no CUDA version "
                "(no cudaPackages overlay, no cudaX_Y in its pname)"
            )
        return named
    version = overlay.value.removeprefix("cudaPackages").strip("_").replace("_", ".")
    if not version.replace(".", "").isdigit():
        raise RecipeError(
            f"{_where(recipe, overlay.line)}: cudaPackages overlay {overlay.value!r} names no version"
        )
    if "." not in version and named is not None and named.split(".")[0] == version:
        return named  # cudaPackages_13 is "the 13.x of this nixpkgs"; the pname says which
    return version


def _arch(recipe: Recipe, flag_arch: str | None, platforms: tuple[Located, ...] | None) -> str:
    if flag_arch is not None:
        return flag_arch
    arches = {p.value.partition("-")[0] for p in platforms or ()}
    if len(arches) == 1:
        return arches.pop()
    raise RecipeError(f"{_where(recipe, 1)}: no cpuFlags and no single meta.platforms: cannot tell its CPU")


def interpret(recipe: Recipe, branch: str, known: frozenset[Capability]) -> Build:
    """The variant a recipe builds; RecipeError naming FILE:LINE when it cannot be told."""
    if recipe.pname is None:
        raise RecipeError(f"{_where(recipe, 1)}: no pname")
    if not recipe.pname.value.isprintable() or " " in recipe.pname.value:
        raise RecipeError(
            f"{_where(recipe, recipe.pname.line)}: pname {recipe.pname.value!r} is not a package name"
        )
    said = pname_parts(recipe.pname.value)
    package = stem(recipe.file)
    said = {**pname_parts(package), **said}
    product = PRODUCTS.get(recipe.product.value, "") if recipe.product else ""
    if "python" not in said:
        raise RecipeError(
            f"{_where(recipe, recipe.pname.line)}: pname {recipe.pname.value!r} does not say its Python "
            f"({product or 'torchvision'}-pythonNNN-...)"
        )
    if not product:
        raise RecipeError(
            f"{_where(recipe, 1)}: overrides no PyTorch, TorchVision, TorchAudio or vLLM package"
        )
    capability = _capability(recipe, known)
    flag_arch, needs = _flags(recipe)
    arch = _arch(recipe, flag_arch, recipe.platforms)
    platforms = tuple(p.value for p in recipe.platforms) if recipe.platforms else (f"{arch}-linux",)
    return Build(
        recipe=recipe,
        branch=branch,
        package=package,
        python=said["python"],
        capability=capability,
        flags=tuple(f.value for f in recipe.cpu_flags or ()),
        arch=arch,
        needs=needs,
        cuda=None if capability is None else _cuda(recipe, said),
        platforms=platforms,
        nixpkgs=recipe.nixpkgs.value if recipe.nixpkgs else None,
        product=product,
        version=recipe.version.value if recipe.version else None,
        torch=recipe.torch,
    )
