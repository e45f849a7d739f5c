#!/usr/bin/env bash
# Installs and configures Podman for this kind of machine, then starts its Docker-compatible API socket.
# Idempotent: safe to run again; starts the socket only when nothing answers on it.
set -euo pipefail
SOCK_PATH=${PODMAN_SOCKET_PATH:-/run/podman/podman.sock}

if ! command -v podman >/dev/null || ! command -v runc >/dev/null; then
  echo "[engine] installing podman and runc from Debian packages"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman runc >/dev/null
fi

# crun fails here (cgroups hybrid mode) and Podman's default ulimits exceed the machine's hard limits.
mkdir -p /etc/containers
CONF=/etc/containers/containers.conf
if ! grep -q 'transcribe-edge' "$CONF" 2>/dev/null; then
  echo "[engine] writing $CONF (runtime runc, ulimits within the hard limits)"
  cat >>"$CONF" <<'CONF'
# transcribe-edge: crun fails on these hosts (cgroups hybrid mode); ulimits within their hard limits
[containers]
default_ulimits = ["nofile=16384:16384", "nproc=8192:8192"]
[engine]
runtime = "runc"
CONF
fi

if curl -sf --unix-socket "$SOCK_PATH" http://d/_ping >/dev/null 2>&1; then
  echo "[engine] API socket already answers at $SOCK_PATH"
else
  echo "[engine] starting podman system service at unix://$SOCK_PATH"
  mkdir -p "$(dirname "$SOCK_PATH")"
  nohup podman system service --time=0 "unix://$SOCK_PATH" >/tmp/podman-service.log 2>&1 &
  for _ in $(seq 1 50); do
    curl -sf --unix-socket "$SOCK_PATH" http://d/_ping >/dev/null 2>&1 && break
    sleep 0.1
  done
  curl -sf --unix-socket "$SOCK_PATH" http://d/_ping >/dev/null || { echo "[engine] socket did not answer; see /tmp/podman-service.log"; exit 1; }
fi
echo "[engine] ready: DOCKER_HOST=unix://$SOCK_PATH ($(podman --version))"
