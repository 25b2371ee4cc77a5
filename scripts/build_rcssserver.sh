#!/usr/bin/env bash
# Build the official rcssserver 19.0.0 (RoboCup soccer simulator) from its source tarball into a
# cache directory outside the repository, and print the path of the binary on the last line.
#
#   RCSSSERVER_TARBALL  the source tarball (default: ../shared/third_party/rcssserver-19.0.0.tar.gz,
#                       relative to the repository root; or a user's download from
#                       https://github.com/rcsoccersim/rcssserver/releases)
#   RCSSSERVER_PREFIX   where to install (default: ${XDG_CACHE_HOME:-$HOME/.cache}/mava/rcssserver-19.0.0)
#   RCSSSERVER_JOBS     parallel compile jobs (default: nproc)
#
# An rcssserver already on PATH, or a previous build in the prefix, is reused and nothing is
# built. Missing build dependencies (g++, make, cmake, flex with its FlexLexer.h, bison, zlib,
# Boost.System) are installed from Debian's packages with apt-get (needs root or sudo).
set -euo pipefail

REPO="$(cd "$(dirname "$0")/.." && pwd)"
VERSION=19.0.0
TARBALL="${RCSSSERVER_TARBALL:-$REPO/../shared/third_party/rcssserver-$VERSION.tar.gz}"
PREFIX="${RCSSSERVER_PREFIX:-${XDG_CACHE_HOME:-$HOME/.cache}/mava/rcssserver-$VERSION}"
JOBS="${RCSSSERVER_JOBS:-$(nproc)}"
BIN="$PREFIX/bin/rcssserver"

if [ -x "$BIN" ]; then
    echo "rcssserver $VERSION: cached build reused"
    echo "$BIN"
    exit 0
fi
if command -v rcssserver >/dev/null 2>&1; then
    echo "rcssserver: found on PATH, nothing to build"
    command -v rcssserver
    exit 0
fi
if [ ! -f "$TARBALL" ]; then
    echo "build_rcssserver: no tarball at $TARBALL; download rcssserver-$VERSION.tar.gz from" \
         "https://github.com/rcsoccersim/rcssserver/releases and set RCSSSERVER_TARBALL=<path>" >&2
    exit 1
fi

# build dependencies, from Debian's packages when missing
missing=()
for pkg in g++ make cmake flex libfl-dev bison zlib1g-dev libboost-system-dev; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "build_rcssserver: installing ${missing[*]} with apt-get"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/rcssserver-build.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
start=$SECONDS
tar -xzf "$TARBALL" -C "$WORK"
SRC="$(find "$WORK" -mindepth 1 -maxdepth 1 -type d | head -n 1)"
mkdir -p "$SRC/build"
cd "$SRC/build"
# the installed binary finds its shared libraries (librcssconfparser, ...) through its RPATH
cmake .. -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$PREFIX.partial" \
    -DCMAKE_INSTALL_RPATH="$PREFIX/lib" >"$WORK/cmake.log" 2>&1 \
    || { tail -n 30 "$WORK/cmake.log" >&2; exit 1; }
make -j"$JOBS" >"$WORK/make.log" 2>&1 || { tail -n 30 "$WORK/make.log" >&2; exit 1; }
rm -rf "$PREFIX.partial"
make install >"$WORK/install.log" 2>&1 || { tail -n 30 "$WORK/install.log" >&2; exit 1; }
# publish the finished build in one step so an interrupted build is never taken for a cached one
rm -rf "$PREFIX"
mv "$PREFIX.partial" "$PREFIX"
"$BIN" --version >/dev/null 2>&1 </dev/null || true
echo "rcssserver $VERSION: built in $((SECONDS - start)) s"
echo "$BIN"
