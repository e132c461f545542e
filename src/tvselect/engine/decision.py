"""The rules engine: a pure function from (facts, catalog, options) to a Decision.

It touches no file, environment variable or global. Every rule reads the catalog;
the code here holds only the predicates that read it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import NamedTuple

from tvselect.base.capability import Capability, format_capability, parse_version
from tvselect.catalog.model import Catalog, GpuArch, Isa, Variant
from tvselect.engine.reasons import Reason, reason
from tvselect.errors import BadInputError
from tvselect.facts.model import CpuFacts, Facts, Gpu

OK = "ok"
NO_MATCH = "no-match"

CHOSEN = "chosen"
RUNS = "runs"
CANNOT_RUN = "cannot-run"
NOT_CONSIDERED = "not-considered"

EXACT = "exact"
COMPATIBLE = "compatible"

WORKLOADS = ("general", "bf16-training", "int8-inference")

# Names of the ranking criteria, in the order they apply; the rule that decided
# is the first one on which the winner beat the runner-up.
RULES = ("exact-sm", "newest-sm", "branch-preference", "workload-isa", "newest-cuda")
ONLY_CANDIDATE = "only-candidate"
NO_RUNNABLE = "no-runnable-variant"

_ALTERNATIVES_SHOWN = 5
_NEAR_MISSES_SHOWN = 3


class Options(NamedTuple):
    """What the caller asks of the choice."""

    workload: str = "general"
    """`general`, `bf16-training` or `int8-inference`: orders the CPU ISAs."""
    branch: str | None = None
    """The only branch to consider; None considers all, in the catalog's preference."""
    cpu_only: bool = False
    """Choose among CPU-only variants even when GPUs are present."""


class Verdict(NamedTuple):
    """What the engine concluded about one variant."""

    variant: Variant
    """The variant."""
    status: str
    """`chosen`, `runs` (but ranked lower), `cannot-run`, or `not-considered`."""
    reasons: tuple[Reason, ...]
    """Why it cannot run, why it lost, or why it was not considered; empty when chosen."""
    gpu_match: str | None
    """`exact` or `compatible` for a CUDA variant that runs on every GPU; else None."""


class Alternative(NamedTuple):
    """A variant worth knowing about besides the chosen one."""

    variant: Variant
    """The variant."""
    reason: Reason
    """Why it was not chosen, or what it would serve."""


class DecisionInputs(NamedTuple):
    """What a decision was made from, kept so that its explanation can be built on demand."""

    facts: Facts
    """The machine."""
    catalog: Catalog
    """The catalog."""
    options: Options
    """The caller's options."""
    gpus: tuple[Gpu, ...]
    """The GPUs being served: none when CPU-only was asked for."""


class Decision(NamedTuple):
    """The engine's answer, with everything needed to explain it."""

    options: Options
    """The options the decision was made under."""
    status: str
    """`ok` when a variant was chosen, `no-match` when none runs here."""
    variant: Variant | None
    """The chosen variant, None on no-match."""
    gpu_match: str | None
    """`exact` or `compatible` for a CUDA variant; None for CPU-only or no-match."""
    rule: str
    """The rule that decided: one of RULES, `only-candidate`, or `no-runnable-variant`."""
    reasons: tuple[Reason, ...]
    """Why this variant (or, on no-match, why none runs)."""
    warnings: tuple[Reason, ...]
    """What the caller should know but that did not stop the choice."""
    alternatives: tuple[Alternative, ...]
    """Runners-up, or on no-match the nearest things that do run."""
    context: DecisionInputs
    """What the decision was made from; the explanation is built from it on demand."""

    @property
    def verdicts(self) -> tuple[Verdict, ...]:
        """One verdict per catalog variant, in catalog order; built on each access, so keep it."""
        return _verdicts(self.context, self.variant)

    @property
    def facts(self) -> Facts:
        """The facts the decision was made from."""
        return self.context.facts


