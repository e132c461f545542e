"""Judging the installed build against the machine with the engine's rules: its GPU code (the
engine's GPU compatibility rule), the driver (the catalog's minimums) and its CPU kernels (the
catalog's ISAs).
"""

from __future__ import annotations

from collections.abc import Mapping

from tvselect.base.capability import Capability, parse_version
from tvselect.catalog.model import Catalog
from tvselect.engine.rules import ISA_RULES, cubin_runs_on
from tvselect.facts.model import CpuFacts, Facts, Gpu
from tvselect.verify.messages import Reason, reason
from tvselect.verify.observations import ArchEntry, RawObservations, parse_arch, release
from tvselect.verify.verdict import ERROR, WARNING, Check

# torch.backends.cpu.get_cpu_capability() on x86_64, best first: the kernel sets ATen
# dispatches to at run time (not the ISA the build was compiled for, which torch does not
# report). Each is the catalog ISA whose label it is, written without the dash (AVX-512).
TORCH_X86_CAPABILITIES: tuple[str, ...] = ("AVX512", "AVX2")
EXPECTED_MATMUL: tuple[tuple[float, ...], ...] = ((7.0, 10.0), (15.0, 22.0))


def capability_isas(catalog: Catalog) -> tuple[tuple[str, str], ...]:
    """(torch CPU capability, catalog ISA name) for each capability the catalog has an ISA for, best first."""
    by_label = {
        isa.label.replace("-", "").upper(): name for name, isa in catalog.isas.items() if isa.arch == "x86_64"
    }
    return tuple((cap, by_label[cap]) for cap in TORCH_X86_CAPABILITIES if cap in by_label)


def min_driver(catalog: Catalog, cuda_major: int) -> str | None:
    """The catalog's lowest driver minimum for builds with this CUDA major, as written there."""
    minimums = [
        (v.min_driver, v.min_driver_text)
        for v in catalog.cuda_examples
        if v.cuda_major == cuda_major and v.min_driver is not None and v.min_driver_text is not None
    ]
    return min(minimums)[1] if minimums else None


_REASON_WORDS: Mapping[str, str] = {
    "gpu-major-differs": "a cubin never runs across major versions",
    "gpu-minor-too-new": "its minor version is newer than the GPU's",
    "gpu-tegra-exact": "Tegra GPUs run only code for their exact capability",
    "arch-specific": "architecture-specific ('a') code runs only on exactly that capability",
    "ptx-too-new": "PTX is compiled only for GPUs of its capability or newer",
    "ptx-family": "family PTX ('f') runs only within its major version",
}


def arch_runs_on(entry: ArchEntry, gpu: Capability, tegra: frozenset[Capability]) -> str | None:
    """None when code of `entry` runs on a GPU of capability `gpu`; else a reason code.

    Cubins (`sm_`) follow the engine's `cubin_runs_on`; an `a` cubin also needs the exact
    capability, and an `f` (family) cubin is what `cubin_runs_on` describes already.
    PTX (`compute_XY`) is JIT-compiled by the driver for any GPU of capability >= X.Y
    (`a`: exactly X.Y; `f`: X.Y and newer of the same major).
    """
    cap = entry.capability
    if not entry.ptx:
        code = cubin_runs_on(cap, gpu, tegra)
        if code is None and entry.suffix == "a" and cap != gpu:
            return "arch-specific"
        return code
    if entry.suffix == "a" and cap != gpu:
        return "arch-specific"
    if entry.suffix == "f" and cap.major != gpu.major:
        return "ptx-family"
    return None if gpu >= cap else "ptx-too-new"


def arch_checks(obs: RawObservations, facts: Facts, catalog: Catalog) -> list[Check]:
    """For each GPU, whether torch carries code that runs on it (the engine's GPU rule)."""
    if obs.cuda_built_with is None or not obs.cuda_available or obs.arch_list is None:
        return []
    entries = [e for e in (parse_arch(a) for a in obs.arch_list) if e is not None]
    return [
        _gpu_arch_check(obs.arch_list, entries, gpu, catalog.tegra_capabilities) for gpu in facts.gpu.gpus
    ]


def _gpu_arch_check(
    arch_list: tuple[str, ...], entries: list[ArchEntry], gpu: Gpu, tegra: frozenset[Capability]
) -> Check:
    cap, name = gpu.capability, f"gpu-arch[{gpu.index}]"
    label = f"GPU {gpu.index} {gpu.name} ({cap})"
    running = [e for e in entries if arch_runs_on(e, cap, tegra) is None]
    exact = [e for e in running if not e.ptx and e.capability == cap]
    cubins = [e for e in running if not e.ptx]
    if exact:
        return Check(name, True, ERROR, reason("gpu-arch-exact", gpu=label, arch=exact[0].text))
    if cubins:
        best = max(cubins, key=lambda e: e.capability)
        found = reason("gpu-arch-compatible", gpu=label, sm=f"sm_{cap.major}{cap.minor}", arch=best.text)
        return Check(name, False, WARNING, found)
    if running:
        best = max(running, key=lambda e: e.capability)
        found = reason("gpu-arch-ptx", gpu=label, arch=best.text, cap=str(best.capability))
        return Check(name, False, WARNING, found)
    return Check(name, False, ERROR, _no_code_runs(arch_list, entries, label, cap, tegra))


def _no_code_runs(
    arch_list: tuple[str, ...],
    entries: list[ArchEntry],
    label: str,
    cap: Capability,
    tegra: frozenset[Capability],
) -> Reason:
    """Why none of torch's code runs on a GPU, entry by entry."""
    why = "; ".join(
        f"{e.text}: {_REASON_WORDS.get(code, code)}" for e in entries if (code := arch_runs_on(e, cap, tegra))
    )
    unknown = [a for a in arch_list if parse_arch(a) is None]
    return reason(
        "gpu-arch-none",
        gpu=label,
        arch_list=", ".join(arch_list) or "empty",
        why=f" ({why})" if why else "",
        not_understood=f"; not understood: {', '.join(unknown)}" if unknown else "",
    )


