#!/usr/bin/env bash
# Versioned releases (changesets): every public package under packages/ is versioned and published
# on its own.
#
#   npm run release -- --dry-run   pending version bumps, a fresh build, and `npm publish --dry-run`
#                                  for every public package (name@version, tarball contents)
#   npm run release                build, then `changeset publish` (publishes each package whose
#                                  version is not on the registry yet, and tags it)
#
# The usual flow: add a changeset with each user-visible change (`npx changeset`), then
# `npm run version-packages` (bumps versions and writes CHANGELOGs), commit, `npm run release`.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
  sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
}

dry_run=0
for arg in "$@"; do
  case "$arg" in
    --dry-run) dry_run=1 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "release: unknown argument '$arg' (expected --dry-run or --help)" >&2; exit 2 ;;
  esac
done

# Public packages: packages/*/package.json without "private": true.
public_packages=()
for manifest in packages/*/package.json; do
  if node -e 'process.exit(require(process.argv[1]).private ? 1 : 0)' "./$manifest"; then
    public_packages+=("$(dirname "$manifest")")
  fi
done
if [ "${#public_packages[@]}" -eq 0 ]; then
  echo "release: no public package under packages/" >&2
  exit 1
fi

pending=$(find .changeset -maxdepth 1 -name '*.md' ! -name 'README.md' | wc -l)
echo "release: ${#public_packages[@]} public packages, $pending pending changeset(s)"
if [ "$pending" -gt 0 ]; then
  # What `npm run version-packages` would bump, package by package.
  npx changeset status --verbose || true
fi

echo "release: building"
npx turbo run build --filter='./packages/*' --output-logs=errors-only

if [ "$dry_run" = 1 ]; then
  # npm rewrites a manifest it finds wrong ("auto-corrected some errors") and may drop fields on the
  # way (a "./"-prefixed bin, under npm 11): the dry run fails on that, naming the package.
  corrected=()
  for dir in "${public_packages[@]}"; do
    id=$(node -e 'const p = require(process.argv[1]); console.log(`${p.name}@${p.version}`)' "./$dir/package.json")
    echo
    echo "=== would publish $id ($dir)"
    out=$(cd "$dir" && npm publish --dry-run --ignore-scripts --access public 2>&1 | grep -v '^npm warn Unknown user config' | sed 's/^npm notice //')
    echo "$out"
    if grep -q 'auto-corrected' <<<"$out"; then corrected+=("$dir/package.json"); fi
  done
  echo
  if [ "${#corrected[@]}" -gt 0 ]; then
    echo "release: npm auto-corrected ${corrected[*]} (see its warnings above; 'npm pkg fix' in that folder shows the fix)" >&2
    exit 1
  fi
  if [ "$pending" -gt 0 ]; then
    echo "release: dry run done; $pending changeset(s) are pending: run 'npm run version-packages' and commit before a real release"
  else
    echo "release: dry run done; nothing was published"
  fi
  exit 0
fi

if [ "$pending" -gt 0 ]; then
  echo "release: $pending changeset(s) are pending; run 'npm run version-packages', commit, then release" >&2
  exit 1
fi
npx changeset publish
