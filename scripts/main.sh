#!/usr/bin/env bash
# The main job from a fresh clone: set up, then train FCOS with the dynamic head on the bundled
# BCCD data (../shared/datasets/bccd) on the default backend and evaluate it on the val split.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export VK_ICD_FILENAMES="${VK_ICD_FILENAMES:-/usr/lib/chromium/vk_swiftshader_icd.json}"
npm run start --workspace examples/train-bccd -- "$@"
