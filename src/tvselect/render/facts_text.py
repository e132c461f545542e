"""`tvselect probe` as text: the facts tvselect decides from (the JSON is render.facts_json)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.markup import escape

from tvselect.render.console import make_console, wrapped
from tvselect.render.machine_text import machine_lines, machine_title

if TYPE_CHECKING:
    from typing import TextIO

    from tvselect.app.browse import Probed


def render(probed: Probed, stream: TextIO) -> None:
    """`tvselect probe`: the facts, for a person."""
    facts, catalog, machine = probed.facts, probed.catalog, probed.machine
    console = make_console(file=stream)
    if machine.simulated:
        console.print(f"[bold]{escape(machine_title(machine))}[/]")
    if facts.host:
        console.print(f"host   {escape(facts.host)}")
    for line in machine_lines(facts, catalog):
        wrapped(console, line, hang=7)
    for note in facts.gpu.notes:
        wrapped(console, f"[dim]note: {escape(note)}[/]", hang=6)
