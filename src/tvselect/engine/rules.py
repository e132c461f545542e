"""The rules: one function per rule, each returning its coded Reason, or None when it passes.

A rule reads one thing a variant is built for (its CPU ISA, its GPU architecture, its CUDA,
its platforms) against the machine's facts. Adding a rule is adding one function to the table
of the thing it reads (ISA_RULES, CUDA_RULES); the choice and its explanation both ask
`Rules`, which caches each answer per ISA, GPU architecture and CUDA version, so the fast
path only asks whether a reason exists and never restates a rule.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Final, Literal, NamedTuple, TypeVar

from tvselect.base.capability import Capability, parse_version
from tvselect.catalog.model import Catalog, GpuArch, Isa, Variant
from tvselect.engine.reasons import Reason, reason
from tvselect.facts.model import CpuFacts, Facts, Gpu

T = TypeVar("T")
U = TypeVar("U")

GpuMatch = Literal["exact", "compatible"]
"""How a CUDA variant's code runs on the GPUs: built for their exact capability, or compatible with it."""
EXACT: Final = "exact"
COMPATIBLE: Final = "compatible"


def cubin_runs_on(arch: Capability, gpu: Capability, tegra: frozenset[Capability]) -> str | None:
    """None when a cubin for `arch` runs on a GPU of capability `gpu`; else a reason code.

    CUDA's binary compatibility: sm_XY runs on X.z with z >= Y, never across majors,
    and Tegra GPUs run only cubins of their exact capability. No variant carries PTX.
    """
    if gpu in tegra:
        return None if arch == gpu else "gpu-tegra-exact"
    if arch.major != gpu.major:
        return "gpu-major-differs"
    if gpu.minor < arch.minor:
        return "gpu-minor-too-new"
    return None


def cpu_arch_rule(isa: Isa, cpu: CpuFacts) -> Reason | None:
    """The CPU architecture rule: an ISA's code runs only on its own architecture."""
    if cpu.arch != isa.arch:
        # Built directly rather than through reason(): the choice asks this of every ISA.
        return Reason("isa-wrong-arch", (("isa", isa.name), ("isa_arch", isa.arch), ("cpu_arch", cpu.arch)))
    return None


def cpu_features_rule(isa: Isa, cpu: CpuFacts) -> Reason | None:
    """The CPU features rule: every feature the ISA's flags need, on a CPU whose features are known."""
    if cpu.unknown_reason is not None and not cpu.features:
        return reason("cpu-unknown", why=cpu.unknown_reason, isa=isa.name)
    if isa.needs <= cpu.features:
        return None
    missing = ", ".join(sorted(isa.needs - cpu.features))
    return Reason("isa-missing-features", (("missing", missing), ("isa", isa.name)))


def gpu_rule(arch: GpuArch, gpu: Gpu, tegra: frozenset[Capability]) -> Reason | None:
    """The GPU binary compatibility rule (Tegra: exact only) for one GPU."""
    code = cubin_runs_on(arch.capability, gpu.capability, tegra)
    if code is None:
        return None
    return Reason(
        code,
        (
            ("sm", arch.name),
            ("index", str(gpu.index)),
            ("cap", f"compute capability {gpu.capability}"),
            ("need", str(arch.capability)),
        ),
    )


class Driver(NamedTuple):
    """The driver facts the driver rules read, parsed once per decision."""

    version: tuple[int, ...] | None
    """The NVIDIA driver version, None when unknown or not a version."""
    version_text: str | None
    """The driver version as the facts give it."""
    cuda: tuple[int, ...] | None
    """The newest CUDA the driver supports, None when unknown or not a version."""
    cuda_text: str | None
    """That CUDA version as the facts give it."""


def driver_of(facts: Facts) -> Driver:
    """The driver facts, parsed with the one version parser."""
    gpu = facts.gpu
    return Driver(
        parse_version(gpu.driver_version or ""),
        gpu.driver_version,
        parse_version(gpu.cuda_driver_version or ""),
        gpu.cuda_driver_version,
    )


def driver_rule(variant: Variant, driver: Driver) -> Reason | None:
    """The driver rule: a known driver older than the minimum for the variant's CUDA."""
    if variant.min_driver is None or driver.version is None or driver.version >= variant.min_driver:
        return None
    return reason("driver-too-old", cuda=variant.cuda, need=variant.min_driver_text, have=driver.version_text)


def cuda_driver_rule(variant: Variant, driver: Driver) -> Reason | None:
    """The CUDA rule: a driver whose CUDA major version is older than the variant's."""
    major = variant.cuda_major
    if major is None or driver.cuda is None or driver.cuda[0] >= major:
        return None
    return reason("driver-cuda-too-old", cuda=variant.cuda, have=driver.cuda_text)


