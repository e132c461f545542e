"""The main use case for several products (`--product`, repeated): one package per product, each
chosen by the same rules, all for one Python version, then one `flox install` for the set.

Every input is checked, and the PyTorch each package brings compared, before anything runs: a set
that would put two PyTorch builds into one environment is installed only with --allow-two-torch.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, NamedTuple, TextIO

from tvselect.app.choose import ChooseRequest, Report, check_request
from tvselect.app.inputs import facts_of, load, options_of
from tvselect.errors import BadInputError, ExitCode

if TYPE_CHECKING:
    from tvselect.catalog.model import Catalog, Variant
    from tvselect.engine.family import TwoTorch
    from tvselect.flox.install import InstallPlan, InstallResult


class FamilyRequest(NamedTuple):
    """`tvselect --product NAME ...`: the products, and every option the main command takes."""

    products: tuple[str, ...]
    """The products asked for, in order (pytorch, torchvision, torchaudio, vllm)."""
    base: ChooseRequest
    """The options shared with the one-product command."""
    allow_two_torch: bool = False
    """`--allow-two-torch`: install a set that brings two PyTorch builds all the same."""


class FamilyReport(NamedTuple):
    """One answer per product, and what the set brings and did."""

    answers: tuple[Report, ...]
    """One per product, in the order asked; each made from that product's packages only."""
    products: tuple[str, ...]
    """The products, in the same order."""
    python: str
    """The one Python version every answer is for."""
    pythons: tuple[str, ...]
    """Every Python version all the products are built for."""
    two_torch: TwoTorch | None
    """The PyTorch builds the chosen packages would bring, when more than one."""
    install_plan: InstallPlan | None
    """One `flox install` for the whole set; None when a product has no package here."""
    install_result: InstallResult | None
    """What `--install` did (or why it did not run flox); None when not asked for."""

    @property
    def variants(self) -> tuple[Variant | None, ...]:
        """The package chosen for each product (None: none runs here)."""
        return tuple(a.variant for a in self.answers)

    @property
    def warnings(self) -> tuple[str, ...]:
        """Every warning, once each: the answers' first, then the two-PyTorch one."""
        texts = list(dict.fromkeys(w for a in self.answers for w in a.warnings))
        if self.two_torch is not None:
            texts.append(self.two_torch.text)
        return tuple(texts)

    @property
    def exit_code(self) -> int:
        """NO_MATCH when a product has no package here, else as the install went."""
        if any(v is None for v in self.variants):
            return ExitCode.NO_MATCH
        if self.install_result is not None and not self.install_result.ok:
            return ExitCode.INSTALL_FAILED
        return ExitCode.OK


def _check(request: FamilyRequest) -> None:
    from tvselect.catalog.records import PRODUCTS

    check_request(request.base)
    for product in request.products:
        if product not in PRODUCTS:
            raise BadInputError(f"--product {product!r}: choose from {', '.join(PRODUCTS)}")
    if len(set(request.products)) != len(request.products):
        raise BadInputError("--product: each product once")
    if request.allow_two_torch and not request.base.install:
        raise BadInputError("--allow-two-torch goes with --install")
    if request.base.nfd is not None or request.base.verify:
        raise BadInputError("--nfd and --verify choose one product; leave out --product, or them")


def product_catalogs(catalog: Catalog, products: tuple[str, ...]) -> dict[str, Catalog]:
    """Each product's packages as a catalog of their own; BadInputError for a product none builds."""
    from tvselect.app.inputs import for_product

    return {product: for_product(catalog, product)[0] for product in products}


def only(catalog: Catalog, variants: tuple[Variant, ...]) -> Catalog:
    """The catalog with only these variants, and only the branches that build them."""
    names = {v.branch for v in variants}
    return catalog._replace(
        branches={k: b for k, b in catalog.branches.items() if k in names},
        branch_preference=tuple(b for b in catalog.branch_preference if b in names),
    ).with_variants(variants)


def _python(catalogs: Mapping[str, Catalog]) -> tuple[str, tuple[str, ...]]:
    from tvselect.base.capability import parse_version
    from tvselect.engine.family import one_python

    pythons = {p: frozenset(v.python or "" for v in c.variants) - {""} for p, c in catalogs.items()}
    chosen = one_python(pythons)
    if chosen is None:
        each = "; ".join(f"{p}: {', '.join(sorted(v))}" for p, v in pythons.items())
        raise BadInputError(f"no Python version is built for every product asked ({each})")
    common = sorted(frozenset.intersection(*pythons.values()), key=lambda v: parse_version(v) or ())
    return chosen, tuple(common)


def choose_family(request: FamilyRequest, environ: Mapping[str, str], stdin: TextIO) -> FamilyReport:
    """Decide one package per product for one Python, then install the set once, as asked."""
    from tvselect.app.choose import _published, _published_reasons, _read_available
    from tvselect.engine.decision import select
    from tvselect.engine.family import two_torch

    _check(request)
    base = request.base
    available = _read_available(base, stdin)
    catalog = load(base.catalog_path)
    catalogs = product_catalogs(catalog, request.products)
    python, pythons = _python(catalogs)
    facts = facts_of(catalog, base.machine, environ, stdin)
    answers = []
    for product in request.products:
        mine = catalogs[product]
        mine = only(mine, tuple(v for v in mine.variants if v.python == python))
        choice = base.choice
        if choice.branch != "auto" and choice.branch not in mine.branches:
            choice = choice._replace(branch="auto")  # --branch names another product's branch
        options = options_of(mine, choice)
        decision = select(facts, mine, options)
        published = _published(base, available, facts, mine, options, environ)
        why = _published_reasons(published, decision, base.install)
        answers.append(
            Report(decision, mine, None, None, base.explain, None, None, published, why, base.machine)
        )
    chosen = [a.variant for a in answers if a.variant is not None]
    conflict = two_torch(chosen, catalog) if len(chosen) == len(answers) else None
    plan = install_plan(chosen, catalog, base) if len(chosen) == len(answers) else None
    result = _install(plan, conflict, request)
    return FamilyReport(tuple(answers), request.products, python, pythons, conflict, plan, result)


def install_plan(variants: list[Variant], catalog: Catalog, base: ChooseRequest) -> InstallPlan:
    """One `flox install` of every chosen package."""
    from tvselect.flox.install import plan_install

    plans = [plan_install(v, catalog, base.org, base.directory) for v in variants]
    first = plans[0]
    argv = (*first.argv, *(p.argv[-1] for p in plans[1:]))
    return first._replace(
        argv=argv,
        spec=" ".join(p.spec for p in plans),
        pinned=any(p.pinned for p in plans),
        unpinnable=any(p.unpinnable for p in plans),
    )


def _install(
    plan: InstallPlan | None, conflict: TwoTorch | None, request: FamilyRequest
) -> InstallResult | None:
    from tvselect.flox.install import InstallResult, run_install

    base = request.base
    if not base.install or plan is None:
        return None
    if conflict is not None and not request.allow_two_torch:
        why = (
            "flox was not run: these packages would bring two PyTorch builds into one environment "
            f"(see the warning); install {conflict.avoid[0]}, or add --allow-two-torch to install them all"
        )
        return InstallResult(plan.argv, False, None, why)
    return run_install(plan, dry_run=base.dry_run, timeout=base.timeout)
