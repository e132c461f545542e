"""Recipes -> a catalog document (schema 3), and opening whatever `--catalog` names.

The document takes ISA labels, workload orders and GPU families from the shipped catalog, Tegra
and known compute capabilities from data/hardware.json, and everything about the variants from
the recipes. It is loaded by the same checker as any catalog file.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from tvselect.base.hardware import known_capabilities, tegra_capabilities
from tvselect.catalog.recipes import Build, interpret, pname_parts
from tvselect.catalog.sources import RecipeFiles
from tvselect.errors import BadInputError, RecipeError

GENERATOR = "tvselect catalog import"
KIND = "tvselect-catalog"


class Imported(NamedTuple):
    """What an import read."""

    builds: tuple[Build, ...]
    """One per recipe that could be read."""
    skipped: tuple[str, ...]
    """The one-line error of each recipe that could not (only with skip_bad)."""


def base_document() -> dict[str, Any]:
    """The shipped catalog's JSON, whose ISAs, workloads and GPU architectures an import reuses.

    Shared (base.shipped): never modify it.
    """
    from tvselect.base.shipped import shipped_table

    document: dict[str, Any] = shipped_table("variants")
    return document


def read_builds(sources: Iterable[RecipeFiles], *, skip_bad: bool = False) -> Imported:
    """Parse and interpret every recipe; the first error raises unless `skip_bad`."""
    from tvselect.catalog.nix import parse_recipe

    known = known_capabilities()
    builds, skipped = [], []
    for source in sources:
        importable = source.importable()
        parsed: dict[str, Any] = {}
        for name, data in source.files:
            try:
                recipe = parse_recipe(data, name, importable, source.label, parsed)
                builds.append(interpret(recipe, source.branch, known))
            except RecipeError as exc:
                if not skip_bad:
                    raise
                skipped.append(str(exc))
    return Imported(tuple(builds), tuple(skipped))


def _isa_names(
    builds: Sequence[Build], base_isas: Mapping[str, Any]
) -> dict[tuple[str, tuple[str, ...]], str]:
    """An ISA name per (pname ISA, CPU needs). Builds that need the same features are one ISA,
    named as the shipped ISA with exactly those needs (`armv8.2` and `armv8_2` alike), else as
    their pname says; flags that need other features under a name already used are `NAME-2`, ..."""
    by_needs: dict[tuple[str, ...], Counter[str]] = {}
    for build in builds:
        said, needs = _isa_key(build)
        by_needs.setdefault(needs, Counter())[said] += 1
    shipped = {(entry["arch"], *sorted(entry["needs"])): name for name, entry in base_isas.items()}
    chosen: dict[tuple[str, ...], str] = {}
    for needs in sorted(by_needs, key=lambda n: (n not in shipped, -sum(by_needs[n].values()), n)):
        name = shipped.get(needs)
        if name is None:
            stem = name = by_needs[needs].most_common(1)[0][0]
            position = 1
            while name in chosen.values() or name in base_isas:
                position += 1
                name = f"{stem}-{position}"
        chosen[needs] = name
    return {_isa_key(b): chosen[_isa_key(b)[1]] for b in builds}


def _isa_key(build: Build) -> tuple[str, tuple[str, ...]]:
    return pname_parts(build.package).get("isa", build.arch), (build.arch, *sorted(build.needs))


def _isa_of(build: Build, names: Mapping[tuple[str, tuple[str, ...]], str]) -> str:
    return names[_isa_key(build)]


def _isas(
    builds: Sequence[Build], names: Mapping[tuple[str, tuple[str, ...]], str], base: Any
) -> dict[str, Any]:
    isas: dict[str, Any] = {}
    for build in builds:
        name = _isa_of(build, names)
        stem = name.rsplit("-", 1)[0] if name not in base else name
        label = base[stem]["label"] if stem in base else stem
        if name != stem:
            label = f"{label} ({' '.join(build.flags) or 'no flags'})"
        elif not build.flags:
            label = f"{label} (no CPU flags)"
        isas.setdefault(
            name,
            {"label": label, "arch": build.arch, "flags": list(build.flags), "needs": sorted(build.needs)},
        )
    return isas


def _workloads(base: Mapping[str, Any], isas: Mapping[str, Any]) -> dict[str, Any]:
    """The shipped orders, each name followed by its flag variants (`avx2`, `avx2-2`, ...)."""
    result = {}
    for name, entry in base["workloads"].items():
        orders = {}
        for arch in ("x86_64", "aarch64"):
            order = []
            for isa in entry[arch]:
                mine = [n for n in isas if isas[n]["arch"] == arch and isa in (n, n.rsplit("-", 1)[0])]
                order += sorted(mine, key=lambda n: (n != isa, n))
            orders[arch] = order
        result[name] = {**orders, "description": entry["description"]}
    return result


def _gpu_archs(builds: Sequence[Build], base: Mapping[str, Any]) -> dict[str, Any]:
    archs = dict(base["gpu_archs"])
    for build in builds:
        if build.capability is not None:
            cap = build.capability
            archs.setdefault(
                cap.sm,
                {
                    "compute_capability": str(cap),
                    "family": f"compute capability {cap}",
                    "examples": [],
                },
            )
    return archs


def _one(values: Iterable[str | None]) -> str | None:
    distinct = set(values)
    return distinct.pop() if len(distinct) == 1 else None


def _pin(build: Build) -> Mapping[str, str]:
    from tvselect.base.shipped import shipped_table

    pins: Mapping[str, Mapping[str, str]] = shipped_table("nixpkgs-pins")["pins"]
    return pins.get(build.nixpkgs or "", {})


def _pytorch(build: Build) -> str | None:
    """The PyTorch version it brings: an overlay's, else its pin's; None where not known."""
    recipe = build.recipe
    if recipe.torch_from_build_pytorch:
        return None  # PyTorch comes from another repository's recipe: its version is not here
    if recipe.torch_version is not None:
        return recipe.torch_version.value
    return _pin(build).get("pytorch")


def _versions(build: Build, stated: Mapping[str, tuple[str, str]]) -> tuple[str | None, str | None]:
    """(product version, PyTorch): stated by the user, or read or known for the pin; None where unknown."""
    if build.branch in stated:
        return stated[build.branch]
    pytorch = _pytorch(build)
    if build.product == "pytorch":
        return pytorch, pytorch
    return build.version or _pin(build).get(build.product), pytorch


def _torch(build: Build, pytorch: str | None) -> dict[str, Any] | None:
    torch = build.torch
    if torch is None:
        return None
    cap = build.capability
    recipe = build.recipe
    overlays = [v.value for v in (recipe.cuda_packages, recipe.torch_version) if v is not None]
    outside = torch.origin.startswith("build-pytorch ")
    return {
        "origin": torch.origin,
        "pname": torch.pname,
        "version": pytorch,
        "nixpkgs": None if outside else build.nixpkgs,
        "cuda": None if outside else build.cuda,
        "gpu_targets": [] if cap is None or outside else [str(cap)],
        "cpu_flags": [] if outside else list(build.flags),
        "overlays": [] if outside else overlays,
        "digest": torch.digest,
    }


def _variant(build: Build, isa: str, stated: Mapping[str, tuple[str, str]]) -> dict[str, Any]:
    version, pytorch = _versions(build, stated)
    cap = build.capability
    return {
        "package": build.package,
        "branch": build.branch,
        "product": build.product,
        "product_version": version,
        "python": build.python,
        "gpu_arch": None if cap is None else cap.sm,
        "cpu_isa": isa,
        "cuda": build.cuda,
        "platforms": list(build.platforms),
        "torchvision": version if build.product == "torchvision" else None,
        "pytorch": pytorch,
        "nixpkgs": build.nixpkgs[:7] if build.nixpkgs else None,
        "recipe": build.recipe.file,
        "pname": build.recipe.pname.value if build.recipe.pname else None,
        "torch": _torch(build, pytorch),
    }


def _branches(
    variants: Sequence[dict[str, Any]], builds: Sequence[Build], commits: Mapping[str, str]
) -> dict[str, Any]:
    branches: dict[str, Any] = {}
    for name in dict.fromkeys(v["branch"] for v in variants):
        mine = [v for v in variants if v["branch"] == name]
        cudas = Counter(v["cuda"] for v in mine if v["cuda"])
        branches[name] = {
            "torchvision": _one(v["torchvision"] for v in mine),
            "pytorch": _one(v["pytorch"] for v in mine),
            "cuda": cudas.most_common(1)[0][0] if cudas else None,
            "cudnn": None,
            "python": Counter(b.python for b in builds if b.branch == name).most_common(1)[0][0],
            "nixpkgs": _one(v["nixpkgs"] for v in mine),
        }
        if name in commits:
            branches[name]["commit"] = commits[name]
    return branches


def catalog_document(
    builds: Sequence[Build],
    *,
    prefer: Sequence[str] = (),
    stated: Mapping[str, tuple[str, str]] | None = None,
    about: str = "",
    commits: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The catalog document (schema 3) of these builds, in the format `--catalog` reads."""
    if not builds:
        raise BadInputError("no recipe could be read")
    base = base_document()
    names = _isa_names(builds, base["isas"])
    isas = _isas(builds, names, base["isas"])
    variants = [_variant(b, _isa_of(b, names), stated or {}) for b in builds]
    branches = _branches(variants, builds, commits or {})
    unknown = [b for b in prefer if b not in branches]
    if unknown:
        raise BadInputError(f"--prefer {','.join(unknown)}: no such branch (read: {', '.join(branches)})")
    return {
        "schema_version": 3,
        "kind": KIND,
        "generator": GENERATOR,
        "about": about or "Read from build-* recipes by tvselect catalog import.",
        "branches": branches,
        "branch_preference": [*prefer, *(b for b in branches if b not in prefer)],
        "isas": isas,
        "workloads": _workloads(base, isas),
        "gpu_archs": _gpu_archs(builds, base),
        # Written out (from data/hardware.json) so that a tvselect that requires them reads the file.
        "tegra_compute_capabilities": [str(c) for c in sorted(tegra_capabilities())],
        "known_compute_capabilities": [str(c) for c in sorted(known_capabilities())],
        "variants": variants,
    }
