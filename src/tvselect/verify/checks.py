"""`tvselect verify`'s judgement: from what the payload observed (or why it could not), the
machine's facts, the catalog and the engine's decision, one Check per line.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from tvselect.catalog.model import Catalog, Variant
from tvselect.engine.decision import Decision
from tvselect.engine.rules import cpu_arch_rule
from tvselect.facts.model import Facts, Gpu
from tvselect.verify.machine import arch_checks, cpu_checks, driver_check
from tvselect.verify.messages import Reason, reason
from tvselect.verify.observations import RawObservations, SmokeObservation, parse_arch, release
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
    torch, vision = obs.torch, obs.torchvision
    if torch.error is None:
        torch_found = reason("torch-imports", version=torch.version, path=torch.path)
    else:
        code = "torch-missing" if "No module named 'torch'" in torch.error else "torch-import-failed"
        torch_found = reason(code, error=torch.error)
    if vision is None:
        vision_found = reason("torchvision-not-tried")
    elif vision.error is None:
        vision_found = reason("torchvision-imports", version=vision.version, path=vision.path)
    else:
        vision_found = reason("torchvision-import-failed", error=vision.error)
    return [
        Check("torch-import", torch.error is None, ERROR, torch_found),
        Check("torchvision-import", vision is not None and vision.error is None, ERROR, vision_found),
    ]


def _pair_check(obs: RawObservations, catalog: Catalog) -> Check | None:
    if obs.torchvision is None or obs.torch.version is None or obs.torchvision.version is None:
        return None
    named = {"torch": obs.torch.version, "torchvision": obs.torchvision.version}
    torch, vision = release(obs.torch.version), release(obs.torchvision.version)
    if torch is None or vision is None:
        return Check("version-pair", False, WARNING, reason("pair-unreadable", **named))
    pairs = _catalog_pairs(catalog)
    branches = pairs.get((torch[:2], vision[:2]))
    if branches:
        return Check(
            "version-pair", True, ERROR, reason("pair-in-catalog", **named, branches=", ".join(branches))
        )
    named["catalog_pairs"] = _fmt_versions(sorted(pairs, reverse=True))
    return _pair_by_torchvision_rule(named, torch, vision)


def _pair_by_torchvision_rule(
    named: dict[str, str], torch: tuple[int, int, int], vision: tuple[int, int, int]
) -> Check:
    """A pair the catalog does not build, judged by torchvision's own table or rule."""
    wanted = TORCHVISION_FOR_TORCH.get(torch[:2])
    source = "table"
    if wanted is None and torch[0] == 2:
        wanted, source = (0, torch[1] + TORCH2_TORCHVISION_MINOR_OFFSET), "rule"
    found = {**named, "release": f"{torch[0]}.{torch[1]}", "offset": str(TORCH2_TORCHVISION_MINOR_OFFSET)}
    if wanted is None:
        return Check("version-pair", False, WARNING, reason("pair-no-rule", **found))
    if vision[:2] == wanted:
        return Check("version-pair", True, ERROR, reason(f"pair-by-{source}", **found))
    wanted_text = f"{wanted[0]}.{wanted[1]}"
    return Check("version-pair", False, ERROR, reason(f"pair-mismatch-{source}", **found, wanted=wanted_text))


def _gpu_list(gpus: Sequence[Gpu]) -> str:
    return ", ".join(f"GPU {g.index} {g.name} ({g.capability})" for g in gpus)


def _cuda_without_gpu(built: str | None, sees: int) -> Check:
    if built is None:
        return Check("cuda", True, ERROR, reason("cuda-cpu-build-no-gpu"))
    if sees:
        return Check("cuda", False, WARNING, reason("cuda-gpus-not-in-facts", sees=sees))
    return Check("cuda", False, WARNING, reason("cuda-build-without-gpu", built=built))


def _why_unseen(obs: RawObservations, facts: Facts) -> list[Reason]:
    """Why torch may see none of the machine's GPUs."""
    why = []
    if obs.cuda_visible_devices is not None and not obs.cuda_visible_devices.strip():
        why.append(reason("unseen-all-hidden"))
    elif obs.cuda_visible_devices is not None:
        why.append(reason("unseen-visible-devices", value=obs.cuda_visible_devices))
    why += [reason("unseen-excluded", index=e.index, why=e.reason) for e in facts.gpu.excluded]
    return why or [reason("unseen-driver")]


