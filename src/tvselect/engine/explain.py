"""Explaining a decision: a verdict per variant, and why nothing runs when nothing does.

Built on demand from the same rules (`Rules`) and ranking as the choice, never a copy of them.
"""

from __future__ import annotations

from typing import NamedTuple

from tvselect.base.capability import Capability
from tvselect.catalog.model import Variant
from tvselect.engine.rank import (
    CANNOT_RUN,
    CHOSEN,
    NOT_CONSIDERED,
    RUNS,
    Alternative,
    DecisionInputs,
    Ranking,
    VerdictStatus,
    best,
    caps_text,
)
from tvselect.engine.reasons import Reason, reason
from tvselect.engine.rules import GpuMatch, Rules, cubin_runs_on

_NEAR_MISSES_SHOWN = 3


class Verdict(NamedTuple):
    """What the engine concluded about one variant."""

    variant: Variant
    """The variant."""
    status: VerdictStatus
    """`chosen`, `runs` (but ranked lower), `cannot-run`, or `not-considered`."""
    reasons: tuple[Reason, ...]
    """Why it cannot run, why it lost, or why it was not considered; empty when chosen."""
    gpu_match: GpuMatch | None
    """`exact` or `compatible` for a CUDA variant that runs on every GPU; else None."""


def _scope(ctx: DecisionInputs, variant: Variant) -> str | None:
    """Why the variant is not considered at all (a reason code), or None when it is in scope."""
    options, gpus = ctx.options, ctx.gpus
    if variant.gpu_arch is not None:
        if options.cpu_only:
            return "cuda-build-cpu-only-asked"
        if not gpus:
            return "cuda-build-no-gpu"
    elif gpus:
        return "cpu-build-gpu-present"
    if options.branch is not None and variant.branch != options.branch:
        return "not-requested-branch"
    return None


def _staged(
    ctx: DecisionInputs, rules: Rules
) -> list[tuple[VerdictStatus, tuple[Reason, ...], GpuMatch | None]]:
    """Every variant's status before ranking: not considered, cannot run, or runs (with match)."""
    staged: list[tuple[VerdictStatus, tuple[Reason, ...], GpuMatch | None]] = []
    requested = reason("not-requested-branch", requested=ctx.options.branch)
    for variant in ctx.catalog.variants:
        scope = _scope(ctx, variant)
        if scope is not None:
            why = requested if scope == requested.code else reason(scope)
            staged.append((NOT_CONSIDERED, (why,), None))
            continue
        reasons = rules.variant(variant)
        if reasons:
            staged.append((CANNOT_RUN, reasons, None))
        else:
            match = rules.match(variant.gpu_arch) if variant.gpu_arch is not None else None
            staged.append((RUNS, (), match))
    return staged


def verdicts(ctx: DecisionInputs, winner: Variant | None) -> tuple[Verdict, ...]:
    """One verdict per catalog variant, in catalog order."""
    staged = _staged(ctx, Rules(ctx.catalog, ctx.facts, ctx.gpus))
    variants = ctx.catalog.variants
    if winner is None:
        return tuple(
            Verdict(v, status, why, None) for v, (status, why, _) in zip(variants, staged, strict=True)
        )
    ranking = Ranking(ctx.catalog, ctx.options, ctx.facts.cpu.arch)
    winner_pos = variants.index(winner)
    winner_key = ranking.key(winner, staged[winner_pos][2])
    result = []
    for position, (variant, (status, why, match)) in enumerate(zip(variants, staged, strict=True)):
        if position == winner_pos:
            result.append(Verdict(variant, CHOSEN, (), match))
        elif status == RUNS:
            lost = ranking.lost_reason(variant, ranking.key(variant, match), winner, winner_key)[1]
            result.append(Verdict(variant, RUNS, (lost,), match))
        else:
            result.append(Verdict(variant, status, why, None))
    return tuple(result)


