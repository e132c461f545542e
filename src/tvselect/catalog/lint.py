"""`tvselect catalog lint`: what in a set of recipes cannot work or contradicts itself.

Each finding is one line starting with FILE:LINE. Every rule reads a fact table
(data/cuda.json, data/compiler-flags.json, the shipped ISAs) or the recipe itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from tvselect.base.capability import parse_capability, parse_version
from tvselect.catalog.recipes import Build, pname_parts
from tvselect.catalog.sources import RecipeFiles


def _at(build: Build, line: int) -> str:
    return f"{build.recipe.file}:{max(line, 1)}"


def _target_line(build: Build) -> int:
    targets = build.recipe.gpu_targets
    return targets[0].line if targets else build.recipe.gpu_targets_line


def cuda_cannot_build(build: Build) -> str | None:
    """A GPU target the recipe's CUDA cannot compile: too new for it, or dropped by its major."""
    from tvselect.base.shipped import shipped_table

    cap, cuda = build.capability, parse_version(build.cuda or "")
    if cap is None or cuda is None:
        return None
    facts = shipped_table("cuda")
    first = facts["first_cuda_of_target"].get(str(cap))
    if first is not None and cuda[:2] < (parse_version(first) or ())[:2]:
        return (
            f"compute capability {cap} needs CUDA {first} or newer; this recipe builds with CUDA {build.cuda}"
        )
    oldest = parse_capability(facts["majors"].get(str(cuda[0]), {}).get("oldest_compute_capability", "0.0"))
    if oldest is not None and cap < oldest:
        return f"CUDA {cuda[0]}.x builds nothing older than compute capability {oldest}; this recipe targets {cap}"
    return None


def wrong_platform(build: Build) -> str | None:
    """ISA flags for one CPU architecture in a recipe built for another platform."""
    if not build.flags or build.recipe.platforms is None:
        return None
    other = [p for p in build.platforms if p.partition("-")[0] != build.arch]
    if not other:
        return None
    return (
        f"cpuFlags are {build.arch} flags ({' '.join(build.flags)}) but meta.platforms has {', '.join(other)}"
    )


def name_disagrees(build: Build, shipped_needs: dict[str, frozenset[str]]) -> Iterator[tuple[int, str]]:
    """Where the pname says another SM, CUDA or ISA than the recipe's target, CUDA and flags."""
    recipe = build.recipe
    said = pname_parts(recipe.pname.value if recipe.pname else build.package)
    line = recipe.pname.line if recipe.pname else 1
    cap = build.capability
    sm = None if cap is None else cap.sm
    if said.get("sm") != sm:
        yield line, f"pname says GPU target {said.get('sm', 'none')}, gpuTargets says {sm or 'none'}"
    if cap is not None and said.get("cuda") not in (None, build.cuda):
        yield line, f"pname says CUDA {said['cuda']}, the recipe builds with CUDA {build.cuda}"
    isa = said.get("isa", "")
    if isa in shipped_needs and shipped_needs[isa] != build.needs:
        missing = sorted(shipped_needs[isa] - build.needs)
        extra = sorted(build.needs - shipped_needs[isa])
        flags = recipe.cpu_flags
        # Flags read from an imported file (lib/cpu-isa.nix) are named at the recipe's pname.
        flags_line = flags[0].line if flags and not flags[0].file else line
        what = "; ".join(
            part
            for part in (
                f"lack {', '.join(missing)}" if missing else "",
                f"add {', '.join(extra)}" if extra else "",
            )
            if part
        )
        yield flags_line, f"pname says ISA {isa}, but its cpuFlags ({' '.join(build.flags)}) {what}"


def _pname(build: Build) -> str:
    return build.recipe.pname.value if build.recipe.pname else build.package


def file_name_differs(build: Build) -> str | None:
    """Why a recipe's file name is not its pname (`<pname>.nix`); None when it is.

    flox names a `.flox/pkgs/NAME.nix` build NAME (`flox build NAME`, published as CATALOG/NAME),
    so the file name is the package name tvselect uses; the pname is only the derivation's name.
    """
    pname = _pname(build)
    if pname == build.package:
        return None
    return (
        f"file name {build.package}.nix differs from pname {pname}; flox builds and publishes it "
        f"as {build.package}"
    )


def findings(
    builds: Sequence[Build], errors: Iterable[str], shipped_needs: dict[str, frozenset[str]]
) -> list[str]:
    """Every finding, one line each, in recipe order (recipes that could not be read first)."""
    found = list(errors)
    seen: dict[tuple[str, str], Build] = {}
    for build in builds:
        line = build.recipe.pname.line if build.recipe.pname else 1
        for check, at in (
            (cuda_cannot_build, _target_line(build)),
            (wrong_platform, line),
            (file_name_differs, line),
        ):
            problem = check(build)
            if problem is not None:
                found.append(f"{_at(build, at)}: {problem}")
        found += [f"{_at(build, n)}: {problem}" for n, problem in name_disagrees(build, shipped_needs)]
        first = seen.setdefault((build.branch, _pname(build)), build)
        if first is not build:
            found.append(
                f"{_at(build, line)}: pname {_pname(build)} is also the pname of {first.recipe.file}"
            )
    return found


def lint(sources: Sequence[RecipeFiles]) -> list[str]:
    """Lint recipes: read errors and every finding above."""
    from tvselect.catalog.importer import base_document, read_builds

    imported = read_builds(sources, skip_bad=True)
    isas = base_document()["isas"]
    shipped = {name: frozenset(entry["needs"]) for name, entry in isas.items()}
    return findings(imported.builds, imported.skipped, shipped)
