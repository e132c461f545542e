from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from machines import AVX, AVX2, AVX512, NEOVERSE_V1, cpu, machine, real_cpu

from tvselect.base.capability import Capability, parse_version
from tvselect.catalog.model import Catalog, Variant, load_catalog
from tvselect.engine.decision import (
    CANNOT_RUN,
    CHOSEN,
    COMPATIBLE,
    EXACT,
    NO_MATCH,
    NOT_CONSIDERED,
    OK,
    RUNS,
    Decision,
    Options,
    cubin_runs_on,
    select,
)
from tvselect.engine.rank import Ranking
from tvselect.engine.reasons import Reason, render
from tvselect.errors import BadInputError
from tvselect.facts.model import CpuFacts, Facts, Gpu, GpuFacts

ZEN4 = AVX512 | {"avx512_bf16", "avx512_vnni"}
N1 = frozenset(["fp", "asimd", "atomics", "fphp", "asimdhp", "asimdrdm", "lrcpc", "dcpop", "asimddp"])
GRACE = N1 | {"sve", "sve2"}


def pick(facts: Facts, catalog: Catalog, **options: object) -> str | None:
    decision = select(facts, catalog, Options(**options))  # type: ignore[arg-type]
    return decision.variant.package if decision.variant else None


# The seed's decision tree, step 2: compute capability -> architecture (driver 580 lets cuda-13_0 in).
SEED_GPU_TABLE = [
    ("12.1", "torchvision-python313-cuda13_0-sm121-avx512"),  # DGX Spark
    ("12.0", "torchvision-python313-cuda12_9-sm120-avx512"),  # RTX 5090
    ("11.0", "torchvision-python313-cuda13_0-sm110-avx512"),  # DRIVE / Jetson Thor
    ("10.3", "torchvision-python313-cuda12_9-sm103-avx512"),  # B300
    ("10.0", "torchvision-python313-cuda12_9-sm100-avx512"),  # B100, B200
    ("9.0", "torchvision-python313-cuda12_9-sm90-avx512"),  # H100, H200
    ("8.9", "torchvision-python313-cuda12_9-sm89-avx512"),  # RTX 4090, L4, L40, L40S
    ("8.6", "torchvision-python313-cuda12_9-sm86-avx512"),  # RTX 3090, A40
    ("8.0", "torchvision-python313-cuda12_9-sm80-avx512"),  # A100, A30
    ("7.5", "torchvision-python313-cuda12_9-sm75-avx512"),  # T4
    ("6.1", "torchvision-python313-cuda12_9-sm61-avx2"),  # GTX 1080 Ti: SM61 has no AVX-512 build
]


@pytest.mark.parametrize("cap,package", SEED_GPU_TABLE, ids=[c for c, _ in SEED_GPU_TABLE])
def test_seed_gpu_table(catalog: Catalog, cap: str, package: str) -> None:
    assert pick(machine(cpu(AVX512), cap), catalog) == package


# The seed's decision tree, step 3: CPU features x workload -> ISA (no GPU).
SEED_CPU_TABLE = [
    ("avx512_bf16-bf16-training", cpu(ZEN4), "bf16-training", "torchvision-python313-cpu-avx512bf16"),
    (
        "avx512_vnni-int8-inference",
        cpu(AVX512 | {"avx512_vnni"}),
        "int8-inference",
        "torchvision-python313-cpu-avx512vnni",
    ),
    ("avx512f-general", cpu(ZEN4), "general", "torchvision-python313-cpu-avx512"),
    ("avx2-no-avx512", cpu(AVX2), "general", "torchvision-python313-cpu-avx2"),
    ("avx-only", cpu(AVX), "general", "torchvision-python313-cpu-avx"),
    ("sve-and-sve2", cpu(GRACE, "aarch64"), "general", "torchvision-python313-cpu-armv9"),
    ("arm-neither", cpu(N1, "aarch64"), "general", "torchvision-python313-cpu-armv8_2"),
]


@pytest.mark.parametrize(
    "facts_cpu,workload,package", [r[1:] for r in SEED_CPU_TABLE], ids=[r[0] for r in SEED_CPU_TABLE]
)
def test_seed_cpu_table(catalog: Catalog, facts_cpu: CpuFacts, workload: str, package: str) -> None:
    assert pick(machine(facts_cpu), catalog, workload=workload) == package


