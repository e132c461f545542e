"""`tvselect catalog diff A B`: variants added, removed and changed between two catalogs."""

from __future__ import annotations

from typing import NamedTuple

from tvselect.catalog.model import Catalog, Variant


class Change(NamedTuple):
    """One variant that both catalogs have, and what differs."""

    branch: str
    """Its branch."""
    package: str
    """Its package name."""
    fields: tuple[tuple[str, str, str], ...]
    """(field, value in A, value in B) for each field that differs."""


class CatalogDiff(NamedTuple):
    """The difference of two catalogs, over the branches both have."""

    added: tuple[Variant, ...]
    """Variants only B has."""
    removed: tuple[Variant, ...]
    """Variants only A has."""
    changed: tuple[Change, ...]
    """Variants both have, with what differs."""
    only_in_a: tuple[tuple[str, int], ...]
    """(branch, number of variants) of the branches only A has."""
    only_in_b: tuple[tuple[str, int], ...]
    """(branch, number of variants) of the branches only B has."""
    commits: tuple[tuple[str, str, str], ...] = ()
    """(branch, commit in A, commit in B) of the shared branches whose recipes' commits differ
    ('unknown' where a catalog does not record it): how old each catalog is."""


def variant_facts(variant: Variant, catalog: Catalog) -> dict[str, str]:
    """What a variant means, as comparable text: its ISA by the CPU features it needs, not its name."""
    isa = catalog.isas[variant.cpu_isa]
    return {
        "product": variant.product,
        "gpu_arch": variant.gpu_arch or "none",
        "cpu_arch": isa.arch,
        "cpu_needs": " ".join(sorted(isa.needs)) or "none",
        "cuda": variant.cuda or "none",
        "min_driver": variant.min_driver_text or "none",
        "platforms": " ".join(variant.platforms),
        "torchvision": variant.torchvision or "unknown",
        "pytorch": variant.pytorch or "unknown",
        "nixpkgs": variant.nixpkgs or "unknown",
    }


def diff_catalogs(a: Catalog, b: Catalog) -> CatalogDiff:
    """Compare two catalogs branch by branch; branches only one has are counted, not listed."""
    shared = [name for name in a.branches if name in b.branches]
    old = {(v.branch, v.package): v for v in a.variants if v.branch in shared}
    new = {(v.branch, v.package): v for v in b.variants if v.branch in shared}
    changed = []
    for key in old.keys() & new.keys():
        before, after = variant_facts(old[key], a), variant_facts(new[key], b)
        fields = tuple((f, before[f], after[f]) for f in before if before[f] != after[f])
        if fields:
            changed.append(Change(key[0], key[1], fields))

    def count(catalog: Catalog, other: Catalog) -> tuple[tuple[str, int], ...]:
        return tuple(
            (name, sum(v.branch == name for v in catalog.variants))
            for name in catalog.branches
            if name not in other.branches
        )

    commits = tuple(
        (name, a.branches[name].commit or "unknown", b.branches[name].commit or "unknown")
        for name in shared
        if a.branches[name].commit != b.branches[name].commit
    )
    return CatalogDiff(
        commits=commits,
        added=tuple(new[k] for k in sorted(new.keys() - old.keys())),
        removed=tuple(old[k] for k in sorted(old.keys() - new.keys())),
        changed=tuple(sorted(changed)),
        only_in_a=count(a, b),
        only_in_b=count(b, a),
    )