def _cuda_check(obs: RawObservations, facts: Facts) -> Check:
    gpus, hidden = facts.gpu.gpus, facts.gpu.excluded
    built = obs.cuda_built_with
    sees = (obs.device_count or 0) if obs.cuda_available else 0
    if not gpus and not hidden:
        return _cuda_without_gpu(built, sees)
    have = _gpu_list(gpus) if gpus else f"{len(hidden)} GPU(s), all hidden"
    if built is None:
        return Check("cuda", False, ERROR, reason("cuda-cpu-build-with-gpu", have=have))
    if not sees:
        why = "; ".join(r.text for r in _why_unseen(obs, facts))
        errors = f" ({'; '.join(obs.cuda_errors)})" if obs.cuda_errors else ""
        found = reason("cuda-sees-no-gpu", available=obs.cuda_available, have=have, why=why, errors=errors)
        return Check("cuda", False, ERROR, found)
    seen = ", ".join(f"cuda:{d.index} {d.name} ({d.capability or '?'})" for d in obs.devices)
    if gpus and sees != len(gpus):
        found = reason("cuda-count-differs", sees=sees, seen=seen, found=len(gpus), have=have)
        return Check("cuda", False, WARNING, found)
    return Check("cuda", True, ERROR, reason("cuda-ok", built=built, seen=seen))


def _nms_finding(run: SmokeObservation, cpu_nms: tuple[int, ...] | None) -> tuple[bool, Reason]:
    """Whether nms on one device kept what it should (the known answer, else the CPU's), and why."""
    known = run.device == "cpu" or cpu_nms is None
    want = EXPECTED_NMS if known or cpu_nms is None else cpu_nms
    reference = "the known answer" if known else "the CPU's"
    if run.nms_error is not None:
        return False, reason("nms-failed", error=run.nms_error)
    if run.nms is None:
        return True, reason("nms-not-run")
    if run.nms != want:
        return False, reason("nms-differs", kept=list(run.nms), reference=reference, wanted=list(want))
    return True, reason("nms-matches", reference=reference)


def _conv_finding(run: SmokeObservation, tolerance: float) -> tuple[bool, Reason]:
    """Whether conv2d on one device agrees with its reference within the tolerance, and why."""
    against = "the CPU's" if run.conv_compared_with == "cpu" else "a plain-Python reference"
    if run.conv_error is not None:
        return False, reason("conv-failed", error=run.conv_error)
    if run.conv_max_abs_diff is None:
        return False, reason("conv-wrong-shape")
    diff = f"{run.conv_max_abs_diff:.3g}"
    if run.conv_max_abs_diff > tolerance:
        return False, reason("conv-differs", reference=against, diff=diff, tolerance=f"{tolerance:.3g}")
    return True, reason("conv-matches", reference=against, diff=diff)


_SMOKE_CODES: Mapping[tuple[bool, bool], str] = {
    (True, True): "smoke-ok",
    (False, True): "smoke-nms-wrong",
    (True, False): "smoke-conv-wrong",
    (False, False): "smoke-both-wrong",
}


def _smoke_checks(obs: RawObservations, reference_max_abs: float) -> list[Check]:
    checks = []
    cpu_nms = next((s.nms for s in obs.smoke if s.device == "cpu"), None)
    tolerance = CONV_TOLERANCE * max(1.0, reference_max_abs)
    for run in obs.smoke:
        nms_ok, nms = _nms_finding(run, cpu_nms)
        conv_ok, conv = _conv_finding(run, tolerance)
        found = reason(_SMOKE_CODES[nms_ok, conv_ok], nms=nms.text, conv=conv.text)
        checks.append(Check(f"smoke[{run.device}]", nms_ok and conv_ok, ERROR, found))
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


def _built_arch(obs: RawObservations, catalog: Catalog) -> tuple[str | None, Reason | None]:
    """The one GPU architecture a CUDA build carries, or why it cannot be told."""
    entries = [e for e in (parse_arch(a) for a in obs.arch_list or ()) if e is not None]
    cubins = [e for e in entries if not e.ptx]
    if not entries:
        return None, reason("match-no-arch")
    if len(cubins) == 1 and len(entries) == 1 and not cubins[0].suffix:
        gpu_arch = cubins[0].capability.sm
        built = gpu_arch in catalog.gpu_archs
        return gpu_arch, None if built else reason("match-arch-not-built", arch=cubins[0].text)
    shown = ", ".join(e.text for e in entries)
    return None, reason("match-many-archs", count=len(entries), archs=shown)


def _no_branch(obs: RawObservations, built: bool, why_not: Reason | None) -> Reason:
    """No catalog branch has the installed versions: which ones, and what else is wrong."""
    tv = obs.torchvision.version if obs.torchvision else None
    what = f"torch {obs.torch.version}, " + (f"torchvision {tv}" if tv else "torchvision not importable")
    what += f", CUDA {obs.cuda_built_with}" if built else ", CPU-only"
    what += f", Python {obs.python_version}"
    if why_not is None:
        return reason("match-no-branch", what=what)
    return reason("match-no-branch-arch", what=what, why=why_not.text)