# The seed's scenarios and default recommendations, with its two errors corrected.
SCENARIOS = [
    (
        "rtx3090-avx512-cpu",
        machine(cpu(AVX512), "8.6"),
        "general",
        "torchvision-python313-cuda12_9-sm86-avx512",
    ),
    (
        "h100-zen4-training",
        machine(cpu(ZEN4), "9.0"),
        "general",
        "torchvision-python313-cuda12_9-sm90-avx512",
    ),
    (
        "h100-zen4-int8",
        machine(cpu(ZEN4), "9.0"),
        "int8-inference",
        "torchvision-python313-cuda12_9-sm90-avx512vnni",
    ),
    ("laptop-no-gpu-avx2", machine(cpu(AVX2)), "general", "torchvision-python313-cpu-avx2"),
    # The seed says armv9 for Graviton3 + H100; Neoverse V1 has SVE but not SVE2, so armv9 would crash.
    (
        "graviton3-h100",
        machine(cpu(NEOVERSE_V1, "aarch64"), "9.0"),
        "general",
        "torchvision-python313-cuda12_9-sm90-armv8_2",
    ),
    (
        "grace-h100",
        machine(cpu(GRACE, "aarch64"), "9.0"),
        "general",
        "torchvision-python313-cuda12_9-sm90-armv9",
    ),
    ("rtx5090-avx2", machine(cpu(AVX2), "12.0"), "general", "torchvision-python313-cuda12_9-sm120-avx2"),
    (
        "int8-server-rtx3090",
        machine(cpu(AVX512 | {"avx512_vnni"}), "8.6"),
        "int8-inference",
        "torchvision-python313-cuda12_9-sm86-avx512vnni",
    ),
]


@pytest.mark.parametrize("facts,workload,package", [s[1:] for s in SCENARIOS], ids=[s[0] for s in SCENARIOS])
def test_seed_scenarios(catalog: Catalog, facts: Facts, workload: str, package: str) -> None:
    assert pick(facts, catalog, workload=workload) == package


# Real machines from ../shared/cpuinfo: (file, GPUs, workload, expected package or None for no match).
REAL = [
    ("linux-rhel7-ivybridge.txt", (), "general", "torchvision-python313-cpu-avx"),
    ("linux-rhel7-ivybridge.txt", ("6.1",), "general", "torchvision-python313-cuda12_9-sm61-avx"),
    ("linux-rhel7-ivybridge.txt", ("8.6",), "general", None),  # no sm86 build for a CPU without AVX2
    ("linux-rhel7-haswell.txt", (), "general", "torchvision-python313-cpu-avx2"),
    ("linux-rhel7-haswell.txt", ("8.6",), "bf16-training", "torchvision-python313-cuda12_9-sm86-avx2"),
    ("linux-rhel7-skylake_avx512.txt", (), "general", "torchvision-python313-cpu-avx512"),
    ("linux-rhel7-skylake_avx512.txt", (), "bf16-training", "torchvision-python313-cpu-avx512"),
    (
        "linux-rhel7-skylake_avx512.txt",
        ("8.0", "8.0"),
        "int8-inference",
        "torchvision-python313-cuda12_9-sm80-avx512",
    ),
    ("linux-rocky8.5-zen4.txt", (), "bf16-training", "torchvision-python313-cpu-avx512bf16"),
    ("linux-rocky8.5-zen4.txt", ("9.0",), "int8-inference", "torchvision-python313-cuda12_9-sm90-avx512vnni"),
    ("linux-rocky8.5-zen4.txt", ("8.9",), "general", "torchvision-python313-cuda12_9-sm89-avx512"),
    ("linux-amazon-neoverse_n1.txt", (), "general", "torchvision-python313-cpu-armv8_2"),
    ("linux-amazon-neoverse_n1.txt", ("7.5",), "general", "torchvision-python313-cuda12_9-sm75-armv8_2"),
    ("linux-rhel9-neoverse_v2.txt", (), "general", "torchvision-python313-cpu-armv9"),
    ("linux-rhel9-neoverse_v2.txt", ("9.0",), "general", "torchvision-python313-cuda12_9-sm90-armv9"),
    ("linux-rhel9-neoverse_v2.txt", ("12.1",), "general", "torchvision-python313-cuda13_0-sm121-armv9"),
    ("linux-rhel8-power9.txt", (), "general", None),
    ("linux-rhel8-power9.txt", ("9.0",), "general", None),
]


