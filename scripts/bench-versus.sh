#!/usr/bin/env bash
# Side by side (issue 16): the same libmodbus device farm (one Modbus TCP
# server per device on loopback), polled in turn by a C loop on libmodbus,
# by sitewarden as a user runs it (`sitewarden run`: API and embedded broker
# on, no rule packs, no InfluxDB) and by a pymodbus loop. For each load it
# prints CPU (% of a core), CPU-seconds per million registers, the ratio to
# the C loop, and RSS at the end of the window and at its highest since the
# poller started (the daemon's own; its broker is a separate process, shown
# apart). CPU is `perf stat`'s task-clock over the window: every thread,
# those that ended in it too, to the nanosecond (`/proc/<pid>/stat` counts
# in 10 ms ticks, which is the C loop's whole cost at the small site).
#
#   sudo scripts/bench-versus.sh            # WARMUP=15 WINDOW=60 seconds
#
# Needs gcc, pkg-config, libmodbus-dev and perf (installed if missing),
# mosquitto and the test venv's pymodbus (scripts/test.sh makes .venv-test).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
warmup=${WARMUP:-15}
window=${WINDOW:-60}
out=$root/target/bench-versus
mkdir -p "$out"

missing=()
command -v gcc >/dev/null || missing+=(gcc)
command -v pkg-config >/dev/null || missing+=(pkg-config)
pkg-config --exists libmodbus 2>/dev/null || missing+=(libmodbus-dev)
command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ] || missing+=(mosquitto)
command -v perf >/dev/null || missing+=(linux-perf)
if ((${#missing[@]})); then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
python=${SITEWARDEN_PYTHON:-$root/.venv-test/bin/python}
if ! "$python" -c 'import pymodbus' 2>/dev/null; then
    echo "pymodbus not found in $python: run scripts/test.sh once (it makes .venv-test)" >&2
    exit 1
fi
for tool in farm poller; do
    gcc -O2 -Wall -o "$out/$tool" "scripts/bench-versus/$tool.c" $(pkg-config --cflags --libs libmodbus)
done
cargo build --release -q -p sitewarden
sitewarden=$root/target/release/sitewarden

# RSS in kB of a process, now and at its highest so far.
rss() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
hwm() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }
broker_of() { pgrep -P "$1" mosquitto || true; }

# A site file: `devices` devices of `registers` holding registers each,
# polled every second, on the farm at port `first`.
site() {
    local dir=$1 first=$2 devices=$3 registers=$4
    mkdir -p "$dir/profiles"
    {
        echo 'description = "Benchmark device"'
        local r d
        for ((r = 0; r < registers; r++)); do
            printf '\n[[points]]\nname = "r%d"\nkind = "holding"\naddress = %d\n' "$r" "$r"
        done
    } >"$dir/profiles/bench.toml"
    {
        printf 'profiles_dir = "profiles"\n\n[site]\nid = "bench"\nname = "Bench"\ntime_zone = "UTC"\n\n'
        printf '[api]\nlisten = "127.0.0.1:18080"\n\n[mqtt]\nembedded_listen = "127.0.0.1:18830"\n\n'
        printf '[storage]\ndata_dir = "%s/data"\n' "$dir"
        for ((d = 0; d < devices; d++)); do
            printf '\n[[devices]]\nid = "d%d"\nprofile = "bench"\ntransport = { kind = "modbus-tcp", host = "127.0.0.1:%d" }\npoll_interval = "1s"\n' \
                "$d" "$((first + d))"
        done
    } >"$dir/site.toml"
}

# Measures process `pid` over the window after the warm-up; prints
# "cpu_ms rss_kb peak_kb broker_rss_kb". The peak is the highest of RSS
# sampled every 100 ms from the start and the kernel's own high-water mark.
measure() {
    local pid=$1 samples
    samples=$(mktemp)
    (while [ -e "/proc/$pid" ]; do rss "$pid" 2>/dev/null >>"$samples" || true; sleep 0.1; done) &
    local sampler=$!
    sleep "$warmup"
    local cpu_ms
    cpu_ms=$(perf stat -e task-clock -x, -p "$pid" -- sleep "$window" 2>&1 >/dev/null |
        awk -F, '/task-clock/ {print $1}')
    local now peak broker
    now=$(rss "$pid")
    peak=$( (cat "$samples"; hwm "$pid") | sort -n | tail -1)
    kill "$sampler" 2>/dev/null || true
    rm -f "$samples"
    broker=$(broker_of "$pid")
    echo "$cpu_ms $now $peak $([ -n "$broker" ] && rss "$broker" || echo 0)"
}

echo "| load | poller | CPU, % of a core | CPU-s per million registers | × C loop | RSS at the end (peak) |"
echo "|---|---|---|---|---|---|"
first=17000
for load in "20 125" "200 50"; do
    read -r devices registers <<<"$load"
    "$out/farm" "$first" "$devices" >/dev/null &
    farm=$!
    sleep 1
    per_window=$((devices * registers * window))
    c_cost=""
    for poller in "C loop (libmodbus)" sitewarden "pymodbus loop"; do
        case $poller in
        C*) "$out/poller" "$first" "$devices" "$registers" $((warmup + window + 5)) >/dev/null & ;;
        sitewarden)
            dir=$(mktemp -d)
            site "$dir" "$first" "$devices" "$registers"
            "$sitewarden" run --config "$dir/site.toml" >/dev/null 2>&1 &
            ;;
        pymodbus*) "$python" scripts/bench-versus/poller.py "$first" "$devices" "$registers" $((warmup + window + 5)) >/dev/null & ;;
        esac
        pid=$!
        read -r cpu_ms rss_kb peak_kb broker_kb <<<"$(measure "$pid")"
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        cost=$(awk -v t="$cpu_ms" -v n="$per_window" 'BEGIN {printf "%.3f", t / 1000 / (n / 1e6)}')
        [ -z "$c_cost" ] && c_cost=$cost
        ratio=$(awk -v a="$cost" -v c="$c_cost" 'BEGIN {printf "%.2f", a / c}')
        percent=$(awk -v t="$cpu_ms" -v w="$window" 'BEGIN {printf "%.3f", t / 10 / w}')
        memory=$(awk -v k="$rss_kb" -v p="$peak_kb" 'BEGIN {printf "%.1f MB (%.1f)", k / 1024, p / 1024}')
        if [ "$broker_kb" != 0 ]; then
            memory="$memory (+ broker $(awk -v k="$broker_kb" 'BEGIN {printf "%.1f MB", k / 1024}'))"
        fi
        echo "| $devices × $registers @ 1 s | $poller | $percent | $cost | $ratio | $memory |"
        [ "$poller" = sitewarden ] && rm -rf "$dir"
    done
    kill "$farm"
    wait "$farm" 2>/dev/null || true
done
