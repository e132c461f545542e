"""The verdict's records: one Check per line, the installed build's VariantMatch, the VerifyResult."""

from __future__ import annotations

from dataclasses import dataclass

from tvselect.catalog.model import Variant
from tvselect.facts.model import Facts
from tvselect.verify.messages import Reason
from tvselect.verify.observations import RawObservations
from tvselect.verify.run import PayloadFailure

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Check:
    """One line of the verdict."""

    name: str
    """Short stable name, e.g. `torch-import`, `gpu-arch[0]`, `smoke[cuda:0]`."""
    ok: bool
    """Whether it holds."""
    severity: str
    """`error` (a failure fails verify) or `warning` (works, but not as well as it could)."""
    reason: Reason
    """What was found, and why it matters, as a coded reason (engine/reasons.py)."""

    @property
    def code(self) -> str:
        """The finding's stable code, e.g. `cuda-sees-no-gpu`."""
        return self.reason.code

    @property
    def detail(self) -> str:
        """The finding in words."""
        return self.reason.text


@dataclass(frozen=True, slots=True)
class VariantMatch:
    """Which catalog variant the installed build is, as far as it can be told."""

    branches: tuple[str, ...]
    """Catalog branches whose versions it has; empty when none."""
    gpu_arch: str | None
    """The one GPU architecture it carries (`sm90`); None for CPU-only or multi-architecture builds."""
    candidates: tuple[Variant, ...]
    """Catalog variants it can be; the CPU ISA is not observable, so usually several."""
    why_not: Reason | None
    """Why it is no catalog variant; None when it may be one."""

    @property
    def package(self) -> str | None:
        """The package name when only one fits."""
        names = {v.package for v in self.candidates}
        return names.pop() if len(names) == 1 else None


@dataclass(frozen=True)
class VerifyResult:
    """Everything `tvselect verify` found."""

    python: str
    """The checked interpreter: its sys.executable when it answered, else the command's python."""
    command: tuple[str, ...]
    """The command that ran the payload."""
    checks: tuple[Check, ...]
    """One per line, in the order they are shown."""
    observations: RawObservations | None
    """What the payload observed; None when it gave nothing."""
    failure: PayloadFailure | None
    """Why the payload gave nothing; None when it answered."""
    facts: Facts
    """The machine the build was checked against."""
    expected: Variant | None
    """The variant tvselect chooses here; None on no-match."""
    match: VariantMatch | None
    """Which catalog variant is installed; None when torch gave too little to tell."""

    @property
    def ok(self) -> bool:
        """True when no error-severity check failed (warnings do not count)."""
        return all(c.ok or c.severity == WARNING for c in self.checks)