@pytest.mark.parametrize(
    "name,caps,workload,package",
    REAL,
    ids=[
        f"{n.removeprefix('linux-').removesuffix('.txt')}-{'+'.join(c) or 'nogpu'}-{w}" for n, c, w, _ in REAL
    ],
)
def test_real_machines(
    catalog: Catalog, name: str, caps: tuple[str, ...], workload: str, package: str | None
) -> None:
    decision = select(machine(real_cpu(name), *caps), catalog, Options(workload=workload))
    assert (decision.variant.package if decision.variant else None) == package
    assert decision.status == (OK if package else NO_MATCH)
    assert decision.reasons


def test_power9_says_no_variant_for_ppc64le(catalog: Catalog) -> None:
    decision = select(machine(real_cpu("linux-rhel8-power9.txt")), catalog, Options())
    assert [r.text for r in decision.reasons] == [
        "no variant exists for ppc64le CPUs (builds exist for x86_64 and aarch64 only)"
    ]


def test_ivybridge_with_sm86_offers_cpu_build_and_names_missing_features(catalog: Catalog) -> None:
    decision = select(machine(real_cpu("linux-rhel7-ivybridge.txt"), "8.6"), catalog, Options())
    assert decision.status == NO_MATCH
    assert "this CPU lacks avx2, fma, which the avx2 build needs" in [r.text for r in decision.reasons]
    assert [(a.variant.package, a.reason.code) for a in decision.alternatives] == [
        ("torchvision-python313-cpu-avx", "alt-cpu-only")
    ]


@pytest.mark.parametrize(
    "caps,package,match",
    [
        (("8.0", "8.6"), "torchvision-python313-cuda12_9-sm80-avx512", COMPATIBLE),
        (("8.6", "8.6"), "torchvision-python313-cuda12_9-sm86-avx512", EXACT),
        (("8.9",), "torchvision-python313-cuda12_9-sm89-avx512", EXACT),
        (("8.7",), None, None),  # Jetson Orin: Tegra, exact only, no sm87 build
        (("10.1",), None, None),  # Tegra 10.1 may not take sm100 code
        (("7.0",), None, None),  # V100: no build
        (("12.1",), "torchvision-python313-cuda13_0-sm121-avx512", EXACT),
    ],
    ids=["8.0+8.6", "8.6+8.6", "8.9", "orin-8.7", "tegra-10.1", "v100-7.0", "spark-12.1"],
)
def test_gpu_matching(
    catalog: Catalog, caps: tuple[str, ...], package: str | None, match: str | None
) -> None:
    decision = select(machine(cpu(AVX512), *caps), catalog, Options())
    assert (decision.variant.package if decision.variant else None) == package
    assert decision.gpu_match == match


def test_compatible_takes_newest_sm(catalog: Catalog) -> None:
    only_80_86 = catalog.with_variants(tuple(v for v in catalog.variants if v.gpu_arch in ("sm80", "sm86")))
    decision = select(machine(cpu(AVX512), "8.9"), only_80_86, Options())
    assert decision.variant is not None and decision.variant.gpu_arch == "sm86"
    assert decision.gpu_match == COMPATIBLE
    assert decision.reasons[0].code == "chose-compatible"
    assert any(
        a.variant.gpu_arch == "sm80" and a.reason.code == "lost-newer-sm" for a in decision.alternatives
    )


def test_exact_beats_compatible_across_branches(catalog: Catalog) -> None:
    # 10.3: exact sm103 exists only on cuda-12_9; on main only sm100 (compatible) exists.
    assert pick(machine(cpu(AVX512), "10.3"), catalog) == "torchvision-python313-cuda12_9-sm103-avx512"
    decision = select(machine(cpu(AVX512), "10.3"), catalog, Options(branch="main"))
    assert (
        decision.variant is not None
        and decision.variant.package == "torchvision-python313-cuda12_8-sm100-avx512"
    )
    assert decision.gpu_match == COMPATIBLE


def test_mixed_gpus_without_common_variant_name_each_gpus_variant(catalog: Catalog) -> None:
    decision = select(machine(cpu(AVX512), "9.0", "8.0"), catalog, Options())
    assert decision.status == NO_MATCH
    assert decision.reasons[0].code == "no-common-variant"
    per_gpu = [
        (a.variant.gpu_arch, a.reason.text) for a in decision.alternatives if a.reason.code == "alt-per-gpu"
    ]
    assert per_gpu == [("sm90", "serves GPU 0 (9.0) alone"), ("sm80", "serves GPU 1 (8.0) alone")]