def match_variant(obs: RawObservations, facts: Facts, catalog: Catalog) -> VariantMatch | None:
    """Which catalog variants the installed build can be; None when torch did not import."""
    if release(obs.torch.version) is None:
        return None
    branches = _matching_branches(obs, catalog)
    built = obs.cuda_built_with is not None and release(obs.cuda_built_with) is not None
    gpu_arch, why_not = _built_arch(obs, catalog) if built else (None, None)
    if not branches:
        why_not = _no_branch(obs, built, why_not)
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
            why_not = reason("match-no-variant", branches=", ".join(branches), where=where)
    return VariantMatch(tuple(branches), gpu_arch, candidates, why_not)


def _variant_check(match: VariantMatch | None, expected: Variant | None) -> Check | None:
    if match is None:
        return None
    if expected is None:
        choose = reason("would-choose-nothing").text
    else:
        choose = reason("would-choose", package=expected.package, branch=expected.branch).text
    if match.why_not is not None:
        return Check(
            "variant", False, WARNING, reason("variant-not-in-catalog", why=match.why_not.text, choose=choose)
        )
    first = match.candidates[0]
    installed = f"branch {first.branch}, {first.gpu_arch or 'CPU-only'}"
    isas = ", ".join(sorted({v.cpu_isa for v in match.candidates}))
    if expected is not None and any(
        v.package == expected.package and v.branch == expected.branch for v in match.candidates
    ):
        if match.package is not None:
            return Check(
                "variant", True, WARNING, reason("variant-expected", package=match.package, choose=choose)
            )
        found = reason("variant-expected-isa-unknown", installed=installed, isas=isas, isa=expected.cpu_isa)
        return Check("variant", True, WARNING, found)
    shown = match.package or f"{installed}, CPU ISA unknown (one of {isas})"
    return Check("variant", False, WARNING, reason("variant-other", installed=shown, choose=choose))


def _failure_check(failure: PayloadFailure) -> Check:
    """The one check when the interpreter gave no observations: why, and what it wrote last."""
    stderr = failure.stderr_tail.strip()
    tail = f"; stderr ends: {stderr[-600:]}" if stderr else ""
    return Check(
        "python", False, ERROR, reason(f"python-{failure.kind}", failure=failure.detail, stderr=tail)
    )


def _torch_checks(obs: RawObservations, facts: Facts, catalog: Catalog) -> list[Check]:
    """The checks that need torch imported: CUDA, GPU code, driver, CPU kernels, smoke tests."""
    checks = [_cuda_check(obs, facts), *arch_checks(obs, facts, catalog)]
    driver = driver_check(obs, facts, catalog)
    if driver is not None:
        checks.append(driver)
    checks += cpu_checks(obs, facts, catalog)
    reference = obs.document.get("conv_reference_max_abs")
    checks += _smoke_checks(obs, float(reference) if isinstance(reference, (int, float)) else 1.0)
    return checks


def judge(
    observations: RawObservations | PayloadFailure, facts: Facts, catalog: Catalog, decision: Decision
) -> VerifyResult:
    """The checks, one per line, from what the payload observed (or why it could not)."""
    expected = decision.variant
    if isinstance(observations, PayloadFailure):
        failed = (_failure_check(observations),)
        python = _python_of(observations.command)
        return VerifyResult(python, observations.command, failed, None, observations, facts, expected, None)
    obs = observations
    found = reason("python-ok", version=obs.python_version, executable=obs.python_executable)
    checks = [Check("python", True, ERROR, found)]
    if obs.payload_error is not None:
        checks.append(Check("payload", False, ERROR, reason("payload-failed", error=obs.payload_error)))
    checks += _import_checks(obs)
    pair = _pair_check(obs, catalog)
    if pair is not None:
        checks.append(pair)
    match = None
    if obs.torch.error is None:
        checks += _torch_checks(obs, facts, catalog)
        match = match_variant(obs, facts, catalog)
        variant = _variant_check(match, expected)
        if variant is not None:
            checks.append(variant)
    from tvselect.verify.family import family_checks

    checks += family_checks(obs)
    python = obs.python_executable or _python_of(obs.command)
    return VerifyResult(python, obs.command, tuple(checks), obs, None, facts, expected, match)


def _python_of(command: Sequence[str]) -> str:
    """The interpreter in a command whose last element is the payload."""
    return command[-2] if len(command) >= 2 else command[0]
