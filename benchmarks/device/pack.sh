#!/usr/bin/env bash
# Packs the benches into .devbundle/ (git-ignored) for a machine with a GPU but no npm, maybe no
# node: the node binary (xz), the CLI bundled into one file, and Dawn (the webgpu package's
# dawn.node). `run.sh` inside it runs the WebGPU benches there; README.md here says how.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
out=.devbundle
rm -rf "$out"
mkdir -p "$out/node_modules/webgpu/dist/linux-x64"
npx turbo run build --filter=@dynhead/cli... --filter=@dynhead/benchmarks... --output-logs=errors-only
# tfjs and the packages go into one file; Dawn stays a native module beside it
node_modules/.bin/esbuild benchmarks/device/entry.mjs --bundle --platform=node --format=esm \
  --outfile="$out/dynhead.mjs" --external:webgpu --log-level=warning \
  --banner:js="import { createRequire as dynheadRequire } from 'node:module'; const require = dynheadRequire(import.meta.url);"
mkdir -p "$out/node_modules/@dynhead/benchmarks"
echo '{ "name": "@dynhead/benchmarks", "type": "module", "main": "index.js" }' >"$out/node_modules/@dynhead/benchmarks/package.json"
echo 'export const runBench = (...args) => globalThis.dynheadBenchmarks.runBench(...args);' >"$out/node_modules/@dynhead/benchmarks/index.js"
cp node_modules/webgpu/package.json node_modules/webgpu/index.js "$out/node_modules/webgpu/"
cp node_modules/webgpu/dist/linux-x64/dawn.node "$out/node_modules/webgpu/dist/linux-x64/"
xz -T0 -6 -c "$(readlink -f "$(command -v node)")" >"$out/node.xz"
cp benchmarks/device/run.sh benchmarks/device/sweep.sh benchmarks/device/node.sh "$out/"
# one golden file (the D4 head, 9.5 MB) for run.sh's parity step: the GPU's numbers checked, not only
# timed; the D8 file would take the carried files past the device tool's 64 MiB
golden=../shared/golden/fcos-dynhead-d4-c64.safetensors
if [ -f "$golden" ]; then
  mkdir -p "$out/golden"
  cp "$golden" "$out/golden/"
fi
git rev-parse --short HEAD >"$out/commit"
du -sh "$out"
