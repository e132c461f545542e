"""`tvselect probe`, `list` and `show`: the facts, what the catalog holds, and whether one package runs here."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, NamedTuple, TextIO

from tvselect.app.inputs import MachineInputs, branch_of, facts_of, load
from tvselect.errors import BadInputError, TvselectError

if TYPE_CHECKING:
    from tvselect.catalog.model import Catalog, Variant
    from tvselect.engine.decision import Decision
    from tvselect.facts.model import Facts


class Probed(NamedTuple):
    """What `tvselect probe` found: the facts tvselect decides from."""

    facts: Facts
    """The machine's facts (probed, simulated from options, or read from a document)."""
    catalog: Catalog
    """The catalog, whose CPU features are the ones that matter."""
    machine: MachineInputs
    """Where the facts came from."""


def probe(
    catalog_path: str | None, machine: MachineInputs, environ: Mapping[str, str], stdin: TextIO
) -> Probed:
    """The facts of the machine the inputs describe (this one when none do)."""
    catalog = load(catalog_path)
    return Probed(facts_of(catalog, machine, environ, stdin), catalog, machine)


class ListRequest(NamedTuple):
    """The filters of `tvselect list`."""

    branch: str | None = None
    """Only this branch."""
    gpu_arch: str | None = None
    """Only this GPU architecture (`sm90`)."""
    isa: str | None = None
    """Only this CPU ISA."""
    cpu_only: bool = False
    """Only CPU-only builds."""
    catalog_path: str | None = None
    """`--catalog`: None for the built-in catalog."""
    product: str | None = None
    """Only this product (pytorch, torchvision, torchaudio, vllm)."""


class Listing(NamedTuple):
    """The variants `tvselect list` shows."""

    variants: tuple[Variant, ...]
    """The variants that pass every filter, in catalog order."""
    catalog: Catalog
    """The catalog they come from."""


def list_variants(request: ListRequest) -> Listing:
    """The catalog's variants that pass the request's filters; BadInputError for an unknown filter value."""
    catalog = load(request.catalog_path)
    branch = branch_of(catalog, request.branch) if request.branch is not None else None
    gpu_arch = _gpu_arch_of(catalog, request.gpu_arch) if request.gpu_arch is not None else None
    isa = request.isa
    if isa is not None and isa not in catalog.isas:
        raise BadInputError(f"--isa {isa!r}: choose from {', '.join(catalog.isas)}")
    product = request.product
    built = sorted({v.product for v in catalog.variants})
    if product is not None and product not in built:
        raise BadInputError(f"--product {product!r}: this catalog builds {', '.join(built)}")
    chosen = tuple(
        v
        for v in catalog.variants
        if (branch is None or v.branch == branch)
        and (gpu_arch is None or v.gpu_arch == gpu_arch)
        and (isa is None or v.cpu_isa == isa)
        and (not request.cpu_only or v.gpu_arch is None)
        and (product is None or v.product == product)
    )
    return Listing(chosen, catalog)


def _gpu_arch_of(catalog: Catalog, text: str) -> str:
    """The catalog's architecture for `--gpu-arch`, spelled as `--gpu` is (9.0, sm_90, sm90, 90)."""
    from tvselect.base.capability import parse_capability

    cap = parse_capability(text)
    for name, arch in catalog.gpu_archs.items():
        if cap == arch.capability:
            return name
    known = ", ".join(catalog.gpu_archs)
    raise BadInputError(f"--gpu-arch {text!r}: no build for it; choose from {known} (or 9.0, sm_90, 90)")


class PackageView(NamedTuple):
    """One package on every branch that builds it, judged on one machine."""

    variants: tuple[Variant, ...]
    """The package's variants, one per branch."""
    catalog: Catalog
    """The catalog they come from."""
    decision: Decision
    """The engine's decision for the machine, among builds of the package's kind."""


def _suggestion(package: str, names: Catalog) -> str:
    """Names that contain `package` (a part of a name), else names close to it, else where to look."""
    import difflib

    known = sorted(names.branches_of_package)
    part = package.strip().lower()
    containing = sorted((n for n in known if part and part in n), key=lambda n: (not n.endswith(part), n))
    if containing:
        more = f" (and {len(containing) - 5} more: tvselect list)" if len(containing) > 5 else ""
        return f"; names containing it: {', '.join(containing[:5])}{more}"
    close = difflib.get_close_matches(package, known, n=3, cutoff=0.6)
    return f"; did you mean {', '.join(close)}?" if close else "; 'tvselect list' shows every package"


def show_package(
    package: str,
    machine: MachineInputs,
    catalog_path: str | None,
    environ: Mapping[str, str],
    stdin: TextIO,
) -> PackageView:
    """The catalog's record of `package` and the engine's verdict on the machine."""

    from tvselect.engine.decision import Options, select

    catalog = load(catalog_path)
    variants = catalog.variant(package)
    if not variants:
        raise BadInputError(f"unknown package {package!r}{_suggestion(package, catalog)}")
    facts = facts_of(catalog, machine, environ, stdin)
    # Judged among its product's builds, as the engine would whatever kind it is: a CPU-only
    # build is judged CPU-only.
    product = variants[0].product
    mine = catalog.with_variants(tuple(v for v in catalog.variants if v.product == product))
    decision = select(facts, mine, Options(cpu_only=variants[0].gpu_arch is None))
    return PackageView(variants, catalog, decision)


class Names(NamedTuple):
    """The names a shell completes from the catalog in use."""

    workloads: tuple[str, ...]
    branches: tuple[str, ...]
    packages: tuple[str, ...]
    products: tuple[str, ...]


def catalog_names(catalog_path: str | None) -> Names:
    """The catalog's workloads, branches (with `auto`), package names and products; none when
    the catalog cannot be read (completion prints nothing rather than an error)."""
    try:
        catalog = load(catalog_path)
    except (TvselectError, OSError):
        return Names((), ("auto",), (), ())
    products = {getattr(v, "product", None) for v in catalog.variants}
    return Names(
        tuple(catalog.workloads),
        ("auto", *catalog.branches),
        tuple(sorted(catalog.branches_of_package)),
        tuple(sorted(p for p in products if isinstance(p, str))),
    )