def test_unbuilt_capability_points_to_extending_the_matrix(catalog: Catalog) -> None:
    decision = select(machine(cpu(AVX512), "7.0"), catalog, Options())
    assert decision.reasons[0].text == (
        "no build exists for compute capability 7.0; the build-torchvision README's Extending the Matrix section says how to add one"
    )
    assert decision.alternatives[0].variant.package == "torchvision-python313-cpu-avx512"


@pytest.mark.parametrize(
    "driver,cuda,package,held_back",
    [
        ("580.65.06", None, "torchvision-python313-cuda13_0-sm121-avx512", False),
        ("570.86.10", None, "torchvision-python313-cuda12_9-sm120-avx512", True),
        (None, "12.8", "torchvision-python313-cuda12_9-sm120-avx512", True),
        ("535.104.05", None, None, False),
    ],
    ids=["580-takes-cuda13", "570-too-old-for-cuda13", "driver-cuda-12.8", "535-too-old-for-all"],
)
def test_driver_minimums(
    catalog: Catalog, driver: str | None, cuda: str | None, package: str | None, held_back: bool
) -> None:
    decision = select(machine(cpu(AVX512), "12.1", driver=driver, cuda=cuda), catalog, Options())
    assert (decision.variant.package if decision.variant else None) == package
    assert any(r.code == "exact-held-back" for r in decision.reasons) == held_back
    if package is None:
        assert any(r.code == "driver-too-old" for r in decision.reasons)


def test_unknown_driver_is_not_checked_but_warned(catalog: Catalog) -> None:
    decision = select(machine(cpu(AVX512), "12.1", driver=None), catalog, Options())
    assert decision.variant is not None and decision.variant.branch == "cuda-13_0"
    assert [w.code for w in decision.warnings] == ["driver-unchecked"]


def test_requested_branch_only_and_alternative_elsewhere(catalog: Catalog) -> None:
    decision = select(machine(cpu(AVX512), "12.1", driver="570.1"), catalog, Options(branch="cuda-13_0"))
    assert decision.status == NO_MATCH
    assert any(r.code == "driver-too-old" for r in decision.reasons)
    assert ("torchvision-python313-cuda12_9-sm120-avx512", "alt-other-branch") in [
        (a.variant.package, a.reason.code) for a in decision.alternatives
    ]


def test_cpu_only_with_gpus_and_no_gpu_reason(catalog: Catalog) -> None:
    decision = select(machine(cpu(AVX512), "9.0"), catalog, Options(cpu_only=True))
    assert decision.variant is not None and decision.variant.package == "torchvision-python313-cpu-avx512"
    assert decision.reasons[0].code == "chose-cpu-asked"
    decision = select(machine(cpu(AVX512)), catalog, Options())
    assert decision.reasons[0].text == "no usable GPU (no NVIDIA driver installed): CPU-only build"


def test_cpu_only_name_prefers_cuda_12_9_then_main(catalog: Catalog) -> None:
    decision = select(machine(cpu(AVX2)), catalog, Options())
    assert decision.variant is not None and decision.variant.branch == "cuda-12_9"
    assert decision.rule == "workload-isa"
    decision = select(machine(cpu(AVX2)), catalog, Options(branch="main"))
    assert decision.variant is not None and decision.variant.branch == "main"


@pytest.mark.parametrize(
    "features,workload,text",
    [
        (AVX512, "bf16-training", "no avx512_bf16 on this CPU: AVX-512 build instead"),
        (AVX512, "int8-inference", "no avx512_vnni on this CPU: AVX-512 build instead"),
        (AVX2, "general", "no avx512bw, avx512dq, avx512f, avx512vl on this CPU: AVX2 build instead"),
    ],
    ids=["bf16", "int8", "general-avx2"],
)
def test_workload_fallback_is_said(
    catalog: Catalog, features: frozenset[str], workload: str, text: str
) -> None:
    decision = select(machine(cpu(features)), catalog, Options(workload=workload))
    assert text in [r.text for r in decision.reasons]


def test_sm61_on_avx512_cpu_says_no_avx512_build_exists(catalog: Catalog) -> None:
    decision = select(machine(cpu(AVX512), "6.1"), catalog, Options())
    assert (
        decision.variant is not None
        and decision.variant.package == "torchvision-python313-cuda12_9-sm61-avx2"
    )
    assert "no AVX-512 build for this GPU on branch cuda-12_9: AVX2 build instead" in [
        r.text for r in decision.reasons
    ]


