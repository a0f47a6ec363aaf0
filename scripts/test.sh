#!/usr/bin/env bash
# The one command that runs every test from a fresh clone (README, .ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export VK_ICD_FILENAMES="${VK_ICD_FILENAMES:-/usr/lib/chromium/vk_swiftshader_icd.json}"
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
chmod 700 "$XDG_RUNTIME_DIR"
npx vitest run "$@"
