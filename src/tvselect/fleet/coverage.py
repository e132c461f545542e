"""`plan --cover` / `--max-builds`: the optimiser's instance built from the engine's own rankings,
and its answer per build, per kind of machine and per host.

Which variants run on a kind, and which is its best, come from `engine.decision.runnable`; this
module only compares ranking keys to say what a kind gives up. The solver is in fleet/cover.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from tvselect.catalog.model import Catalog, Variant
from tvselect.engine.decision import RULES, Options, Ranked, runnable
from tvselect.facts.model import Facts
from tvselect.fleet.assign import ASSIGNMENT_KIND
from tvselect.fleet.cover import DEFAULT_TIME_LIMIT, NO_LOSS, Demand, Loss, Option, Solution, solve
from tvselect.fleet.plan import Fleet

ASSIGNMENT_SCHEMA_VERSION = 1
UNSERVED = "unserved"
# Where the engine's ranking key holds the workload's ISA order and the branch preference.
_ISA = RULES.index("workload-isa")
_BRANCH = RULES.index("branch-preference")


@dataclass(frozen=True, slots=True)
class BuildHosts:
    """One build of the cover and the hosts it serves."""

    variant: Variant
    """The variant (package and branch)."""
    prebuilt: bool
    """Whether it is published already (costs no build)."""
    hosts: tuple[str, ...]
    """The hosts it serves, in input order."""
    kinds: int
    """How many kinds of machine it serves."""


@dataclass(frozen=True, slots=True)
class KindOutcome:
    """What one kind of machine gets from the cover, against its best."""

    example: str
    """The first host of the kind."""
    machine: str
    """The kind in words: CPU architecture, GPUs, driver."""
    hosts: int
    """How many hosts are of this kind."""
    best: Ranked | None
    """Its best variant (what `tvselect` alone would choose); None when no variant runs there."""
    got: Ranked | None
    """What the cover gives it; None when unserved."""
    gives_up: tuple[str, ...]
    """What differs from its best, e.g. `avx512 → avx2`; (`unserved`,) when it gets nothing."""
    loss: Loss
    """Per host: off its best SM, lower ISA, less preferred branch (0 or 1 each)."""


@dataclass(frozen=True, slots=True)
class CoverTotals:
    """The counts of a cover."""

    builds: int
    """Builds chosen that are not published yet."""
    prebuilt: int
    """Published packages the cover uses."""
    served: int
    """Hosts that get a package."""
    unserved: int
    """Hosts that get none (no variant runs there, or --max-builds left them out)."""
    off_sm: int
    """Hosts not on their best SM."""
    lower_isa: int
    """Hosts on a lower ISA than their best."""
    other_branch: int
    """Hosts on a less preferred branch than their best."""


@dataclass(frozen=True, slots=True)
class CoverPlan:
    """The optimiser's answer for a fleet."""

    max_builds: int | None
    """The --max-builds limit; None for --cover."""
    time_limit: float
    """The solver's time limit in seconds."""
    proved: bool
    """Whether the answer was proved optimal."""
    stopped: str | None
    """The criterion the time limit stopped (builds, served, off-sm, lower-isa, other-branch)."""
    seconds: float
    """How long the optimisation took."""
    builds: tuple[BuildHosts, ...]
    """The builds, most hosts first, then by package and branch."""
    kinds: tuple[KindOutcome, ...]
    """Every kind of machine, most hosts first."""
    host_variants: tuple[Variant | None, ...]
    """For each host of the fleet (input order), its package; None when unserved."""
    totals: CoverTotals
    """The counts."""


def loss_of(option: Ranked, best: Ranked) -> Loss:
    """What a host whose best is `best` gives up on `option`, from the engine's ranking keys."""
    return (
        int(option.variant.gpu_arch != best.variant.gpu_arch),
        int(option.key[_ISA] > best.key[_ISA]),
        int(option.key[_BRANCH] > best.key[_BRANCH]),
    )


