#!/usr/bin/env bash
# The demo in one command: `sudo scripts/demo.sh` (extra arguments go to
# `sitewarden demo`, e.g. `--console-every 5`).
#
# The demo's embedded MQTT broker is a mosquitto the daemon configures and
# runs itself, so the Debian package `mosquitto` is installed if missing.
# The package's own service would hold 127.0.0.1:1883, where the demo's
# broker listens: when this script installs the package it also stops and
# disables that service (nothing used it before).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null; then
    echo "cargo not found: install a Rust toolchain (1.85 or newer) first" >&2
    exit 1
fi
if ! command -v mosquitto >/dev/null && [ ! -x /usr/sbin/mosquitto ]; then
    echo "installing the Debian package mosquitto (the demo's embedded broker)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mosquitto >/dev/null
    if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
        systemctl disable --now mosquitto >/dev/null 2>&1 || true
    fi
fi
exec cargo run --release -p sitewarden -- demo "$@"
