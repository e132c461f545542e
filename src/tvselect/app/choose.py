"""The main use case: decide for a machine, then (as asked) install, verify and write NFD labels.

Every option is checked before anything acts: a bad `--nfd` or `--org` never follows a `flox install`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, NamedTuple, TextIO

from tvselect.app.inputs import Choice, MachineInputs, facts_of, for_product, input_warnings, load, options_of
from tvselect.errors import BadInputError, ExitCode, InstallError

if TYPE_CHECKING:
    from tvselect.app.published import PublishedChoice
    from tvselect.catalog.model import Catalog, Variant
    from tvselect.engine.decision import Decision, Options
    from tvselect.engine.reasons import Reason
    from tvselect.facts.model import Facts
    from tvselect.flox.install import InstallPlan, InstallResult
    from tvselect.verify.verdict import VerifyResult


class ChooseRequest(NamedTuple):
    """Everything `tvselect` (the main command) was asked to do."""

    choice: Choice
    """What to choose among."""
    machine: MachineInputs
    """Where the facts come from."""
    catalog_path: str | None = None
    """`--catalog`: None for the built-in catalog."""
    explain: bool = False
    """`--explain`: every candidate's verdict is wanted."""
    install: bool = False
    """`--install`: run `flox install ORG/PACKAGE`."""
    org: str | None = None
    """`--org`: the Flox organisation that publishes the builds."""
    directory: str | None = None
    """`--dir`: the flox environment to install into."""
    dry_run: bool = False
    """`--dry-run`: print the install command, run nothing."""
    verify: bool = False
    """`--verify`: after the install, check the flox environment."""
    timeout: float = 1800.0
    """`--timeout`: seconds `flox install` may take (flox.install.DEFAULT_TIMEOUT)."""
    nfd: str | None = None
    """`--nfd PATH`: write the choice as NFD labels there."""
    nfd_expiry: str | None = None
    """`--nfd-expiry`: how long the labels hold."""
    available: str | None = None
    """`--available FILE`: the packages the org has published (`-`: standard input)."""
    gpu_from_pci: bool = False
    """`--gpu-from-pci`: with `--install`, install a GPU build even when the GPU was identified only by
    its PCI device ID (no NVIDIA driver that answers yet)."""


class MachineNeeds(NamedTuple):
    """What a machine whose GPU facts came from the PCI bus must do before the chosen build can use its GPUs."""

    action: str
    """E.g. `load the NVIDIA driver`."""
    min_driver: str | None
    """The chosen build's NVIDIA driver minimum (data/cuda.json), e.g. `580`."""
    text: str
    """E.g. `load the NVIDIA driver, 580 or newer`."""
    why: str | None
    """Why NVIDIA's tools did not read the GPUs."""


class Report(NamedTuple):
    """Everything one `tvselect` run found, decided and did."""

    decision: Decision
    """The engine's decision."""
    catalog: Catalog
    """The catalog it was made from."""
    install_plan: InstallPlan | None
    """The flox command for the chosen variant; None on no-match."""
    install_result: InstallResult | None
    """What `--install` did; None when it was not asked for."""
    explain: bool
    """Whether every candidate's verdict is wanted."""
    verification: VerifyResult | None = None
    """What `--verify` found in the flox environment after the install; None when not asked for."""
    nfd_note: str | None = None
    """What `--nfd` did to its file, for standard error; None when not asked for."""
    published: PublishedChoice | None = None
    """The choice among published variants; None when the published set is unknown."""
    published_reasons: tuple[Reason, ...] = ()
    """What the published set changed, and why the published choice ranks below the best."""
    machine: MachineInputs = MachineInputs()
    """Where the facts came from: this machine, options, or a facts document."""
    notes: tuple[str, ...] = ()
    """What was left out of the catalog (the packages of another product), for standard error."""

    @property
    def variant(self) -> Variant | None:
        """The variant chosen: the best published one when the published set is known, else the engine's."""
        if self.published is not None and self.published.chosen is not None:
            return self.published.chosen
        return self.decision.variant

    @property
    def machine_needs(self) -> MachineNeeds | None:
        """What the machine must do before the chosen GPU build can run (GPU facts from the PCI bus)."""
        from tvselect.engine.decision import machine_needs

        facts = self.decision.facts
        found = machine_needs(facts, self.variant)
        if found is None:
            return None
        return MachineNeeds(found.action, found.min_driver, found.text, facts.gpu.tools_reason)

    @property
    def reasons(self) -> tuple[Reason, ...]:
        """Why this variant: what the published set changed first, then the engine's reasons."""
        return self.published_reasons + self.decision.reasons

    @property
    def warnings(self) -> tuple[str, ...]:
        """Every warning, as text."""
        # What the machine needs is said of the variant this run chose (the published one, if any).
        texts = [w.text for w in self.decision.warnings if w.code != "machine-needs"]
        needs = self.machine_needs
        if needs is not None:
            from tvselect.engine.reasons import reason

            texts.append(reason("machine-needs", needs=needs.text, why=needs.why or "").text)
        texts.extend(input_warnings(self.machine, self.decision.facts))
        texts.extend(self.notes)
        if self.install_plan is not None and self.install_plan.unpinnable:
            texts.append(
                "this package name exists on several branches and this branch's TorchVision version is "
                "unknown, so the flox spec cannot be pinned to it"
            )
        return tuple(texts)

    @property
    def exit_code(self) -> int:
        """The documented exit status of this run."""
        from tvselect.engine.decision import NO_MATCH

        if self.decision.status == NO_MATCH:
            return ExitCode.NO_MATCH
        if self.published is not None and self.published.chosen is None:
            return ExitCode.NO_MATCH
        if self.install_result is not None and not self.install_result.ok:
            return ExitCode.INSTALL_FAILED
        if self.verification is not None and not self.verification.ok:
            return ExitCode.VERIFY_FAILED
        return ExitCode.OK


