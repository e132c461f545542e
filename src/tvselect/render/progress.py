"""A progress bar on stderr for long inputs, shown only once reading has taken a while.

rich is imported only when the bar is actually shown, so short runs do not pay for it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")

DELAY_S = 1.0
_EVERY = 256


def with_progress(
    items: Iterable[T],
    *,
    enabled: bool,
    label: str,
    delay_s: float = DELAY_S,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[T]:
    """Yield `items`; when `enabled` and they take longer than `delay_s`, show a count on stderr."""
    if not enabled:
        yield from items
        return
    start = clock()
    progress: Any = None
    task: Any = None
    count = 0
    try:
        for item in items:
            count += 1
            if count % _EVERY == 0:
                if progress is None and clock() - start > delay_s:
                    progress, task = _start(label)
                if progress is not None:
                    progress.update(task, completed=count)
            yield item
    finally:
        if progress is not None:
            progress.update(task, completed=count)
            progress.stop()


def _start(label: str) -> tuple[Any, Any]:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    task = progress.add_task(label, total=None)
    progress.start()
    return progress, task