def platform_rule(variant: Variant, cpu: CpuFacts, isa: Isa) -> Reason | None:
    """The platform rule: a variant built only for other systems (e.g. aarch64-darwin) never runs here.

    Silent where the ISA rule already says the build is for another CPU architecture.
    """
    if f"{cpu.arch}-linux" in variant.platforms or isa.arch != cpu.arch:
        return None
    return reason("platform-other", platforms=", ".join(variant.platforms), system=f"{cpu.arch}-linux")


DriverClass = tuple[int | None, int | None]
"""How many of a catalog's driver minimums and CUDA majors a driver meets (None: not a version)."""


def driver_classes(catalog: Catalog) -> Callable[[str | None, str | None], DriverClass]:
    """A key equal for two drivers (version, CUDA version) that every driver rule answers alike.

    The rules compare a driver only with the minimums of the catalog's CUDA versions
    (data/cuda.json) and its CUDA with their majors: versions that cross none of these are
    one class, and a fleet's machines that differ only there get the same decision.
    """
    minimums = sorted({v.min_driver for v in catalog.cuda_examples if v.min_driver is not None})
    majors = sorted({m for v in catalog.cuda_examples if (m := v.cuda_major) is not None})

    def key(version_text: str | None, cuda_text: str | None) -> DriverClass:
        version, cuda = parse_version(version_text or ""), parse_version(cuda_text or "")
        return (
            None if version is None else sum(version >= m for m in minimums),
            None if cuda is None else sum(cuda[0] >= m for m in majors),
        )

    return key


# The reasons that name the driver's version ("have"), and which of (version, CUDA) they name.
_DRIVER_NAMED = {"driver-too-old": 0, "exact-held-back": 0, "driver-cuda-too-old": 1}


def for_driver(
    reasons: tuple[Reason, ...], decided: tuple[str | None, str | None], other: tuple[str | None, str | None]
) -> tuple[Reason, ...]:
    """`reasons` given for a driver (version, CUDA), as said for another driver of the same class."""
    return tuple(
        r._replace(params=tuple((k, _named(other, r.code) if k == "have" else v) for k, v in r.params))
        if r.code in _DRIVER_NAMED and dict(r.params).get("have") == _named(decided, r.code)
        else r
        for r in reasons
    )


def _named(driver: tuple[str | None, str | None], code: str) -> str:
    return driver[_DRIVER_NAMED[code]] or "unknown"


# The first failing ISA rule is the reason: features mean nothing on another architecture.
ISA_RULES: tuple[Callable[[Isa, CpuFacts], Reason | None], ...] = (cpu_arch_rule, cpu_features_rule)
# Every failing driver rule is a reason; they read only the variant's CUDA, so they are asked
# once per CUDA version the catalog builds with (`Catalog.cuda_examples`).
CUDA_RULES: tuple[Callable[[Variant, Driver], Reason | None], ...] = (driver_rule, cuda_driver_rule)


def _first(rules: Sequence[Callable[[T, U], Reason | None]], subject: T, fact: U) -> tuple[Reason, ...]:
    """The first reason the rules give, or nothing."""
    for rule in rules:
        why = rule(subject, fact)
        if why is not None:
            return (why,)
    return ()


def _every(rules: Sequence[Callable[[T, U], Reason | None]], subject: T, fact: U) -> tuple[Reason, ...]:
    """Every reason the rules give."""
    return tuple(why for rule in rules if (why := rule(subject, fact)) is not None)


