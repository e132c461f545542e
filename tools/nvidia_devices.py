"""Write data/nvidia_pci_devices.json: NVIDIA PCI device ID -> chip -> compute capability.

    python tools/nvidia_devices.py PCI_IDS           # rewrite data/nvidia_pci_devices.json
    python tools/nvidia_devices.py PCI_IDS --check   # exit 1 when the shipped file differs

PCI_IDS is the PCI ID Repository's `pci.ids` (https://pci-ids.ucw.cz, github.com/pciutils/pciids);
tools/nvidia_chips.json gives each chip's compute capability, citing NVIDIA's CUDA GPU pages.
Only devices of a chip in that table are written, and no function that is not a GPU (audio,
NVSwitch, USB, bridges): tvselect looks up PCI display controllers only.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CHIPS = REPO / "tools" / "nvidia_chips.json"
OUTPUT = REPO / "data" / "nvidia_pci_devices.json"
NVIDIA = "10de"
# Suffixes pci.ids adds to a chip's name: GL (professional), GLM (its mobile part), M (mobile),
# BM (mobile B revision). Never a bare "B": GB10B (Thor) and GB20B (GB10) are chips of their own.
SUFFIXES = ("GLM", "GL", "BM", "M")
NOT_A_GPU = re.compile(r"Audio|NVSwitch|USB|UCSI|[Bb]ridge|PCIe host|SMBus|Root Complex|Ethernet|Serial")
_VERSION = re.compile(r"^#\s*Version:\s*(\S+)", re.MULTILINE)
_DEVICE = re.compile(r"^\t([0-9a-f]{4})  (.+)$")
_VENDOR = re.compile(r"^[0-9a-f]{4}  ")


def nvidia_devices(pci_ids: str) -> list[tuple[str, str]]:
    """The (device id, name) lines of vendor 10de in pci.ids, in file order."""
    found: list[tuple[str, str]] = []
    inside = False
    for line in pci_ids.splitlines():
        if _VENDOR.match(line):
            inside = line.startswith(NVIDIA + "  ")
            continue
        match = _DEVICE.match(line) if inside else None
        if match:
            found.append((match.group(1), match.group(2).strip()))
    return found


def chip_of(name: str, chips: dict[str, object]) -> str | None:
    """The chip a pci.ids device name starts with (`GA107BM / GN20 [...]` -> GA107), when it is in `chips`.

    Matched whole, after at most one known suffix: `GB10B` is its own chip and never `GB10`
    or `GB100`; a name whose first word is no chip of the table gives None.
    """
    word = re.split(r"[\s/\[(]", name, maxsplit=1)[0]
    if word in chips:
        return word
    for suffix in SUFFIXES:
        if word.endswith(suffix) and word[: -len(suffix)] in chips:
            return word[: -len(suffix)]
    return None


def product_of(name: str) -> str | None:
    """The product in brackets (`GH100 [H200 SXM 141GB]` -> `H200 SXM 141GB`), when there is one."""
    match = re.search(r"\[(.+)\]", name)
    return match.group(1) if match else None


def generate(pci_ids: str, chips_doc: dict[str, object]) -> str:
    """The text of data/nvidia_pci_devices.json."""
    chips = chips_doc["chips"]
    assert isinstance(chips, dict)
    version = _VERSION.search(pci_ids)
    devices: dict[str, list[str]] = {}
    for device, name in nvidia_devices(pci_ids):
        chip = chip_of(name, chips)
        if chip is None or NOT_A_GPU.search(name):
            continue
        product = product_of(name)
        devices[device] = [chip, product] if product else [chip]
    doc = {
        "schema_version": 1,
        "about": (
            "NVIDIA GPUs by PCI device ID (vendor 10de): each device's chip, and each chip's compute "
            "capability. tvselect reads this only when NVIDIA's tools cannot read a GPU that is on the "
            "PCI bus. Written by tools/nvidia_devices.py from pci.ids and tools/nvidia_chips.json: "
            "do not edit by hand."
        ),
        "sources": {
            "pci-ids": f"The PCI ID Repository, pci.ids version {version.group(1) if version else 'unknown'} "
            "(https://pci-ids.ucw.cz, github.com/pciutils/pciids)",
            **chips_doc["sources"],  # type: ignore[dict-item]
        },
        "chips": {chip: entry["compute_capability"] for chip, entry in sorted(chips.items())},
        "devices": devices,
    }
    lines = [json.dumps({k: v for k, v in doc.items() if k != "devices"}, indent=2, ensure_ascii=False)[:-2]]
    # One device a line: the file stays small, and a diff shows each device that changed.
    rows = [f"    {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}" for k, v in devices.items()]
    lines.append(',\n  "devices": {\n' + ",\n".join(rows) + "\n  }\n}\n")
    return "".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pci_ids", help="the PCI ID Repository's pci.ids")
    parser.add_argument("--check", action="store_true", help="exit 1 when the shipped file differs")
    parser.add_argument("--output", default=str(OUTPUT), help="where to write (default: %(default)s)")
    args = parser.parse_args(argv)
    text = generate(
        Path(args.pci_ids).read_text(encoding="utf-8", errors="replace"),
        json.loads(CHIPS.read_text(encoding="utf-8")),
    )
    output = Path(args.output)
    if args.check:
        same = output.exists() and output.read_text(encoding="utf-8") == text
        print(f"{output}: {'up to date' if same else 'differs: run tools/nvidia_devices.py PCI_IDS'}")
        return 0 if same else 1
    output.write_text(text, encoding="utf-8")
    print(f"wrote {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