def cubin_runs_on(arch: Capability, gpu: Capability, tegra: frozenset[Capability]) -> str | None:
    """None when a cubin for `arch` runs on a GPU of capability `gpu`; else a reason code.

    CUDA's binary compatibility: sm_XY runs on X.z with z >= Y, never across majors,
    and Tegra GPUs run only cubins of their exact capability. No variant carries PTX.
    """
    if gpu in tegra:
        return None if arch == gpu else "gpu-tegra-exact"
    if arch[0] != gpu[0]:
        return "gpu-major-differs"
    if gpu[1] < arch[1]:
        return "gpu-minor-too-new"
    return None


def _gpu_label(gpu: Gpu) -> str:
    return f"compute capability {format_capability(gpu.capability)}"


def _caps(gpus: tuple[Gpu, ...]) -> str:
    return ", ".join(sorted({format_capability(g.capability) for g in gpus}))


def _isa_reasons(isa: Isa, cpu: CpuFacts) -> tuple[Reason, ...]:
    if cpu.arch != isa.arch:
        return (reason("isa-wrong-arch", isa=isa.name, isa_arch=isa.arch, cpu_arch=cpu.arch),)
    if cpu.unknown_reason is not None and not cpu.features:
        return (reason("cpu-unknown", why=cpu.unknown_reason, isa=isa.name),)
    missing = isa.needs - cpu.features
    if missing:
        return (reason("isa-missing-features", missing=", ".join(sorted(missing)), isa=isa.name),)
    return ()


def _arch_reasons(
    arch: GpuArch, gpus: tuple[Gpu, ...], tegra: frozenset[Capability]
) -> tuple[tuple[Reason, ...], str | None]:
    reasons = []
    exact = True
    for gpu in gpus:
        code = cubin_runs_on(arch.capability, gpu.capability, tegra)
        if code is not None:
            reasons.append(
                reason(
                    code,
                    sm=arch.name,
                    index=gpu.index,
                    cap=_gpu_label(gpu),
                    need=f"{arch.capability[0]}.{arch.capability[1]}",
                )
            )
        exact = exact and arch.capability == gpu.capability
    if reasons:
        return tuple(reasons), None
    return (), EXACT if exact else COMPATIBLE


def driver_too_old(variant: Variant, facts: Facts) -> Reason | None:
    """The driver rule: a known driver older than the minimum for the variant's CUDA."""
    driver = parse_version(facts.gpu.driver_version or "")
    if variant.min_driver is None or driver is None or driver >= variant.min_driver:
        return None
    return reason(
        "driver-too-old", cuda=variant.cuda, need=variant.min_driver_text, have=facts.gpu.driver_version
    )


def driver_cuda_too_old(variant: Variant, facts: Facts) -> Reason | None:
    """The CUDA rule: a driver whose CUDA major version is older than the variant's."""
    have = parse_version(facts.gpu.cuda_driver_version or "")
    major = variant.cuda_major
    if major is None or have is None or have[0] >= major:
        return None
    return reason("driver-cuda-too-old", cuda=variant.cuda, have=facts.gpu.cuda_driver_version)


def platform_other(variant: Variant, cpu: CpuFacts, isa: Isa) -> Reason | None:
    """The platform rule: a variant built only for other systems (e.g. aarch64-darwin) never runs here.

    Silent where the ISA rule already says the build is for another CPU architecture.
    """
    if f"{cpu.arch}-linux" in variant.platforms or isa.arch != cpu.arch:
        return None
    return reason("platform-other", platforms=", ".join(variant.platforms), system=f"{cpu.arch}-linux")


def _driver_reasons(variant: Variant, facts: Facts) -> tuple[Reason, ...]:
    found = (driver_too_old(variant, facts), driver_cuda_too_old(variant, facts))
    return tuple(r for r in found if r is not None)


