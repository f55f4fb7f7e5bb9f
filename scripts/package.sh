#!/bin/sh
# Builds the Debian package of sitewarden for a site's gateway PC.
#
#   scripts/package.sh                 # for this machine (amd64)
#   scripts/package.sh --arch arm64    # cross-built for an arm64 gateway
#
# Installs what it needs when missing (run as root on Debian): cargo-deb
# from crates.io, dpkg-dev; for arm64 the Debian cross toolchain
# (gcc-aarch64-linux-gnu) and the Rust target. Leaves the package in
# target/debian/ (amd64) or target/aarch64-unknown-linux-gnu/debian/ and
# prints its path last.
set -eu
cd "$(dirname "$0")/.."

arch=amd64
if [ "${1:-}" = "--arch" ]; then arch="${2:?--arch amd64|arm64}"; fi

apt_install() {
    missing=""
    for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
    if [ -n "$missing" ]; then
        apt-get update -qq
        # shellcheck disable=SC2086
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing
    fi
}

apt_install dpkg-dev gzip
command -v cargo-deb >/dev/null 2>&1 || cargo install cargo-deb --locked

# The completions and man page come from the CLI definition itself.
cargo build --release --no-default-features -p sitewarden
gen=daemon/packaging/generated
mkdir -p "$gen"
target/release/sitewarden completions bash > "$gen/sitewarden.bash"
target/release/sitewarden completions zsh > "$gen/_sitewarden"
target/release/sitewarden completions fish > "$gen/sitewarden.fish"
target/release/sitewarden manpage | gzip -9n > "$gen/sitewarden.1.gz"

case "$arch" in
amd64)
    cargo deb -p sitewarden --no-build
    deb=$(ls -t target/debian/sitewarden_*_amd64.deb | head -n 1)
    ;;
arm64)
    apt_install gcc-aarch64-linux-gnu libc6-dev-arm64-cross
    rustup target add aarch64-unknown-linux-gnu
    export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
    export CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc
    export AR_aarch64_unknown_linux_gnu=aarch64-linux-gnu-ar
    cargo deb -p sitewarden --target aarch64-unknown-linux-gnu
    deb=$(ls -t target/aarch64-unknown-linux-gnu/debian/sitewarden_*_arm64.deb | head -n 1)
    ;;
*)
    echo "unknown architecture $arch: amd64 or arm64" >&2
    exit 2
    ;;
esac
echo "$deb"
