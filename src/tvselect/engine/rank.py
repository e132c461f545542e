"""The ranking: which variants run (asked of the rules), and their order, best first."""

from __future__ import annotations

from typing import Final, Literal, NamedTuple

from tvselect.base.capability import parse_version
from tvselect.catalog.model import Catalog, Variant
from tvselect.engine.reasons import Reason, reason
from tvselect.engine.rules import EXACT, GpuMatch, Rules
from tvselect.facts.model import Facts, Gpu

# Names of the ranking criteria, in the order they apply; the rule that decided
# is the first one on which the winner beat the runner-up.
RankRule = Literal["exact-sm", "newest-sm", "branch-preference", "workload-isa", "newest-cuda"]
RULES: tuple[RankRule, ...] = ("exact-sm", "newest-sm", "branch-preference", "workload-isa", "newest-cuda")

Key = tuple[int, int, int, int, int]


class Options(NamedTuple):
    """What the caller asks of the choice."""

    workload: str = "general"
    """A workload of the catalog (`general` and the like): orders the CPU ISAs."""
    branch: str | None = None
    """The only branch to consider; None considers all, in the catalog's preference."""
    cpu_only: bool = False
    """Choose among CPU-only variants even when GPUs are present."""


# A verdict's status for each variant (see explain.Verdict).
VerdictStatus = Literal["chosen", "runs", "cannot-run", "not-considered"]
CHOSEN: Final = "chosen"
RUNS: Final = "runs"
CANNOT_RUN: Final = "cannot-run"
NOT_CONSIDERED: Final = "not-considered"


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


def caps_text(gpus: tuple[Gpu, ...]) -> str:
    """The GPUs' distinct compute capabilities, e.g. `8.0, 9.0`."""
    return ", ".join(sorted({str(g.capability) for g in gpus}))


def _cuda_release(cuda: str | None) -> tuple[int, ...]:
    """(major, minor) of a CUDA version: builds of 12.9 and 12.9.1 rank alike; () for none."""
    return (parse_version(cuda) or ())[:2] if cuda else ()


class Ranking:
    """Ranking keys of runnable variants: lower sorts first."""

    def __init__(self, catalog: Catalog, options: Options, cpu_arch: str) -> None:
        self.catalog = catalog
        self.options = options
        order = catalog.workloads[options.workload].get(cpu_arch, ())
        self.isa_order = {isa: position for position, isa in enumerate(order)}
        self.unlisted = len(order)
        self.branch_order = {b: position for position, b in enumerate(catalog.branch_preference)}
        archs = catalog.gpu_archs
        newest = sorted(archs, key=lambda name: archs[name].capability, reverse=True)
        # Newest architecture first; CPU-only builds (no architecture) after every GPU one.
        self.arch_order: dict[str | None, int] = {name: position for position, name in enumerate(newest)}
        self.arch_order[None] = len(newest)
        cudas = sorted({_cuda_release(v.cuda) for v in catalog.cuda_examples}, reverse=True)
        self.cuda_order = {release: position for position, release in enumerate(cudas)}

    def key(self, variant: Variant, match: GpuMatch | None) -> Key:
        """The variant's sort key: exact first, newest architecture, preferred branch, workload's ISA,
        newest CUDA."""
        return (
            0 if match in (EXACT, None) else 1,
            self.arch_order[variant.gpu_arch],
            self.branch_order[variant.branch],
            self.isa_order.get(variant.cpu_isa, self.unlisted),
            self.cuda_order.get(_cuda_release(variant.cuda), len(self.cuda_order)),
        )

    def lost_reason(
        self, loser: Variant, loser_key: tuple[int, ...], winner: Variant, winner_key: tuple[int, ...]
    ) -> tuple[RankRule, Reason]:
        """The criterion on which `winner` beat `loser`, and the reason saying so."""
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


class Pass(NamedTuple):
    """The fast pass of a decision: the rules as applied here, and the variants that run, best first."""

    rules: Rules
    """The rules for these facts, cached per ISA, GPU architecture and branch."""
    ranking: Ranking
    """The ranking keys for these facts and options."""
    runnable: list[tuple[Key, int]]
    """(ranking key, catalog position) of every variant in scope that runs, best first."""


def rank(
    facts: Facts, catalog: Catalog, options: Options, gpus: tuple[Gpu, ...], known: Rules | None = None
) -> Pass:
    """The variants in scope that the rules let run here, best first (`known`: answers to reuse)."""
    rules = Rules(catalog, facts, gpus) if known is None else known.serving(gpus)
    ranking = Ranking(catalog, options, facts.cpu.arch)
    variants, only_branch = catalog.variants, options.branch
    isa_fails = rules.isa_fails
    cuda_fails = rules.cuda_fails if gpus else None
    runnable: list[tuple[Key, int]] = []
    # The hot loop of fleet planning: only the variants of GPU archs whose code runs here,
    # asking the rules' cached answers per ISA, CUDA and platforms whether a reason exists.
    for sm in rules.running_archs() if gpus else (None,):
        match = None if sm is None else rules.match(sm)
        for position in catalog.positions_by_gpu_arch.get(sm, ()):
            variant = variants[position]
            if only_branch is not None and variant.branch != only_branch:
                continue
            if isa_fails[variant.cpu_isa] or (cuda_fails is not None and cuda_fails[variant.cuda]):
                continue
            if rules.platform(variant):
                continue
            runnable.append((ranking.key(variant, match), position))
    runnable.sort()
    return Pass(rules, ranking, runnable)


def best(facts: Facts, catalog: Catalog, options: Options, known: Rules | None = None) -> Variant | None:
    """The variant `select` would choose, without its explanation (`known`: this machine's answers)."""
    gpus = () if options.cpu_only else facts.gpu.gpus
    runnable = rank(facts, catalog, options, gpus, known).runnable
    return catalog.variants[runnable[0][1]] if runnable else None