def _driver_ok(catalog: Catalog, facts: Facts) -> dict[str | None, bool]:
    """The driver rules per CUDA version (None: builds without CUDA) as booleans."""
    ok: dict[str | None, bool] = {None: True}
    for variant in catalog.cuda_examples:
        ok[variant.cuda] = not _driver_reasons(variant, facts)
    return ok


class _Ranking:
    """Ranking keys of runnable variants: lower sorts first."""

    def __init__(self, catalog: Catalog, options: Options, cpu_arch: str) -> None:
        self.catalog = catalog
        self.options = options
        order = catalog.workloads[options.workload].get(cpu_arch, ())
        self.isa_order = {isa: position for position, isa in enumerate(order)}
        self.unlisted = len(order)
        self.branch_order = {b: position for position, b in enumerate(catalog.branch_preference)}

    def key(self, variant: Variant, match: str | None) -> tuple[int, int, int, int, int]:
        if variant.gpu_arch is None:
            major = minor = 0
        else:
            major, minor = self.catalog.gpu_archs[variant.gpu_arch].capability
        cuda = parse_version(variant.cuda or "0") or (0,)
        return (
            0 if match in (EXACT, None) else 1,
            -(major * 100 + minor),
            self.branch_order[variant.branch],
            self.isa_order.get(variant.cpu_isa, self.unlisted),
            -(cuda[0] * 100 + (cuda[1] if len(cuda) > 1 else 0)),
        )

    def lost_reason(
        self, loser: Variant, loser_key: tuple[int, ...], winner: Variant, winner_key: tuple[int, ...]
    ) -> tuple[str, Reason]:
        # Variants differ in (branch, sm, isa, cuda), so some criterion always separates them.
        rule = next(
            (rule for rule, a, b in zip(RULES, loser_key, winner_key, strict=True) if a != b), RULES[-1]
        )
        if rule == "exact-sm":
            return rule, reason("lost-exact", winner=winner.gpu_arch, sm=loser.gpu_arch)
        if rule == "newest-sm":
            return rule, reason("lost-newer-sm", winner=winner.gpu_arch, sm=loser.gpu_arch)
        if rule == "branch-preference":
            return rule, reason("lost-branch", winner=winner.branch, branch=loser.branch)
        if rule == "newest-cuda":
            return rule, reason("lost-older-cuda", winner=winner.cuda, cuda=loser.cuda)
        if loser.cpu_isa not in self.isa_order:
            return rule, reason("lost-isa-other-workload", isa=loser.cpu_isa, workload=self.options.workload)
        return rule, reason(
            "lost-isa", isa=loser.cpu_isa, winner=winner.cpu_isa, workload=self.options.workload
        )


def _check_options(catalog: Catalog, options: Options) -> None:
    if options.workload not in catalog.workloads:
        raise BadInputError(
            f"unknown workload '{options.workload}' (choose from {', '.join(catalog.workloads)})"
        )
    if options.branch is not None and options.branch not in catalog.branches:
        raise BadInputError(f"unknown branch '{options.branch}' (choose from {', '.join(catalog.branches)})")


