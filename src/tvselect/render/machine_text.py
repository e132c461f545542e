"""The lines that describe a machine (its GPUs, driver and CPU), shared by the report and the probe."""

from __future__ import annotations

from rich.markup import escape

from tvselect.app.inputs import MachineInputs
from tvselect.catalog.model import Catalog
from tvselect.facts.model import Facts


def machine_title(machine: MachineInputs) -> str:
    """What the facts describe: this machine, one simulated from options, or a facts document's."""
    if machine.facts_path is not None:
        return "Machine from " + ("standard input" if machine.facts_path == "-" else machine.facts_path)
    return "Simulated machine" if machine.simulated else "This machine"


def machine_lines(facts: Facts, catalog: Catalog) -> list[str]:
    lines = []
    gpu = facts.gpu
    if gpu.gpus:
        for device in gpu.gpus:
            extra = []
            if device.memory_mib is not None:
                extra.append(f"{device.memory_mib} MiB")
            if device.mig:
                extra.append("MIG on")
            tail = f" ({', '.join(extra)})" if extra else ""
            lines.append(
                f"GPU {device.index}  {escape(device.name)}  compute capability "
                f"[bold]{device.capability}[/]{tail}"
            )
        driver = gpu.driver_version or "unknown (not checked)"
        cuda = f", supports CUDA up to {gpu.cuda_driver_version}" if gpu.cuda_driver_version else ""
        lines.append(f"Driver {escape(driver)}{escape(cuda)}  [dim](from {gpu.source})[/]")
    else:
        lines.append(f"GPU    none usable: {escape(gpu.unavailable_reason or 'none found')}")
    for gone in gpu.excluded:
        lines.append(f"[dim]GPU {gone.index}  {escape(gone.name or '')} left out: {escape(gone.reason)}[/]")
    cpu = facts.cpu
    lines.append(
        f"CPU    {escape(cpu.model or 'unknown model')} ({cpu.arch})  [dim](from {escape(cpu.source)})[/]"
    )
    relevant = sorted({f for isa in catalog.isas.values() if isa.arch == cpu.arch for f in isa.needs})
    if relevant:
        marks = " ".join(f"[green]{f}[/]" if f in cpu.features else f"[red]-{f}[/]" for f in relevant)
        lines.append(f"       features that matter: {marks}")
    elif cpu.unknown_reason:
        lines.append(f"       features unknown: {escape(cpu.unknown_reason)}")
    return lines
