"""The rules engine's entry point: a pure function from (facts, catalog, options) to a Decision.

It touches no file, environment variable or global. The rules are in `rules`, their order
in `rank`, and the explanation of every variant in `explain`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, Literal, NamedTuple

from tvselect.base.capability import parse_version
from tvselect.catalog.model import Catalog, Variant
from tvselect.engine.rank import (
    CANNOT_RUN,
    CHOSEN,
    NOT_CONSIDERED,
    RULES,
    RUNS,
    Alternative,
    DecisionInputs,
    Options,
    caps_text,
    rank,
)
from tvselect.engine.reasons import Reason, reason
from tvselect.engine.rules import COMPATIBLE, EXACT, Driver, GpuMatch, Rules, cubin_runs_on
from tvselect.errors import BadInputError
from tvselect.facts.model import Facts, Gpu

if TYPE_CHECKING:
    from tvselect.engine.explain import Verdict

# The engine's public names, whichever of its modules defines them (the explanation, in
# `explain`, is imported only when a decision needs it).
__all__ = [
    "CANNOT_RUN",
    "CHOSEN",
    "COMPATIBLE",
    "EXACT",
    "NOT_CONSIDERED",
    "NO_MATCH",
    "OK",
    "RULES",
    "RUNS",
    "Alternative",
    "Decision",
    "Needs",
    "Options",
    "Ranked",
    "cubin_runs_on",
    "machine_needs",
    "runnable",
    "runnable_ranked",
    "select",
]

Status = Literal["ok", "no-match"]
OK: Final = "ok"
NO_MATCH: Final = "no-match"

ONLY_CANDIDATE: Final = "only-candidate"
NO_RUNNABLE: Final = "no-runnable-variant"
DecidingRule = Literal[
    "exact-sm",
    "newest-sm",
    "branch-preference",
    "workload-isa",
    "newest-cuda",
    "only-candidate",
    "no-runnable-variant",
]
"""The rule that decided: a ranking rule (rank.RULES), the only candidate, or none that runs."""

_ALTERNATIVES_SHOWN = 5


class Decision(NamedTuple):
    """The engine's answer, with everything needed to explain it."""

    options: Options
    """The options the decision was made under."""
    status: Status
    """`ok` when a variant was chosen, `no-match` when none runs here."""
    variant: Variant | None
    """The chosen variant, None on no-match."""
    gpu_match: GpuMatch | None
    """`exact` or `compatible` for a CUDA variant; None for CPU-only or no-match."""
    rule: DecidingRule
    """The rule that decided: one of rank.RULES, `only-candidate`, or `no-runnable-variant`."""
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
        from tvselect.engine.explain import verdicts

        return verdicts(self.context, self.variant)

    @property
    def facts(self) -> Facts:
        """The facts the decision was made from."""
        return self.context.facts


def _check_options(catalog: Catalog, options: Options) -> None:
    if options.workload not in catalog.workloads:
        raise BadInputError(
            f"unknown workload '{options.workload}' (choose from {', '.join(catalog.workloads)})"
        )
    if options.branch is not None and options.branch not in catalog.branches:
        raise BadInputError(f"unknown branch '{options.branch}' (choose from {', '.join(catalog.branches)})")


class Ranked(NamedTuple):
    """A variant that runs on a machine, with the key it is ranked by there."""

    variant: Variant
    """The variant."""
    gpu_match: GpuMatch | None
    """`exact` or `compatible` for a CUDA variant; None for a CPU-only one."""
    key: tuple[int, ...]
    """Its ranking key, one number per rule of RULES in order (exact SM, newest SM, branch preference,
    workload ISA, …); lower ranks first."""