def check_request(request: ChooseRequest) -> None:
    """BadInputError for options that do not go together or values that are malformed."""
    from tvselect.flox.install import check_org

    if request.install and request.org is None:
        raise BadInputError("--install needs --org ORG (the Flox organisation that publishes the builds)")
    if request.org is not None:
        check_org(request.org)
    if request.install and not request.dry_run and request.machine.simulated:
        raise BadInputError(
            "--install installs for this machine's own facts; with --facts, --cpuinfo, --gpu or --driver "
            "add --dry-run to see the command for that machine"
        )
    if request.nfd is not None and request.machine.simulated:
        raise BadInputError(
            "--nfd labels this node from its own facts; with --facts, --cpuinfo, --gpu or --driver the "
            "labels would describe another machine (tvselect plan decides for other machines)"
        )
    if request.gpu_from_pci and not request.install:
        raise BadInputError("--gpu-from-pci goes with --install")
    if (request.directory is not None or request.dry_run) and not request.install:
        raise BadInputError("--dir and --dry-run go with --install")
    if request.available == "-" and request.machine.facts_path == "-":
        raise BadInputError("--available - and --facts - cannot both read standard input")
    from tvselect.flox.install import DEFAULT_TIMEOUT

    if request.timeout != DEFAULT_TIMEOUT:  # the default is valid: base.children only for another
        from tvselect.base.children import check_timeout

        check_timeout(request.timeout, "--timeout")
        if not request.install or request.dry_run:
            raise BadInputError("--timeout goes with --install, and not with --dry-run (nothing runs)")
    if request.verify and (not request.install or request.dry_run):
        raise BadInputError("--verify goes with --install, and not with --dry-run (nothing to verify)")
    if request.nfd_expiry is not None:
        if request.nfd is None:
            raise BadInputError("--nfd-expiry goes with --nfd PATH")
        from tvselect.fleet.nfd import parse_duration

        parse_duration(request.nfd_expiry)
    if request.nfd is not None:
        from tvselect.fleet.nfd import check_target

        check_target(request.nfd)


def choose(request: ChooseRequest, environ: Mapping[str, str], stdin: TextIO) -> Report:
    """Decide, then install, verify and label as the request asks; the frozen Report of it all."""
    from tvselect.engine.decision import select
    from tvselect.flox.install import plan_install, run_install

    check_request(request)
    if request.org is not None:
        from tvselect.flox.published import query_timeout

        query_timeout(environ)  # TVSELECT_FLOX_TIMEOUT is checked before anything runs
    available = _read_available(request, stdin)
    catalog, notes = for_product(load(request.catalog_path), None)
    options = options_of(catalog, request.choice)
    facts = facts_of(catalog, request.machine, environ, stdin)
    decision = select(facts, catalog, options)
    try:
        published = _published(request, available, facts, catalog, options, environ)
    except InstallError as exc:
        raise type(exc)(f"{exc}; nothing was installed" if request.install else str(exc)) from None
    variant = decision.variant if published is None else published.chosen
    plan = plan_install(variant, catalog, request.org, request.directory) if variant is not None else None
    result = _refused(request, facts, variant) if request.install and plan is not None else None
    if result is None and request.install and plan is not None:
        result = run_install(plan, dry_run=request.dry_run, timeout=request.timeout)
    if request.install and published is not None and published.chosen is None:
        result = _nothing_published(published, catalog)
    verification = None
    if request.verify and result is not None and result.ok:
        # Judged against what was installed: the best published variant when that is not the best.
        installed = decision._replace(variant=variant) if variant is not None else decision
        verification = _verify_installed(request, facts, catalog, installed, environ)
    nfd_note = _write_nfd(request.nfd, request.nfd_expiry, decision, catalog) if request.nfd else None
    why = _published_reasons(published, decision, request.install)
    return Report(
        decision,
        catalog,
        plan,
        result,
        request.explain,
        verification,
        nfd_note,
        published,
        why,
        request.machine,
        notes,
    )


