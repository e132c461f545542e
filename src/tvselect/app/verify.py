"""`tvselect verify`: check that an interpreter's PyTorch and TorchVision fit the machine."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, NamedTuple, TextIO

from tvselect.app.inputs import Choice, MachineInputs, facts_of, load, options_of
from tvselect.errors import BadInputError

if TYPE_CHECKING:
    from tvselect.verify.verdict import VerifyResult


class VerifyRequest(NamedTuple):
    """What `tvselect verify` was asked to check."""

    python: str
    """The interpreter to check."""
    timeout: float
    """Seconds the checked interpreter may take."""
    choice: Choice
    """What the engine chooses among, for the expected variant."""
    machine: MachineInputs
    """Where the facts come from."""
    catalog_path: str | None = None
    """`--catalog`: None for the built-in catalog."""


def verify(request: VerifyRequest, environ: Mapping[str, str], stdin: TextIO) -> VerifyResult:
    """Run the payload in the interpreter and judge what it saw against the engine's decision."""
    from tvselect.base.children import check_timeout
    from tvselect.engine.decision import select
    from tvselect.verify.checks import judge
    from tvselect.verify.run import python_command, run_payload

    check_timeout(request.timeout, "--timeout")
    if not request.python.strip():
        raise BadInputError(
            "--python '': empty; give an interpreter, or leave --python out for tvselect's own"
        )
    command = python_command(request.python)
    catalog = load(request.catalog_path)
    facts = facts_of(catalog, request.machine, environ, stdin)
    decision = select(facts, catalog, options_of(catalog, request.choice))
    return judge(run_payload(command, timeout=request.timeout, env=environ), facts, catalog, decision)
