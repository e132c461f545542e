"""`tvselect verify` as text: one line per check (the JSON is render.verify_json)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape

from tvselect.render.console import make_console, wrapped

if TYPE_CHECKING:
    from typing import TextIO

    from tvselect.verify.verdict import VerifyResult


_MARKS = {"ok": "[green]✓[/]", "error": "[bold red]✗[/]", "warning": "[yellow]![/]"}


def checklist(console: Console, result: VerifyResult) -> None:
    from tvselect.verify.verdict import WARNING

    console.print(f"[bold]Verify[/]  {escape(result.python)}")
    for check in result.checks:
        mark = _MARKS["ok" if check.ok else check.severity]
        wrapped(console, f"{mark} {escape(f'{check.name:<18}')} {escape(check.detail)}", indent=2, hang=21)
    failed = sum(1 for c in result.checks if not c.ok and c.severity != WARNING)
    warned = sum(1 for c in result.checks if not c.ok and c.severity == WARNING)
    tail = f", {warned} warning{'s' if warned != 1 else ''}" if warned else ""
    if failed:
        console.print(f"[bold red]FAILED[/]: {failed} check{'s' if failed != 1 else ''} failed{tail}")
    else:
        console.print(f"[bold green]OK[/]{tail}")


def render(result: VerifyResult, stream: TextIO) -> None:
    """`tvselect verify`, for a person: one line per check (✓ holds, ✗ fails, ! works but could be better)."""
    checklist(make_console(file=stream), result)
