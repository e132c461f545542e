"""Fakes at the process boundary for `tvselect verify`: tiny `torch`, `torchvision` and `flox`.

Everything here is written into a test's tmp_path and used only by the subprocesses
that tvselect starts (the checked interpreter, or `flox`); tvselect's own code is never
replaced. The fake torch reads its behaviour from `fake_torch.json` next to it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

GOOD_H100: dict[str, Any] = {
    "torch_version": "2.9.1+cu129",
    "torchvision_version": "0.24.0",
    "cuda": "12.9",
    "devices": [{"name": "NVIDIA H100 80GB HBM3", "capability": [9, 0]}],
    "arch_list": ["sm_90"],
    "cpu_capability": "AVX512",
    "mode": None,
    "conv_offset": {},
    "nms_override": {},
}

_TORCH_INIT = """
import json, os, signal, sys, time

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
with open(os.path.join(_ROOT, "fake_torch.json")) as _handle:
    CONFIG = json.load(_handle)

_MODE = CONFIG.get("mode")
if _MODE == "sigill":
    import resource
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    os.kill(os.getpid(), signal.SIGILL)
if _MODE == "hang":
    time.sleep(600)
if _MODE == "garbage":
    sys.stdout.write("this is not json\\n")
    sys.stdout.flush()
    os._exit(0)
if _MODE == "exit3":
    sys.stderr.write("fatal: something broke\\n")
    sys.stderr.flush()
    os._exit(3)

__version__ = CONFIG["torch_version"]
float32 = "float32"


class Tensor:
    def __init__(self, data, device="cpu"):
        self.data = data
        self.device = str(device)

    def to(self, device):
        device = str(device)
        if device.startswith("cuda"):
            from torch import cuda
            index = int(device.partition(":")[2] or 0)
            if not cuda.is_available() or index >= cuda.device_count():
                raise RuntimeError("CUDA error: invalid device ordinal")
        return Tensor(self.data, device)

    def cpu(self):
        return Tensor(self.data, "cpu")

    def tolist(self):
        return json.loads(json.dumps(self.data))

    def __matmul__(self, other):
        a, b = self.data, other.data
        rows = []
        for i in range(len(a)):
            rows.append([sum(a[i][k] * b[k][j] for k in range(len(b))) for j in range(len(b[0]))])
        return Tensor(rows, self.device)


def tensor(data, dtype=None, device="cpu"):
    return Tensor(data, device)


from torch import backends, cuda, nn, version  # noqa: E402
"""

_TORCH_VERSION = """
from torch import CONFIG
cuda = CONFIG.get("cuda")
"""

_TORCH_CUDA = """
import os
from torch import CONFIG


def _visible():
    devices = CONFIG.get("devices", []) if CONFIG.get("cuda") else []
    value = os.environ.get("CUDA_VISIBLE_DEVICES")
    if value is None:
        return devices
    chosen = []
    for part in value.split(","):
        part = part.strip()
        if not part.isdigit() or int(part) >= len(devices):
            break
        chosen.append(devices[int(part)])
    return chosen


def is_available():
    return len(_visible()) > 0


def device_count():
    return len(_visible())


def get_device_name(index):
    return _visible()[index]["name"]


def get_device_capability(index):
    return tuple(_visible()[index]["capability"])


def get_arch_list():
    # As the real one: empty when CUDA is not available.
    return list(CONFIG.get("arch_list", [])) if is_available() else []
"""

_TORCH_BACKENDS = """
import types
from torch import CONFIG

cpu = types.SimpleNamespace(get_cpu_capability=lambda: CONFIG.get("cpu_capability", "DEFAULT"))
cudnn = types.SimpleNamespace(allow_tf32=True)
cuda = types.SimpleNamespace(matmul=types.SimpleNamespace(allow_tf32=True))
"""

_TORCH_NN_INIT = """
from torch.nn import functional
"""

_TORCH_NN_FUNCTIONAL = """
from torch import CONFIG, Tensor


