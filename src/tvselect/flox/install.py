"""`flox install ORG/PACKAGE`: checking the org, building the argument list, running it."""

from __future__ import annotations

import re
from typing import NamedTuple

from tvselect.catalog.model import Catalog, Variant
from tvselect.errors import BadInputError

ORG_PLACEHOLDER = "<org>"
FLOX_INSTALL_HELP = "install flox first: https://flox.dev/docs/install-flox/"

_ORG = r"[A-Za-z0-9_.][A-Za-z0-9_.-]*"


def check_org(org: str) -> str:
    """The org, if it is letters, digits, `-`, `_` and `.`, not starting with `-`; else BadInputError."""
    if not re.fullmatch(_ORG, org) or org in (".", ".."):
        raise BadInputError(
            f"--org {org!r}: an org is letters, digits, '-', '_' and '.', and does not start with '-'"
        )
    return org


def pinned_version(variant: Variant, catalog: Catalog) -> str | None:
    """The `@version` that `flox install` needs to land on the variant's branch; None when the name is enough.

    A package name built on more than one branch (the CPU-only names of `main` and `cuda-12_9`)
    is pinned to its TorchVision version, when the catalog knows it.
    """
    if len(catalog.branches_of_package.get(variant.package, ())) < 2:
        return None
    return variant.product_version


class InstallPlan(NamedTuple):
    """The flox command for a chosen variant."""

    argv: tuple[str, ...]
    """The argument list, run without a shell."""
    spec: str
    """The package spec after the org: the name, with `@version` when pinned."""
    pinned: bool
    """Whether `@<torchvision version>` was added to land on the chosen branch."""
    unpinnable: bool
    """The name exists on several branches but this branch's TorchVision version is unknown."""


def plan_install(variant: Variant, catalog: Catalog, org: str | None, directory: str | None) -> InstallPlan:
    """The `flox install` argument list for `variant`.

    A package name built on more than one branch (the CPU-only names of `main` and
    `cuda-12_9`) is pinned to its branch's TorchVision version with flox's `@version`.
    """
    version = pinned_version(variant, catalog)
    shared = len(catalog.branches_of_package.get(variant.package, ())) > 1
    pinned = version is not None
    spec = f"{variant.package}@{version}" if pinned else variant.package
    argv = ["flox", "install"]
    if directory is not None:
        argv += ["-d", directory]
    argv.append(f"{org or ORG_PLACEHOLDER}/{spec}")
    return InstallPlan(argv=tuple(argv), spec=spec, pinned=pinned, unpinnable=shared and version is None)


class InstallResult(NamedTuple):
    """What happened when flox ran."""

    argv: tuple[str, ...]
    """What was run (or would have been, for a dry run)."""
    dry_run: bool
    """True when nothing was run."""
    exit_status: int | None
    """flox's exit status; None when it was not started."""
    error: str | None
    """Why the install failed, in words; None on success."""

    @property
    def ok(self) -> bool:
        """True when flox ran and succeeded, or for a dry run."""
        return self.dry_run or self.exit_status == 0


DEFAULT_TIMEOUT = 1800.0
"""How long `flox install` may take by default (`--timeout`): a first install downloads gigabytes."""


def run_install(plan: InstallPlan, *, dry_run: bool, timeout: float = DEFAULT_TIMEOUT) -> InstallResult:
    """Run flox with the plan's arguments (never through a shell) for at most `timeout` seconds.

    flox writes straight to tvselect's standard error (not through a pipe tvselect reads, so
    its output costs nothing and keeps its pace); it runs in its own session, so a timeout,
    or a SIGTERM, SIGHUP or SIGINT sent to tvselect, reaches flox and all it started.
    """
    if dry_run:
        return InstallResult(plan.argv, True, None, None)
    import os
    import shutil
    import sys

    from tvselect.base.children import Finished, NotStarted, run_bounded

    flox = shutil.which(plan.argv[0])
    if flox is None:
        return InstallResult(plan.argv, False, None, f"flox was not found on PATH; {FLOX_INSTALL_HELP}")
    try:
        sys.stdout.flush()
        sys.stderr.flush()
        output = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        output = os.open(os.devnull, os.O_WRONLY)  # standard error is closed: flox's output goes nowhere
    done = run_bounded([flox, *plan.argv[1:]], os.environ, timeout, output=output)
    if isinstance(done, NotStarted):
        return InstallResult(plan.argv, False, None, f"flox could not be started ({done.reason})")
    if not isinstance(done, Finished):  # timed out (flox's output is not read, so it cannot flood)
        why = f"flox did not finish within {timeout:g} s (--timeout) and was stopped; the install may be incomplete"
        return InstallResult(plan.argv, False, None, why)
    code = done.returncode
    if code < 0:
        return InstallResult(
            plan.argv, False, code, f"flox was killed by signal {-code}; nothing was installed"
        )
    if code != 0:
        return InstallResult(plan.argv, False, code, f"flox exited with status {code}; nothing was installed")
    return InstallResult(plan.argv, False, 0, None)