def cover_fleet(
    fleet: Fleet,
    catalog: Catalog,
    options: Options,
    *,
    published: Callable[[Variant], bool] | None = None,
    max_builds: int | None = None,
    time_limit: float = DEFAULT_TIME_LIMIT,
) -> CoverPlan:
    """The fewest builds serving every host any variant serves, or the best `max_builds` builds.

    Variants `published` says are published cost no build.
    """
    ranked = [runnable(facts, catalog, options) for facts in fleet.kinds]
    candidates = {r.variant for found in ranked for r in found}
    prebuilt = frozenset(v for v in candidates if published(v)) if published is not None else frozenset()
    counts = _counts(fleet)
    demands = [
        Demand(count, tuple(Option(r.variant, loss_of(r, found[0])) for r in found))
        for count, found in zip(counts, ranked, strict=True)
    ]
    solution = solve(demands, prebuilt=prebuilt, max_builds=max_builds, time_limit=time_limit)
    got = [_got(found, option) for found, option in zip(ranked, solution.assignment, strict=True)]
    host_variants = tuple(got[k].variant if got[k] is not None else None for k in fleet.host_kinds)  # type: ignore[union-attr]
    kinds = _outcomes(fleet, counts, ranked, got)
    builds = _builds(fleet, solution, host_variants, prebuilt)
    return CoverPlan(
        max_builds=max_builds,
        time_limit=time_limit,
        proved=solution.proved,
        stopped=solution.stopped,
        seconds=solution.seconds,
        builds=builds,
        kinds=tuple(kinds),
        host_variants=host_variants,
        totals=_totals(builds, kinds),
    )


def _outcomes(
    fleet: Fleet, counts: list[int], ranked: list[tuple[Ranked, ...]], got: list[Ranked | None]
) -> list[KindOutcome]:
    """What each kind of machine gets, most hosts first."""
    first = _first_hosts(fleet)
    drivers = _other_drivers(fleet)
    outcomes = (
        _outcome(fleet.hosts[first[k]], facts, counts[k], ranked[k], got[k], drivers[k])
        for k, facts in enumerate(fleet.kinds)
    )
    return sorted(outcomes, key=lambda o: (-o.hosts, o.example))


def _counts(fleet: Fleet) -> list[int]:
    counts = [0] * len(fleet.kinds)
    for kind in fleet.host_kinds:
        counts[kind] += 1
    return counts


def _got(found: tuple[Ranked, ...], option: Option | None) -> Ranked | None:
    if option is None:
        return None
    return next(r for r in found if r.variant == option.variant)


def _other_drivers(fleet: Fleet) -> list[int]:
    """For each kind, how many other driver versions than its first host's its hosts have."""
    if not fleet.host_drivers:  # each host has its kind's driver
        return [0] * len(fleet.kinds)
    seen = set(zip(fleet.host_kinds, fleet.host_drivers, strict=True))
    others = [-1] * len(fleet.kinds)
    for kind, _driver in seen:
        others[kind] += 1
    return others


def _first_hosts(fleet: Fleet) -> list[int]:
    first = [-1] * len(fleet.kinds)
    for position, kind in enumerate(fleet.host_kinds):
        if first[kind] < 0:
            first[kind] = position
    return first


def _outcome(
    example: str, facts: Facts, hosts: int, found: tuple[Ranked, ...], got: Ranked | None, drivers: int
) -> KindOutcome:
    best = found[0] if found else None
    machine = describe(facts, best.variant.cpu_isa if best is not None else None, drivers)
    if got is None or best is None:
        return KindOutcome(example, machine, hosts, best, None, (UNSERVED,), NO_LOSS)
    return KindOutcome(example, machine, hosts, best, got, gives_up(best, got), loss_of(got, best))


