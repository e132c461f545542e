"""Several products in one environment: which PyTorch each chosen package brings, whether they
differ, and the smallest install that avoids two PyTorch builds. Pure: variants in, words out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from tvselect.catalog.model import Catalog, TorchBuild, Variant
from tvselect.catalog.records import PRODUCT_LABELS


class TorchGroup(NamedTuple):
    """Chosen packages that bring the same PyTorch derivation (as far as their recipes tell)."""

    torch: TorchBuild | None
    """What they bring; None where the catalog does not know it (then the group is one package)."""
    variants: tuple[Variant, ...]
    """The packages, in the order asked."""


class TwoTorch(NamedTuple):
    """Two or more PyTorch builds that one environment would hold."""

    groups: tuple[TorchGroup, ...]
    """One group per PyTorch build, in the order asked."""
    words: tuple[str, ...]
    """What each group's PyTorch is, in words (`PyTorch 2.10.0 built for sm90 and AVX-512`)."""
    avoid: tuple[str, ...]
    """Installs that avoid it, best first: the one that keeps most of what was asked, smallest."""

    @property
    def text(self) -> str:
        """The warning, one line."""
        brought = "; ".join(
            f"{_names(g.variants)} {'is' if _is_torch(g) else 'brings'} {w}"
            for g, w in zip(self.groups, self.words, strict=True)
        )
        return (
            f"these packages would put {len(self.groups)} different PyTorch builds into one environment: "
            f"{brought}. To avoid it, install {'; or '.join(self.avoid)}"
        )


def _is_torch(group: TorchGroup) -> bool:
    return all(v.product == "pytorch" for v in group.variants)


def _names(variants: Sequence[Variant]) -> str:
    return " and ".join(v.package for v in variants)


def torch_words(variant: Variant, catalog: Catalog) -> str:
    """`PyTorch 2.10.0 built for sm90 and AVX-512` (what the package brings, or is)."""
    version = (variant.torch.version if variant.torch else None) or variant.pytorch
    named = f"PyTorch {version}" if version else "PyTorch (version unknown)"
    gpu = variant.gpu_arch or "no GPU (CPU only)"
    isa = catalog.isas[variant.cpu_isa].label if variant.cpu_isa in catalog.isas else variant.cpu_isa
    return f"{named} built for {gpu} and {isa}"


def _label(product: str) -> str:
    return PRODUCT_LABELS.get(product, product)


def _install(group: TorchGroup, words: str) -> str:
    labels = [_label(v.product) for v in group.variants]
    if len(labels) == 1:
        if _is_torch(group):
            return f"the PyTorch package alone ({words})"
        return f"the {labels[0]} package alone: it brings its own {words}"
    return f"the {' and '.join(labels)} packages together: they bring the same {words}"


def groups_of(variants: Sequence[Variant]) -> tuple[TorchGroup, ...]:
    """The chosen packages grouped by the PyTorch derivation they bring; unknown ones alone."""
    groups: dict[object, list[Variant]] = {}
    torches: dict[object, TorchBuild | None] = {}
    for variant in variants:
        key: object = variant.torch.key if variant.torch is not None else ("unknown", variant.package)
        groups.setdefault(key, []).append(variant)
        torches.setdefault(key, variant.torch)
    return tuple(TorchGroup(torches[k], tuple(v)) for k, v in groups.items())


def two_torch(variants: Sequence[Variant], catalog: Catalog) -> TwoTorch | None:
    """The two-PyTorch finding for these chosen packages; None when they bring one PyTorch."""
    groups = groups_of(variants)
    if len(groups) < 2:
        return None
    words = tuple(torch_words(g.variants[0], catalog) for g in groups)

    def keeps(position: int) -> tuple[int, int, int]:
        group = groups[position]
        products = {v.product for v in group.variants} | {"pytorch"}  # every package brings PyTorch
        return -len(products), len(group.variants), position

    order = sorted(range(len(groups)), key=keeps)
    return TwoTorch(groups, words, tuple(_install(groups[i], words[i]) for i in order))


def one_python(pythons: dict[str, frozenset[str]]) -> str | None:
    """The Python every product is built for (the newest, when several); None when there is none."""
    from tvselect.base.capability import parse_version

    common = frozenset.intersection(*pythons.values()) if pythons else frozenset()
    return max(common, key=lambda p: parse_version(p) or (), default=None)