def _staged(ctx: DecisionInputs) -> list[tuple[str, tuple[Reason, ...], str | None]]:
    """Every variant's status before ranking: not considered, cannot run, or runs (with match)."""
    catalog, facts, options, gpus = ctx.catalog, ctx.facts, ctx.options, ctx.gpus
    isa_reasons = {name: _isa_reasons(isa, facts.cpu) for name, isa in catalog.isas.items()}
    arch_eval = {
        name: _arch_reasons(arch, gpus, catalog.tegra_capabilities)
        for name, arch in catalog.gpu_archs.items()
    }
    if options.cpu_only:
        scope_cuda: Reason | None = reason("cuda-build-cpu-only-asked")
    elif not gpus:
        scope_cuda = reason("cuda-build-no-gpu")
    else:
        scope_cuda = None
    scope_cpu = reason("cpu-build-gpu-present") if gpus else None
    scope_branch = reason("not-requested-branch", requested=options.branch) if options.branch else None
    staged: list[tuple[str, tuple[Reason, ...], str | None]] = []
    for variant in catalog.variants:
        scope = scope_cuda if variant.gpu_arch is not None else scope_cpu
        if scope is None and scope_branch is not None and variant.branch != options.branch:
            scope = scope_branch
        reasons = isa_reasons[variant.cpu_isa]
        platform = platform_other(variant, facts.cpu, catalog.isas[variant.cpu_isa])
        if platform is not None:
            reasons = (platform, *reasons)
        match = None
        if variant.gpu_arch is not None and gpus:
            gpu_reasons, match = arch_eval[variant.gpu_arch]
            reasons = reasons + gpu_reasons + _driver_reasons(variant, facts)
        if scope is not None:
            staged.append((NOT_CONSIDERED, (scope,), None))
        elif reasons:
            staged.append((CANNOT_RUN, reasons, None))
        else:
            staged.append((RUNS, (), match))
    return staged


def _verdicts(ctx: DecisionInputs, winner: Variant | None) -> tuple[Verdict, ...]:
    staged = _staged(ctx)
    if winner is None:
        return tuple(
            Verdict(v, status, why, None)
            for v, (status, why, _) in zip(ctx.catalog.variants, staged, strict=True)
        )
    ranking = _Ranking(ctx.catalog, ctx.options, ctx.facts.cpu.arch)
    winner_pos = ctx.catalog.variants.index(winner)
    winner_key = ranking.key(winner, staged[winner_pos][2])
    verdicts = []
    for position, (variant, (status, why, match)) in enumerate(
        zip(ctx.catalog.variants, staged, strict=True)
    ):
        if position == winner_pos:
            verdicts.append(Verdict(variant, CHOSEN, (), match))
        elif status == RUNS:
            lost = ranking.lost_reason(variant, ranking.key(variant, match), winner, winner_key)[1]
            verdicts.append(Verdict(variant, RUNS, (lost,), match))
        else:
            verdicts.append(Verdict(variant, status, why, None))
    return tuple(verdicts)


class _Pass(NamedTuple):
    """The fast pass of a decision: which rules each ISA, GPU arch and branch passes, and the ranking."""

    isa_ok: dict[str, bool]
    """For each ISA, whether this CPU runs it."""
    arch_match: dict[str | None, str | None]
    """Each GPU arch whose code runs on every GPU, with `exact` or `compatible`; None: CPU-only."""
    driver_ok: dict[str | None, bool]
    """For each CUDA version, whether the driver (when known) is new enough for it."""
    ranking: _Ranking
    """The ranking keys for these facts and options."""
    runnable: list[tuple[tuple[int, int, int, int, int], int]]
    """(ranking key, position) of every variant that runs, best first."""


def _fast_pass(facts: Facts, catalog: Catalog, options: Options, gpus: tuple[Gpu, ...]) -> _Pass:
    cpu = facts.cpu
    features = cpu.features
    isa_ok = {name: isa.arch == cpu.arch and isa.needs <= features for name, isa in catalog.isas.items()}
    tegra = catalog.tegra_capabilities
    arch_match: dict[str | None, str | None] = {None: None}
    if gpus:
        for name, arch in catalog.gpu_archs.items():
            if all(cubin_runs_on(arch.capability, g.capability, tegra) is None for g in gpus):
                exact = all(arch.capability == g.capability for g in gpus)
                arch_match[name] = EXACT if exact else COMPATIBLE
        driver_ok = _driver_ok(catalog, facts)
    else:
        driver_ok = {None: True}
    only_branch = options.branch
    ranking = _Ranking(catalog, options, cpu.arch)
    variants = catalog.variants
    system = f"{cpu.arch}-linux"
    runnable: list[tuple[tuple[int, int, int, int, int], int]] = []
    # The hot loop of fleet planning: only the variants of GPU archs whose code runs here.
    for sm in [a for a in arch_match if a is not None] if gpus else [None]:
        for position in catalog.positions_by_gpu_arch.get(sm, ()):
            variant = variants[position]
            if only_branch is not None and variant.branch != only_branch:
                continue
            if isa_ok[variant.cpu_isa] and driver_ok[variant.cuda] and system in variant.platforms:
                runnable.append((ranking.key(variant, arch_match[sm]), position))
    runnable.sort()
    return _Pass(isa_ok, arch_match, driver_ok, ranking, runnable)


