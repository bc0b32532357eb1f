#!/bin/sh
# install.sh: installs the dispatch-cc binary for this machine from a GitHub release, after checking its
# SHA-256 against the release's SHA256SUMS. Nothing is installed unless every step succeeds: the download
# goes to a temporary folder, and the binary is moved into place in one rename.
#
#   curl -fsSL https://github.com/OWNER/REPO/releases/latest/download/install.sh | sh
#   sh install.sh [--dir DIR] [--version vX.Y.Z] [--repo OWNER/REPO]
#
# Options and environment:
#   --dir DIR          where to install (default: ~/.local/bin)
#   --version TAG      a release tag (default: the latest release)
#   --repo OWNER/REPO  the GitHub repository (default: the one this file was published from)
#   DISPATCH_CC_BASE_URL     take the release files from this URL instead of GitHub (mirrors, tests)
#   DISPATCH_CC_UNAME_S, DISPATCH_CC_UNAME_M   stand in for `uname -s` and `uname -m` (tests)
set -eu

# Set by the release workflow in the copy it publishes.
DEFAULT_REPO=""

repo="${DISPATCH_CC_REPO:-$DEFAULT_REPO}"
version="latest"
dir="${HOME:-}/.local/bin"
[ -n "${HOME:-}" ] || dir=""

die() {
  echo "install.sh: $*" >&2
  exit 1
}

while [ $# -gt 0 ]; do
  case "$1" in
    --dir) [ $# -ge 2 ] || die "--dir needs a folder"; dir="$2"; shift 2 ;;
    --dir=*) dir="${1#--dir=}"; shift ;;
    --version) [ $# -ge 2 ] || die "--version needs a tag, like v0.1.0"; version="$2"; shift 2 ;;
    --version=*) version="${1#--version=}"; shift ;;
    --repo) [ $# -ge 2 ] || die "--repo needs OWNER/REPO"; repo="$2"; shift 2 ;;
    --repo=*) repo="${1#--repo=}"; shift ;;
    -h | --help) sed -n '2,16p' "$0" 2>/dev/null | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done
[ -n "$dir" ] || die "HOME is not set: give the folder with --dir"

# The release asset for this OS and CPU, named by Deno's target triple.
os="${DISPATCH_CC_UNAME_S:-$(uname -s)}"
arch="${DISPATCH_CC_UNAME_M:-$(uname -m)}"
case "$arch" in
  x86_64 | amd64) cpu="x86_64" ;;
  aarch64 | arm64) cpu="aarch64" ;;
  *) cpu="" ;;
esac
exe=""
case "$os" in
  Linux) platform="unknown-linux-gnu" ;;
  Darwin) platform="apple-darwin" ;;
  MINGW* | MSYS* | CYGWIN* | Windows_NT) platform="pc-windows-msvc"; exe=".exe" ;;
  *) platform="" ;;
esac
if [ -z "$cpu" ] || [ -z "$platform" ] || { [ -n "$exe" ] && [ "$cpu" != "x86_64" ]; }; then
  die "no dispatch-cc binary for $os $arch (there are: Linux x86_64/aarch64, macOS x86_64/arm64, Windows x86_64); run it from source instead: npx -y deno@2.9.6 task dispatch-cc"
fi
asset="dispatch-cc-$cpu-$platform$exe"

if [ -n "${DISPATCH_CC_BASE_URL:-}" ]; then
  base="${DISPATCH_CC_BASE_URL%/}"
else
  [ -n "$repo" ] || die "which repository? give --repo OWNER/REPO (or use the install.sh attached to a release)"
  if [ "$version" = "latest" ]; then
    base="https://github.com/$repo/releases/latest/download"
  else
    base="https://github.com/$repo/releases/download/$version"
  fi
fi

if command -v curl >/dev/null 2>&1; then
  fetch() { curl -fsSL --retry 2 -o "$2" "$1"; }
elif command -v wget >/dev/null 2>&1; then
  fetch() { wget -q -O "$2" "$1"; }
else
  die "neither curl nor wget is installed: install one of them and run this again"
fi

if command -v sha256sum >/dev/null 2>&1; then
  sha256() { sha256sum "$1" | cut -d' ' -f1; }
elif command -v shasum >/dev/null 2>&1; then
  sha256() { shasum -a 256 "$1" | cut -d' ' -f1; }
elif command -v openssl >/dev/null 2>&1; then
  sha256() { openssl dgst -sha256 "$1" | sed 's/.*= *//'; }
else
  die "no SHA-256 tool (sha256sum, shasum or openssl) found: cannot verify the download"
fi

tmp="$(mktemp -d "${TMPDIR:-/tmp}/dispatch-cc-install.XXXXXX")" || die "cannot create a temporary folder"
staged=""
cleanup() {
  rm -rf "$tmp"
  [ -z "$staged" ] || rm -f "$staged"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "install.sh: downloading $asset from $base" >&2
fetch "$base/SHA256SUMS" "$tmp/SHA256SUMS" || die "could not download $base/SHA256SUMS; nothing was installed"
expected="$(awk -v a="$asset" '$2 == a || $2 == "*" a { print $1; exit }' "$tmp/SHA256SUMS")"
[ -n "$expected" ] || die "SHA256SUMS names no $asset; nothing was installed"
fetch "$base/$asset" "$tmp/$asset" || die "could not download $base/$asset; nothing was installed"
actual="$(sha256 "$tmp/$asset")"
if [ "$actual" != "$expected" ]; then
  die "checksum mismatch for $asset (expected $expected, got $actual): the download is damaged or was changed; nothing was installed"
fi
chmod 755 "$tmp/$asset"

# The binary must run here before it replaces anything (a wrong C library, a quarantined file...).
version_line="$("$tmp/$asset" --version 2>&1)" || die "the downloaded binary does not run on this machine: $version_line"

mkdir -p "$dir" || die "cannot create $dir"
target="$dir/dispatch-cc$exe"
# Copied beside the target, then renamed over it: an existing install stays whole until the last step.
staged="$dir/.dispatch-cc.install.$$"
cp "$tmp/$asset" "$staged" || die "cannot write in $dir; nothing was installed"
chmod 755 "$staged"
mv -f "$staged" "$target" || die "cannot replace $target; nothing was installed"
staged=""

echo "installed $target: $version_line"
case ":${PATH:-}:" in
  *":$dir:"*) next="dispatch-cc doctor" ;;
  *)
    echo "$dir is not on your PATH; add it, for example: echo 'export PATH=\"$dir:\$PATH\"' >> ~/.profile"
    next="$target doctor"
    ;;
esac
echo "Next: run \`$next\` to see what else a run needs (Claude Code, its login, the sandbox)."