def runnable(facts: Facts, catalog: Catalog, options: Options) -> tuple[Ranked, ...]:
    """Every variant that runs on the machine, best first: the first is the one `select` chooses."""
    _check_options(catalog, options)
    gpus = () if options.cpu_only else facts.gpu.gpus
    found = rank(facts, catalog, options, gpus)
    variants, rules = catalog.variants, found.rules
    return tuple(
        Ranked(
            variants[position], None if (sm := variants[position].gpu_arch) is None else rules.match(sm), key
        )
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
    rules, ranking, runnable = rank(facts, catalog, options, gpus)
    warnings = _warnings(catalog, facts, gpus, rules)
    unidentified = _unidentified(facts, options)
    if unidentified is not None:
        # Only CPU builds ran with no GPU to serve: the best of them is the way forward, not the answer.
        cpu = tuple(Alternative(catalog.variants[p], reason("alt-cpu-only")) for _, p in runnable[:1])
        return Decision(options, NO_MATCH, None, None, NO_RUNNABLE, (unidentified,), warnings, cpu, ctx)
    if not runnable:
        from tvselect.engine.explain import no_match

        reasons, alternatives = no_match(ctx, rules)
        return Decision(options, NO_MATCH, None, None, NO_RUNNABLE, reasons, warnings, alternatives, ctx)
    winner_key, winner_pos = runnable[0]
    winner = catalog.variants[winner_pos]
    match = rules.match(winner.gpu_arch) if winner.gpu_arch is not None else None
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
        reasons=_why_chosen(ctx, rules, winner, match) + _exact_held_back(ctx, rules, match),
        warnings=warnings + _needs_warning(facts, winner) + _tegra_cuda_unchecked(facts, rules, winner),
        alternatives=tuple(Alternative(variant, why) for variant, (_, why) in lost),
        context=ctx,
    )


def _exact_held_back(ctx: DecisionInputs, rules: Rules, match: GpuMatch | None) -> tuple[Reason, ...]:
    """When only a compatible build was chosen, say which exact build the driver ruled out."""
    if match != COMPATIBLE:
        return ()
    catalog, options = ctx.catalog, ctx.options
    held: list[Reason] = []
    for variant in catalog.variants:
        sm = variant.gpu_arch
        if sm is None or not rules.arch_runs(sm) or rules.match(sm) != EXACT:
            continue
        if not rules.cuda_fails[variant.cuda]:
            continue
        if options.branch is not None and variant.branch != options.branch:
            continue
        why = reason(
            "exact-held-back",
            sm=sm,
            branch=variant.branch,
            need=variant.min_driver_text,
            have=ctx.facts.gpu.driver_version or "unknown",
        )
        if why not in held:
            held.append(why)
    return tuple(held)


def _unidentified(facts: Facts, options: Options) -> Reason | None:
    """Why no build is chosen for an NVIDIA GPU on the PCI bus whose compute capability is unknown."""
    gpu = facts.gpu
    if options.cpu_only or gpu.source != "pci" or gpu.gpus:
        return None
    return reason(
        "gpu-unidentified", why=gpu.unavailable_reason or "an NVIDIA GPU of unknown compute capability"
    )


class Needs(NamedTuple):
    """What a machine whose GPU facts came from the PCI bus must do before a GPU build can use its GPUs."""

    action: str
    """What the probe found to do, e.g. `load the NVIDIA driver`."""
    min_driver: str | None
    """The build's NVIDIA driver minimum (data/cuda.json), e.g. `580`."""

    @property
    def text(self) -> str:
        """`load the NVIDIA driver, 580 or newer`; other actions name the driver minimum apart."""
        if self.min_driver is None:
            return self.action
        if self.action.endswith("NVIDIA driver"):
            return f"{self.action}, {self.min_driver} or newer"
        return f"{self.action} (the build needs NVIDIA driver {self.min_driver} or newer)"


def machine_needs(facts: Facts, variant: Variant | None) -> Needs | None:
    """What the machine must do before `variant` can use its GPUs; None when nothing (its GPU facts
    came from NVIDIA's tools, or the variant is CPU-only)."""
    needs = facts.gpu.needs
    if needs is None or facts.gpu.source != "pci" or variant is None or variant.gpu_arch is None:
        return None
    return Needs(needs, variant.min_driver_text)


def _needs_warning(facts: Facts, winner: Variant) -> tuple[Reason, ...]:
    found = machine_needs(facts, winner)
    if found is None:
        return ()
    why = facts.gpu.tools_reason or "NVIDIA's tools did not answer"
    return (reason("machine-needs", needs=found.text, why=why),)


def _tegra_cuda_unchecked(facts: Facts, rules: Rules, winner: Variant) -> tuple[Reason, ...]:
    """A Tegra board's driver is checked through its CUDA version; say so where that is unknown."""
    if facts.gpu.source != "tegra" or winner.gpu_arch is None or rules.driver.cuda is not None:
        return ()
    return (reason("tegra-cuda-unchecked", cuda=winner.cuda),)


