"""`tvselect verify`'s judgement: from what the payload observed (or why it could not), the
machine's facts, the catalog and the engine's decision, one Check per line.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from tvselect.base.capability import format_capability
from tvselect.catalog.model import Catalog, Variant
from tvselect.engine.decision import Decision
from tvselect.engine.rules import cpu_arch_rule
from tvselect.facts.model import Facts, Gpu
from tvselect.verify.machine import arch_checks, cpu_checks, driver_check
from tvselect.verify.observations import RawObservations, parse_arch, release
from tvselect.verify.run import PayloadFailure
from tvselect.verify.verdict import ERROR, WARNING, Check, VariantMatch, VerifyResult

# TorchVision's documented compatibility table (the "Installation" section of the
# pytorch/vision README): each TorchVision release is built against one PyTorch minor
# release, and its compiled ops (nms, roi_align, ...) load only with that one.
TORCHVISION_FOR_TORCH: Mapping[tuple[int, int], tuple[int, int]] = {
    (2, 11): (0, 26),
    (2, 10): (0, 25),
    (2, 9): (0, 24),
    (2, 8): (0, 23),
    (2, 7): (0, 22),
    (2, 6): (0, 21),
}
# For PyTorch 2.x the table follows one rule from 2.0 <-> 0.15 on: TorchVision minor =
# PyTorch minor + 15. It answers for 2.x releases the table does not list yet, and the
# check says when the answer came from the rule rather than from the table.
TORCH2_TORCHVISION_MINOR_OFFSET = 15
# Non-maximum suppression of the payload's fixed boxes at IoU 0.5 keeps these, in this order.
EXPECTED_NMS: tuple[int, ...] = (3, 0)
# conv2d results may differ from the reference by float32 rounding, scaled by the outputs' size.
CONV_TOLERANCE = 1e-3


def _fmt_versions(pairs: Sequence[tuple[tuple[int, int], tuple[int, int]]]) -> str:
    return ", ".join(f"torchvision {v[0]}.{v[1]} with torch {t[0]}.{t[1]}" for t, v in pairs)


def _catalog_pairs(catalog: Catalog) -> dict[tuple[tuple[int, int], tuple[int, int]], list[str]]:
    pairs: dict[tuple[tuple[int, int], tuple[int, int]], list[str]] = {}
    for name, branch in catalog.branches.items():
        torch, vision = release(branch.pytorch), release(branch.torchvision)
        if torch is not None and vision is not None:
            pairs.setdefault((torch[:2], vision[:2]), []).append(name)
    return pairs


def _import_checks(obs: RawObservations) -> list[Check]:
    checks = []
    torch = obs.torch
    if torch.error is None:
        checks.append(Check("torch-import", True, ERROR, f"torch {torch.version} from {torch.path}"))
    else:
        detail = f"torch does not import: {torch.error}"
        if "No module named 'torch'" in torch.error:
            detail = (
                f"no torch in this interpreter ({torch.error}); name the one that runs your models "
                "with --python PATH"
            )
        checks.append(Check("torch-import", False, ERROR, detail))
    vision = obs.torchvision
    if vision is None:
        checks.append(
            Check("torchvision-import", False, ERROR, "torchvision not tried: torch does not import")
        )
    elif vision.error is None:
        checks.append(
            Check("torchvision-import", True, ERROR, f"torchvision {vision.version} from {vision.path}")
        )
    else:
        checks.append(
            Check("torchvision-import", False, ERROR, f"torchvision does not import: {vision.error}")
        )
    return checks


def _pair_check(obs: RawObservations, catalog: Catalog) -> Check | None:
    if obs.torchvision is None or obs.torch.version is None or obs.torchvision.version is None:
        return None
    torch_text, vision_text = obs.torch.version, obs.torchvision.version
    torch, vision = release(torch_text), release(vision_text)
    named = f"torch {torch_text} and torchvision {vision_text}"
    if torch is None or vision is None:
        return Check(
            "version-pair",
            False,
            WARNING,
            f"{named}: a version is not understood, so the pair is not checked",
        )
    pairs = _catalog_pairs(catalog)
    branches = pairs.get((torch[:2], vision[:2]))
    if branches:
        return Check(
            "version-pair",
            True,
            ERROR,
            f"{named} belong together: a catalog pair (branch {', '.join(branches)})",
        )
    outside = f"not a catalog pair (the catalog builds {_fmt_versions(sorted(pairs, reverse=True))})"
    return _pair_by_torchvision_rule(named, torch, vision, outside)


def _pair_by_torchvision_rule(
    named: str, torch: tuple[int, int, int], vision: tuple[int, int, int], outside: str
) -> Check:
    """A pair the catalog does not build, judged by torchvision's own table or rule."""
    wanted = TORCHVISION_FOR_TORCH.get(torch[:2])
    source = "torchvision's compatibility table"
    if wanted is None and torch[0] == 2:
        wanted = (0, torch[1] + TORCH2_TORCHVISION_MINOR_OFFSET)
        source = f"torchvision's rule for torch 2.x, minor + {TORCH2_TORCHVISION_MINOR_OFFSET}; newer than its table"
    if wanted is None:
        return Check(
            "version-pair",
            False,
            WARNING,
            f"{named}: no known rule pairs torch {torch[0]}.{torch[1]}; {outside}",
        )
    if vision[:2] == wanted:
        return Check("version-pair", True, ERROR, f"{named} belong together ({source}); {outside}")
    return Check(
        "version-pair",
        False,
        ERROR,
        f"{named} do not belong together: torch {torch[0]}.{torch[1]} goes with torchvision "
        f"{wanted[0]}.{wanted[1]} ({source}); torchvision's compiled ops will not load or will misbehave",
    )


