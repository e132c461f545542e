"""What `tvselect verify` runs inside the checked Python interpreter.

Standalone on purpose: standard library only, no tvselect import, runnable as
`python payload.py`. It prints ONE JSON object of raw observations on stdout
(versions, what torch reports, the results of a few small computations) and never
judges them: tvselect does that. Every stage is wrapped so that one failure does not
hide the others; before each stage a line `tvselect-verify: stage NAME` goes to stderr,
so that when the interpreter dies (SIGILL from an illegal instruction, say) the caller
can tell where.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import sys
import traceback
import warnings
from typing import Any

PAYLOAD_VERSION = 1
STAGE_MARK = "tvselect-verify: stage "

# Fixed inputs of the smoke run. tvselect knows what non-maximum suppression must keep
# for these boxes at IoU 0.5: indices [3, 0].
NMS_BOXES = [
    [0.0, 0.0, 10.0, 10.0],
    [1.0, 1.0, 11.0, 11.0],
    [20.0, 20.0, 30.0, 30.0],
    [21.0, 21.0, 31.0, 31.0],
    [0.0, 0.0, 10.0, 10.5],
]
NMS_SCORES = [0.9, 0.8, 0.7, 0.95, 0.1]
NMS_IOU = 0.5

CONV_IN = (1, 3, 6, 6)
CONV_OUT = 4
CONV_K = 3


def _conv_input() -> list[list[list[list[float]]]]:
    n, c, h, w = CONV_IN
    return [
        [[[((ci * 31 + y * 7 + x * 3) % 17) / 16.0 for x in range(w)] for y in range(h)] for ci in range(c)]
        for _ in range(n)
    ]


def _conv_weight() -> list[list[list[list[float]]]]:
    c = CONV_IN[1]
    k = CONV_K
    return [
        [
            [[(((o * 13 + ci * 5 + y * 3 + x) % 11) - 5) / 5.0 for x in range(k)] for y in range(k)]
            for ci in range(c)
        ]
        for o in range(CONV_OUT)
    ]


def _reference_conv(inp: list[Any], weight: list[Any]) -> list[float]:
    """conv2d with padding 1 and stride 1 in plain Python: the answer every device must give."""
    _, c, h, w = CONV_IN
    k = CONV_K
    out: list[float] = []
    for o in range(CONV_OUT):
        for y in range(h):
            for x in range(w):
                total = 0.0
                for ci in range(c):
                    for dy in range(k):
                        for dx in range(k):
                            yy, xx = y + dy - 1, x + dx - 1
                            if 0 <= yy < h and 0 <= xx < w:
                                total += inp[0][ci][yy][xx] * weight[o][ci][dy][dx]
                out.append(total)
    return out


def _flatten(value: Any) -> list[float]:
    if isinstance(value, (list, tuple)):
        return [item for part in value for item in _flatten(part)]
    return [float(value)]


def _error(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= 600 else text[:600] + "..."


def _stage(name: str) -> None:
    sys.stderr.write(STAGE_MARK + name + "\n")
    sys.stderr.flush()


def _module(name: str) -> tuple[Any, dict[str, Any]]:
    _stage(f"import {name}")
    try:
        module = __import__(name)
    except BaseException as exc:
        return None, {"version": None, "error": _error(exc), "path": None}
    version = getattr(module, "__version__", None)
    return module, {
        "version": None if version is None else str(version),
        "error": None,
        "path": getattr(module, "__file__", None),
    }


def _cuda(torch: Any) -> dict[str, Any]:
    info: dict[str, Any] = {
        "built_with": None,
        "available": None,
        "device_count": None,
        "devices": [],
        "arch_list": None,
        "errors": [],
    }
    _stage("cuda")
    for key, call in (
        ("built_with", lambda: torch.version.cuda),
        ("available", lambda: bool(torch.cuda.is_available())),
        ("device_count", lambda: int(torch.cuda.device_count())),
        ("arch_list", lambda: [str(a) for a in torch.cuda.get_arch_list()]),
    ):
        try:
            info[key] = call()
        except BaseException as exc:
            info["errors"].append(f"{key}: {_error(exc)}")
    for index in range(info["device_count"] or 0):
        device: dict[str, Any] = {"index": index, "name": None, "capability": None, "error": None}
        try:
            device["name"] = str(torch.cuda.get_device_name(index))
            device["capability"] = [int(part) for part in torch.cuda.get_device_capability(index)]
        except BaseException as exc:
            device["error"] = _error(exc)
        info["devices"].append(device)
    return info


def _cpu(torch: Any) -> dict[str, Any]:
    info: dict[str, Any] = {
        "capability": None,
        "capability_error": None,
        "matmul": None,
        "matmul_error": None,
    }
    _stage("cpu capability")
    try:
        info["capability"] = str(torch.backends.cpu.get_cpu_capability())
    except BaseException as exc:
        info["capability_error"] = _error(exc)
    _stage("cpu tensor op")
    try:
        a = torch.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=torch.float32)
        info["matmul"] = (a @ a).tolist()
    except BaseException as exc:
        info["matmul_error"] = _error(exc)
    return info


def _smoke(torch: Any, torchvision: Any, device: str) -> dict[str, Any]:
    result: dict[str, Any] = {
        "device": device,
        "nms": None,
        "nms_error": None,
        "conv": None,
        "conv_error": None,
    }
    if torchvision is not None:
        _stage(f"nms on {device}")
        try:
            boxes = torch.tensor(NMS_BOXES, dtype=torch.float32).to(device)
            scores = torch.tensor(NMS_SCORES, dtype=torch.float32).to(device)
            kept = torchvision.ops.nms(boxes, scores, NMS_IOU)
            result["nms"] = [int(i) for i in kept.cpu().tolist()]
        except BaseException as exc:
            result["nms_error"] = _error(exc)
    _stage(f"conv2d on {device}")
    try:
        inp = torch.tensor(_conv_input(), dtype=torch.float32).to(device)
        weight = torch.tensor(_conv_weight(), dtype=torch.float32).to(device)
        out = _flatten(torch.nn.functional.conv2d(inp, weight, padding=1).cpu().tolist())
        result["conv"] = out
    except BaseException as exc:
        result["conv_error"] = _error(exc)
    return result


def _compare(values: list[float] | None, against: list[float] | None) -> float | None:
    """Largest absolute difference, or None when either side is missing or the shapes differ."""
    if values is None or against is None or len(values) != len(against):
        return None
    # No zip(strict=): the checked interpreter may be older than Python 3.10; lengths are equal here.
    return max(abs(a - b) for a, b in zip(values, against))  # noqa: B905


def _torch_copies() -> list[str]:
    """Every `torch` package on sys.path (real paths, in path order): Python imports the first,
    and a second one means two PyTorch builds in one environment."""
    found: list[str] = []
    for entry in sys.path:
        folder = os.path.join(entry or os.getcwd(), "torch")
        try:
            if os.path.isfile(os.path.join(folder, "__init__.py")):
                real = os.path.realpath(folder)
                if real not in found:
                    found.append(real)
        except (OSError, ValueError):
            continue
    return found


def _optional(name: str) -> dict[str, Any] | None:
    """Import a product that may be installed (torchaudio, vllm); None when it is not."""
    import importlib.util

    try:
        if importlib.util.find_spec(name) is None:
            return None
    except (ImportError, ValueError):
        return None
    return _module(name)[1]


def observe() -> dict[str, Any]:
    """Every observation, as a JSON-ready object."""
    doc: dict[str, Any] = {
        "payload_version": PAYLOAD_VERSION,
        "python": {
            "executable": sys.executable,
            "version": platform.python_version(),
            "machine": platform.machine(),
        },
        "env": {"CUDA_VISIBLE_DEVICES": os.environ.get("CUDA_VISIBLE_DEVICES")},
    }
    torch, doc["torch"] = _module("torch")
    torchvision, doc["torchvision"] = _module("torchvision") if torch is not None else (None, None)
    doc["torch_copies"] = _torch_copies()
    if torch is None:
        return doc
    for product in ("torchaudio", "vllm"):
        doc[product] = _optional(product)
    doc["cuda"] = _cuda(torch)
    doc["cpu"] = _cpu(torch)
    _exact_fp32(torch)
    reference = _reference_conv(_conv_input(), _conv_weight())
    runs = _smoke_runs(torch, torchvision, doc["cuda"], reference)
    doc["conv_reference_max_abs"] = max(abs(v) for v in reference)
    doc["smoke"] = runs
    return doc


def _exact_fp32(torch: Any) -> None:
    """Turn TF32 off, which would make the GPU's conv2d differ from the CPU's by more than rounding.

    Newer torch has fp32_precision and warns about allow_tf32; older torch has only allow_tf32.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            torch.backends.cudnn.conv.fp32_precision = "ieee"
        except BaseException:
            with contextlib.suppress(BaseException):
                torch.backends.cudnn.allow_tf32 = False


