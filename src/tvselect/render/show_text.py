"""`tvselect show` as text: one package's builds and whether each runs here (the JSON is render.show_json)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape

from tvselect.engine.decision import CHOSEN, RUNS
from tvselect.render.console import make_console, wrapped

if TYPE_CHECKING:
    from typing import TextIO

    from tvselect.app.browse import PackageView
    from tvselect.catalog.model import Catalog, Variant
    from tvselect.engine.explain import Verdict


def render(view: PackageView, stream: TextIO) -> None:
    """`tvselect show`, for a person."""
    console = make_console(file=stream)
    verdicts = {(v.variant.branch, v.variant.package): v for v in view.decision.verdicts}
    for variant in view.variants:
        wrapped(console, f"[bold]{variant.package}[/]  [dim](branch {variant.branch})[/]")
        for label, value in _rows(variant, view.catalog):
            wrapped(console, f"{label:<19} {escape(str(value))}", indent=2, hang=20)
        _verdict(console, verdicts[(variant.branch, variant.package)])
        console.print()


def _rows(variant: Variant, catalog: Catalog) -> list[tuple[str, object]]:
    isa = catalog.isas[variant.cpu_isa]
    rows = _product_rows(variant)
    rows += [
        ("Python", variant.python or catalog.branches[variant.branch].python),
        ("built for", " ".join(variant.platforms)),
        ("CPU ISA", f"{isa.label} ({isa.arch})"),
        ("compiled with", " ".join(isa.flags)),
        ("needs CPU features", " ".join(sorted(isa.needs))),
    ]
    if variant.gpu_arch:
        arch = catalog.gpu_archs[variant.gpu_arch]
        capability = str(arch.capability)
        rows += [
            ("CUDA", variant.cuda),
            ("GPU arch", f"{arch.name} (compute capability {capability}, {arch.family})"),
            ("GPUs", ", ".join(arch.examples)),
            ("min driver", f"{variant.min_driver_text}: {variant.min_driver_note}"),
        ]
    return rows


def _product_rows(variant: Variant) -> list[tuple[str, object]]:
    """What it builds and the PyTorch it brings: TorchVision's rows as before, others' by product."""
    from tvselect.catalog.records import PRODUCT_LABELS

    product = variant.product
    rows: list[tuple[str, object]] = [("TorchVision", variant.torchvision or "not yet known")]
    if product != "torchvision":
        rows = [(PRODUCT_LABELS.get(product, product), variant.product_version or "unknown")]
    if product != "pytorch":
        rows.append(("PyTorch", variant.pytorch or "unknown"))
    torch = variant.torch
    if torch is not None and product != "pytorch":
        rows.append(("brings PyTorch", f"{torch.pname or 'unnamed'} (from {torch.origin})"))
    if torch is not None and variant.nixpkgs is None:
        rows.append(("nixpkgs", "not pinned: the environment's own, so the versions are unknown"))
    return rows


def _verdict(console: Console, verdict: Verdict) -> None:
    if verdict.status == CHOSEN:
        console.print("  [green]here: runs, and is what tvselect would choose[/]")
    elif verdict.status == RUNS:
        wrapped(
            console,
            "[green]here: runs[/] (tvselect would choose another; see 'tvselect --explain')",
            indent=2,
        )
    else:
        console.print("  [red]here: cannot run[/]")
        for why in verdict.reasons:
            wrapped(console, f"- {escape(why.text)}", indent=4)