def driver_check(obs: RawObservations, facts: Facts, catalog: Catalog) -> Check | None:
    """Whether the driver runs torch's CUDA: by the CUDA it supports, else by the catalog's minimum."""
    built = obs.cuda_built_with
    if built is None or not (facts.gpu.gpus or facts.gpu.excluded):
        return None
    runtime = release(built)
    if runtime is None:
        return Check("cuda-driver", False, WARNING, reason("driver-cuda-unreadable", built=repr(built)))
    rt = f"{runtime[0]}.{runtime[1]}"
    have = parse_version(facts.gpu.cuda_driver_version or "")
    if have is not None:
        return _by_cuda_version(have, facts.gpu.cuda_driver_version, runtime, catalog)
    driver = parse_version(facts.gpu.driver_version or "")
    if driver is not None:
        return _by_driver_version(driver, facts.gpu.driver_version, runtime, catalog)
    if obs.cuda_available:
        return Check("cuda-driver", True, ERROR, reason("driver-unknown-cuda-started", cuda=rt))
    return Check("cuda-driver", False, WARNING, reason("driver-unknown", cuda=rt))


def _by_cuda_version(
    have: tuple[int, ...], shown: str | None, runtime: tuple[int, int, int], catalog: Catalog
) -> Check:
    found = {"have": str(shown), "cuda": f"{runtime[0]}.{runtime[1]}"}
    if have[0] > runtime[0]:
        return Check("cuda-driver", True, ERROR, reason("driver-cuda-newer", **found))
    if have[0] < runtime[0]:
        need = min_driver(catalog, runtime[0])
        if need is None:
            return Check(
                "cuda-driver", False, ERROR, reason("driver-cuda-older-no-minimum", **found, major=runtime[0])
            )
        return Check(
            "cuda-driver", False, ERROR, reason("driver-cuda-older", **found, major=runtime[0], need=need)
        )
    if len(have) > 1 and have[1] < runtime[1]:
        return Check("cuda-driver", True, ERROR, reason("driver-cuda-minor-compatible", **found))
    return Check("cuda-driver", True, ERROR, reason("driver-cuda-same", **found))


def _by_driver_version(
    driver: tuple[int, ...], text: str | None, runtime: tuple[int, int, int], catalog: Catalog
) -> Check:
    found = {"driver": str(text), "cuda": f"{runtime[0]}.{runtime[1]}"}
    minimum = min_driver(catalog, runtime[0])
    if minimum is None:
        return Check("cuda-driver", False, WARNING, reason("driver-no-minimum", **found))
    if driver >= (parse_version(minimum) or ()):
        return Check(
            "cuda-driver",
            True,
            ERROR,
            reason("driver-meets-minimum", **found, major=runtime[0], need=minimum),
        )
    return Check("cuda-driver", False, ERROR, reason("driver-below-minimum", **found, need=minimum))


def cpu_checks(obs: RawObservations, facts: Facts, catalog: Catalog) -> list[Check]:
    """The CPU kernels torch dispatches to, against the CPU; and a matmul on the CPU."""
    return [_capability_check(obs, facts, catalog), _matmul_check(obs)]


def _runs(catalog: Catalog, isa: str, cpu: CpuFacts) -> bool:
    """The engine's ISA rules: whether this CPU runs the catalog ISA."""
    return all(rule(catalog.isas[isa], cpu) is None for rule in ISA_RULES)


def _capability_check(obs: RawObservations, facts: Facts, catalog: Catalog) -> Check:
    cap = obs.cpu_capability
    if cap is None:
        found = reason("cpu-capability-unreported", why=obs.cpu_capability_error or "None")
        return Check("cpu-capability", False, WARNING, found)
    better = None
    lacking: frozenset[str] = frozenset()
    if facts.cpu.arch == "x86_64":
        pairs = capability_isas(catalog)
        order = [name for name, _ in pairs]
        own = dict(pairs).get(cap)
        if own is not None and facts.cpu.features:
            lacking = catalog.isas[own].needs - facts.cpu.features
        best = next((name for name, isa in pairs if _runs(catalog, isa, facts.cpu)), None)
        if best is not None and order.index(best) < (order.index(cap) if cap in order else len(order)):
            better = best
    if lacking:
        found = reason(
            "cpu-capability-contradicts-facts",
            capability=cap,
            lacking=", ".join(sorted(lacking)),
            source=facts.cpu.source,
        )
        return Check("cpu-capability", False, WARNING, found)
    if better is not None:
        found = reason("cpu-capability-below-best", capability=cap, better=better)
        return Check("cpu-capability", False, WARNING, found)
    return Check(
        "cpu-capability", True, ERROR, reason("cpu-capability-ok", capability=cap, arch=facts.cpu.arch)
    )


def _matmul_check(obs: RawObservations) -> Check:
    if obs.matmul_error is not None:
        return Check("cpu-tensor-op", False, ERROR, reason("matmul-failed", error=obs.matmul_error))
    try:
        got = tuple(tuple(float(x) for x in row) for row in obs.matmul)
    except (TypeError, ValueError):
        got = None
    if got == EXPECTED_MATMUL:
        return Check("cpu-tensor-op", True, ERROR, reason("matmul-ok"))
    expected = [list(r) for r in EXPECTED_MATMUL]
    return Check(
        "cpu-tensor-op", False, ERROR, reason("matmul-wrong", got=repr(obs.matmul), expected=expected)
    )
