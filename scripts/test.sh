#!/usr/bin/env bash
# Installs what the test suite needs, then runs it: `sudo scripts/test.sh`.
#
# Debian packages: mosquitto, victoria-metrics, influxdb (real peers the
# tests start on free loopback ports), socat (a serial line for Modbus RTU
# tests), qemu-system-arm (boots the checkpoint station image), python3 with venv. PyPI packages (tests/peers/requirements.txt:
# pymodbus, an independent Modbus peer, with pyserial; aiosmtpd, an SMTP sink;
# jsonschema, for the Grafana dashboard schema check) go
# into .venv-test so the system Python is left alone. Extra arguments are
# passed to `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null; then
    echo "cargo not found: install a Rust toolchain (1.85 or newer) first" >&2
    exit 1
fi

missing=()
command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ] || missing+=(mosquitto)
command -v victoria-metrics >/dev/null || missing+=(victoria-metrics)
command -v influxd >/dev/null || missing+=(influxdb)
command -v socat >/dev/null || missing+=(socat)
command -v qemu-system-arm >/dev/null || missing+=(qemu-system-arm)
command -v python3 >/dev/null || missing+=(python3)
python3 -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3-venv)
command -v chromium >/dev/null || missing+=(chromium)
command -v chromedriver >/dev/null || missing+=(chromium-driver)
# The package test: lintian checks the .deb, systemd-analyze the unit,
# dpkg-shlibdeps (dpkg-dev) its dependencies, setpriv runs it unprivileged.
command -v lintian >/dev/null || missing+=(lintian)
command -v dpkg-shlibdeps >/dev/null || missing+=(dpkg-dev)
command -v systemd-analyze >/dev/null || missing+=(systemd)
command -v setpriv >/dev/null || missing+=(util-linux)
# Chinese text in the console's screenshots (`--locale zh-CN`).
[ -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || missing+=(fonts-wqy-microhei)
if ((${#missing[@]})); then
    echo "installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    # The tests start their own instances on free ports. Services the
    # packages started would only hold 1883/8086/8428, which the demo's
    # embedded broker and a real InfluxDB want.
    if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
        systemctl disable --now mosquitto influxdb victoria-metrics >/dev/null 2>&1 || true
    fi
fi

venv=.venv-test
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
if ! "$venv/bin/python" -c 'import pymodbus, serial, aiosmtpd, jsonschema' 2>/dev/null; then
    echo "installing PyPI packages from tests/peers/requirements.txt"
    "$venv/bin/pip" install -q --disable-pip-version-check -r tests/peers/requirements.txt
fi
export SITEWARDEN_PYTHON="$PWD/$venv/bin/python"

# The checkpoint station's firmware image for a Cortex-M3 (no_std proof, and
# the image the QEMU end-to-end test boots).
if command -v rustup >/dev/null; then
    rustup target list --installed | grep -qx thumbv7m-none-eabi || rustup target add thumbv7m-none-eabi
fi
(cd firmware/lm3s6965 && cargo build --release -q)
echo "station image (thumbv7m-none-eabi): $(python3 scripts/firmware_size.py firmware/lm3s6965/target/thumbv7m-none-eabi/release/station-image)"

cargo test --workspace "$@"
