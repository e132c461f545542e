#!/usr/bin/env bash
# What the lead runs on the GPU machine (device tool) at the end of a round: the probe against the
# previous release, TVSELECT_ROOT=/, the answer, verify with the machine's own torch, and start-up
# ratios of the previous release and this one in one session. Wheels: .whl (this tree and its
# dependencies, py3.12 manylinux), .whl-old (the previous tvselect wheel alone).
set -u
out=${OUT:-/tmp/out}; mkdir -p "$out"
python3 -m pip install -q --no-index --no-deps --target /tmp/new .whl/*.whl 2>/dev/null
mkdir -p /tmp/oldwhl && cp .whl/*.whl /tmp/oldwhl/ && rm /tmp/oldwhl/tvselect-*.whl && cp .whl-old/*.whl /tmp/oldwhl/
python3 -m pip install -q --no-index --no-deps --target /tmp/old /tmp/oldwhl/*.whl 2>/dev/null
new() { PYTHONPATH=/tmp/new /tmp/new/bin/tvselect "$@"; }
old() { PYTHONPATH=/tmp/old /tmp/old/bin/tvselect "$@"; }
echo "## probe --json: previous release, this one, this one with TVSELECT_ROOT=/"
old probe --json >"$out/probe-old.json"; echo "old rc=$?"
new probe --json >"$out/probe-new.json"; echo "new rc=$?"
TVSELECT_ROOT=/ new probe --json >"$out/probe-root.json"; echo "root rc=$?"
python3 - "$out" <<'PY'
import json, sys
d = sys.argv[1]
old, new, root = (json.load(open(f"{d}/probe-{n}.json")) for n in ("old", "new", "root"))
print("probe --json identical to the previous release:", old == new)
print("TVSELECT_ROOT=/ identical to no root:", new == root)
PY
echo "## tvselect (human)"; new; echo "rc=$?"
echo "## tvselect --json | keys"; new --json >"$out/answer.json"; echo "rc=$?"
python3 -c "import json,sys; d=json.load(open('$out/answer.json')); print(d['package'], d['gpu_match'], d['rule'], d['published'])"
echo "## tvselect --explain (head)"; new --explain | head -20
echo "## tvselect --nfd"; new --nfd /tmp/tvselect.labels; echo "rc=$?"; cat /tmp/tvselect.labels
echo "## tvselect plan on the probe's output"; new plan "$out/probe-new.json"; echo "rc=$?"
echo "## verify --python python3 (the machine's torch)"; new verify --python python3 --json >"$out/verify.json"; echo "rc=$?"
python3 -c "import json; d=json.load(open('$out/verify.json')); print('ok', d['ok']); [print(' ', c['name'], c['ok'], c.get('code'), c['detail'][:90]) for c in d['checks']]"
echo "## import time, human path"
PYTHONPATH=/tmp/new python3 -X importtime /tmp/new/bin/tvselect >/dev/null 2>"$out/importtime-human.txt"
sort -t'|' -k2 -n -r "$out/importtime-human.txt" | head -12
echo "## start-up: this tree and the previous release, interleaved in the same rounds"
PYTHONPATH=/tmp/new python3 benchmarks/startup.py --rounds "${ROUNDS:-21}" --tvselect /tmp/new/bin/tvselect \
  --baseline /tmp/old/bin/tvselect --baseline-path /tmp/old | tail -22
