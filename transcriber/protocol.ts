/**
 * The client-facing WebSocket protocol: Deepgram's live messages out (a faithful subset, so Deepgram SDK
 * clients read them unchanged), and the control messages clients send in. Times on the wire are seconds on
 * the session's own timeline. Every backend builds its messages with the builders here, so they all have the
 * same shape.
 */
import { plain, spreadWords, type Word } from "./words.ts";

export type { Word } from "./words.ts";

/** Who produced a session's Results: the same on every message of the session. */
export interface ResultsContext {
  requestId: string;
  /** The transcription model actually used (the backend's name for it). */
  modelName: string;
  /** Which backend ran it (`openai`, `local`, ...): Deepgram's `model_info.arch`. */
  arch: string;
}

/** The context of a session that was given none (a transcriber used directly, unit tests). */
export const DEFAULT_CONTEXT: ResultsContext = { requestId: "00000000-0000-0000-0000-000000000000", modelName: "unknown", arch: "unknown" };

export interface ResultsMessage {
  type: "Results";
  /** `[channel, channels]`: audio is transcribed downmixed to one channel, so always `[0, 1]`. */
  channel_index: [number, number];
  is_final: boolean;
  speech_final: boolean;
  /** True when this final was flushed by the client's Finalize. */
  from_finalize: boolean;
  start: number;
  duration: number;
  channel: { alternatives: Array<{ transcript: string; confidence: number; words: Word[] }> };
  metadata: { request_id: string; model_info: { name: string; version: string; arch: string }; model_uuid: string };
}

/** Server-to-client messages this transcriber sends. */
export type ClientMessage =
  | ResultsMessage
  | SpeechStartedMessage
  | UtteranceEndMessage
  | ClosingMetadata
  | { type: "Error"; code: string; message: string };

export type SpeechStartedMessage = { type: "SpeechStarted"; channel: [number, number]; timestamp: number };
export type UtteranceEndMessage = { type: "UtteranceEnd"; channel: [number, number]; last_word_end: number };

/** The Metadata sent last, just before a CloseStream's close, as Deepgram sends it. */
export interface ClosingMetadata {
  type: "Metadata";
  transaction_key: "deprecated";
  request_id: string;
  /** SHA-256 (hex) of the audio bytes the client sent. */
  sha256: string;
  /** ISO 8601 time the session started. */
  created: string;
  /** Seconds of audio received. */
  duration: number;
  /** Channels of the audio as the client declared it (transcribed downmixed). */
  channels: number;
  models: string[];
  model_info: Record<string, { name: string; version: string; arch: string }>;
  /** The request's `tag` values, when it had any. */
  tags?: string[];
  /** The request's `extra` pairs, when it had any. */
  extra?: Record<string, string>;
}

/** Client-to-server control messages. */
export type ControlMessage = { type: "KeepAlive" } | { type: "Finalize" } | { type: "CloseStream" };

/** Text messages larger than this are refused: control messages are tiny. */
export const MAX_CONTROL_BYTES = 4096;

/** The one channel every message reports (Deepgram's `[index, count]`). */
const MONO: [number, number] = [0, 1];

/** Milliseconds to seconds, rounded to the millisecond so JSON stays short. */
export function seconds(ms: number): number {
  return Math.round(ms) / 1000;
}

/** What the backend knows about a Results beyond its text and span. */
export interface ResultOptions {
  /** The endpointer ended the utterance (default: same as is_final). */
  speechFinal?: boolean;
  fromFinalize?: boolean;
  /** 0..1; a backend that reports none gets 1 (see the README's Deepgram section). */
  confidence?: number;
  /** Word timings in session ms, when the backend gives them; otherwise they are spread over the span. */
  words?: Array<{ word: string; startMs: number; endMs: number; confidence?: number }>;
  context?: ResultsContext;
}