def _best(facts: Facts, catalog: Catalog, options: Options) -> Variant | None:
    """The variant `select` would choose, without building its explanation (for alternatives)."""
    gpus = () if options.cpu_only else facts.gpu.gpus
    runnable = _fast_pass(facts, catalog, options, gpus).runnable
    return catalog.variants[runnable[0][1]] if runnable else None


class Ranked(NamedTuple):
    """A variant that runs on a machine, with the key it is ranked by there."""

    variant: Variant
    """The variant."""
    gpu_match: str | None
    """`exact` or `compatible` for a CUDA variant; None for a CPU-only one."""
    key: tuple[int, ...]
    """Its ranking key, one number per rule of RULES in order (exact SM, newest SM, branch preference,
    workload ISA, …); lower ranks first."""


def runnable(facts: Facts, catalog: Catalog, options: Options) -> tuple[Ranked, ...]:
    """Every variant that runs on the machine, best first: the first is the one `select` chooses."""
    _check_options(catalog, options)
    gpus = () if options.cpu_only else facts.gpu.gpus
    found = _fast_pass(facts, catalog, options, gpus)
    variants = catalog.variants
    return tuple(
        Ranked(variants[position], found.arch_match[variants[position].gpu_arch], key)
        for key, position in found.runnable
    )


def runnable_ranked(facts: Facts, catalog: Catalog, options: Options) -> tuple[Variant, ...]:
    """Every variant that runs on the machine, best first, by the ranking `select` uses."""
    return tuple(r.variant for r in runnable(facts, catalog, options))


def select(facts: Facts, catalog: Catalog, options: Options) -> Decision:
    """Choose the variant for the machine described by `facts`, and say why."""
    _check_options(catalog, options)
    gpus = () if options.cpu_only else facts.gpu.gpus
    ctx = DecisionInputs(facts, catalog, options, gpus)
    isa_ok, arch_match, driver_ok, ranking, runnable = _fast_pass(facts, catalog, options, gpus)

    warnings = _warnings(catalog, facts, gpus)
    if not runnable:
        return _no_match(ctx, warnings, isa_ok, arch_match, driver_ok)

    winner_key, winner_pos = runnable[0]
    winner = catalog.variants[winner_pos]
    match = arch_match[winner.gpu_arch]
    lost = [
        (catalog.variants[position], ranking.lost_reason(catalog.variants[position], key, winner, winner_key))
        for key, position in runnable[1 : 1 + _ALTERNATIVES_SHOWN]
    ]
    return Decision(
        options=options,
        status=OK,
        variant=winner,
        gpu_match=match,
        rule=lost[0][1][0] if lost else ONLY_CANDIDATE,
        reasons=_why_chosen(catalog, facts, options, gpus, winner, match)
        + _exact_held_back(catalog, facts, options, arch_match, driver_ok, match),
        warnings=warnings,
        alternatives=tuple(Alternative(variant, why) for variant, (_, why) in lost),
        context=ctx,
    )