def _refused(request: ChooseRequest, facts: Facts, variant: Variant | None) -> InstallResult | None:
    """Why the GPU build is not installed: its GPU was identified only by its PCI device ID, and the
    user did not say --gpu-from-pci; None when the install may go ahead."""
    from tvselect.engine.decision import machine_needs

    found = machine_needs(facts, variant)
    if found is None or request.gpu_from_pci or request.dry_run or variant is None:
        return None
    from tvselect.flox.install import InstallResult

    return InstallResult(
        (),
        False,
        None,
        f"{variant.package} not installed: the GPU was identified only by its PCI device ID "
        f"({facts.gpu.tools_reason}), and this machine still needs to {found.text}; add --gpu-from-pci "
        "to install this GPU build anyway, or --cpu-only to install a CPU-only build",
    )


def _read_available(request: ChooseRequest, stdin: TextIO) -> frozenset[str] | None:
    if request.available is None:
        return None
    from tvselect.app.published import read_available

    return read_available(request.available, request.org, stdin)


def _published(
    request: ChooseRequest,
    available: frozenset[str] | None,
    facts: Facts,
    catalog: Catalog,
    options: Options,
    environ: Mapping[str, str],
) -> PublishedChoice | None:
    """The choice among published variants; None when the published set is unknown or nothing runs."""
    if available is None and request.org is None:
        return None  # the default path imports nothing more
    from tvselect.app.published import choose_published, source_of

    source = source_of(available, request.available, request.org, environ)
    if source is None:
        return None
    from tvselect.engine.decision import runnable_ranked

    return choose_published(runnable_ranked(facts, catalog, options), catalog, source, environ)


def _nothing_published(published: PublishedChoice, catalog: Catalog) -> InstallResult:
    from tvselect.app.published import nothing_published_error
    from tvselect.flox.install import InstallResult

    return InstallResult((), False, None, nothing_published_error(published, catalog))


def _published_reasons(
    published: PublishedChoice | None, decision: Decision, installing: bool
) -> tuple[Reason, ...]:
    if published is None:
        return ()
    from tvselect.app.published import published_reasons

    reasons = published_reasons(published, installing)
    chosen = published.chosen
    if chosen is not None and chosen != published.best:
        lost = next((v.reasons for v in decision.verdicts if v.variant == chosen), ())
        reasons += lost
    return reasons


def _verify_installed(
    request: ChooseRequest, facts: Facts, catalog: Catalog, decision: Decision, environ: Mapping[str, str]
) -> VerifyResult:
    """`tvselect verify` in the flox environment, given verify's time limit or --timeout if shorter."""
    from tvselect.verify.checks import judge
    from tvselect.verify.run import DEFAULT_TIMEOUT, flox_command, run_payload

    timeout = min(request.timeout, DEFAULT_TIMEOUT)
    observed = run_payload(flox_command(request.directory), timeout=timeout, env=environ)
    return judge(observed, facts, catalog, decision)


def _write_nfd(path: str, expiry: str | None, decision: Decision, catalog: Catalog) -> str | None:
    """Write the decision's NFD labels to `path`, or on no-match remove the file written before."""
    import datetime as dt

    from tvselect.fleet.nfd import expiry_time, nfd_labels, parse_duration, remove_nfd, render_nfd, write_nfd

    labels = nfd_labels(decision, catalog)
    if not labels:
        return f"removed {path}: no variant runs here, so no label" if remove_nfd(path) else None
    until = expiry_time(dt.datetime.now(dt.timezone.utc), parse_duration(expiry)) if expiry else None
    write_nfd(path, render_nfd(labels, until))
    lasting = f", expiring {until.strftime('%Y-%m-%dT%H:%M:%SZ')}" if until else ""
    return f"wrote {len(labels)} Node Feature Discovery labels to {path}{lasting}"
