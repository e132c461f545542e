"""Make an interpreter whose REAL torch reports an arch list without code for compute capability 9.0.

For checking on a real H100 that `tvselect verify` fails, with a clear reason, when
torch carries no code for the GPU. Standard library only; nothing is installed:

    python3 tools/fake_torch_no_sm90.py /tmp/nosm90            # wraps the python3 that runs it
    tvselect verify --python /tmp/nosm90/python --json         # must exit 5: gpu-arch fails

It writes two files into the folder:

- `sitecustomize.py`, which imports the real torch at interpreter start and replaces
  `torch.cuda.get_arch_list` with one that drops every entry whose code runs on 9.0
  (`sm_90`, `sm_90a`, `sm_90f`, and `compute_XY` PTX for any X.Y <= 9.0, which the driver
  would JIT-compile for 9.0); everything else in torch stays real. While it is first on
  PYTHONPATH it shadows any system sitecustomize, which does not matter for this check.
- `python`, a shell script that puts the folder first on PYTHONPATH and execs the real
  interpreter, so that only the checked interpreter is affected, not tvselect itself.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path

SITECUSTOMIZE = '''"""Written by tools/fake_torch_no_sm90.py: the real torch, no code for capability 9.0."""

import re as _re


def _runs_on_9_0(entry):
    match = _re.fullmatch(r"(sm|compute)_(\\d+)([af]?)", str(entry))
    if match is None:
        return False
    kind, digits, suffix = match.groups()
    cap = (int(digits[:-1]), int(digits[-1]))
    if kind == "sm":
        return cap[0] == 9 and cap[1] <= 0
    return cap == (9, 0) if suffix else cap <= (9, 0)


def _patch():
    try:
        import torch
    except Exception:
        return
    real = torch.cuda.get_arch_list

    def get_arch_list():
        return [entry for entry in real() if not _runs_on_9_0(entry)]

    torch.cuda.get_arch_list = get_arch_list


_patch()
'''


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder", type=Path, help="where to write sitecustomize.py and the python wrapper")
    parser.add_argument(
        "--python", default=sys.executable, help="the real interpreter to wrap (default: this one)"
    )
    args = parser.parse_args(argv)
    folder = args.folder.resolve()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sitecustomize.py").write_text(SITECUSTOMIZE, encoding="utf-8")
    wrapper = folder / "python"
    quoted = shlex.quote(str(folder))
    wrapper.write_text(
        "#!/bin/sh\n"
        f'PYTHONPATH={quoted}"${{PYTHONPATH:+:$PYTHONPATH}}" exec {shlex.quote(args.python)} "$@"\n',
        encoding="utf-8",
    )
    wrapper.chmod(0o755)
    print(f"wrote {folder}/sitecustomize.py and {wrapper} (wraps {args.python})", file=sys.stderr)
    print(wrapper)
    return os.EX_OK


if __name__ == "__main__":
    sys.exit(main())