def _gpu_list(gpus: Sequence[Gpu]) -> str:
    return ", ".join(f"GPU {g.index} {g.name} ({format_capability(g.capability)})" for g in gpus)


def _cuda_without_gpu(built: str | None, sees: int) -> Check:
    if built is None:
        return Check("cuda", True, ERROR, "no GPU on this machine, and torch is a CPU-only build")
    if sees:
        return Check(
            "cuda",
            False,
            WARNING,
            f"torch sees {sees} GPU(s) that the facts do not list (were the facts simulated?)",
        )
    return Check(
        "cuda",
        False,
        WARNING,
        f"torch is a CUDA {built} build on a machine without a usable GPU: it runs on the CPU only, "
        "and a CPU-only build is smaller",
    )


def _why_unseen(obs: RawObservations, facts: Facts) -> list[str]:
    """Why torch may see none of the machine's GPUs."""
    why = []
    if obs.cuda_visible_devices is not None and not obs.cuda_visible_devices.strip():
        why.append("CUDA_VISIBLE_DEVICES is set to '' in the checked environment, which hides every GPU")
    elif obs.cuda_visible_devices is not None:
        why.append(f"CUDA_VISIBLE_DEVICES={obs.cuda_visible_devices} in the checked environment")
    why += [f"GPU {e.index}: {e.reason}" for e in facts.gpu.excluded]
    if not why:
        why.append("the driver may be missing from this environment, or too old for this CUDA runtime")
    return why


def _cuda_check(obs: RawObservations, facts: Facts) -> Check:
    gpus, hidden = facts.gpu.gpus, facts.gpu.excluded
    built = obs.cuda_built_with
    sees = (obs.device_count or 0) if obs.cuda_available else 0
    errors = f" ({'; '.join(obs.cuda_errors)})" if obs.cuda_errors else ""
    if not gpus and not hidden:
        return _cuda_without_gpu(built, sees)
    have = _gpu_list(gpus) if gpus else f"{len(hidden)} GPU(s), all hidden"
    if built is None:
        return Check(
            "cuda",
            False,
            ERROR,
            f"torch is a CPU-only build (torch.version.cuda is None); this machine has {have}",
        )
    if not sees:
        why = _why_unseen(obs, facts)
        return Check(
            "cuda",
            False,
            ERROR,
            f"torch.cuda.is_available() is {obs.cuda_available} and torch sees no GPU, but this machine has "
            f"{have}: {'; '.join(why)}{errors}",
        )
    seen = ", ".join(
        f"cuda:{d.index} {d.name} ({format_capability(d.capability) if d.capability else '?'})"
        for d in obs.devices
    )
    if gpus and sees != len(gpus):
        return Check(
            "cuda", False, WARNING, f"torch sees {sees} GPU(s) ({seen}), the probe found {len(gpus)}: {have}"
        )
    return Check("cuda", True, ERROR, f"CUDA {built} build; torch sees {seen}")