def gives_up(best: Ranked, got: Ranked) -> tuple[str, ...]:
    """What differs between a kind's best and what it gets, best first: SM, then ISA, then branch."""
    b, g = best.variant, got.variant
    changes = []
    if b.gpu_arch != g.gpu_arch:
        changes.append(f"{best.gpu_match} {b.gpu_arch} → {got.gpu_match} {g.gpu_arch}")
    if b.cpu_isa != g.cpu_isa:
        changes.append(f"{b.cpu_isa} → {g.cpu_isa}")
    if b.branch != g.branch:
        changes.append(f"branch {b.branch} → {g.branch}")
    if b.cuda != g.cuda:
        changes.append(f"CUDA {b.cuda or 'none'} → {g.cuda or 'none'}")
    return tuple(changes)


def describe(facts: Facts, isa: str | None, other_drivers: int = 0) -> str:
    """A kind of machine in a few words: `x86_64 avx512, 4x GPU 8.0, driver 580.65.06`.

    `isa` is the ISA of the kind's best variant, when one runs there; `other_drivers` counts the
    other driver versions of the kind's hosts (`driver 580.65.06 or 3 others like it`).
    """
    cpu = f"{facts.cpu.arch} {isa}" if isa else facts.cpu.arch
    gpus = facts.gpu.gpus
    if not gpus:
        return f"{cpu}, no GPU"
    counts: dict[str, int] = {}
    for gpu in gpus:
        cap = str(gpu.capability)
        counts[cap] = counts.get(cap, 0) + 1
    text = ", ".join(f"{n}x GPU {cap}" for cap, n in counts.items())
    others = f" or {other_drivers} other{'s' * (other_drivers > 1)} like it" if other_drivers else ""
    return f"{cpu}, {text}, driver {facts.gpu.driver_version or 'unknown'}{others}"


def _builds(
    fleet: Fleet, solution: Solution, host_variants: tuple[Variant | None, ...], prebuilt: frozenset[Variant]
) -> tuple[BuildHosts, ...]:
    hosts: dict[Variant, list[str]] = {v: [] for v in solution.builds}
    for name, variant in zip(fleet.hosts, host_variants, strict=True):
        if variant is not None:
            hosts[variant].append(name)
    kinds = {v: 0 for v in solution.builds}
    for option in solution.assignment:
        if option is not None:
            kinds[option.variant] += 1
    return tuple(
        sorted(
            (BuildHosts(v, v in prebuilt, tuple(names), kinds[v]) for v, names in hosts.items()),
            key=lambda b: (-len(b.hosts), b.variant.package, b.variant.branch),
        )
    )


def _totals(builds: tuple[BuildHosts, ...], kinds: list[KindOutcome]) -> CoverTotals:
    served = sum(len(b.hosts) for b in builds)
    return CoverTotals(
        builds=sum(1 for b in builds if not b.prebuilt),
        prebuilt=sum(1 for b in builds if b.prebuilt),
        served=served,
        unserved=sum(k.hosts for k in kinds) - served,
        off_sm=sum(k.hosts * k.loss[0] for k in kinds),
        lower_isa=sum(k.hosts * k.loss[1] for k in kinds),
        other_branch=sum(k.hosts * k.loss[2] for k in kinds),
    )


def assignment_lines(
    fleet: Fleet, result: CoverPlan, argv_of: dict[Variant, tuple[str, ...]]
) -> Iterator[dict[str, Any]]:
    """The --assign file's objects: a header, then one per host (install arguments from `argv_of`)."""
    yield {
        "kind": ASSIGNMENT_KIND,
        "schema_version": ASSIGNMENT_SCHEMA_VERSION,
        "hosts": len(fleet.hosts),
        "packages": sorted({b.variant.package for b in result.builds}),
        "proved_optimal": result.proved,
    }
    for name, variant in zip(fleet.hosts, result.host_variants, strict=True):
        if variant is None:
            yield {"host": name, "package": None, "branch": None, "install": None}
        else:
            yield {
                "host": name,
                "package": variant.package,
                "branch": variant.branch,
                "install": list(argv_of[variant]),
            }
