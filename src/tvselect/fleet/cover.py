"""The fewest builds that serve every kind of machine, or the best N builds: an exact optimisation.

Pure: kinds of machine (how many hosts, which variants run there and what each costs that kind)
in; the chosen builds, each kind's variant and whether optimality was proved out. The model is
solved with HiGHS, imported only here and only when a cover is asked for (pyproject.toml says why).

The criteria, compared in this order (a lexicographic objective, solved one criterion at a time
with each earlier optimum kept as a constraint):
  --cover:        fewest builds; then fewest hosts off their best SM; then fewest hosts on a lower
                  ISA than their best; then fewest hosts on a less preferred branch than their best;
                  then most hosts on their own best build.
  --max-builds N: at most N builds; most hosts served; then the same four; then fewest builds.
Sets equal on every criterion: the one HiGHS finds first (the same input gives the same answer).
Published variants (`prebuilt`) cost no build.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence
from typing import Any, NamedTuple

from tvselect.catalog.model import Variant

Loss = tuple[int, int, int]
"""What one host gives up on a variant: off its best SM, lower ISA, less preferred branch (0 or 1 each)."""

NO_LOSS: Loss = (0, 0, 0)
DEFAULT_TIME_LIMIT = 30.0
"""Seconds the solver may take in all, by default (`--time-limit`)."""


class Option(NamedTuple):
    """A variant that runs on a kind of machine, and what each of its hosts gives up on it."""

    variant: Variant
    """The variant."""
    loss: Loss
    """What each host of the kind gives up on it against its best; (0, 0, 0) for the best."""


class Demand(NamedTuple):
    """One kind of machine as the optimiser sees it."""

    hosts: int
    """How many hosts are of this kind."""
    options: tuple[Option, ...]
    """The variants that run there, best first (the engine's ranking); empty when none runs."""


class Solution(NamedTuple):
    """The optimiser's answer."""

    builds: tuple[Variant, ...]
    """The variants to build or use (published ones included), each serving at least one kind."""
    assignment: tuple[Option | None, ...]
    """For each kind (in input order), the variant it gets and its loss; None: unserved."""
    proved: bool
    """True when every criterion was solved to proven optimality."""
    stopped: str | None
    """The first criterion the time limit stopped before optimality was proved; None when none."""
    seconds: float
    """Wall time the optimisation took."""


class _Model(NamedTuple):
    """The reduced instance: distinct candidates and merged kinds."""

    candidates: tuple[Variant, ...]
    """Variants left after dominated ones are dropped, sorted by package and branch."""
    free: tuple[bool, ...]
    """For each candidate, whether it is published already (costs no build)."""
    kinds: tuple[tuple[int, tuple[tuple[int, Loss], ...]], ...]
    """Merged kinds: host count, and (candidate index, loss) of what runs there."""


def solve(
    kinds: Sequence[Demand],
    *,
    prebuilt: frozenset[Variant] = frozenset(),
    max_builds: int | None = None,
    time_limit: float = DEFAULT_TIME_LIMIT,
) -> Solution:
    """The optimal builds for `kinds` (see the module's docstring for the order of the criteria)."""
    start = time.perf_counter()
    model = _reduce(kinds, prebuilt)
    chosen, proved, stopped = _optimise(model, max_builds, time_limit)
    chosen_set = {model.candidates[j] for j in chosen}
    assignment = tuple(_assign(kind.options, chosen_set) for kind in kinds)
    used = {option.variant for option in assignment if option is not None}
    builds = tuple(v for v in model.candidates if v in used)
    return Solution(builds, assignment, proved, stopped, time.perf_counter() - start)


def _assign(options: tuple[Option, ...], chosen: set[Variant]) -> Option | None:
    """The option a kind gets from the chosen set: least loss, then the engine's ranking."""
    best: Option | None = None
    for option in options:
        if option.variant in chosen and (best is None or option.loss < best.loss):
            best = option
    return best


def _reduce(kinds: Sequence[Demand], prebuilt: frozenset[Variant]) -> _Model:
    """Merge kinds that see the same options, and drop variants another one dominates."""
    merged: dict[tuple[Option, ...], int] = {}
    for kind in kinds:
        if kind.options and kind.hosts > 0:
            merged[kind.options] = merged.get(kind.options, 0) + kind.hosts
    variants = sorted({o.variant for options in merged for o in options}, key=lambda v: (v.package, v.branch))
    index = {v: j for j, v in enumerate(variants)}
    served: list[dict[int, Loss]] = [{} for _ in variants]
    for k, options in enumerate(merged):
        for option in options:
            served[index[option.variant]][k] = option.loss
    free = [v in prebuilt for v in variants]
    keep = [j for j in range(len(variants)) if not _dominated(j, served, free)]
    renumber = {j: n for n, j in enumerate(keep)}
    reduced = tuple(
        (hosts, tuple((renumber[index[o.variant]], o.loss) for o in options if index[o.variant] in renumber))
        for options, hosts in merged.items()
    )
    return _Model(tuple(variants[j] for j in keep), tuple(free[j] for j in keep), reduced)


def _dominated(j: int, served: list[dict[int, Loss]], free: list[bool]) -> bool:
    """Whether another candidate serves every kind `j` serves, at no more loss and no more cost.

    Of candidates equal in every respect the first is kept, so the relation is a strict order
    and every dropped candidate has a kept one at least as good.
    """
    mine = served[j]
    for i, theirs in enumerate(served):
        if i == j or len(theirs) < len(mine) or (free[j] and not free[i]):
            continue
        if not all(k in theirs and theirs[k] <= loss for k, loss in mine.items()):
            continue
        if i < j or len(theirs) > len(mine) or free[i] != free[j]:
            return True
        if any(theirs[k] < loss for k, loss in mine.items()):
            return True
    return False


def _optimise(model: _Model, max_builds: int | None, time_limit: float) -> tuple[list[int], bool, str | None]:
    """The chosen candidate indexes, whether optimality was proved, and what the time limit stopped."""
    if not model.kinds:
        return [], True, None
    highs, cols = _build(model, max_builds)
    stages = _stages(model, cols, max_builds)
    deadline = time.perf_counter() + time_limit
    if max_builds is None:
        highs.setSolution(_start(model, cols))
    values: list[float] | None = None
    for name, costs in stages:
        left = deadline - time.perf_counter()
        if left <= 0:
            return _picked(values, model, cols, highs, max_builds), False, name
        highs.setOptionValue("time_limit", left)
        highs.changeColsCost(len(costs), list(range(len(costs))), costs)
        highs.run()
        status = highs.getModelStatus()
        solution = highs.getSolution()
        if solution.value_valid:
            values = list(solution.col_value)
        if status != _status("kOptimal"):
            return _picked(values, model, cols, highs, max_builds), False, name
        best = round(highs.getInfo().objective_function_value)
        _keep(highs, costs, best)
    return _picked(values, model, cols, highs, max_builds), True, None


class _Cols(NamedTuple):
    """Where the model's columns are."""

    builds: int
    """Columns 0..builds-1 are the candidates' 0/1 choices."""
    assign: tuple[tuple[int, int, Loss, int], ...]
    """Each assignment column's (column, candidate, loss, kind's hosts), columns from `builds` on."""


def _build(model: _Model, max_builds: int | None) -> tuple[Any, _Cols]:
    """The HiGHS model: choose[j] binary; assign[k, j] in [0, 1] with assign <= choose."""
    import highspy

    highs = _quiet_highs(highspy)
    n = len(model.candidates)
    assign: list[tuple[int, int, Loss, int]] = []
    for hosts, options in model.kinds:
        for j, loss in options:
            assign.append((n + len(assign), j, loss, hosts))
    total = n + len(assign)
    lower = [1.0 if free else 0.0 for free in model.free] + [0.0] * len(assign)
    highs.addCols(total, [0.0] * total, lower, [1.0] * total, 0, [], [], [])
    highs.changeColsIntegrality(n, list(range(n)), [highspy.HighsVarType.kInteger] * n)
    inf = highspy.kHighsInf
    column = n
    for _hosts, options in model.kinds:
        width = len(options)
        wanted = 1.0 if max_builds is None else 0.0
        highs.addRow(wanted, 1.0, width, list(range(column, column + width)), [1.0] * width)
        column += width
    for col, j, _loss, _hosts in assign:
        highs.addRow(-inf, 0.0, 2, [col, j], [1.0, -1.0])
    if max_builds is not None:
        paid = [j for j in range(n) if not model.free[j]]
        highs.addRow(-inf, float(max_builds), len(paid), paid, [1.0] * len(paid))
    return highs, _Cols(n, tuple(assign))


def _quiet_highs(highspy: Any) -> Any:
    """A Highs instance that printed nothing: its constructor writes a banner to file descriptor 1."""
    sys.stdout.flush()
    saved = os.dup(1)
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 1)
        highs = highspy.Highs()
        highs.setOptionValue("output_flag", False)
        _flush_c_stdio()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(null)
    highs.setOptionValue("mip_rel_gap", 0.0)
    return highs