def _smoke_checks(obs: RawObservations, reference_max_abs: float) -> list[Check]:
    checks = []
    cpu_nms = next((s.nms for s in obs.smoke if s.device == "cpu"), None)
    tolerance = CONV_TOLERANCE * max(1.0, reference_max_abs)
    for run in obs.smoke:
        problems, good = [], []
        want = EXPECTED_NMS if run.device == "cpu" or cpu_nms is None else cpu_nms
        want_from = "the known answer" if run.device == "cpu" or cpu_nms is None else "the CPU's"
        if run.nms_error is not None:
            problems.append(f"nms failed: {run.nms_error}")
        elif run.nms is None:
            good.append("nms not run (torchvision did not import)")
        elif run.nms != want:
            problems.append(f"nms kept {list(run.nms)}, {want_from} is {list(want)}")
        else:
            good.append(f"nms matches {want_from}")
        against = "the CPU's" if run.conv_compared_with == "cpu" else "a plain-Python reference"
        if run.conv_error is not None:
            problems.append(f"conv2d failed: {run.conv_error}")
        elif run.conv_max_abs_diff is None:
            problems.append("conv2d gave a result of the wrong shape")
        elif run.conv_max_abs_diff > tolerance:
            problems.append(
                f"conv2d differs from {against} result by {run.conv_max_abs_diff:.3g} "
                f"(tolerance {tolerance:.3g})"
            )
        else:
            good.append(f"conv2d matches {against} result (max abs diff {run.conv_max_abs_diff:.3g})")
        checks.append(Check(f"smoke[{run.device}]", not problems, ERROR, "; ".join(problems or good)))
    return checks


def _same(version: str | None, wanted: tuple[int, int, int]) -> bool:
    """Whether a catalog version has the same major.minor as an observed one."""
    return (release(version) or ())[:2] == wanted[:2]


def _matching_branches(obs: RawObservations, catalog: Catalog) -> list[str]:
    """The catalog branches whose PyTorch, TorchVision, Python and CUDA the installed build has."""
    torch = release(obs.torch.version)
    vision = release(obs.torchvision.version if obs.torchvision else None)
    python, built = release(obs.python_version), release(obs.cuda_built_with)
    return [
        name
        for name, branch in catalog.branches.items()
        if torch is not None
        and _same(branch.pytorch, torch)
        and (branch.torchvision is None or (vision is not None and _same(branch.torchvision, vision)))
        and (python is None or _same(branch.python, python))
        and (built is None or _same(branch.cuda, built))
    ]


def _built_arch(obs: RawObservations, catalog: Catalog) -> tuple[str | None, str | None]:
    """The one GPU architecture a CUDA build carries, or why it cannot be told."""
    entries = [e for e in (parse_arch(a) for a in obs.arch_list or ()) if e is not None]
    cubins = [e for e in entries if not e.ptx]
    if not entries:
        return None, "torch reports no GPU architecture, so which build it is cannot be told"
    if len(cubins) == 1 and len(entries) == 1 and not cubins[0].suffix:
        gpu_arch = f"sm{cubins[0].capability[0]}{cubins[0].capability[1]}"
        return (
            gpu_arch,
            None if gpu_arch in catalog.gpu_archs else f"no catalog variant is built for {cubins[0].text}",
        )
    shown = ", ".join(e.text for e in entries)
    return (
        None,
        f"it carries code for {len(entries)} architectures ({shown}); build-torchvision variants carry one",
    )


