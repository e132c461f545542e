#!/usr/bin/env bash
# What the lead runs on the H200 machine (device tool) for docs/probe.md: tvselect as it is, then with
# NVML and nvidia-smi forced to hang (a fake pynvml module and a fake nvidia-smi first on the paths,
# each sleeping as a wedged driver does), printing for each run the package chosen, where the GPU facts
# came from, what the machine still needs, every line tvselect wrote on stderr, and the wall time.
# Wheels: .whl (this tree and its dependencies), installed under /tmp/new as tools/h100-check.sh does;
# without .whl (a checkout with no GPU) the tvselect on PATH runs, or $TVSELECT.
set -u
out=${OUT:-/tmp/out}; mkdir -p "$out"
hang=${HANG_DIR:-/tmp/tvselect-hang}; sleep_s=${HANG_SECONDS:-600}
if compgen -G ".whl/*.whl" >/dev/null; then
  python3 -m pip install -q --no-index --no-deps --target /tmp/new .whl/*.whl 2>/dev/null
  exe=/tmp/new/bin/tvselect; site=/tmp/new; py=python3
else
  exe=${TVSELECT:-$(command -v tvselect)}; site=${PYTHONPATH:-}
  py=$(head -1 "$exe" | sed 's/^#!//'); [ -x "$py" ] || py=python3
fi
echo "## tvselect: $exe ($("$py" --version 2>&1)); $(nproc) CPUs; $(uname -r)"
echo "## this machine: $(ls /proc/driver/nvidia/gpus 2>/dev/null | tr '\n' ' ')driver $(cat /sys/module/nvidia/version 2>/dev/null || echo 'not loaded')"
for dev in /sys/bus/pci/devices/*; do
  [ "$(cat "$dev/vendor" 2>/dev/null)" = 0x10de ] || continue
  case "$(cat "$dev/class")" in 0x03*) ;; *) continue ;; esac
  echo "   PCI $(basename "$dev") $(cat "$dev/vendor"):$(cat "$dev/device") class $(cat "$dev/class") driver $(basename "$(readlink "$dev/driver" 2>/dev/null || echo none)")"
done

# The fakes: NVML's init and nvidia-smi never return, as after a failed driver update.
mkdir -p "$hang/site" "$hang/bin"
cat >"$hang/site/pynvml.py" <<PY
"""Fake pynvml: every call hangs, as NVML does on a wedged GPU."""
import time
class NVMLError(Exception):
    value = 999
def _hang(*args, **kwargs):
    time.sleep($sleep_s)
def __getattr__(name):
    return _hang
PY
printf '#!/bin/sh\nPATH=/usr/bin:/bin\nsleep %s\n' "$sleep_s" >"$hang/bin/nvidia-smi"; chmod +x "$hang/bin/nvidia-smi"

# run NAME PYTHONPATH PATH ARGS...: one tvselect run, its answer, its stderr and its wall time.
run() {
  local name=$1 pypath=$2 path=$3; shift 3
  local start end rc
  start=$(date +%s.%N)
  PYTHONPATH=$pypath PATH=$path "$exe" "$@" >"$out/$name.out" 2>"$out/$name.err"; rc=$?
  end=$(date +%s.%N)
  echo "## $name: tvselect $*"
  printf '   exit %s, wall %s s\n' "$rc" "$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }')"
  if [ "${1:-}" = --json ]; then
    "$py" - "$out/$name.out" <<'PY'
import json, sys
try:
    d = json.load(open(sys.argv[1]))
except ValueError as exc:
    sys.exit(f"   stdout is not JSON: {exc}")
g = d["facts"]["gpu"]
print(f"   package {d['package']} ({d['status']}), gpu source {g['source']}, driver {g['driver_version']}")
print(f"   devices {[(x['name'], x['compute_capability']) for x in g['devices']]}")
print(f"   machine_needs {(d.get('machine_needs') or {}).get('text')}")
for r in d["reasons"]:
    print(f"   reason: {r['text']}")
for n in g["notes"]:
    print(f"   note: {n}")
PY
  else
    sed 's/^/   stdout: /' "$out/$name.out" | head -12
  fi
  sed 's/^/   stderr: /' "$out/$name.err"
}

normal_path=$PATH; hung_path="$hang/bin:$PATH"
hung_site="$hang/site${site:+:$site}"
run normal-json "$site" "$normal_path" --json
run normal-human "$site" "$normal_path"
run hung-json "$hung_site" "$hung_path" --json
run hung-human "$hung_site" "$hung_path"
# Every catalog package counts as published (--available), so that no flox query runs; the install
# must be refused before flox is started (exit 4), since the GPU was identified by its PCI device ID.
PYTHONPATH=$site "$exe" list --json | "$py" -c 'import json,sys; print("\n".join(v["package"] for v in json.load(sys.stdin)))' >"$out/available.txt"
run hung-install-refused "$hung_site" "$hung_path" --json --install --org acme --available "$out/available.txt"
run hung-cpu-only "$hung_site" "$hung_path" --json --cpu-only
echo "## leftovers: processes still running the fakes (none expected)"
pgrep -af "$hang" || echo "   none"
