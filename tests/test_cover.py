"""plan --cover / --max-builds: the optimiser against brute force, and covers of real fleets."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from machines import AVX2, AVX512, cpu, machine

from tvselect.catalog.model import Catalog, Variant, load_catalog
from tvselect.engine.decision import Options, runnable, select
from tvselect.facts.model import Facts
from tvselect.fleet.cover import Demand, Option, solve
from tvselect.fleet.coverage import cover_fleet
from tvselect.fleet.plan import Fleet, machine_kind

VARIANTS = tuple(Variant(f"pkg-{i}", "main", None, "avx2") for i in range(7))


Quality = tuple[int, int, int, int]


def _score(kinds: Sequence[Demand], chosen: set[Variant]) -> tuple[int, Quality]:
    """Hosts served, and the summed loss (then hosts not on their best) when each kind gets its
    least-loss option in `chosen`."""
    served, total = 0, [0, 0, 0, 0]
    for kind in kinds:
        losses = [o.loss for o in kind.options if o.variant in chosen]
        if losses:
            served += kind.hosts
            best = min(losses)
            for i in range(3):
                total[i] += kind.hosts * best[i]
            total[3] += kind.hosts * (best != (0, 0, 0))
    return served, (total[0], total[1], total[2], total[3])


def _brute(
    kinds: Sequence[Demand], prebuilt: frozenset[Variant], max_builds: int | None
) -> tuple[int, int, Quality]:
    """(builds, served, loss) of the best set by brute force over every subset of the variants."""
    free = set(prebuilt)
    paid = [v for v in VARIANTS if v not in prebuilt]
    coverable = sum(k.hosts for k in kinds if k.options)
    best: tuple[int, int, Quality] | None = None
    for size in range(len(paid) + 1):
        if max_builds is not None and size > max_builds:
            break
        for subset in itertools.combinations(paid, size):
            served, loss = _score(kinds, set(subset) | free)
            if max_builds is None and served < coverable:
                continue
            # --cover: fewest builds then loss; --max-builds: most served, loss, fewest builds.
            key = (size, -served, loss) if max_builds is None else (-served, loss, size)
            if best is None or key < (
                (best[0], -best[1], best[2]) if max_builds is None else (-best[1], best[2], best[0])
            ):
                best = (size, served, loss)
    assert best is not None
    return best


LOSSES = st.tuples(st.integers(0, 1), st.integers(0, 1), st.integers(0, 1))


@st.composite
def fleets(draw: st.DrawFn) -> list[Demand]:
    kinds = []
    for _ in range(draw(st.integers(1, 6))):
        variants = draw(st.lists(st.sampled_from(VARIANTS), unique=True, max_size=5))
        options = tuple(Option(v, (0, 0, 0) if i == 0 else draw(LOSSES)) for i, v in enumerate(variants))
        kinds.append(Demand(draw(st.integers(1, 50)), options))
    return kinds


@settings(max_examples=150, deadline=None)
@given(
    kinds=fleets(),
    prebuilt=st.frozensets(st.sampled_from(VARIANTS), max_size=2),
    max_builds=st.none() | st.integers(0, 4),
)
def test_solver_matches_brute_force(
    kinds: list[Demand], prebuilt: frozenset[Variant], max_builds: int | None
) -> None:
    solution = solve(kinds, prebuilt=prebuilt, max_builds=max_builds)
    assert solution.proved and solution.stopped is None
    builds, served, loss = _brute(kinds, prebuilt, max_builds)
    chosen = set(solution.builds)
    got_served, got_loss = _score(kinds, chosen)
    assert sum(1 for v in chosen if v not in prebuilt) == builds
    assert got_served == served
    assert got_loss == loss
    # The assignment is each kind's least-loss option among the builds.
    for kind, option in zip(kinds, solution.assignment, strict=True):
        usable = [o for o in kind.options if o.variant in chosen]
        assert (option is None) == (not usable)
        if option is not None:
            assert option.loss == min(o.loss for o in usable)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def _fleet(*kinds: tuple[Facts, int]) -> Fleet:
    hosts, host_kinds = [], []
    for k, (_facts, count) in enumerate(kinds):
        hosts += [f"k{k}-h{i}" for i in range(count)]
        host_kinds += [k] * count
    return Fleet(tuple(machine_kind(f) for f, _ in kinds), tuple(hosts), tuple(host_kinds), ())


SKYLAKE = cpu(AVX512)
HASWELL = cpu(AVX2)


@pytest.mark.parametrize(
    ("kinds", "builds", "gives_up"),
    [
        pytest.param(
            [(machine(SKYLAKE, "8.6"), 3), (machine(SKYLAKE, "8.0"), 1)],
            ["torchvision-python313-cuda12_9-sm80-avx512"],
            {"k0-h0": ("exact sm86 → compatible sm80",), "k1-h0": ()},
            id="one-sm80-build-serves-8.6",
        ),
        pytest.param(
            [(machine(SKYLAKE, "9.0"), 5), (machine(HASWELL, "9.0"), 2)],
            ["torchvision-python313-cuda12_9-sm90-avx2"],
            {"k0-h0": ("avx512 → avx2",), "k1-h0": ()},
            id="avx2-build-serves-avx512",
        ),
        pytest.param(
            [(machine(HASWELL, "9.0"), 2), (machine(cpu(AVX2, arch="ppc64le")), 3)],
            ["torchvision-python313-cuda12_9-sm90-avx2"],
            {"k0-h0": (), "k1-h0": ("unserved",)},
            id="power-unserved",
        ),
    ],
)
def test_cover_of_a_real_catalog(
    catalog: Catalog,
    kinds: list[tuple[Facts, int]],
    builds: list[str],
    gives_up: dict[str, tuple[str, ...]],
) -> None:
    fleet = _fleet(*kinds)
    result = cover_fleet(fleet, catalog, Options())
    assert result.proved
    assert [b.variant.package for b in result.builds] == builds
    outcome = {k.example: k.gives_up for k in result.kinds}
    assert outcome == gives_up


def test_cover_never_assigns_what_the_engine_says_cannot_run(catalog: Catalog) -> None:
    kinds = [
        (machine(SKYLAKE, "8.6"), 4),
        (machine(HASWELL, "8.0", "8.6"), 2),
        (machine(SKYLAKE, "12.0", driver="550.54.14"), 3),
        (machine(HASWELL), 1),
        (machine(SKYLAKE, "9.0"), 7),
    ]
    fleet = _fleet(*kinds)
    for max_builds in (None, 1, 2):
        result = cover_fleet(fleet, catalog, Options(), max_builds=max_builds)
        for kind, (facts, _count) in enumerate(kinds):
            runs = {r.variant for r in runnable(facts, catalog, Options())}
            hosts = [v for v, k in zip(result.host_variants, fleet.host_kinds, strict=True) if k == kind]
            assert all(v is None or v in runs for v in hosts)
            if max_builds is None:
                # Every host some variant serves is served by the cover.
                assert all(v is not None for v in hosts) == bool(runs)


def test_runnable_starts_with_what_select_chooses(catalog: Catalog) -> None:
    for facts in (machine(SKYLAKE, "8.6"), machine(HASWELL, "8.0", "8.9"), machine(HASWELL)):
        ranked = runnable(facts, catalog, Options())
        assert ranked[0].variant == select(facts, catalog, Options()).variant
        assert [r.key for r in ranked] == sorted(r.key for r in ranked)


def test_published_packages_cost_no_build(catalog: Catalog) -> None:
    fleet = _fleet((machine(SKYLAKE, "8.6"), 3), (machine(SKYLAKE, "8.0"), 1))
    sm86 = "torchvision-python313-cuda12_9-sm86-avx512"
    result = cover_fleet(fleet, catalog, Options(), published=lambda v: v.package == sm86)
    assert result.totals.builds == 1 and result.totals.prebuilt == 1
    # With sm86 free, the 8.6 hosts keep their exact build.
    assert result.totals.off_sm == 0
    assert {b.variant.package: b.prebuilt for b in result.builds}[sm86] is True


def test_published_builds_are_marked_in_the_table(
    catalog: Catalog, capsys: pytest.CaptureFixture[str]
) -> None:
    import sys

    from tvselect.app.cover import CoverResult
    from tvselect.fleet.plan import plan_fleet
    from tvselect.render.emit import emit

    fleet = _fleet((machine(SKYLAKE, "8.6"), 3), (machine(SKYLAKE, "8.0"), 1))
    sm86 = "torchvision-python313-cuda12_9-sm86-avx512"
    cover = cover_fleet(fleet, catalog, Options(), published=lambda v: v.package == sm86)
    emit(CoverResult(plan_fleet(fleet, catalog, Options()), cover, None), "text", sys.stdout)
    out = capsys.readouterr().out
    assert f"│ {sm86}" in out and "(published)" in out
    assert "1 build and 1 published package serve 4 hosts; 0 unserved." in out
    assert "Optimal: proved by the HiGHS solver" in out
