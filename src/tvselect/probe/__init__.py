"""The probes: facts about this machine, or about another one given on the command line.

Every run goes through `gather_facts`, so the probe modules are imported only on the path that
needs them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, TextIO

from tvselect.errors import BadInputError

if TYPE_CHECKING:
    from tvselect.catalog.model import Catalog
    from tvselect.facts.model import Facts, GpuFacts
    from tvselect.probe.root import ProbeRoot


def gather_facts(
    catalog: Catalog,
    *,
    cpuinfo: str | None,
    gpus: Sequence[str],
    driver: str | None,
    facts_path: str | None,
    environ: Mapping[str, str],
    stdin: TextIO,
) -> Facts:
    """The facts the engine decides from.

    `facts_path` (`--facts`, `-` for standard input) gives them all and excludes the other
    options. Otherwise `cpuinfo` (`--cpuinfo`) replaces this machine's CPU, `gpus` (`--gpu`)
    its GPUs, and `driver` (`--driver`) the driver version, simulated or probed. The host name
    is this machine's only when both the CPU and the GPUs are this machine's.
    BadInputError for malformed options.
    """
    from tvselect.facts.model import Facts

    if facts_path is not None:
        return _from_document(facts_path, stdin, cpuinfo=cpuinfo, gpus=gpus, driver=driver)

    from tvselect.probe.cpu import read_cpuinfo, read_cpuinfo_file
    from tvselect.probe.root import probe_root

    root = probe_root(environ)
    # The file the user named is read first, so that a mistake in it fails before the GPU probe.
    cpu = read_cpuinfo_file(cpuinfo, stdin) if cpuinfo is not None else None
    if gpus:
        from tvselect.probe.simulate import simulated_gpus

        gpu = simulated_gpus(gpus, driver, catalog)
    else:
        gpu = _probed_gpus(root, environ, driver)
    if cpu is None:
        cpu = read_cpuinfo(root)
    host = None if cpuinfo is not None or gpus else _host_name(root)
    return Facts(cpu=cpu, gpu=gpu, host=host)


def _from_document(
    facts_path: str, stdin: TextIO, *, cpuinfo: str | None, gpus: Sequence[str], driver: str | None
) -> Facts:
    """The facts of a `--facts` document, which no option that describes a machine may join."""
    options = (("--cpuinfo", cpuinfo), ("--gpu", gpus), ("--driver", driver))
    given = [name for name, used in options if used]
    if given:
        raise BadInputError(f"--facts cannot be combined with {', '.join(given)}")
    from tvselect.facts.document import load_facts

    return load_facts(facts_path, stdin)


def _probed_gpus(root: ProbeRoot, environ: Mapping[str, str], driver: str | None) -> GpuFacts:
    """This machine's GPUs, every NVIDIA device accounted for; `driver` (`--driver`) replaces the driver version."""
    from tvselect.probe.gpu import read_gpus
    from tvselect.probe.others import account_for_gpus
    from tvselect.probe.simulate import check_driver

    # Check --driver before the probe runs, so that a typo fails fast.
    override = check_driver(driver) if driver is not None else None
    gpu = account_for_gpus(read_gpus(environ, root=root), root, environ)
    if override is None:
        return gpu
    note = f"driver {override} from --driver (probed: {gpu.driver_version or 'unknown'})"
    return gpu._replace(driver_version=override, notes=(*gpu.notes, note))


def _host_name(root: ProbeRoot) -> str | None:
    import os

    if not root.is_host:
        try:
            return root.read_text("/etc/hostname", 256).strip() or None
        except OSError:
            return None
    # os.uname() is the same answer as socket.gethostname() without importing socket.
    try:
        return os.uname().nodename or None
    except (AttributeError, OSError):
        return None
