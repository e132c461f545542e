"""`tvselect plan`: the packages a fleet needs, from its facts documents."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, NamedTuple, TextIO

from tvselect.app.inputs import Choice, load, options_of
from tvselect.errors import BadInputError

if TYPE_CHECKING:
    from tvselect.fleet.documents import Entry
    from tvselect.fleet.plan import InvalidDocument, Plan

Progress = Callable[[Iterable["Entry"]], Iterator["Entry"]]


class PlanRequest(NamedTuple):
    """What `tvselect plan` was asked to plan."""

    paths: tuple[str, ...]
    """Facts documents: files, directories of them, `-` for standard input."""
    choice: Choice
    """What the engine chooses among."""
    catalog_path: str | None = None
    """`--catalog`: None for the built-in catalog."""


def plan_fleet(
    request: PlanRequest, stdin: TextIO, progress: Progress, skipped: Callable[[InvalidDocument], None]
) -> Plan:
    """The fleet's plan; `progress` wraps the stream of documents, `skipped` hears of each unreadable one."""
    from tvselect.fleet.documents import expand_paths, read_entries
    from tvselect.fleet.plan import plan

    catalog = load(request.catalog_path)
    options = options_of(catalog, request.choice)
    files = expand_paths(request.paths)
    if not files:
        raise BadInputError(f"no *.json or *.jsonl file in {', '.join(request.paths)}")
    result = plan(progress(read_entries(files, stdin)), catalog, options)
    for bad in result.invalid:
        skipped(bad)
    if result.totals.hosts == 0:
        raise BadInputError("no readable facts document in the input")
    return result
