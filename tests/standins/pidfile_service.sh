# shellcheck shell=bash
# Start/stop a background test service tracked by a pid file (sourced by the
# stand-in scripts in tests/standins/). STATE is a path prefix: STATE.pid and
# STATE.log are kept next to each other under the checkout's .cache/.

# pidfile_service_stop STATE: stop the service if it runs, forget its pid.
pidfile_service_stop() {
    local state=$1 pid
    if [ -f "$state.pid" ]; then
        pid="$(cat "$state.pid")"
        if kill -0 "$pid" 2>/dev/null; then kill "$pid"; fi
        rm -f "$state.pid"
    fi
}

# pidfile_service_start STATE READY_URL COMMAND...: (re)start COMMAND detached,
# then wait up to 10 s until READY_URL answers; print the log and fail if the
# service dies or never answers.
pidfile_service_start() {
    local state=$1 ready=$2
    shift 2
    pidfile_service_stop "$state"
    mkdir -p "$(dirname "$state")"
    setsid "$@" </dev/null >"$state.log" 2>&1 &
    echo $! >"$state.pid"
    for _ in $(seq 1 50); do
        if curl -fsS -o /dev/null "$ready" 2>/dev/null; then
            return 0
        fi
        if ! kill -0 "$(cat "$state.pid")" 2>/dev/null; then
            cat "$state.log" >&2
            echo "$1 exited before answering on $ready" >&2
            return 1
        fi
        sleep 0.2
    done
    echo "$1 did not answer on $ready within 10 s; log: $state.log" >&2
    return 1
}
