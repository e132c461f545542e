"""Several catalogs as one: `--catalog A --catalog B` (or TVSELECT_CATALOG=A:B).

Branches, ISAs, workload orders, GPU architectures and variants are united. Two catalogs may share
an ISA or GPU architecture name only when it means the same (the same CPU features, the same
compute capability); a branch name both use is kept apart by the product its variants build.
"""

from __future__ import annotations

from collections.abc import Sequence

from tvselect.catalog.model import Branch, Catalog, GpuArch, Isa, Variant
from tvselect.catalog.records import index_cudas, index_gpu_archs, index_packages
from tvselect.errors import CatalogError


def _products(catalog: Catalog, branch: str) -> str:
    return "+".join(sorted({v.product for v in catalog.variants if v.branch == branch})) or "empty"


def _renamed(catalog: Catalog, taken: set[str]) -> Catalog:
    """The catalog with each branch name already taken made `PRODUCT/NAME` (or `NAME-2`, ...)."""
    names: dict[str, str] = {}
    for name in catalog.branches:
        new = name if name not in taken else f"{_products(catalog, name)}/{name}"
        position = 1
        while new in taken or new in names.values():
            position += 1
            new = f"{name}-{position}"
        names[name] = new
    if all(k == v for k, v in names.items()):
        return catalog
    branches = {names[k]: b._replace(name=names[k]) for k, b in catalog.branches.items()}
    variants = tuple(v._replace(branch=names[v.branch]) for v in catalog.variants)
    preference = tuple(names[b] for b in catalog.branch_preference)
    return catalog._replace(branches=branches, branch_preference=preference).with_variants(variants)


def _same(kind: str, name: str, a: Isa | GpuArch, b: Isa | GpuArch, sources: tuple[str, str]) -> None:
    if isinstance(a, Isa) and isinstance(b, Isa):
        same = (a.arch, a.needs) == (b.arch, b.needs)
    else:
        same = isinstance(a, GpuArch) and isinstance(b, GpuArch) and a.capability == b.capability
    if not same:
        raise CatalogError(
            f"catalogs {sources[0]} and {sources[1]} both name {kind} {name!r} but mean different things; "
            "import their recipes together (tvselect catalog import A B -o FILE) so that names are shared"
        )


def _interleave(mine: tuple[str, ...], theirs: tuple[str, ...]) -> tuple[str, ...]:
    """`mine`, with each ISA only `theirs` has placed right after the one it follows there."""
    order = list(mine)
    after = -1
    for isa in theirs:
        if isa in order:
            after = order.index(isa)
        else:
            after += 1
            order.insert(after, isa)
    return tuple(order)


def merge(catalogs: Sequence[Catalog]) -> Catalog:
    """One catalog of all the given ones, in order; the first's when there is one."""
    first = catalogs[0]
    if len(catalogs) == 1:
        return first
    branches: dict[str, Branch] = dict(first.branches)
    isas: dict[str, Isa] = dict(first.isas)
    archs: dict[str, GpuArch] = dict(first.gpu_archs)
    workloads = {w: dict(orders) for w, orders in first.workloads.items()}
    descriptions = dict(first.workload_descriptions)
    variants: list[Variant] = list(first.variants)
    preference = list(first.branch_preference)
    for other in catalogs[1:]:
        other = _renamed(other, set(branches))
        for name, isa in other.isas.items():
            if name in isas:
                _same("ISA", name, isas[name], isa, (first.source, other.source))
            isas.setdefault(name, isa)
        for name, arch in other.gpu_archs.items():
            if name in archs:
                _same("GPU architecture", name, archs[name], arch, (first.source, other.source))
            archs.setdefault(name, arch)
        for workload, orders in other.workloads.items():
            mine = workloads.setdefault(workload, {})
            for cpu, order in orders.items():
                mine[cpu] = _interleave(mine.get(cpu, ()), order)
            descriptions.setdefault(workload, other.workload_descriptions[workload])
        branches.update(other.branches)
        preference += other.branch_preference
        variants += other.variants
    merged = tuple(variants)
    return first._replace(
        source=" + ".join(c.source for c in catalogs),
        branches=branches,
        branch_preference=tuple(preference),
        isas=isas,
        workloads=workloads,
        workload_descriptions=descriptions,
        gpu_archs=archs,
        tegra_capabilities=frozenset().union(*(c.tegra_capabilities for c in catalogs)),
        known_capabilities=frozenset().union(*(c.known_capabilities for c in catalogs)),
        variants=merged,
        branches_of_package=index_packages(merged),
        positions_by_gpu_arch=index_gpu_archs(merged),
        cuda_examples=index_cudas(merged),
    )