def _exact_held_back(
    catalog: Catalog,
    facts: Facts,
    options: Options,
    arch_match: dict[str | None, str | None],
    driver_ok: dict[str | None, bool],
    match: str | None,
) -> tuple[Reason, ...]:
    """When only a compatible build was chosen, say which exact build the driver ruled out."""
    if match != COMPATIBLE:
        return ()
    held = []
    for variant in catalog.variants:
        if arch_match.get(variant.gpu_arch) != EXACT or driver_ok[variant.cuda]:
            continue
        if options.branch is not None and variant.branch != options.branch:
            continue
        why = reason(
            "exact-held-back",
            sm=variant.gpu_arch,
            branch=variant.branch,
            need=variant.min_driver_text,
            have=facts.gpu.driver_version or "unknown",
        )
        if why not in held:
            held.append(why)
    return tuple(held)


def _warnings(catalog: Catalog, facts: Facts, gpus: tuple[Gpu, ...]) -> tuple[Reason, ...]:
    warnings = []
    if gpus and parse_version(facts.gpu.driver_version or "") is None:
        minimums = sorted({v.min_driver_text or "" for v in catalog.cuda_examples})
        warnings.append(reason("driver-unchecked", need=" or ".join(minimums)))
    for gone in facts.gpu.excluded:
        warnings.append(
            reason("gpu-excluded", index=gone.index, name=gone.name or "unknown", why=gone.reason)
        )
    return tuple(warnings)


def _why_chosen(
    catalog: Catalog,
    facts: Facts,
    options: Options,
    gpus: tuple[Gpu, ...],
    winner: Variant,
    match: str | None,
) -> tuple[Reason, ...]:
    reasons = []
    if winner.gpu_arch is not None:
        if match == EXACT:
            code = "chose-exact"
        else:
            code = "chose-compatible" if len(gpus) == 1 else "chose-compatible-all"
        reasons.append(reason(code, caps=_caps(gpus), sm=winner.gpu_arch))
    elif options.cpu_only:
        reasons.append(reason("chose-cpu-asked"))
    else:
        reasons.append(reason("chose-cpu-no-gpu", why=facts.gpu.unavailable_reason or "none found"))
    if options.branch is not None:
        reasons.append(reason("chose-branch-asked", branch=winner.branch))
    elif (
        len(catalog.branches_of_package.get(winner.package, ())) > 1
        or winner.branch != catalog.branch_preference[0]
    ):
        reasons.append(
            reason("chose-branch-preferred", branch=winner.branch, order=", ".join(catalog.branch_preference))
        )
    label = catalog.isas[winner.cpu_isa].label
    order = catalog.workloads[options.workload].get(facts.cpu.arch, ())
    own = order[0] if order else None
    if own is not None and own != winner.cpu_isa:
        own_reasons = _isa_reasons(catalog.isas[own], facts.cpu)
        if own_reasons and own_reasons[0].code == "isa-missing-features":
            missing = sorted(catalog.isas[own].needs - facts.cpu.features)
            reasons.append(reason("workload-isa-missing", missing=", ".join(missing), label=label))
        else:
            reasons.append(
                reason(
                    "workload-isa-unbuilt", better=catalog.isas[own].label, branch=winner.branch, label=label
                )
            )
    else:
        reasons.append(reason("chose-isa", label=label, workload=options.workload))
    return tuple(reasons)


