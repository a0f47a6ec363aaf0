#!/usr/bin/env bash
# Everything a fresh clone needs: npm packages, Debian chromium (SwiftShader for WebGPU in Node,
# and the browser for the browser tests), and a build of every package. Idempotent and quiet
# when there is nothing to do.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -e /usr/lib/chromium/vk_swiftshader_icd.json ] || ! command -v chromium >/dev/null 2>&1 || ! ldconfig -p | grep -q libvulkan.so.1; then
  echo "setup: installing Debian chromium (SwiftShader WebGPU, headless browser tests)"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium libvulkan1 >/dev/null
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm install"
  npm install --no-audit --no-fund --loglevel=error
fi

echo "setup: building packages"
npx turbo run build --output-logs=errors-only
