#!/usr/bin/env bash
# Checks the Kubernetes deployment (deploy/kubernetes/) on a real cluster, as far as the fake it was built
# against could not: applies the manifests, streams a session through the client Service with the CLI, kills
# the session's transcriber pod (the session must end 1012, the next one must start a fresh pod), kills a
# gateway pod (the Deployment must replace it), and prints one PASS/FAIL line per check.
#
#   scripts/kube-smoke.sh path/to/speech.wav
#
# Needs kubectl pointed at the cluster (KUBECONFIG / current context), the images loaded or pushed where the
# nodes find them (GATEWAY_IMAGE, TRANSCRIBER_IMAGE override the manifests' names), the Secret of the README
# (or BACKEND=local, which needs no OpenAI key), and npm dependencies installed here (npm ci) for the CLI.
set -euo pipefail

WAV=${1:?usage: scripts/kube-smoke.sh path/to/speech.wav}
NAMESPACE=${NAMESPACE:-transcribe-edge}
KUBECTL=${KUBECTL:-kubectl}
LOCAL_PORT=${LOCAL_PORT:-18080}
BACKEND=${BACKEND:-}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
FAILED=0
FORWARD_PID=""

k() { "$KUBECTL" -n "$NAMESPACE" "$@"; }
pass() { echo "PASS $*"; }
fail() {
  echo "FAIL $*"
  FAILED=$((FAILED + 1))
}
cleanup() {
  if [[ -n "$FORWARD_PID" ]]; then kill "$FORWARD_PID" 2>/dev/null || true; fi
}
trap cleanup EXIT

[[ -r "$WAV" ]] || {
  echo "kube-smoke: cannot read $WAV" >&2
  exit 2
}

echo "== apply deploy/kubernetes/"
"$KUBECTL" apply -f "$ROOT/deploy/kubernetes/"
if [[ -n "${GATEWAY_IMAGE:-}" ]]; then k set image deployment/transcribe-edge-gateway "gateway=$GATEWAY_IMAGE"; fi
if [[ -n "${TRANSCRIBER_IMAGE:-}" ]]; then k set env deployment/transcribe-edge-gateway "TRANSCRIBER_IMAGE=$TRANSCRIBER_IMAGE"; fi
if [[ -n "$BACKEND" ]]; then k set env deployment/transcribe-edge-gateway "TRANSCRIBER_BACKEND=$BACKEND"; fi
if k rollout status deployment/transcribe-edge-redis --timeout=180s && k rollout status deployment/transcribe-edge-gateway --timeout=300s; then
  pass "redis and 3 gateways rolled out"
else
  fail "rollout did not finish (kubectl -n $NAMESPACE get pods; kubectl -n $NAMESPACE describe pods)"
  exit 1
fi

echo "== stream a session through service/transcribe-edge"
k port-forward service/transcribe-edge "$LOCAL_PORT:80" >/dev/null &
FORWARD_PID=$!
for _ in $(seq 1 50); do
  if curl -fsS "http://127.0.0.1:$LOCAL_PORT/readyz" >/dev/null 2>&1; then break; fi
  sleep 0.2
done
URL="ws://127.0.0.1:$LOCAL_PORT/v1/listen"
if (cd "$ROOT" && npm run --silent cli -- "$WAV" --url "$URL" --session-id smoke-1 --speed max); then
  pass "a session streamed end to end and closed 1000"
else
  fail "the first session did not complete (see the CLI's line above)"
fi
PODS=$(k get pods -l io.transcribe-edge.managed=true -o jsonpath='{range .items[*]}{.metadata.name}{" "}{.status.phase}{"\n"}{end}')
echo "$PODS"
if [[ -n "$PODS" ]]; then pass "transcriber pods exist"; else fail "no transcriber pod found (label io.transcribe-edge.managed=true)"; fi

echo "== delete the transcriber pod under an open session"
LOG=$(mktemp)
(cd "$ROOT" && npm run --silent cli -- "$WAV" --url "$URL" --session-id smoke-2 --speed 1 >"$LOG" 2>&1) &
CLI_PID=$!
sleep 3
# The gateway's Metadata names the instance; its pod is te-<GATEWAY_NAME>-<instance> (labelled with it).
INSTANCE=$(sed -n 's/.*· container \([A-Za-z0-9._-]*\) .*/\1/p' "$LOG" | head -n 1)
if [[ -z "$INSTANCE" ]]; then
  fail "no Metadata from the second session: $(tail -n 2 "$LOG")"
  exit 1
fi
VICTIM=$(k get pods -l "io.transcribe-edge.instance=$INSTANCE" -o jsonpath='{.items[0].metadata.name}')
VICTIM_UID=$(k get pod "$VICTIM" -o jsonpath='{.metadata.uid}')
k delete pod "$VICTIM" --wait=false
if wait "$CLI_PID"; then
  fail "the session on $VICTIM ended normally although its pod was deleted"
elif grep -q 1012 "$LOG"; then
  pass "the session on the deleted pod $VICTIM ended with 1012"
else
  fail "the session on $VICTIM failed, but not with 1012: $(tail -n 2 "$LOG")"
fi
if (cd "$ROOT" && npm run --silent cli -- "$WAV" --url "$URL" --session-id smoke-2 --speed max); then
  pass "the next session was served"
else
  fail "the next session after the pod deletion failed"
fi
NEW_UID=$(k get pod "$VICTIM" -o jsonpath='{.metadata.uid}' 2>/dev/null || true)
if [[ -n "$NEW_UID" && "$NEW_UID" != "$VICTIM_UID" ]]; then pass "pod $VICTIM was created again (new uid)"; else fail "pod $VICTIM was not created again for the same session id"; fi

echo "== delete a gateway pod"
GATEWAY=$(k get pods -l app.kubernetes.io/component=gateway -o jsonpath='{.items[0].metadata.name}')
k delete pod "$GATEWAY" --wait=false
if k rollout status deployment/transcribe-edge-gateway --timeout=180s && [[ "$(k get deployment transcribe-edge-gateway -o jsonpath='{.status.readyReplicas}')" == "3" ]]; then
  pass "gateway $GATEWAY replaced, 3 ready again"
else
  fail "the gateway Deployment did not return to 3 ready replicas"
fi

echo "== report"
k get pods -o wide
if [[ "$FAILED" -eq 0 ]]; then
  echo "kube-smoke: all checks passed"
else
  echo "kube-smoke: $FAILED check(s) failed"
  exit 1
fi