def _smoke_runs(
    torch: Any, torchvision: Any, cuda: dict[str, Any], reference: list[float]
) -> list[dict[str, Any]]:
    """The smoke tests on the CPU (against `reference`) and on each GPU (against the CPU's conv2d)."""
    cpu = _smoke(torch, torchvision, "cpu")
    cpu["conv_compared_with"] = "python-reference"
    cpu["conv_max_abs_diff"] = _compare(cpu["conv"], reference)
    runs = [cpu]
    if cuda["available"]:
        against, name = (cpu["conv"], "cpu") if cpu["conv"] is not None else (reference, "python-reference")
        for index in range(cuda["device_count"] or 0):
            run = _smoke(torch, torchvision, f"cuda:{index}")
            run["conv_compared_with"] = name
            run["conv_max_abs_diff"] = _compare(run["conv"], against)
            runs.append(run)
    for run in runs:
        values = run.pop("conv")
        run["conv_max_abs"] = max((abs(v) for v in values), default=0.0) if values is not None else None
    return runs


def main() -> int:
    """Print the observations as one JSON object; exit 0 unless something outside the stages broke."""
    here = os.path.dirname(os.path.abspath(__file__))
    # Run as a script, this file's folder (tvselect's package) comes first on sys.path; its
    # module names must not shadow anything torch imports.
    if sys.path and os.path.abspath(sys.path[0] or os.curdir) == here:
        del sys.path[0]
    try:
        doc = observe()
    except BaseException:
        doc = {"payload_version": PAYLOAD_VERSION, "payload_error": traceback.format_exc(limit=5)}
    _stage("done")
    sys.stdout.write(json.dumps(doc) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
