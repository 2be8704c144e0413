#!/usr/bin/env bash
# Works out which release to install for this runner and where it is cached; writes
# version, target and dir to $GITHUB_OUTPUT. "latest" is resolved to a tag here, so the
# cache key names an exact version and a new release is picked up on the next run.
#
# Environment: INPUT_VERSION (tag such as v0.2.0, or latest), GOTRUE_SYNC_REPO (owner/name),
# RUNNER_OS, RUNNER_ARCH, RUNNER_TOOL_CACHE, GITHUB_OUTPUT, GH_TOKEN (for latest).
set -euo pipefail

repo="${GOTRUE_SYNC_REPO:?GOTRUE_SYNC_REPO is not set}"
version="${INPUT_VERSION:-latest}"

case "${RUNNER_OS:-}/${RUNNER_ARCH:-}" in
  Linux/X64) target=x86_64-unknown-linux-musl ;;
  Linux/ARM64) target=aarch64-unknown-linux-musl ;;
  macOS/X64) target=x86_64-apple-darwin ;;
  macOS/ARM64) target=aarch64-apple-darwin ;;
  *)
    echo "::error::gotrue-sync's action runs on Linux and macOS runners (x64, arm64), not ${RUNNER_OS:-?}/${RUNNER_ARCH:-?}"
    exit 1
    ;;
esac

if [ "$version" = latest ]; then
  version="$(gh api "repos/$repo/releases/latest" --jq .tag_name)"
  [ -n "$version" ] || { echo "::error::no release of $repo found"; exit 1; }
fi
case "$version" in
  v*) ;;
  *) version="v$version" ;;
esac

dir="${RUNNER_TOOL_CACHE:?RUNNER_TOOL_CACHE is not set}/gotrue-sync/$version/$target"
{
  echo "version=$version"
  echo "target=$target"
  echo "dir=$dir"
} >>"${GITHUB_OUTPUT:?GITHUB_OUTPUT is not set}"