class Rules:
    """The rules applied to one machine, cached per ISA, GPU architecture and CUDA version.

    The `*_fails` maps ask only whether a reason exists: the ranking's fast path reads them.
    """

    def __init__(
        self, catalog: Catalog, facts: Facts, gpus: tuple[Gpu, ...], cpu_and_driver: Rules | None = None
    ) -> None:
        self.catalog, self.facts, self.gpus = catalog, facts, gpus
        # GPUs of one capability get the same answer: the fast path asks one of each.
        self._distinct = tuple({g.capability: g for g in gpus}.values())
        self._arch: dict[str, tuple[Reason, ...]] = {}
        self._running: tuple[str, ...] | None = None
        self._match: dict[str, GpuMatch] = {}
        self.isa_reasons: dict[str, tuple[Reason, ...]]
        """For each ISA, why this CPU cannot run it: the first failing ISA rule, or nothing."""
        self.isa_fails: dict[str, bool]
        """For each ISA, whether some ISA rule gives a reason."""
        self._driver: tuple[Driver, dict[str | None, tuple[Reason, ...]], dict[str | None, bool]] | None
        self._platform: dict[tuple[tuple[str, ...], str], tuple[Reason, ...]] = {}
        if cpu_and_driver is not None:
            self.isa_reasons, self.isa_fails = cpu_and_driver.isa_reasons, cpu_and_driver.isa_fails
            self._driver = cpu_and_driver._driver
        else:
            cpu, self.isa_reasons, self.isa_fails = facts.cpu, {}, {}
            for name, isa in catalog.isas.items():
                why = _first(ISA_RULES, isa, cpu)
                self.isa_reasons[name], self.isa_fails[name] = why, bool(why)
            self._driver = None

    def serving(self, gpus: tuple[Gpu, ...]) -> Rules:
        """These rules for the same machine serving other GPUs: the CPU and driver answers are kept."""
        return self if gpus == self.gpus else Rules(self.catalog, self.facts, gpus, self)

    @property
    def driver(self) -> Driver:
        """The driver facts the driver rules read, parsed once, on first use."""
        return self._driver_answers()[0]

    def isa(self, name: str) -> tuple[Reason, ...]:
        """Why this CPU cannot run the ISA: the first failing ISA rule, or nothing."""
        return self.isa_reasons[name]

    def arch(self, name: str) -> tuple[Reason, ...]:
        """Why the GPU architecture's code does not run: one reason per GPU it fails on."""
        found = self._arch.get(name)
        if found is None:
            arch, tegra = self.catalog.gpu_archs[name], self.catalog.tegra_capabilities
            found = tuple(why for g in self.gpus if (why := gpu_rule(arch, g, tegra)) is not None)
            self._arch[name] = found
        return found

    def running_archs(self) -> tuple[str, ...]:
        """The GPU architectures whose code runs on every GPU (asking only whether a reason exists).

        Asks the GPU rule's own predicate, `cubin_runs_on`, without building reasons: this is
        the hot loop of fleet planning.
        """
        if self._running is None:
            tegra, caps = self.catalog.tegra_capabilities, [g.capability for g in self._distinct]
            running = []
            for name, arch in self.catalog.gpu_archs.items():
                for cap in caps:
                    if cubin_runs_on(arch.capability, cap, tegra) is not None:
                        break
                else:
                    running.append(name)
            self._running = tuple(running)
        return self._running

    def arch_runs(self, name: str) -> bool:
        """Whether the GPU architecture's code runs on every GPU."""
        return name in self.running_archs()

    def match(self, name: str) -> GpuMatch:
        """`exact` when the architecture is every GPU's own capability, else `compatible`."""
        found = self._match.get(name)
        if found is None:
            capability = self.catalog.gpu_archs[name].capability
            found = EXACT if all(g.capability == capability for g in self._distinct) else COMPATIBLE
            self._match[name] = found
        return found

    @property
    def cuda_reasons(self) -> dict[str | None, tuple[Reason, ...]]:
        """For each CUDA version the catalog builds with, why the driver rules it out (None: no CUDA)."""
        return self._driver_answers()[1]

    @property
    def cuda_fails(self) -> dict[str | None, bool]:
        """For each CUDA version (None: no CUDA), whether some driver rule gives a reason."""
        return self._driver_answers()[2]

    def _driver_answers(self) -> tuple[Driver, dict[str | None, tuple[Reason, ...]], dict[str | None, bool]]:
        if self._driver is None:
            driver = driver_of(self.facts)
            reasons: dict[str | None, tuple[Reason, ...]] = {None: ()}
            for example in self.catalog.cuda_examples:
                reasons[example.cuda] = _every(CUDA_RULES, example, driver)
            self._driver = (driver, reasons, {cuda: bool(why) for cuda, why in reasons.items()})
        return self._driver

    def platform(self, variant: Variant) -> tuple[Reason, ...]:
        """Why the variant's platforms rule it out here, cached per (platforms, ISA)."""
        key = (variant.platforms, variant.cpu_isa)
        found = self._platform.get(key)
        if found is None:
            why = platform_rule(variant, self.facts.cpu, self.catalog.isas[variant.cpu_isa])
            found = self._platform[key] = () if why is None else (why,)
        return found

    def variant(self, variant: Variant) -> tuple[Reason, ...]:
        """Every reason the variant cannot run here (GPU and driver rules only where GPUs are served)."""
        reasons = self.platform(variant) + self.isa(variant.cpu_isa)
        if variant.gpu_arch is not None and self.gpus:
            reasons = reasons + self.arch(variant.gpu_arch) + self.cuda_reasons[variant.cuda]
        return reasons

    def failures(self, variants: Sequence[Variant]) -> list[int]:
        """For each variant, how many rule families (platform, CPU, GPU, driver) it fails, asking only
        whether each does."""
        isa_fails = self.isa_fails
        counts = [bool(self.platform(v)) + isa_fails[v.cpu_isa] for v in variants]
        if not self.gpus:
            return counts
        running, cuda_fails = frozenset(self.running_archs()), self.cuda_fails
        return [
            n + (0 if v.gpu_arch is None else (v.gpu_arch not in running) + cuda_fails[v.cuda])
            for n, v in zip(counts, variants, strict=True)
        ]
