"""The inputs every command shares: the catalog, the machine's facts, the branch and the workload."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, NamedTuple, TextIO

from tvselect.errors import BadInputError

if TYPE_CHECKING:
    from tvselect.catalog.model import Catalog
    from tvselect.engine.decision import Options
    from tvselect.facts.model import Facts


class MachineInputs(NamedTuple):
    """Where the facts come from: this machine, or the files and values named on the command line."""

    cpuinfo: str | None = None
    """`--cpuinfo PATH`: the CPU from this file."""
    gpus: tuple[str, ...] = ()
    """`--gpu CC` values: simulated GPUs."""
    driver: str | None = None
    """`--driver VERSION`: the NVIDIA driver version."""
    facts_path: str | None = None
    """`--facts PATH`: every fact from a facts document (`-` for standard input)."""

    @property
    def simulated(self) -> bool:
        """Whether any fact comes from the command line rather than from this machine."""
        return bool(self.cpuinfo or self.gpus or self.driver or self.facts_path)


class Choice(NamedTuple):
    """What the user asked the engine to choose among."""

    workload: str = "general"
    """`--workload`: orders the CPU builds."""
    branch: str = "auto"
    """`--branch`: `auto` or one of the catalog's branches."""
    cpu_only: bool = False
    """`--cpu-only`: only CPU-only builds."""


def load(catalog_path: str | None) -> Catalog:
    """The catalog at `catalog_path` (a file, or a checkout folder whose recipes are read), else at
    $TVSELECT_CATALOG, else the built-in one; CatalogError when it is bad."""
    import os

    from tvselect.catalog.resolve import open_catalog

    return open_catalog(catalog_path, os.environ)


def for_product(catalog: Catalog, product: str | None) -> tuple[Catalog, tuple[str, ...]]:
    """The catalog's packages of one product, and a note when others were left out.

    Without a product, a catalog of one product is used whole; one of several products (a
    build-pytorch checkout also holds TorchVision recipes) is narrowed to the product it has most
    packages of, and the note names the others and `--product`.
    """
    from collections import Counter

    from tvselect.catalog.records import PRODUCTS

    counts = Counter(v.product for v in catalog.variants)
    if product is None:
        if len(counts) <= 1:
            return catalog, ()
        product = counts.most_common(1)[0][0]
        others = ", ".join(f"{p} ({n})" for p, n in sorted(counts.items()) if p != product)
        note = (
            f"the catalog also builds {others}; chose among its {product} packages (--product NAME chooses)"
        )
    else:
        note = ""
        if product not in PRODUCTS:
            raise BadInputError(f"--product {product!r}: choose from {', '.join(PRODUCTS)}")
        if product not in counts:
            raise BadInputError(
                f"--product {product}: the catalog builds no {product} package; it builds {', '.join(counts)}"
            )
    variants = tuple(v for v in catalog.variants if v.product == product)
    names = {v.branch for v in variants}
    narrowed = catalog._replace(
        branches={k: b for k, b in catalog.branches.items() if k in names},
        branch_preference=tuple(b for b in catalog.branch_preference if b in names),
    ).with_variants(variants)
    return narrowed, (note,) if note else ()


def branch_of(catalog: Catalog, branch: str) -> str | None:
    """The branch to consider (None for `auto`); BadInputError when the catalog has no such branch."""
    if branch == "auto":
        return None
    if branch not in catalog.branches:
        raise BadInputError(f"--branch {branch!r}: choose from auto, {', '.join(catalog.branches)}")
    return branch


def workload_of(catalog: Catalog, workload: str) -> str:
    """The workload, checked against the catalog's; BadInputError otherwise."""
    if workload not in catalog.workloads:
        raise BadInputError(f"--workload {workload!r}: choose from {', '.join(catalog.workloads)}")
    return workload


def options_of(catalog: Catalog, choice: Choice) -> Options:
    """The engine's options for `choice`, each value checked against the catalog."""
    from tvselect.engine.decision import Options

    return Options(
        workload=workload_of(catalog, choice.workload),
        branch=branch_of(catalog, choice.branch),
        cpu_only=choice.cpu_only,
    )


def facts_of(catalog: Catalog, machine: MachineInputs, environ: Mapping[str, str], stdin: TextIO) -> Facts:
    """The facts the engine decides from: probed, simulated or read from a facts document."""
    from tvselect.probe import gather_facts

    facts = gather_facts(
        catalog,
        cpuinfo=machine.cpuinfo,
        gpus=machine.gpus,
        driver=machine.driver,
        facts_path=machine.facts_path,
        environ=environ,
        stdin=stdin,
    )
    if machine.facts_path is not None:
        from tvselect.facts.document import check_known_capabilities

        source = "standard input" if machine.facts_path == "-" else machine.facts_path
        check_known_capabilities(facts, catalog.known_capabilities, source)
    return facts


def input_warnings(machine: MachineInputs, facts: Facts) -> tuple[str, ...]:
    """Options that changed nothing, in words: `--driver` with no GPU to apply it to."""
    if machine.driver is None or machine.gpus or machine.facts_path is not None or facts.gpu.gpus:
        return ()
    why = facts.gpu.unavailable_reason or "none found"
    return (
        f"--driver {machine.driver} only replaces the driver version this machine's GPUs report, and it "
        f"has no usable GPU ({why}), so it changes nothing; add --gpu CC to decide for a machine with GPUs",
    )
