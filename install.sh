#!/bin/sh
# Installs a released gotrue-sync binary: downloads the archive for this machine and the
# release's SHA256SUMS, refuses to install unless the archive's SHA-256 matches, then copies
# the binary into a directory on PATH.
#
#   curl -fsSLO https://github.com/gotrue-sync/gotrue-sync/releases/latest/download/install.sh
#   sh install.sh                      # latest release into ~/.local/bin
#   sh install.sh --version v0.2.0 --to /usr/local/bin
#
# Environment (each also a flag): GOTRUE_SYNC_VERSION (tag, or "latest"),
# GOTRUE_SYNC_INSTALL_DIR, GOTRUE_SYNC_TARGET (a Rust target triple, to override detection),
# GOTRUE_SYNC_REPO (owner/name), GOTRUE_SYNC_DOWNLOAD_URL (where the release's files are:
# an https:// or file:// base, for mirrors and air-gapped installs).
#
# Build provenance can be checked as well, with the GitHub CLI:
#   gh attestation verify gotrue-sync-<target>.tar.gz --repo gotrue-sync/gotrue-sync
set -eu

repo="${GOTRUE_SYNC_REPO:-gotrue-sync/gotrue-sync}"
version="${GOTRUE_SYNC_VERSION:-latest}"
install_dir="${GOTRUE_SYNC_INSTALL_DIR:-${HOME:-/root}/.local/bin}"
target="${GOTRUE_SYNC_TARGET:-}"
download_url="${GOTRUE_SYNC_DOWNLOAD_URL:-}"

fail() {
  echo "install.sh: $*" >&2
  exit 1
}

usage() {
  cat <<'USAGE'
usage: install.sh [--version TAG|latest] [--to DIR] [--target TRIPLE]
Downloads the gotrue-sync release archive for this machine, verifies its SHA-256 against
the release's SHA256SUMS and installs the binary (default: ~/.local/bin).
USAGE
}

while [ $# -gt 0 ]; do
  case "$1" in
    --version) [ $# -ge 2 ] || fail "--version needs a value"; version="$2"; shift 2 ;;
    --to) [ $# -ge 2 ] || fail "--to needs a directory"; install_dir="$2"; shift 2 ;;
    --target) [ $# -ge 2 ] || fail "--target needs a target triple"; target="$2"; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) fail "unknown argument: $1 (see --help)" ;;
  esac
done

# The release's asset for this operating system and CPU. Linux gets the static musl build,
# which runs on any distribution.
detect_target() {
  os="$(uname -s)"
  arch="$(uname -m)"
  case "$arch" in
    x86_64 | amd64) arch=x86_64 ;;
    aarch64 | arm64) arch=aarch64 ;;
    *) fail "no prebuilt binary for CPU $arch; install from source: cargo install --locked gotrue-sync" ;;
  esac
  case "$os" in
    Linux) echo "$arch-unknown-linux-musl" ;;
    Darwin) echo "$arch-apple-darwin" ;;
    *) fail "no prebuilt binary for $os from this script; on Windows download gotrue-sync-x86_64-pc-windows-msvc.zip from the release page" ;;
  esac
}

# fetch URL FILE: https through curl or wget; file:// (a mirror on disk) by copying.
fetch() {
  case "$1" in
    file://*) cp "${1#file://}" "$2" || fail "cannot read $1" ;;
    *)
      if command -v curl >/dev/null 2>&1; then
        curl --proto '=https' --tlsv1.2 -fsSL --retry 3 -o "$2" "$1" || fail "download failed: $1"
      elif command -v wget >/dev/null 2>&1; then
        wget -q -O "$2" "$1" || fail "download failed: $1"
      else
        fail "neither curl nor wget is installed"
      fi
      ;;
  esac
}

sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d ' ' -f 1
  elif command -v shasum >/dev/null 2>&1; then
    shasum -a 256 "$1" | cut -d ' ' -f 1
  else
    fail "neither sha256sum nor shasum is installed: cannot verify the download"
  fi
}

# verify_checksum ARCHIVE SUMS NAME: the line for NAME in SUMS must carry ARCHIVE's hash.
verify_checksum() {
  expected="$(awk -v name="$3" '$2 == name || $2 == "*" name { print $1; exit }' "$2")"
  [ -n "$expected" ] || fail "SHA256SUMS has no entry for $3: refusing to install an unverified binary"
  actual="$(sha256_of "$1")"
  if [ "$actual" != "$expected" ]; then
    fail "checksum mismatch for $3: expected $expected, got $actual; nothing was installed"
  fi
}

[ -n "$target" ] || target="$(detect_target)"
asset="gotrue-sync-$target.tar.gz"
if [ -z "$download_url" ]; then
  if [ "$version" = latest ]; then
    download_url="https://github.com/$repo/releases/latest/download"
  else
    download_url="https://github.com/$repo/releases/download/$version"
  fi
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT INT TERM

fetch "$download_url/$asset" "$work/$asset"
fetch "$download_url/SHA256SUMS" "$work/SHA256SUMS"
verify_checksum "$work/$asset" "$work/SHA256SUMS" "$asset"

tar -xzf "$work/$asset" -C "$work"
binary="$work/gotrue-sync-$target/gotrue-sync"
[ -f "$binary" ] || fail "$asset does not contain gotrue-sync-$target/gotrue-sync"
mkdir -p "$install_dir"
# Copy then rename, so a running gotrue-sync is never overwritten half-way.
cp "$binary" "$install_dir/.gotrue-sync.new"
chmod 755 "$install_dir/.gotrue-sync.new"
mv -f "$install_dir/.gotrue-sync.new" "$install_dir/gotrue-sync"
echo "installed gotrue-sync ($version, $target, sha256 verified) to $install_dir/gotrue-sync"
case ":${PATH:-}:" in
  *":$install_dir:"*) ;;
  *) echo "note: $install_dir is not on PATH" ;;
esac
