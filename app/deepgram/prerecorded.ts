/**
 * `POST /v1/listen`: Deepgram's pre-recorded transcription. The body (a WAV or Ogg Opus file, or raw audio
 * with `encoding=linear16`) is sent as a live session would send it, through the same admission, routing,
 * container and transcriber, paced at PACE_FACTOR times real time, then closed with CloseStream; the finals
 * and the closing Metadata become Deepgram's batch response (`metadata`, `results.channels[].alternatives[]`).
 */
import { Elysia } from "elysia";
import { CLOSE } from "../protocol.ts";
import type { Refusal } from "../refusal.ts";
import { sessionDeps } from "../session/listen.ts";
import { parseListenQuery } from "../session/query.ts";
import { Session } from "../session/session.ts";
import { clientIp } from "../security/admission.ts";
import type { GatewayState } from "../state.ts";
import { AudioFileError, type AudioFrames, audioFrames } from "./audio-file.ts";
import { MemoryClient } from "./memory-client.ts";
import { modelTableOf } from "./models.ts";
import { type DeepgramOptions, deepgramUpstreamParams, parseDeepgramQuery } from "./params.ts";
import { batchResponse } from "./batch-response.ts";
import { refusalResponse } from "./refusal.ts";

/**
 * Audio goes to the transcriber at most this many times faster than real time: far faster than live, and
 * slow enough that the transcriber's upstream queue (tens of seconds of audio) never has to drop any.
 */
export const PACE_FACTOR = 20;
/** Beyond the audio's own (paced) duration, how long the transcripts may take before the request fails. */
const TRANSCRIBE_GRACE_MS = 30_000;

/** The pre-recorded route as an Elysia plugin. */
export function prerecordedRoute(state: GatewayState) {
  return new Elysia({ name: "deepgram-prerecorded" }).post("/v1/listen", ({ request, server }) => transcribe(state, request, server), {
    parse: "none",
  });
}

type Server = Parameters<typeof clientIp>[0];

async function transcribe(state: GatewayState, request: Request, server: Server): Promise<Response> {
  const params = new URL(request.url).searchParams;
  const parsed = parseListenQuery(params);
  if (!parsed.ok) return refusalResponse(400, parsed.message);
  const deepgram = parseDeepgramQuery(params, modelTableOf(state.config));
  if (!deepgram.ok) return refusalResponse(400, deepgram.message);
  const query = parsed.query;
  const ip = clientIp(server, request);
  const denied = state.security.check({ request, ip, sessionId: query.sessionId });
  if (denied) return refuse(state, denied);
  if (request.headers.get("content-type")?.startsWith("application/json")) {
    return refusalResponse(400, "transcribing a URL is not supported: send the audio file itself as the request body");
  }
  let audio: AudioFrames;
  try {
    audio = await audioFrames(new Uint8Array(await request.arrayBuffer()), {
      encoding: query.encoding,
      sampleRateHz: query.sample_rate,
      channels: query.channels,
    });
  } catch (error) {
    if (error instanceof AudioFileError) return refusalResponse(400, error.message);
    throw error;
  }
  const refusal = state.admission();
  if (refusal) return refuse(state, refusal);
  const requestId = crypto.randomUUID();
  const routed = Session.route(sessionDeps(state), {
    query: { ...query, encoding: audio.encoding, sample_rate: audio.sampleRateHz, channels: audio.channels },
    ip,
    requestId,
    upstreamParams: deepgramUpstreamParams(batchOptions(deepgram.options), requestId).toString(),
  });
  if (!("session" in routed)) return refuse(state, routed);
  const { session, decisionUs } = routed;
  const { sessionId, instanceId } = session;
  state.events.emit({ type: "routed", instanceId, decisionUs });
  state.log.info({ sessionId, instance: instanceId, requestId }, `Using dispatcher for sessionId: ${sessionId}, container: ${instanceId}`);
  const client = new MemoryClient();
  // No handshake to wait for: the session opens now, with the in-memory client as its socket.
  session.opened(client);
  const timeout = setTimeout(
    () => session.fail(CLOSE.internalError, "transcriber_unreachable", "the transcripts did not arrive in time"),
    (audio.durationS * 1000) / PACE_FACTOR + TRANSCRIBE_GRACE_MS,
  );
  void client.closed.then(() => clearTimeout(timeout));
  await send(session, client, audio);
  session.fromClient('{"type":"CloseStream"}');
  const close = await client.closed;
  if (close.code !== CLOSE.normal) {
    const error = client.messages.find((m) => m.type === "Error");
    return refusalResponse(
      close.code === CLOSE.tryAgainLater ? 503 : 502,
      `transcription failed (${close.code}): ${String(error?.message ?? close.reason)}`,
      { "dg-request-id": requestId },
    );
  }
  return Response.json(batchResponse(client.messages, deepgram.options, requestId), { headers: { "dg-request-id": requestId } });
}

/** A batch request has no use for interims or live events; its finals are what it returns. */
function batchOptions(options: DeepgramOptions): DeepgramOptions {
  return { ...options, interimResults: false, vadEvents: false, utteranceEndMs: undefined };
}

/** Sends the frames paced at PACE_FACTOR, waiting whenever the relay paused reading (the transcriber is behind). */
async function send(session: Session, client: MemoryClient, audio: AudioFrames): Promise<void> {
  const bytesPerMs = audio.encoding === "linear16" ? (audio.sampleRateHz * audio.channels * 2) / 1000 : 0;
  const startedAtMs = performance.now();
  let audioMs = 0;
  for (const frame of audio.frames) {
    if (client.isClosed) return;
    await client.whenReading();
    session.fromClient(frame);
    audioMs += bytesPerMs > 0 ? frame.byteLength / bytesPerMs : 20;
    const aheadMs = audioMs / PACE_FACTOR - (performance.now() - startedAtMs);
    if (aheadMs > 1) await Bun.sleep(aheadMs);
  }
}

function refuse(state: GatewayState, { status, reason, message, retryAfterS }: Refusal): Response {
  state.countRejection(reason, status);
  return refusalResponse(status, message, retryAfterS === undefined ? {} : { "retry-after": String(retryAfterS) });
}