def _flush_c_stdio() -> None:
    """Flush C's stdout buffer, where the banner may wait while file descriptor 1 is redirected."""
    import ctypes

    ctypes.CDLL(None).fflush(None)


def _stages(model: _Model, cols: _Cols, max_builds: int | None) -> list[tuple[str, list[float]]]:
    """The criteria as objective vectors over all columns, in the order they are optimised."""
    n, total = cols.builds, cols.builds + len(cols.assign)

    def losses(position: int | None) -> list[float]:
        """Hosts times one part of the loss; with None, hosts not on their own best."""
        costs = [0.0] * total
        for col, _j, loss, hosts in cols.assign:
            costs[col] = float(hosts * (loss[position] if position is not None else loss != NO_LOSS))
        return costs

    builds = [0.0 if model.free[j] else 1.0 for j in range(n)] + [0.0] * len(cols.assign)
    quality = [
        ("off-sm", losses(0)),
        ("lower-isa", losses(1)),
        ("other-branch", losses(2)),
        ("not-best", losses(None)),
    ]
    if max_builds is None:
        return [("builds", builds), *quality]
    served = [0.0] * total
    for col, _j, _loss, hosts in cols.assign:
        served[col] = -float(hosts)
    return [("served", served), *quality, ("builds", builds)]