def _near_misses(ctx: DecisionInputs, rules: Rules) -> list[Reason]:
    """Why the variants in scope that fail the fewest rules (CPU, GPU, driver) fail them."""
    in_scope = [variant for variant in ctx.catalog.variants if _scope(ctx, variant) is None]
    failing = list(zip(rules.failures(in_scope), in_scope, strict=True))
    if not failing:
        return []
    fewest = min(n for n, _ in failing)
    reasons: list[Reason] = []
    for n, variant in failing:
        if n != fewest:
            continue
        for item in rules.variant(variant):
            if item not in reasons:
                reasons.append(item)
        if len(reasons) >= _NEAR_MISSES_SHOWN:
            break
    return reasons[:_NEAR_MISSES_SHOWN]


def _unserved(ctx: DecisionInputs) -> list[Reason]:
    """What no variant can serve at all: the CPU architecture, a GPU's capability, the GPUs together."""
    facts, catalog, gpus = ctx.facts, ctx.catalog, ctx.gpus
    reasons: list[Reason] = []
    if facts.cpu.arch not in {isa.arch for isa in catalog.isas.values()}:
        if facts.cpu.unknown_reason is not None:
            reasons.append(reason("cpu-arch-unknown", why=facts.cpu.unknown_reason))
        else:
            reasons.append(reason("no-variant-for-arch", arch=facts.cpu.arch))
    tegra = catalog.tegra_capabilities
    for cap in sorted({g.capability for g in gpus}):
        # The GPU rule's own predicate: whether any architecture's code runs on this capability.
        if all(cubin_runs_on(a.capability, cap, tegra) is not None for a in catalog.gpu_archs.values()):
            code = "no-build-for-tegra" if cap in tegra else "no-build-for-capability"
            reasons.append(reason(code, cap=str(cap)))
    return reasons


def _per_gpu(ctx: DecisionInputs, rules: Rules) -> list[Alternative]:
    """Each GPU's own best variant, for GPUs that no one variant serves together."""
    facts, catalog, options = ctx.facts, ctx.catalog, ctx.options
    alternatives = []
    by_capability: dict[Capability, Variant | None] = {}
    for gpu in ctx.gpus:
        if gpu.capability not in by_capability:
            alone_facts = facts._replace(gpu=facts.gpu._replace(gpus=(gpu,), excluded=()))
            by_capability[gpu.capability] = best(alone_facts, catalog, options, rules)
        alone = by_capability[gpu.capability]
        if alone is not None:
            why = reason("alt-per-gpu", index=gpu.index, cap=str(gpu.capability))
            alternatives.append(Alternative(alone, why))
    return alternatives


def _no_candidate(ctx: DecisionInputs) -> Reason:
    """Why not one variant was a candidate: the branch asked for builds none of the kind needed here."""
    kind = "CUDA" if ctx.gpus else "CPU-only"
    where = f"branch {ctx.options.branch}" if ctx.options.branch else "the catalog"
    if ctx.gpus:
        because = "this machine has a usable GPU"
    elif ctx.options.cpu_only:
        because = "CPU-only was asked for"
    else:
        because = f"no usable GPU: {ctx.facts.gpu.unavailable_reason or 'none found'}"
    return reason("no-candidate-kind", where=where, kind=kind, because=because)


def no_match(ctx: DecisionInputs, rules: Rules) -> tuple[tuple[Reason, ...], tuple[Alternative, ...]]:
    """Why no variant runs here, and the nearest things that do (`rules`: as the choice applied them)."""
    facts, catalog, options, gpus = ctx.facts, ctx.catalog, ctx.options, ctx.gpus
    reasons = _unserved(ctx)
    alternatives: list[Alternative] = []
    serves_all = bool(rules.running_archs())
    if gpus and not serves_all and len({g.capability for g in gpus}) > 1:
        reasons.append(reason("no-common-variant", caps=caps_text(gpus)))
        alternatives.extend(_per_gpu(ctx, rules))
    if not reasons:
        reasons.extend(_near_misses(ctx, rules))
    if not reasons:
        reasons.append(_no_candidate(ctx))
    if gpus and not options.cpu_only:
        cpu_build = best(facts, catalog, options._replace(cpu_only=True), rules)
        if cpu_build is not None:
            alternatives.append(Alternative(cpu_build, reason("alt-cpu-only")))
    if options.branch is not None:
        anywhere = best(facts, catalog, options._replace(branch=None), rules)
        if anywhere is not None:
            alternatives.append(Alternative(anywhere, reason("alt-other-branch", branch=anywhere.branch)))
    return tuple(reasons), tuple(alternatives)