def _near_misses(
    ctx: DecisionInputs,
    isa_ok: dict[str, bool],
    arch_match: dict[str | None, str | None],
    driver_ok: dict[str | None, bool],
) -> list[Reason]:
    """Why the variants in scope that fail the fewest rules (CPU, GPU, driver) fail them."""
    catalog, options, gpus = ctx.catalog, ctx.options, ctx.gpus
    failing: list[tuple[int, Variant]] = []
    for variant in catalog.variants:
        if (variant.gpu_arch is not None) != bool(gpus):
            continue
        if options.branch is not None and variant.branch != options.branch:
            continue
        gpu_fails = variant.gpu_arch is not None and variant.gpu_arch not in arch_match
        driver_fails = variant.gpu_arch is not None and not driver_ok[variant.cuda]
        platform_fails = platform_other(variant, ctx.facts.cpu, catalog.isas[variant.cpu_isa]) is not None
        fails = int(not isa_ok[variant.cpu_isa]) + int(gpu_fails) + int(driver_fails) + int(platform_fails)
        failing.append((fails, variant))
    if not failing:
        return []
    fewest = min(n for n, _ in failing)
    reasons: list[Reason] = []
    for n, variant in failing:
        if n != fewest:
            continue
        why = _isa_reasons(catalog.isas[variant.cpu_isa], ctx.facts.cpu)
        platform = platform_other(variant, ctx.facts.cpu, catalog.isas[variant.cpu_isa])
        if platform is not None:
            why = (platform, *why)
        if variant.gpu_arch is not None:
            why += _arch_reasons(catalog.gpu_archs[variant.gpu_arch], gpus, catalog.tegra_capabilities)[0]
            why += _driver_reasons(variant, ctx.facts)
        for item in why:
            if item not in reasons:
                reasons.append(item)
        if len(reasons) >= _NEAR_MISSES_SHOWN:
            break
    return reasons[:_NEAR_MISSES_SHOWN]


def _no_match(
    ctx: DecisionInputs,
    warnings: tuple[Reason, ...],
    isa_ok: dict[str, bool],
    arch_match: dict[str | None, str | None],
    driver_ok: dict[str | None, bool],
) -> Decision:
    facts, catalog, options, gpus = ctx.facts, ctx.catalog, ctx.options, ctx.gpus
    tegra = catalog.tegra_capabilities
    reasons: list[Reason] = []
    alternatives: list[Alternative] = []
    arches = {isa.arch for isa in catalog.isas.values()}
    if facts.cpu.arch not in arches:
        if facts.cpu.unknown_reason is not None:
            reasons.append(reason("cpu-arch-unknown", why=facts.cpu.unknown_reason))
        else:
            reasons.append(reason("no-variant-for-arch", arch=facts.cpu.arch))
    for cap in sorted({g.capability for g in gpus}):
        if not any(cubin_runs_on(a.capability, cap, tegra) is None for a in catalog.gpu_archs.values()):
            code = "no-build-for-tegra" if cap in tegra else "no-build-for-capability"
            reasons.append(reason(code, cap=format_capability(cap)))
    serves_all = any(
        all(cubin_runs_on(a.capability, g.capability, tegra) is None for g in gpus)
        for a in catalog.gpu_archs.values()
    )
    if gpus and not serves_all and len({g.capability for g in gpus}) > 1:
        reasons.append(reason("no-common-variant", caps=_caps(gpus)))
        by_capability: dict[Capability, Variant | None] = {}
        for gpu in gpus:
            if gpu.capability not in by_capability:
                alone_facts = replace(facts, gpu=replace(facts.gpu, gpus=(gpu,), excluded=()))
                by_capability[gpu.capability] = _best(alone_facts, catalog, options)
            alone = by_capability[gpu.capability]
            if alone is not None:
                why = reason("alt-per-gpu", index=gpu.index, cap=format_capability(gpu.capability))
                alternatives.append(Alternative(alone, why))
    if not reasons:
        reasons.extend(_near_misses(ctx, isa_ok, arch_match, driver_ok))
    if gpus and not options.cpu_only:
        cpu_build = _best(facts, catalog, options._replace(cpu_only=True))
        if cpu_build is not None:
            alternatives.append(Alternative(cpu_build, reason("alt-cpu-only")))
    if options.branch is not None:
        anywhere = _best(facts, catalog, options._replace(branch=None))
        if anywhere is not None:
            alternatives.append(Alternative(anywhere, reason("alt-other-branch", branch=anywhere.branch)))
    return Decision(
        options=options,
        status=NO_MATCH,
        variant=None,
        gpu_match=None,
        rule=NO_RUNNABLE,
        reasons=tuple(reasons),
        warnings=warnings,
        alternatives=tuple(alternatives),
        context=ctx,
    )
