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
#   sudo scripts/bench-versus.sh            # WARMUP=15 WINDOW=60 seconds, ROUNDS=3
#
# The C loop and sitewarden take turns for ROUNDS windows each on the same
# farm (this VM's noise moves one window's ratio by ±0.2 at the small
# site); their rows add the rounds up, and sitewarden's ratio lists each
# round's against the C loop's window just before it. pymodbus has one
# window. About 5 minutes a round, and 3 for pymodbus.
#
# Needs gcc, pkg-config, libmodbus-dev and perf (installed if missing),
# mosquitto and the test venv's pymodbus (scripts/test.sh makes .venv-test).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
warmup=${WARMUP:-15}
window=${WINDOW:-60}
rounds=${ROUNDS:-3}
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

# One window of `poller` on the farm of the current load; prints
# "cpu_ms rss_kb peak_kb broker_kb" (see `measure`).
window_of() {
    local poller=$1 dir="" pid
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
    measure "$pid"
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    [ -n "$dir" ] && rm -rf "$dir"
    return 0
}

# CPU-seconds per million registers of `cpu_ms` over `windows` windows.
per_million() { awk -v t="$1" -v n="$((devices * registers * window * $2))" 'BEGIN {printf "%.3f", t / 1000 / (n / 1e6)}'; }

echo "| load | poller | CPU, % of a core | CPU-s per million registers | × C loop | RSS at the end (peak) |"
echo "|---|---|---|---|---|---|"
first=17000
for load in "20 125" "200 50"; do
    read -r devices registers <<<"$load"
    "$out/farm" "$first" "$devices" >/dev/null &
    farm=$!
    sleep 1
    # The C loop and sitewarden take turns, ROUNDS windows each; pymodbus,
    # the slow reference, has one window.
    declare -A total=() rounds_of=() rss_of=() peak_of=() broker_of_poller=()
    for ((round = 1; round <= rounds; round++)); do
        for poller in "C loop (libmodbus)" sitewarden; do
            read -r cpu_ms rss_kb peak_kb broker_kb <<<"$(window_of "$poller")"
            total[$poller]=$(awk -v a="${total[$poller]:-0}" -v b="$cpu_ms" 'BEGIN {print a + b}')
            rounds_of[$poller]="${rounds_of[$poller]:-} $(per_million "$cpu_ms" 1)"
            rss_of[$poller]=$rss_kb
            peak_of[$poller]=$(( ${peak_of[$poller]:-0} > peak_kb ? ${peak_of[$poller]:-0} : peak_kb ))
            broker_of_poller[$poller]=$broker_kb
        done
    done
    read -r cpu_ms rss_kb peak_kb broker_kb <<<"$(window_of "pymodbus loop")"
    total["pymodbus loop"]=$cpu_ms rounds_of["pymodbus loop"]=""
    rss_of["pymodbus loop"]=$rss_kb peak_of["pymodbus loop"]=$peak_kb broker_of_poller["pymodbus loop"]=$broker_kb
    c_cost=$(per_million "${total[C loop (libmodbus)]}" "$rounds")
    c_rounds=(${rounds_of[C loop (libmodbus)]})
    for poller in "C loop (libmodbus)" sitewarden "pymodbus loop"; do
        n=$rounds
        [ "$poller" = "pymodbus loop" ] && n=1
        cost=$(per_million "${total[$poller]}" "$n")
        ratio=$(awk -v a="$cost" -v c="$c_cost" 'BEGIN {printf "%.2f", a / c}')
        if [ "$poller" = sitewarden ] && ((rounds > 1)); then
            # Each round against the C loop's window of the same round.
            mine=(${rounds_of[$poller]})
            each=""
            for ((i = 0; i < rounds; i++)); do
                each="$each${each:+, }$(awk -v a="${mine[i]}" -v c="${c_rounds[i]}" 'BEGIN {printf "%.2f", a / c}')"
            done
            ratio="$ratio (rounds: $each)"
        fi
        percent=$(awk -v t="${total[$poller]}" -v w="$((window * n))" 'BEGIN {printf "%.3f", t / 10 / w}')
        memory=$(awk -v k="${rss_of[$poller]}" -v p="${peak_of[$poller]}" 'BEGIN {printf "%.1f MB (%.1f)", k / 1024, p / 1024}')
        if [ "${broker_of_poller[$poller]}" != 0 ]; then
            memory="$memory (+ broker $(awk -v k="${broker_of_poller[$poller]}" 'BEGIN {printf "%.1f MB", k / 1024}'))"
        fi
        echo "| $devices × $registers @ 1 s | $poller | $percent | $cost | $ratio | $memory |"
    done
    unset total rounds_of rss_of peak_of broker_of_poller
    kill "$farm"
    wait "$farm" 2>/dev/null || true
done