@pytest.mark.parametrize(
    "options,message",
    [(Options(workload="fp8"), "unknown workload 'fp8'"), (Options(branch="dev"), "unknown branch 'dev'")],
    ids=["workload", "branch"],
)
def test_bad_options(catalog: Catalog, options: Options, message: str) -> None:
    with pytest.raises(BadInputError, match=message):
        select(machine(cpu(AVX2)), catalog, options)


def test_cpu_without_features_never_gets_a_variant(catalog: Catalog) -> None:
    unknown = CpuFacts("x86_64", None, None, frozenset(), "py-cpuinfo", "the CPU could not be read")
    decision = select(Facts(unknown, machine(cpu(AVX2)).gpu), catalog, Options())
    assert decision.status == NO_MATCH
    assert decision.reasons[0].code == "cpu-unknown"


def test_explanation_covers_every_variant(catalog: Catalog) -> None:
    decision = select(machine(real_cpu("linux-rocky8.5-zen4.txt"), "8.6"), catalog, Options())
    statuses = [v.status for v in decision.verdicts]
    assert len(statuses) == len(catalog.variants) and statuses.count(CHOSEN) == 1
    by_package = {(v.variant.branch, v.variant.package): v for v in decision.verdicts}
    assert by_package[("cuda-12_9", "torchvision-python313-cuda12_9-sm90-avx512")].reasons[0].text == (
        "sm90 code does not run on GPU 0 (compute capability 8.6): a cubin never runs across major versions"
    )
    assert by_package[("cuda-12_9", "torchvision-python313-cuda12_9-sm86-armv9")].status == CANNOT_RUN
    assert by_package[("main", "torchvision-python313-cpu-avx2")].status == NOT_CONSIDERED
    assert by_package[("main", "torchvision-python313-cuda12_8-sm86-avx512")].reasons[0].code == "lost-branch"
    assert (
        by_package[("cuda-12_9", "torchvision-python313-cuda12_9-sm80-avx512")].reasons[0].code
        == "lost-exact"
    )


@pytest.mark.parametrize(
    "code,params,text",
    [
        (
            "driver-too-old",
            {"cuda": "13.0", "need": "580", "have": "570"},
            "CUDA 13.0 builds need NVIDIA driver 580 or newer; this machine has 570",
        ),
        (
            "driver-too-old",
            {},
            "CUDA {cuda} builds need NVIDIA driver {need} or newer; this machine has {have}",
        ),
        ("no-such-code", {"a": "1"}, "no-such-code: a=1"),
        ("no-such-code", {}, "no-such-code"),
    ],
    ids=["complete", "missing-params", "unknown-code", "unknown-code-no-params"],
)
def test_rendering_never_raises(code: str, params: dict[str, str], text: str) -> None:
    assert render(code, params) == text
    assert Reason(code, tuple(params.items())).text == text


# ---- properties -------------------------------------------------------------------------

PROPERTY_CATALOG = load_catalog()
ALL_FEATURES = sorted(
    {f for isa in PROPERTY_CATALOG.isas.values() for f in isa.needs} | {"sse4_2", "lm", "asimd"}
)
CAPS = sorted(PROPERTY_CATALOG.known_capabilities)


@st.composite
def facts_strategy(draw: st.DrawFn) -> Facts:
    arch = draw(st.sampled_from(["x86_64", "aarch64", "ppc64le"]))
    features = frozenset(draw(st.sets(st.sampled_from(ALL_FEATURES))))
    caps: list[Capability] = draw(st.lists(st.sampled_from(CAPS), max_size=3))
    driver = draw(st.sampled_from([None, "470.57", "550.54.14", "570.86", "580.65.06", "590"]))
    cuda = draw(st.sampled_from([None, "11.8", "12.4", "12.9", "13.0"]))
    devices = tuple(Gpu(i, "g", None, cap, None, None) for i, cap in enumerate(caps))
    gpu = GpuFacts("simulated" if devices else "none", devices, (), driver, cuda, None if devices else "none")
    return Facts(CpuFacts(arch, None, None, features, "hypothesis"), gpu)


