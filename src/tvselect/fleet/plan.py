"""Planning a fleet: which packages to build, for which hosts, and which hosts no build serves.

`plan` is pure: it takes the entries read from the facts documents, decides each kind of
machine once with the engine, and groups the hosts by the answer.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass

from tvselect.catalog.model import Catalog, Variant
from tvselect.engine.decision import Options, runnable_ranked, select
from tvselect.engine.reasons import Reason
from tvselect.engine.rules import driver_classes, for_driver
from tvselect.facts.model import CpuFacts, Facts, GpuFacts
from tvselect.fleet.lines import Entry, machine_kind


@dataclass(frozen=True, slots=True)
class PackageHosts:
    """One package to build and the hosts that need it."""

    variant: Variant
    """The variant (package and branch) to build."""
    hosts: tuple[str, ...]
    """The hosts it is for, in input order."""
    published: bool | None = None
    """Whether the organisation has published it; None when the published set is unknown."""
    not_at_best: int = 0
    """Of `hosts`, how many a published package serves although this one is missing."""


@dataclass(frozen=True, slots=True)
class UnservedHosts:
    """Hosts on which no variant runs, for one reason."""

    reason: str
    """Why no variant runs there, in words (the engine's reasons joined by '; ')."""
    codes: tuple[str, ...]
    """The engine's reason codes behind that text."""
    hosts: tuple[str, ...]
    """The hosts, in input order."""


@dataclass(frozen=True, slots=True)
class InvalidDocument:
    """A facts document that could not be read, and was left out of the plan."""

    source: str
    """The file it came from, or `<stdin>`."""
    line: int
    """The line it starts on (1-based)."""
    error: str
    """What is wrong with it."""


@dataclass(frozen=True, slots=True)
class Totals:
    """The counts of a plan."""

    hosts: int
    """Hosts planned for (valid documents)."""
    served: int
    """Hosts a package was chosen for."""
    unserved: int
    """Hosts no variant runs on."""
    invalid: int
    """Documents that could not be read."""
    packages: int
    """Distinct packages (package and branch) to build."""
    kinds: int
    """Distinct kinds of machine, each decided once."""
    served_published: int | None = None
    """Hosts whose best package is published; None when the published set is unknown."""
    served_not_best: int | None = None
    """Hosts whose best package is missing but that a published package serves ("not at their best")."""
    missing: int | None = None
    """Packages still to build (planned, not published); None when the published set is unknown."""


@dataclass(frozen=True, slots=True)
class Plan:
    """What a fleet needs built, and what it cannot have."""

    options: Options
    """The options every host was decided under."""
    packages: tuple[PackageHosts, ...]
    """Packages to build, most hosts first, then by package and branch name."""
    unserved: tuple[UnservedHosts, ...]
    """Hosts with no runnable variant, grouped by reason, most hosts first."""
    invalid: tuple[InvalidDocument, ...]
    """Documents left out, in input order."""
    totals: Totals
    """The counts."""


def host_name(entry: Entry) -> str:
    """The entry's host name, or `SOURCE:LINE` when its document names none."""
    if entry.facts is not None and entry.facts.host:
        return entry.facts.host
    return f"{entry.source}:{entry.line}"


DriverKey = Callable[[str | None, str | None], Hashable]
"""What of a driver (version, CUDA version) tells kinds apart; engine.rules.driver_classes makes one."""


def _exact_driver(version: str | None, cuda: str | None) -> Hashable:
    return version, cuda


def _kind_key(facts: Facts, driver_key: DriverKey) -> Hashable:
    """A cheap key equal for two facts exactly when their machine_kind is equal, drivers by `driver_key`."""
    gpu = facts.gpu
    return (
        facts.cpu,
        gpu.source,
        tuple((g.index, g.name, g.capability, g.memory_mib, g.mig) for g in gpu.gpus),
        tuple((e.index, e.name, e.reason) for e in gpu.excluded),
        driver_key(gpu.driver_version, gpu.cuda_driver_version),
        gpu.unavailable_reason,
    )


Published = Callable[[Variant], bool]
"""Whether the organisation has published a variant."""


@dataclass(frozen=True, slots=True)
class Fleet:
    """The hosts of a fleet, grouped by kind of machine."""

    kinds: tuple[Facts, ...]
    """Each kind of machine once (machine_kind of its first host), in order of first appearance."""
    hosts: tuple[str, ...]
    """Every host's name, in input order."""
    host_kinds: tuple[int, ...]
    """For each host, the index of its kind in `kinds`."""
    invalid: tuple[InvalidDocument, ...]
    """Documents left out, in input order."""
    drivers: tuple[tuple[str | None, str | None], ...] = ()
    """Each driver (version, CUDA version) of the fleet once; a kind may merge several."""
    host_drivers: tuple[int, ...] = ()
    """For each host, the index of its driver in `drivers` (empty: each host has its kind's)."""

    def driver(self, kind: int) -> tuple[str | None, str | None]:
        """The driver of a kind's first host (its machine_kind's)."""
        gpu = self.kinds[kind].gpu
        return gpu.driver_version, gpu.cuda_driver_version


def group_fleet(documents: Iterable[Entry], driver_key: DriverKey = _exact_driver) -> Fleet:
    """Read every entry once, grouping the hosts by kind of machine.

    Kinds whose drivers `driver_key` does not tell apart are one kind; each host's own driver is kept.
    """
    index: dict[Hashable, int] = {}
    # Entries read with `kinds` share one cpu and gpu object per kind of line: the kind of an
    # object seen before is known without building its key. The objects are kept alive with
    # their kind, so an id is never that of another object; emptied when it grows too big.
    seen: dict[int, tuple[CpuFacts, GpuFacts, int, int]] = {}
    drivers: dict[tuple[str | None, str | None], int] = {}
    kinds: list[Facts] = []
    hosts: list[str] = []
    host_kinds: list[int] = []
    host_drivers: list[int] = []
    invalid: list[InvalidDocument] = []
    for entry in documents:
        facts = entry.facts
        if facts is None:
            invalid.append(InvalidDocument(entry.source, entry.line, entry.error or "unreadable"))
            continue
        known = seen.get(id(facts.gpu))
        if known is not None and known[0] is facts.cpu:
            kind, driver = known[2], known[3]
        else:
            kind = index.setdefault(_kind_key(facts, driver_key), len(kinds))
            if kind == len(kinds):
                kinds.append(machine_kind(facts))
            gpu = facts.gpu
            driver = drivers.setdefault((gpu.driver_version, gpu.cuda_driver_version), len(drivers))
            if len(seen) >= _SEEN_LIMIT:
                seen.clear()
            seen[id(facts.gpu)] = (facts.cpu, facts.gpu, kind, driver)
        hosts.append(host_name(entry))
        host_kinds.append(kind)
        host_drivers.append(driver)
    return Fleet(
        tuple(kinds), tuple(hosts), tuple(host_kinds), tuple(invalid), tuple(drivers), tuple(host_drivers)
    )


_SEEN_LIMIT = 4096


def plan(
    documents: Iterable[Entry], catalog: Catalog, options: Options, published: Published | None = None
) -> Plan:
    """Decide every host of `documents` (each kind of machine once) and group them by the answer.

    With `published`, each package is marked published or missing, and the hosts whose best
    package is missing are checked for a published one that runs there.
    """
    return plan_fleet(group_fleet(documents, driver_classes(catalog)), catalog, options, published)


def plan_fleet(fleet: Fleet, catalog: Catalog, options: Options, published: Published | None = None) -> Plan:
    """Decide each kind of machine of `fleet` once and group the hosts by the answer."""
    # For each kind: the variant chosen, or the unserved group's key (reason text, then codes),
    # and whether a published variant serves it although the chosen one is missing.
    answers = [_decide(facts, catalog, options, published) for facts in fleet.kinds]
    served: dict[Variant, list[str]] = {}
    not_at_best: dict[Variant, int] = {}
    unserved: dict[tuple[str, ...], list[str]] = {}
    said: dict[tuple[int, int], tuple[str, ...]] = {}
    host_drivers = fleet.host_drivers or (-1,) * len(fleet.hosts)
    for name, kind, driver in zip(fleet.hosts, fleet.host_kinds, host_drivers, strict=True):
        answer, fallback = answers[kind]
        if isinstance(answer, Variant):
            served.setdefault(answer, []).append(name)
            if fallback:
                not_at_best[answer] = not_at_best.get(answer, 0) + 1
        else:
            key = said.get((kind, driver))
            if key is None:
                key = said[kind, driver] = _unserved_key(answer, fleet, kind, driver)
            unserved.setdefault(key, []).append(name)
    packages = _packages(served, not_at_best, published)
    groups = sorted(
        (UnservedHosts(key[0], key[1:], tuple(names)) for key, names in unserved.items()),
        key=lambda u: (-len(u.hosts), u.reason),
    )
    totals = _totals(packages, len(fleet.hosts), len(fleet.invalid), len(fleet.kinds), published is not None)
    return Plan(options, tuple(packages), tuple(groups), fleet.invalid, totals)


def _unserved_key(answer: tuple[Reason, ...], fleet: Fleet, kind: int, driver: int) -> tuple[str, ...]:
    """An unserved group's key (reason text, then codes), naming the host's own driver."""
    if driver >= 0 and fleet.drivers[driver] != fleet.driver(kind):  # a kind merges drivers of one class
        answer = for_driver(answer, fleet.driver(kind), fleet.drivers[driver])
    text = "; ".join(r.text for r in answer) or "no variant runs on this machine"
    return (text, *(r.code for r in answer))


def _decide(
    kind: Facts, catalog: Catalog, options: Options, published: Published | None
) -> tuple[Variant | tuple[Reason, ...], bool]:
    """A kind's answer, and whether a published variant serves it although the answer is missing."""
    decision = select(kind, catalog, options)
    answer = decision.variant if decision.variant is not None else decision.reasons
    if published is None or not isinstance(answer, Variant) or published(answer):
        return answer, False
    return answer, any(published(v) for v in runnable_ranked(kind, catalog, options)[1:])


def _packages(
    served: dict[Variant, list[str]], not_at_best: dict[Variant, int], published: Published | None
) -> list[PackageHosts]:
    """The packages to build, most hosts first, then by package and branch name."""
    return sorted(
        (
            PackageHosts(
                variant,
                tuple(names),
                None if published is None else published(variant),
                not_at_best.get(variant, 0),
            )
            for variant, names in served.items()
        ),
        key=lambda p: (-len(p.hosts), p.variant.package, p.variant.branch),
    )


def _totals(packages: list[PackageHosts], hosts: int, invalid: int, kinds: int, known: bool) -> Totals:
    served = sum(len(p.hosts) for p in packages)
    return Totals(
        hosts=hosts,
        served=served,
        unserved=hosts - served,
        invalid=invalid,
        packages=len(packages),
        kinds=kinds,
        served_published=sum(len(p.hosts) for p in packages if p.published) if known else None,
        served_not_best=sum(p.not_at_best for p in packages) if known else None,
        missing=sum(1 for p in packages if p.published is False) if known else None,
    )