/** A Results message for a span of the session timeline (milliseconds in, seconds out). */
export function results(transcript: string, startMs: number, endMs: number, isFinal: boolean, options: ResultOptions = {}): ResultsMessage {
  const context = options.context ?? DEFAULT_CONTEXT;
  const confidence = options.confidence ?? 1;
  const words = options.words
    ? options.words.map((w) => wordOf(w.word, w.startMs, w.endMs, w.confidence ?? confidence))
    : spreadWords(transcript, startMs, Math.max(startMs, endMs), confidence);
  return {
    type: "Results",
    channel_index: MONO,
    is_final: isFinal,
    speech_final: options.speechFinal ?? isFinal,
    from_finalize: options.fromFinalize ?? false,
    start: seconds(startMs),
    duration: seconds(Math.max(0, endMs - startMs)),
    channel: { alternatives: [{ transcript, confidence, words }] },
    metadata: {
      request_id: context.requestId,
      model_info: { name: context.modelName, version: "unknown", arch: context.arch },
      model_uuid: modelUuid(context.modelName),
    },
  };
}

function wordOf(text: string, startMs: number, endMs: number, confidence: number): Word {
  return { word: plain(text), start: seconds(startMs), end: seconds(endMs), confidence, punctuated_word: text };
}

/** SpeechStarted at `timestampMs` on the session timeline. */
export function speechStarted(timestampMs: number): SpeechStartedMessage {
  return { type: "SpeechStarted", channel: MONO, timestamp: seconds(timestampMs) };
}

/** UtteranceEnd after the last word ending at `lastWordEndMs`. */
export function utteranceEnd(lastWordEndMs: number): UtteranceEndMessage {
  return { type: "UtteranceEnd", channel: MONO, last_word_end: seconds(lastWordEndMs) };
}

/** The closing Metadata of a session. */
export function closingMetadata(
  context: ResultsContext,
  audio: { sha256: string; createdAtMs: number; durationMs: number; channels: number },
  echo: { tags?: string[]; extra?: Record<string, string> } = {},
): ClosingMetadata {
  const uuid = modelUuid(context.modelName);
  return {
    type: "Metadata",
    transaction_key: "deprecated",
    request_id: context.requestId,
    sha256: audio.sha256,
    created: new Date(audio.createdAtMs).toISOString(),
    duration: seconds(audio.durationMs),
    channels: audio.channels,
    models: [uuid],
    model_info: { [uuid]: { name: context.modelName, version: "unknown", arch: context.arch } },
    ...(echo.tags?.length ? { tags: echo.tags } : {}),
    ...(echo.extra && Object.keys(echo.extra).length > 0 ? { extra: echo.extra } : {}),
  };
}

/** A stable UUID-shaped id for a model name (Deepgram's `model_uuid`): the same name, the same id. */
export function modelUuid(name: string): string {
  const hex = new Bun.CryptoHasher("sha256").update(name).digest("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** An Error message. */
export function errorMessage(code: string, message: string): ClientMessage {
  return { type: "Error", code, message };
}

/**
 * How a session ends when its transcriber stops under it (SIGTERM: `podman stop`, an image upgrade, an
 * eviction): after its finals, an Error `container_stopped` and close 1012, so the client reconnects and goes
 * on instead of taking the end as its own. 1000 is only ever the answer to the client's CloseStream.
 */
export const SHUTDOWN = {
  code: 1012,
  reason: "server shutting down",
  notice: errorMessage("container_stopped", "the transcriber is shutting down; reconnect to go on"),
} as const;

/** Parses one text frame into a control message, or an Error message saying what is wrong with it. */
export function parseControl(text: string): ControlMessage | Extract<ClientMessage, { type: "Error" }> {
  if (text.length > MAX_CONTROL_BYTES) {
    return { type: "Error", code: "bad_message", message: `control message over ${MAX_CONTROL_BYTES} bytes` };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { type: "Error", code: "bad_message", message: "text message is not JSON" };
  }
  const type = typeof parsed === "object" && parsed !== null ? (parsed as { type?: unknown }).type : undefined;
  if (type === "KeepAlive" || type === "Finalize" || type === "CloseStream") return { type };
  return {
    type: "Error",
    code: "bad_message",
    message: `unknown control message type ${JSON.stringify(type ?? null).slice(0, 64)}; expected KeepAlive, Finalize or CloseStream`,
  };
}