def match_variant(obs: RawObservations, facts: Facts, catalog: Catalog) -> VariantMatch | None:
    """Which catalog variants the installed build can be; None when torch did not import."""
    if release(obs.torch.version) is None:
        return None
    branches = _matching_branches(obs, catalog)
    built = obs.cuda_built_with is not None and release(obs.cuda_built_with) is not None
    gpu_arch, why_not = _built_arch(obs, catalog) if built else (None, None)
    if not branches:
        what = f"torch {obs.torch.version}, torchvision {obs.torchvision.version if obs.torchvision else '?'}"
        what += f", CUDA {obs.cuda_built_with}" if built else ", CPU-only"
        what += f", Python {obs.python_version}"
        why_not = f"no catalog branch builds {what}" + (f"; {why_not}" if why_not else "")
    candidates: tuple[Variant, ...] = ()
    if why_not is None:
        candidates = tuple(
            v
            for v in catalog.variants
            if v.branch in branches
            and v.gpu_arch == gpu_arch
            and cpu_arch_rule(catalog.isas[v.cpu_isa], facts.cpu) is None
        )
        if not candidates:
            where = f"{gpu_arch or 'CPU only'} on {facts.cpu.arch}"
            why_not = f"no catalog variant of branch {', '.join(branches)} for {where}"
    return VariantMatch(tuple(branches), gpu_arch, candidates, why_not)


def _variant_check(match: VariantMatch | None, expected: Variant | None) -> Check | None:
    if match is None:
        return None
    choose = (
        f"tvselect would choose {expected.package} (branch {expected.branch})"
        if expected
        else "tvselect chooses no variant here"
    )
    if match.why_not is not None:
        return Check("variant", False, WARNING, f"not a build-torchvision variant: {match.why_not}; {choose}")
    first = match.candidates[0]
    installed = f"branch {first.branch}, {first.gpu_arch or 'CPU-only'}"
    isas = sorted({v.cpu_isa for v in match.candidates})
    if expected is not None and any(
        v.package == expected.package and v.branch == expected.branch for v in match.candidates
    ):
        if match.package is not None:
            return Check("variant", True, WARNING, f"installed build is {match.package}: {choose}")
        return Check(
            "variant",
            True,
            WARNING,
            f"installed build is {installed}, as tvselect would choose; "
            "the CPU ISA it was compiled for is unknown "
            f"(torch does not report it; one of {', '.join(isas)}), tvselect would choose {expected.cpu_isa}",
        )
    shown = match.package or f"{installed}, CPU ISA unknown (one of {', '.join(isas)})"
    return Check("variant", False, WARNING, f"installed build is {shown}; it runs, but {choose}")


def judge(
    observations: RawObservations | PayloadFailure, facts: Facts, catalog: Catalog, decision: Decision
) -> VerifyResult:
    """The checks, one per line, from what the payload observed (or why it could not)."""
    expected = decision.variant
    if isinstance(observations, PayloadFailure):
        failure = observations
        tail = f"; stderr ends: {failure.stderr_tail.strip()[-600:]}" if failure.stderr_tail.strip() else ""
        check = Check("python", False, ERROR, f"{failure.detail}{tail}")
        return VerifyResult(
            _python_of(failure.command), failure.command, (check,), None, failure, facts, expected, None
        )
    obs = observations
    checks = [Check("python", True, ERROR, f"Python {obs.python_version} at {obs.python_executable}")]
    if obs.payload_error is not None:
        checks.append(Check("payload", False, ERROR, f"the checks themselves failed: {obs.payload_error}"))
    checks += _import_checks(obs)
    pair = _pair_check(obs, catalog)
    if pair is not None:
        checks.append(pair)
    match = None
    if obs.torch.error is None:
        checks.append(_cuda_check(obs, facts))
        checks += arch_checks(obs, facts, catalog)
        driver = driver_check(obs, facts, catalog)
        if driver is not None:
            checks.append(driver)
        checks += cpu_checks(obs, facts, catalog)
        reference = obs.document.get("conv_reference_max_abs")
        checks += _smoke_checks(obs, float(reference) if isinstance(reference, (int, float)) else 1.0)
        match = match_variant(obs, facts, catalog)
        variant = _variant_check(match, expected)
        if variant is not None:
            checks.append(variant)
    python = obs.python_executable or _python_of(obs.command)
    return VerifyResult(python, obs.command, tuple(checks), obs, None, facts, expected, match)


def _python_of(command: Sequence[str]) -> str:
    """The interpreter in a command whose last element is the payload."""
    return command[-2] if len(command) >= 2 else command[0]