def _warnings(catalog: Catalog, facts: Facts, gpus: tuple[Gpu, ...], rules: Rules) -> tuple[Reason, ...]:
    warnings = []
    # From the PCI bus, the driver the machine still needs is named with the chosen build's minimum;
    # on a Tegra board the driver is checked through its CUDA version (_tegra_cuda_unchecked).
    if gpus and rules.driver.version is None and facts.gpu.source not in ("pci", "tegra"):
        minimums = sorted({v.min_driver_text or "" for v in catalog.cuda_examples})
        warnings.append(reason("driver-unchecked", need=" or ".join(minimums)))
    for gone in facts.gpu.excluded:
        warnings.append(
            reason("gpu-excluded", index=gone.index, name=gone.name or "unknown", why=gone.reason)
        )
    return tuple(warnings)


def _why_gpu(ctx: DecisionInputs, winner: Variant, match: GpuMatch | None) -> Reason:
    """Why a build of this kind: the GPU match, or why CPU-only."""
    if winner.gpu_arch is not None:
        if match == EXACT:
            code = "chose-exact"
        else:
            code = "chose-compatible" if len(ctx.gpus) == 1 else "chose-compatible-all"
        return reason(code, caps=caps_text(ctx.gpus), sm=winner.gpu_arch)
    if ctx.options.cpu_only:
        return reason("chose-cpu-asked")
    return reason("chose-cpu-no-gpu", why=ctx.facts.gpu.unavailable_reason or "none found")


def _why_isa(ctx: DecisionInputs, rules: Rules, winner: Variant) -> Reason:
    """Why this CPU ISA: the workload's best, or why the workload's best is not it."""
    catalog, options = ctx.catalog, ctx.options
    label = catalog.isas[winner.cpu_isa].label
    order = catalog.workloads[options.workload].get(ctx.facts.cpu.arch, ())
    own = order[0] if order else None
    if own is None or own == winner.cpu_isa:
        return reason("chose-isa", label=label, workload=options.workload)
    own_reasons = rules.isa(own)
    if own_reasons and own_reasons[0].code == "isa-missing-features":
        missing = sorted(catalog.isas[own].needs - ctx.facts.cpu.features)
        return reason("workload-isa-missing", missing=", ".join(missing), label=label)
    if winner.gpu_arch is None:
        return reason(
            "workload-isa-unbuilt-cpu", better=catalog.isas[own].label, branch=winner.branch, label=label
        )
    return reason("workload-isa-unbuilt", better=catalog.isas[own].label, branch=winner.branch, label=label)


def _why_chosen(
    ctx: DecisionInputs, rules: Rules, winner: Variant, match: GpuMatch | None
) -> tuple[Reason, ...]:
    catalog, options = ctx.catalog, ctx.options
    reasons = [_why_gpu(ctx, winner, match)]
    if options.branch is not None:
        reasons.append(reason("chose-branch-asked", branch=winner.branch))
    elif (
        len(catalog.branches_of_package.get(winner.package, ())) > 1
        or winner.branch != catalog.branch_preference[0]
    ):
        reasons.append(
            reason("chose-branch-preferred", branch=winner.branch, order=", ".join(catalog.branch_preference))
        )
    reasons.append(_why_isa(ctx, rules, winner))
    newer = _cuda_beyond_driver(winner, rules.driver)
    if newer is not None:
        reasons.append(newer)
    return tuple(reasons)


def _cuda_beyond_driver(winner: Variant, driver: Driver) -> Reason | None:
    """Why a build of a newer CUDA minor than the driver names still runs (CUDA's minor-version
    compatibility, data/cuda.json): said, so that nobody reads it as a mistake."""
    built = parse_version(winner.cuda or "")
    if built is None or driver.cuda is None or winner.cuda_major != driver.cuda[0]:
        return None
    if tuple(built[:2]) <= tuple(driver.cuda[:2]):
        return None
    return reason(
        "chose-cuda-minor",
        cuda=winner.cuda,
        have=driver.cuda_text,
        major=winner.cuda_major,
        need=winner.min_driver_text,
    )