def conv2d(inp, weight, padding=0):
    x, w = inp.data, weight.data
    channels, height, width = len(x[0]), len(x[0][0]), len(x[0][0][0])
    k = len(w[0][0])
    offset = CONFIG.get("conv_offset", {}).get(inp.device.partition(":")[0], 0.0)
    out = []
    for o in range(len(w)):
        plane = []
        for y in range(height):
            row = []
            for xx in range(width):
                total = 0.0
                for c in range(channels):
                    for dy in range(k):
                        for dx in range(k):
                            yy, xi = y + dy - padding, xx + dx - padding
                            if 0 <= yy < height and 0 <= xi < width:
                                total += x[0][c][yy][xi] * w[o][c][dy][dx]
                row.append(total + offset)
            plane.append(row)
        out.append(plane)
    return Tensor([out], inp.device)
"""

_TORCHVISION_INIT = """
from torch import CONFIG

__version__ = CONFIG["torchvision_version"]
from torchvision import ops  # noqa: E402
"""

_TORCHVISION_OPS = """
from torch import CONFIG, Tensor


def _iou(a, b):
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def nms(boxes, scores, iou_threshold):
    override = CONFIG.get("nms_override", {}).get(boxes.device.partition(":")[0])
    if override is not None:
        return Tensor(list(override), boxes.device)
    order = sorted(range(len(scores.data)), key=lambda i: -scores.data[i])
    kept = []
    for i in order:
        if all(_iou(boxes.data[i], boxes.data[j]) <= iou_threshold for j in kept):
            kept.append(i)
    return Tensor(kept, boxes.device)
"""


def write_fake_torch(root: Path, config: dict[str, Any], *, torchvision: bool = True) -> Path:
    """Write fake `torch` (and `torchvision`) packages under `root`; returns `root` for PYTHONPATH."""
    files = {
        "torch/__init__.py": _TORCH_INIT,
        "torch/version.py": _TORCH_VERSION,
        "torch/cuda.py": _TORCH_CUDA,
        "torch/backends.py": _TORCH_BACKENDS,
        "torch/nn/__init__.py": _TORCH_NN_INIT,
        "torch/nn/functional.py": _TORCH_NN_FUNCTIONAL,
    }
    if torchvision:
        files["torchvision/__init__.py"] = _TORCHVISION_INIT
        files["torchvision/ops.py"] = _TORCHVISION_OPS
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text.lstrip(), encoding="utf-8")
    (root / "fake_torch.json").write_text(json.dumps(config), encoding="utf-8")
    return root


def write_fake_flox(bin_dir: Path, fakes: Path, log: Path) -> Path:
    """A `flox` on PATH that logs its arguments, succeeds at `install`, and for
    `activate -d DIR -- python X` runs this interpreter on X with the fakes on PYTHONPATH."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    script = bin_dir / "flox"
    script.write_text(
        f"""#!{sys.executable}
import json, os, sys
args = sys.argv[1:]
with open({str(log)!r}, "a") as handle:
    handle.write(json.dumps(args) + "\\n")
if args[:1] == ["install"]:
    sys.exit(0)
if args[:1] == ["show"]:  # flox 1.14.1's answer for a published package
    print(args[1] + " - fake package\\nLatest:  " + args[1] + "@0.24.0")
    sys.exit(0)
if args[:1] == ["activate"] and "--" in args:
    rest = args[args.index("--") + 1 :]
    if rest[:1] != ["python"]:
        sys.exit(64)
    env = dict(os.environ, PYTHONPATH={str(fakes)!r})
    os.execve({sys.executable!r}, [{sys.executable!r}, *rest[1:]], env)
sys.exit(2)
""",
        encoding="utf-8",
    )
    script.chmod(0o755)
    return script


def catalog_for_this_python(path: Path) -> Path:
    """The built-in catalog with its Python version set to the running interpreter's.

    The catalog's builds are for Python 3.13, and verify counts the Python version when it
    tells which build is installed; the checked interpreter in these tests is this one.
    """
    from importlib.resources import files

    data = json.loads(files("tvselect").joinpath("data/variants.json").read_text(encoding="utf-8"))
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    tag = version.replace(".", "")
    for branch in data["branches"].values():
        old = branch["python"].replace(".", "")
        branch["python"] = version
    for variant in data["variants"]:
        variant["package"] = variant["package"].replace(f"python{old}", f"python{tag}")
    path.write_text(json.dumps(data), encoding="utf-8")
    return path