options_strategy = st.builds(
    Options,
    workload=st.sampled_from(sorted(PROPERTY_CATALOG.workloads)),
    branch=st.sampled_from([None, *PROPERTY_CATALOG.branches]),
    cpu_only=st.booleans(),
)


def runs_here(variant: Variant, facts: Facts, options: Options, catalog: Catalog) -> bool:
    """An independent statement of the rules, straight from the catalog data."""
    isa = catalog.isas[variant.cpu_isa]
    if isa.arch != facts.cpu.arch or not isa.needs <= facts.cpu.features:
        return False
    if f"{facts.cpu.arch}-linux" not in variant.platforms:
        return False
    if options.branch is not None and variant.branch != options.branch:
        return False
    gpus = () if options.cpu_only else facts.gpu.gpus
    if (variant.gpu_arch is None) == bool(gpus):
        return False
    if variant.gpu_arch is None:
        return True
    arch = catalog.gpu_archs[variant.gpu_arch].capability
    for gpu in gpus:
        if gpu.capability in catalog.tegra_capabilities:
            if arch != gpu.capability:
                return False
        elif arch[0] != gpu.capability[0] or gpu.capability[1] < arch[1]:
            return False
    assert variant.cuda is not None and variant.min_driver is not None
    driver = parse_version(facts.gpu.driver_version or "")
    if driver is not None and driver < variant.min_driver:
        return False
    cuda = parse_version(facts.gpu.cuda_driver_version or "")
    return not (cuda is not None and cuda[0] < int(variant.cuda.split(".")[0]))


def check_sound(decision: Decision, facts: Facts, options: Options) -> None:
    catalog = PROPERTY_CATALOG
    runnable = {(v.branch, v.package) for v in catalog.variants if runs_here(v, facts, options, catalog)}
    if decision.variant is None:
        assert not runnable, "no-match while a variant runs"
        return
    assert (decision.variant.branch, decision.variant.package) in runnable


@settings(max_examples=400, deadline=None)
@given(facts=facts_strategy(), options=options_strategy)
def test_property_choice_always_runs_and_no_match_is_true(facts: Facts, options: Options) -> None:
    decision = select(facts, PROPERTY_CATALOG, options)
    check_sound(decision, facts, options)
    if decision.variant is not None:
        isa = PROPERTY_CATALOG.isas[decision.variant.cpu_isa]
        assert isa.needs <= facts.cpu.features and isa.arch == facts.cpu.arch
        if decision.variant.gpu_arch is not None:
            arch = PROPERTY_CATALOG.gpu_archs[decision.variant.gpu_arch].capability
            for gpu in facts.gpu.gpus:
                assert cubin_runs_on(arch, gpu.capability, PROPERTY_CATALOG.tegra_capabilities) is None


@settings(max_examples=150, deadline=None)
@given(facts=facts_strategy(), options=options_strategy)
def test_property_removing_a_feature_never_yields_a_variant_that_needs_it(
    facts: Facts, options: Options
) -> None:
    for feature in facts.cpu.features:
        fewer = facts._replace(cpu=facts.cpu._replace(features=facts.cpu.features - {feature}))
        decision = select(fewer, PROPERTY_CATALOG, options)
        if decision.variant is not None:
            assert feature not in PROPERTY_CATALOG.isas[decision.variant.cpu_isa].needs


@settings(max_examples=150, deadline=None)
@given(facts=facts_strategy(), options=options_strategy)
def test_property_explanation_agrees_with_choice_and_renders(facts: Facts, options: Options) -> None:
    decision = select(facts, PROPERTY_CATALOG, options)
    for verdict in decision.verdicts:
        runs = runs_here(verdict.variant, facts, options, PROPERTY_CATALOG)
        assert runs == (verdict.status in (CHOSEN, RUNS)), verdict
        assert (verdict.status == CHOSEN) == (verdict.variant == decision.variant)
        if verdict.status != CHOSEN:
            assert verdict.reasons and all("{" not in r.text for r in verdict.reasons)
    for item in (*decision.reasons, *decision.warnings, *(a.reason for a in decision.alternatives)):
        assert "{" not in item.text


