"""GPUs on the PCI bus, from sysfs: the ones NVML cannot name (AMD, Intel, NVIDIA without its driver).

`parse_pci_device` is a pure function of the sysfs files' text; `read_pci_gpus` reads
`/sys/bus/pci/devices/*/{class,vendor,device}` and each device's `driver` link under a probe root.
"""

from __future__ import annotations

from typing import NamedTuple

from tvselect.probe.root import ProbeRoot

PCI_DEVICES = "/sys/bus/pci/devices"
DISPLAY_CLASS = 0x03  # PCI base class 03h: display controller (VGA 0300, 3D 0302, other 0380)
NVIDIA = 0x10DE  # the one vendor whose GPUs count, when the nvidia kernel module drives them
MAX_DEVICES = 4096  # more PCI functions than any machine has; bounds the scan


def load_vendors() -> dict[int, dict[str, str]]:
    """data/pci_gpus.json's vendors, keyed by PCI vendor id."""
    from tvselect.base.shipped import shipped_table

    return {int(key, 16): value for key, value in shipped_table("pci_gpus")["vendors"].items()}


class PciGpu(NamedTuple):
    """One display controller on the PCI bus."""

    address: str
    """PCI address, e.g. `0000:65:00.0`."""
    vendor: int
    """PCI vendor id, e.g. 0x10de."""
    device: int
    """PCI device id, e.g. 0x2330."""
    vendor_name: str
    """`NVIDIA`, `AMD`, `Intel` (data/pci_gpus.json), or the vendor id."""
    driver: str | None = None
    """The kernel driver bound to it (`nvidia`, `amdgpu`, `vfio-pci`); None when none is."""

    @property
    def label(self) -> str:
        """The device in words, e.g. `AMD GPU 0000:0c:00.0 (PCI 1002:73bf)`."""
        return f"{self.vendor_name} GPU {self.address} (PCI {self.vendor:04x}:{self.device:04x})"


def _hex(text: str) -> int | None:
    value = text.strip().lower()
    try:
        return int(value, 16) if value.startswith("0x") else None
    except ValueError:
        return None


def parse_pci_device(
    address: str, class_text: str, vendor_text: str, device_text: str, vendors: dict[int, dict[str, str]]
) -> PciGpu | None:
    """The GPU a sysfs PCI device is (`class` 0x03xxxx), or None when it is not a display controller."""
    klass, vendor, device = _hex(class_text), _hex(vendor_text), _hex(device_text)
    if klass is None or vendor is None or device is None or klass >> 16 != DISPLAY_CLASS:
        return None
    name = vendors.get(vendor, {}).get("name", f"vendor {vendor:04x}")
    return PciGpu(address=address, vendor=vendor, device=device, vendor_name=name)


def read_pci_gpus(root: ProbeRoot) -> tuple[tuple[PciGpu, ...], str | None]:
    """The display controllers of the known GPU vendors in bus order, and why the bus could not be read."""
    try:
        names = root.listdir(PCI_DEVICES)
    except OSError as exc:
        return (), f"{root.shown(PCI_DEVICES)} cannot be listed ({exc.strerror or exc})"
    vendors = load_vendors()
    found = []
    for name in names[:MAX_DEVICES]:
        folder = f"{PCI_DEVICES}/{name}"
        try:
            klass = root.read_text(f"{folder}/class", 64)
            if (_hex(klass) or 0) >> 16 != DISPLAY_CLASS:
                continue  # not a display controller: its other files are not read
            vendor, device = root.read_text(f"{folder}/vendor", 64), root.read_text(f"{folder}/device", 64)
        except OSError:
            continue
        gpu = parse_pci_device(name, klass, vendor, device, vendors)
        if gpu is not None and gpu.vendor in vendors:
            found.append(gpu._replace(driver=_driver(root, f"{folder}/driver")))
    return tuple(found), None


def _driver(root: ProbeRoot, link: str) -> str | None:
    """The name of the driver folder the device's `driver` link leads to, inside the root."""
    import os

    try:
        real = root.resolve(link)
        if not os.path.exists(real):
            return None
        return os.path.basename(os.path.realpath(real) if root.is_host else real)
    except OSError:
        return None


def excluded_reason(gpu: PciGpu, vendors: dict[int, dict[str, str]]) -> str | None:
    """Why a PCI GPU does not count, from its vendor and driver; None for an NVIDIA GPU with its driver."""
    if gpu.vendor == NVIDIA:
        if gpu.driver is None:
            return f"NVIDIA GPU {gpu.address} found, but the nvidia kernel module is not loaded"
        if gpu.driver != "nvidia":
            return f"NVIDIA GPU {gpu.address} found, but it is bound to {gpu.driver}, not the nvidia kernel module"
        return None
    why = vendors.get(gpu.vendor, {}).get("not_served", "tvselect chooses among CUDA builds only")
    return f"{gpu.vendor_name} GPU: {why}"