def _keep(highs: Any, costs: list[float], best: int) -> None:
    """Hold a solved criterion at its optimum while the later ones are optimised."""
    import highspy

    used = [col for col, cost in enumerate(costs) if cost]
    if used:
        # Objectives are integral at integral choices; the slack only absorbs rounding.
        highs.addRow(-highspy.kHighsInf, best + 1e-4, len(used), used, [costs[col] for col in used])


def _start(model: _Model, cols: _Cols) -> Any:
    """A feasible start for --cover: every kind's first remaining option."""
    import highspy

    values = [1.0 if free else 0.0 for free in model.free] + [0.0] * len(cols.assign)
    column = cols.builds
    for _hosts, options in model.kinds:
        values[column] = 1.0
        values[options[0][0]] = 1.0
        column += len(options)
    solution = highspy.HighsSolution()
    solution.col_value = values
    solution.value_valid = True
    return solution


def _picked(
    values: list[float] | None, model: _Model, cols: _Cols, highs: Any, max_builds: int | None
) -> list[int]:
    """The chosen candidates of the best solution found; with none found, a feasible fallback."""
    if values is not None:
        return [j for j in range(cols.builds) if values[j] > 0.5]
    if max_builds is None:
        return sorted({options[0][0] for _hosts, options in model.kinds} | _free(model))
    return sorted(_free(model))


def _free(model: _Model) -> set[int]:
    return {j for j, free in enumerate(model.free) if free}


def _status(name: str) -> Any:
    import highspy

    return getattr(highspy.HighsModelStatus, name)
