#!/usr/bin/env bash
# Runs on the GPU machine from the repository root: bash .devbundle/run.sh [--local]
# Writes logs and JSON to $OUT (or ./out-device). --local: on this machine, with SwiftShader and the
# quick sizes, to check that the bundle works outside the workspace.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${OUT:-$PWD/out-device}
mkdir -p "$out"
. "$here/node.sh"
dynhead=("$node_bin" "$here/dynhead.mjs")
{
  echo "commit $(cat "$here/commit")"
  date -u
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>/dev/null || echo 'no nvidia-smi'
  "$node_bin" --version
} >"$out/machine.txt" 2>&1
if [ "${1:-}" = "--local" ]; then
  export VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json
  sizes=(--quick)
  heads='FCOS,D8 Mid'
  batches=1
else
  sizes=()
  heads='FCOS,D4 Mid,D8 Low,D8 Mid,D8 High,Fix D8'
  batches=1,8
fi
# each step on its own, so that one failing still leaves the others' results
# (name, seconds, command...): the GPU lease is short, so each step has its own budget, the goal's
# head bench first; STEP_TIMEOUT overrides them all
step() {
  local name=$1 limit=${STEP_TIMEOUT:-$2}
  shift 2
  echo "== $name: $*" | tee -a "$out/log.txt"
  timeout "$limit" "$@" >>"$out/log.txt" 2>&1
  echo "== $name: exit $?" | tee -a "$out/log.txt"
}
step backends 40 "${dynhead[@]}" backends --backend webgpu
# the head's numbers on this GPU against the official code's (the device's own kernel forms)
if [ -f "$here/golden/fcos-dynhead-d4-c64.safetensors" ]; then
  step parity 60 "${dynhead[@]}" parity --golden "$here/golden/fcos-dynhead-d4-c64.safetensors" --backend webgpu --no-gradients
fi
step head 240 "${dynhead[@]}" bench head --backend webgpu "${sizes[@]}" --only "$heads" --batch "$batches" --repeats 5 --out "$out"
# one training step of the tiny FCOS on webgpu: what the fused training kernels (GroupNorm, GeReTanH,
# SGD, the cost sums: 4109 dispatches a BCCD-sized step, was 7970) are worth where dispatches cost
step train-step 60 "${dynhead[@]}" bench train-step --backend webgpu --quick --repeats 5 --out "$out"
# what packing the five levels (one kernel per step for all) is worth on a GPU: the two heads of the
# goal with every block level by level, as before the sixth stop (results in their own directory)
# what running the two towers' depth nodes at once is worth there: the same with the towers one by one
step head-towers-apart 90 "${dynhead[@]}" bench head --backend webgpu "${sizes[@]}" --only 'FCOS,D8 Mid' --batch "$batches" --repeats 5 --towers-apart --out "$out/towers-apart"
step head-levels-apart 60 "${dynhead[@]}" bench head --backend webgpu "${sizes[@]}" --only 'FCOS,D8 Mid' --batch 1 --repeats 5 --levels-apart --out "$out/levels-apart"
step sparse-conv 60 "${dynhead[@]}" bench sparse-conv --backend webgpu "${sizes[@]}" --out "$out"
tail -n 40 "$out/log.txt"
