#!/usr/bin/env bash
# Runs on the GPU machine from the repository root, after pack.sh: bash .devbundle/sweep.sh
# One knob of the kernels' GPU form at a time (`--webgpu-tuning gpu:KNOB=VALUE`, the knobs of
# @dynhead/sparse-conv's WebGPUTuningOverrides), FCOS against D8 Mid at batch 1 and 8, each run's
# table and GPU time by program appended to $OUT/sweep.txt; the defaults run first and last, so a
# drifting machine shows. VARIANTS, HEADS and BATCHES override what runs; EXTRA adds flags
# (EXTRA=--quick checks the script here, on SwiftShader); a variant TUNING+NAME=VALUE also sets a
# tfjs flag (`--tfjs-flags`), e.g. gpu+WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE=64, and one ending in
# @NAME=VALUE sets an environment variable for its run, e.g. gpu@DYNHEAD_BIND_GROUP_CACHE=0 (the
# bind group cache of @dynhead/runtime off); a part after % adds a bench flag, e.g.
# gpu%--towers-apart (the two towers' blocks one tower after the other; gpu:mergeScaleNodes=false
# keeps only their scale nodes apart). DISPATCHES=1 first records every dispatch's
# GPU time of the heads with the defaults (JSON in $OUT/dispatches, gpuDispatches of each row).
set -u
here=$(cd "$(dirname "$0")" && pwd)
out=${OUT:-$PWD/out-device}
mkdir -p "$out"
. "$here/node.sh"
if [ "${DISPATCHES:-0}" = 1 ]; then
  timeout "${STEP_TIMEOUT:-60}" "$node_bin" "$here/dynhead.mjs" bench head --backend webgpu --only "${HEADS:-FCOS,D8 Mid}" \
    --batch "${BATCHES:-1,8}" --repeats 5 --dispatch-times --out "$out/dispatches" ${EXTRA:-} 2>&1 | grep -a '^| [A-Z]' | cut -d'|' -f2-5,14,15
fi
# by default the levers not yet measured on a GPU (the towers merged), then older knobs
variants=${VARIANTS:-gpu gpu:mergeScaleNodes=false gpu%--towers-apart gpu:gateLanes=16 gpu:channelQuads=2 gpu}
for v in $variants; do
  echo "=== $v" >>"$out/sweep.txt"
  # a variant TUNING+FLAGS also sets tfjs flags: gpu+WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE=64; and
  # TUNING@NAME=VALUE an environment variable: gpu@DYNHEAD_BIND_GROUP_CACHE=0
  bench_flag=()
  base=${v%%\%*}
  [ "$base" != "$v" ] && bench_flag=("${v#*%}")
  spec=${base%%@*}
  env_set=()
  [ "$spec" != "$base" ] && env_set=("${base#*@}")
  tuning=${spec%%+*}
  flags=()
  [ "$tuning" != "$spec" ] && flags=(--tfjs-flags "${spec#*+}")
  env "${env_set[@]}" timeout "${STEP_TIMEOUT:-60}" "$node_bin" "$here/dynhead.mjs" bench head --backend webgpu --webgpu-tuning "$tuning" "${flags[@]}" \
    --only "${HEADS:-FCOS,D8 Mid}" --batch "${BATCHES:-1,8}" --repeats 5 --no-write "${bench_flag[@]}" ${EXTRA:-} 2>&1 |
    grep -a '^| \|^- \|^Goal' >>"$out/sweep.txt"
  # the rows in short: head | batch | median ms | vs FCOS | GPU busy ms | host ms
  echo "=== $v"
  sed -n "/^=== $v\$/,/^===/p" "$out/sweep.txt" | grep -a '^| [A-Z]' | cut -d'|' -f2-5,14,15
done
