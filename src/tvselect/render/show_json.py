"""`tvselect show` as JSON: everything the catalog knows about one package, and its verdict here."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tvselect.engine.decision import CHOSEN, RUNS

if TYPE_CHECKING:
    from tvselect.app.browse import PackageView


def document(view: PackageView) -> dict[str, Any]:
    """One entry per branch that builds the package, with whether it would run on the decided machine."""
    variants, catalog, decision = view.variants, view.catalog, view.decision
    verdicts = {(v.variant.branch, v.variant.package): v for v in decision.verdicts}
    entries = []
    for variant in variants:
        branch = catalog.branches[variant.branch]
        isa = catalog.isas[variant.cpu_isa]
        arch = catalog.gpu_archs[variant.gpu_arch] if variant.gpu_arch else None
        verdict = verdicts[(variant.branch, variant.package)]
        entries.append(
            {
                "package": variant.package,
                "product": variant.product,
                "product_version": variant.product_version,
                "branch": variant.branch,
                "torchvision": variant.torchvision,
                "pytorch": variant.pytorch,
                "cuda": variant.cuda,
                "cudnn": branch.cudnn if arch and variant.cuda == branch.cuda else None,
                "python": variant.python or branch.python,
                "nixpkgs": variant.nixpkgs,
                "platforms": list(variant.platforms),
                "recipe": variant.recipe,
                "torch": None if variant.torch is None else variant.torch._asdict(),
                "min_driver": variant.min_driver_text,
                "min_driver_note": variant.min_driver_note,
                "cpu_isa": isa.name,
                "cpu_isa_label": isa.label,
                "cpu_arch": isa.arch,
                "compile_flags": list(isa.flags),
                "cpu_features_needed": sorted(isa.needs),
                "gpu_arch": arch.name if arch else None,
                "compute_capability": str(arch.capability) if arch else None,
                "gpu_family": arch.family if arch else None,
                "example_gpus": list(arch.examples) if arch else [],
                "runs_here": verdict.status in (CHOSEN, RUNS),
                "would_be_chosen_here": verdict.status == CHOSEN,
                "why_not_here": [r.text for r in verdict.reasons]
                if verdict.status not in (CHOSEN, RUNS)
                else [],
            }
        )
    return {"schema_version": 1, "package": variants[0].package, "variants": entries}