@settings(max_examples=200, deadline=None)
@given(facts=facts_strategy(), options=options_strategy)
def test_property_fast_path_equals_plain_sort_over_verdicts(facts: Facts, options: Options) -> None:
    decision = select(facts, PROPERTY_CATALOG, options)
    ranking = Ranking(PROPERTY_CATALOG, options, facts.cpu.arch)
    runnable = [v for v in decision.verdicts if v.status in (CHOSEN, RUNS)]
    plain = sorted(runnable, key=lambda v: ranking.key(v.variant, v.gpu_match))
    if not plain:
        assert decision.variant is None
        return
    assert decision.variant == plain[0].variant
    assert decision.gpu_match == plain[0].gpu_match
    shown = [a.variant for a in decision.alternatives]
    assert shown == [v.variant for v in plain[1 : 1 + len(shown)]]


# ---- drift between the choice and its explanation ---------------------------------------

GPU_PRESENT = ("this GPU", "the GPU (", "GPU 0", "every GPU")
NO_GPU = GpuFacts("none", (), (), None, None, "no NVIDIA driver")
UNREAD_CPU = CpuFacts("x86_64", None, None, frozenset(), "py-cpuinfo", "the CPU could not be read")


def with_needs(catalog: Catalog, isa: str, needs: frozenset[str]) -> Catalog:
    """The catalog with one ISA needing other features (built directly: the loader may refuse it)."""
    isas = dict(catalog.isas)
    isas[isa] = isas[isa]._replace(needs=needs)
    return catalog._replace(isas=isas)


def without_cpu_builds_of(catalog: Catalog, isa: str) -> Catalog:
    return catalog.with_variants(
        tuple(v for v in catalog.variants if not (v.gpu_arch is None and v.cpu_isa == isa))
    )


DRIFT_CASES = [
    ("empty-needs-unknown-cpu", lambda c: with_needs(c, "avx2", frozenset()), UNREAD_CPU, False),
    ("empty-needs-unknown-cpu-only", lambda c: with_needs(c, "avx2", frozenset()), UNREAD_CPU, True),
    (
        "needs-a-feature-the-facts-do-not-know",
        lambda c: with_needs(c, "avx512", c.isas["avx512"].needs | {"made_up_feature"}),
        cpu(AVX512),
        False,
    ),
    ("no-cpu-build-of-the-workload-isa", lambda c: without_cpu_builds_of(c, "avx512"), cpu(AVX512), False),
]


@pytest.mark.parametrize("name,change,facts_cpu,cpu_only", DRIFT_CASES, ids=[c[0] for c in DRIFT_CASES])
def test_drift_chooses_nothing_that_needs_an_unknown_feature_nor_speaks_of_a_gpu(
    catalog: Catalog, name: str, change: object, facts_cpu: CpuFacts, cpu_only: bool
) -> None:
    drifted = change(catalog)  # type: ignore[operator]
    decision = select(Facts(facts_cpu, NO_GPU), drifted, Options(cpu_only=cpu_only))
    if decision.variant is not None:
        needs = drifted.isas[decision.variant.cpu_isa].needs
        assert needs and needs <= facts_cpu.features
    for verdict in decision.verdicts:
        if verdict.status in (CHOSEN, RUNS):
            assert drifted.isas[verdict.variant.cpu_isa].needs <= facts_cpu.features
    said = [
        r.text for r in (*decision.reasons, *decision.warnings, *(a.reason for a in decision.alternatives))
    ]
    # "no usable GPU" is true; anything that speaks of a GPU as present is not.
    assert said and not [t for t in said for gpu in GPU_PRESENT if gpu in t], said


def test_drift_unread_cpu_says_so(catalog: Catalog) -> None:
    decision = select(Facts(UNREAD_CPU, NO_GPU), with_needs(catalog, "avx2", frozenset()), Options())
    assert decision.status == NO_MATCH
    assert {r.code for r in decision.reasons} == {"cpu-unknown"}


def test_the_literal_types_list_exactly_the_values_the_code_uses() -> None:
    from typing import get_args

    from tvselect.engine import decision, rank
    from tvselect.facts import model

    assert get_args(rank.RankRule) == rank.RULES
    assert set(get_args(decision.DecidingRule)) == {
        *rank.RULES,
        decision.ONLY_CANDIDATE,
        decision.NO_RUNNABLE,
    }
    assert set(get_args(rank.VerdictStatus)) == {rank.CHOSEN, rank.RUNS, rank.CANNOT_RUN, rank.NOT_CONSIDERED}
    assert set(get_args(decision.Status)) == {decision.OK, decision.NO_MATCH}
    assert set(get_args(decision.GpuMatch)) == {decision.EXACT, decision.COMPATIBLE}
    assert get_args(model.GpuSource) == model.GPU_SOURCES
