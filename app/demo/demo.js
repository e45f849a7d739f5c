// The demo page's logic: microphone -> AudioWorklet (20 ms frames at 48 kHz) -> Opus encoder -> one binary
// WebSocket message per packet on /v1/listen; Metadata, interim and final Results rendered as they arrive.
import { createOpusEncoder, SAMPLE_RATE } from "/demo/opus.js";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
// Packets made before the socket opens are kept (up to 5 s) so the first words are not lost.
const MAX_QUEUED_PACKETS = 250;
const START_TEXT = {
  cold: "cold: a container started for this session",
  wake: "woke a sleeping container",
  warm: "warm: the container was already running",
};

let session;

$("session").value = params.get("sessionId") ?? `demo-${Math.random().toString(36).slice(2, 8)}`;
$("encoder-choice").value = params.get("encoder") ?? "auto";
if (params.get("language")) $("language").value = params.get("language");

function setState(state, text) {
  document.body.dataset.state = state;
  $("status").textContent = text ?? state;
}

function log(line) {
  const el = $("log");
  el.textContent = `${new Date().toLocaleTimeString()} ${line}\n${el.textContent}`.slice(0, 20000);
}

function listenUrl() {
  const q = new URLSearchParams({
    sessionId: $("session").value.trim(),
    encoding: "opus",
    sample_rate: String(SAMPLE_RATE),
    channels: "1",
    language: $("language").value.trim() || "en",
    // Deepgram's default is finals only; the page shows the interim text as it grows.
    interim_results: "true",
  });
  return `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/v1/listen?${q}`;
}

function showMetadata(m) {
  $("container").textContent = m.container;
  $("routing").textContent = m.routing;
  const kind = $("start-kind");
  kind.dataset.start = m.start;
  kind.textContent = `${START_TEXT[m.start] ?? m.start}${m.wait_ms ? ` (${Math.round(m.wait_ms)} ms)` : ""}`;
}

function showResults(m) {
  const text = m.channel?.alternatives?.[0]?.transcript ?? "";
  $("placeholder").hidden = true;
  if (!m.is_final) {
    $("interim").textContent = text;
    return;
  }
  $("interim").textContent = "";
  if (!text) return;
  const p = document.createElement("p");
  p.className = "final";
  const at = document.createElement("small");
  at.textContent = `${Number(m.start ?? 0).toFixed(1)} s`;
  p.append(at, text);
  $("finals").append(p);
}

function onMessage(event) {
  if (typeof event.data !== "string") return;
  const m = JSON.parse(event.data);
  if (m.type === "Metadata") showMetadata(m);
  else if (m.type === "Results") showResults(m);
  else if (m.type === "Error") setState("error", `error ${m.code}: ${m.message}`);
  if (m.type !== "Results" || m.is_final) log(event.data);
}

async function start() {
  $("start").disabled = true;
  setState("starting", "asking for the microphone…");
  const s = { packets: [], sent: 0, stopping: false };
  session = s;
  try {
    // Transcription wants the plain signal; the page plays nothing back, so there is no echo to cancel.
    s.stream = await navigator.mediaDevices.getUserMedia({
      audio: { channelCount: 1, echoCancellation: false, noiseSuppression: false, autoGainControl: false },
    });
    s.encoder = await createOpusEncoder(
      $("encoder-choice").value,
      (packet) => send(s, packet),
      (e) => fail(s, e),
    );
    document.body.dataset.encoder = s.encoder.kind;
    $("encoder").textContent = s.encoder.label;
    s.audio = new AudioContext({ sampleRate: SAMPLE_RATE });
    await s.audio.audioWorklet.addModule("/demo/capture-worklet.js");
    const node = new AudioWorkletNode(s.audio, "capture");
    node.port.onmessage = ({ data }) => {
      if (s.stopping) return;
      let sum = 0;
      for (const x of data) sum += x * x;
      $("level").value = Math.min(1, Math.sqrt(sum / data.length) * 4);
      s.encoder.encode(data);
    };
    s.audio.createMediaStreamSource(s.stream).connect(node);
    const token = $("token").value.trim();
    // Browsers cannot set an Authorization header on a WebSocket: the credential goes as a subprotocol.
    s.ws = new WebSocket(listenUrl(), token ? ["token", token] : undefined);
    s.ws.binaryType = "arraybuffer";
    s.ws.onopen = () => {
      setState("live", "listening");
      for (const packet of s.packets.splice(0)) send(s, packet);
    };
    s.ws.onmessage = onMessage;
    s.ws.onclose = (e) => closed(s, e);
    $("stop").disabled = false;
    setState("connecting", "connecting…");
  } catch (error) {
    fail(s, error);
  }
}

function send(s, packet) {
  if (s.ws?.readyState === WebSocket.OPEN) {
    s.ws.send(packet);
    s.sent++;
    document.body.dataset.packets = String(s.sent);
    $("sent").textContent = String(s.sent);
  } else if (s.packets.length < MAX_QUEUED_PACKETS) {
    s.packets.push(packet);
  }
}

function release(s) {
  s.stream?.getTracks().forEach((t) => t.stop());
  s.audio?.close().catch(() => {});
  try {
    s.encoder?.close();
  } catch {}
}

async function stop() {
  const s = session;
  if (!s || s.stopping) return;
  s.stopping = true;
  $("stop").disabled = true;
  setState("finishing", "finishing: waiting for the last transcripts…");
  s.stream?.getTracks().forEach((t) => t.stop());
  // Encode what is still in the encoder, then ask for the final results; the server closes with 1000.
  await s.encoder?.flush().catch(() => {});
  if (s.ws?.readyState === WebSocket.OPEN) s.ws.send(JSON.stringify({ type: "CloseStream" }));
  else s.ws?.close();
}

function closed(s, e) {
  release(s);
  log(`closed ${e.code}${e.reason ? ` ${e.reason}` : ""}`);
  if (e.code === 1000) setState("closed", "finished (1000)");
  else if (document.body.dataset.state !== "error") setState("error", `closed ${e.code}${e.reason ? `: ${e.reason}` : ""}`);
  $("start").disabled = false;
  $("stop").disabled = true;
}

function fail(s, error) {
  setState("error", `${error?.name === "NotAllowedError" ? "microphone not allowed" : (error?.message ?? error)}`);
  release(s);
  s.ws?.close();
  $("start").disabled = false;
  $("stop").disabled = true;
}

$("start").onclick = start;
$("stop").onclick = stop;
// Enter in a field must not submit the form (a navigation); set here, as the page's CSP refuses inline handlers.
$("controls").addEventListener("submit", (e) => e.preventDefault());
if (!window.isSecureContext) {
  setState("error", "the microphone needs a secure context: open this page on https:// or http://localhost");
}
