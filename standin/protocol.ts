/**
 * One realtime transcription connection: GA Realtime client events in, server events out. Transport-free:
 * the server hands it text frames and gives it `send` / `terminate`, so its behaviour is the same under
 * any socket. Event shapes are typed by the `openai` package itself, so the stand-in cannot drift from
 * what the SDK (and thus the transcriber) expects.
 */
import type { RealtimeServerEvent } from "openai/resources/realtime/realtime";
import { BYTES_PER_MS, InputAudioBuffer, type BufferEvent, type CommittedItem } from "./buffer.ts";
import { applySessionUpdate, initialConfig, isConfigError, sessionObject, type SessionConfig } from "./config.ts";
import { deltasOf, transcriptOf } from "./transcript.ts";
import type { VadOptions } from "./vad.ts";

/** A client commit with less audio than this is refused, as OpenAI does. */
export const MIN_COMMIT_MS = 100;

/**
 * Faults a test can inject. Item faults hit the next committed item of any session: `drop` cuts the
 * connection without a close frame right after `input_audio_buffer.committed`; `error` answers
 * `conversation.item.input_audio_transcription.failed`; `stall` never transcribes it (the socket stays
 * open). `reject` refuses the next connection with HTTP 503 before the upgrade.
 */
export type FaultKind = "drop" | "error" | "stall" | "reject";

/** What the stand-in recorded about one connection (also served as JSON by `GET /v1/standin/sessions`). */
export interface StandinSession {
  id: string;
  model?: string;
  language?: string;
  receivedAudioMs: number;
  receivedBytes: number;
  commits: number;
  /** Completed transcripts, in order. */
  transcripts: string[];
  open: boolean;
  /** False when the connection was refused before the upgrade (bad key, injected `reject`). */
  authorized: boolean;
}

export interface ConnectionPorts {
  send(event: RealtimeServerEvent): void;
  /** Ends the connection abruptly (no close frame). */
  terminate(): void;
  /** The next pending item fault, consumed. */
  takeItemFault(): Exclude<FaultKind, "reject"> | undefined;
  /** Time between transcription deltas: real transcription is not instantaneous either. */
  deltaGapMs: number;
  schedule?: (run: () => void, delayMs: number) => void;
}

let counter = 0;
const newId = (prefix: string) => `${prefix}_${Date.now().toString(36)}${(++counter).toString(36).padStart(4, "0")}`;

export class RealtimeConnection {
  #config: SessionConfig;
  readonly #buffer: InputAudioBuffer;
  readonly #schedule: (run: () => void, delayMs: number) => void;

  constructor(
    readonly record: StandinSession,
    vad: VadOptions,
    private readonly ports: ConnectionPorts,
  ) {
    this.#config = initialConfig(vad, record.model);
    this.#buffer = new InputAudioBuffer(vad, () => newId("item"));
    this.#schedule = ports.schedule ?? ((run, delayMs) => void setTimeout(run, delayMs));
  }

  /** Greets the client, as the API does right after the upgrade. */
  open(): void {
    this.#send({ type: "session.created", event_id: newId("event"), session: sessionObject(this.#config) });
  }

  /** Handles one client frame; never throws, never closes: bad input gets an `error` event. */
  receive(frame: string | Uint8Array): void {
    if (typeof frame !== "string")
      return this.#error("binary_frame_not_supported", "Binary frames are not supported; send JSON text events.");
    const audio = appendedAudio(frame);
    if (audio !== undefined) return this.#append(audio, null);
    let event: unknown;
    try {
      event = JSON.parse(frame);
    } catch {
      return this.#error("invalid_json", "The server could not parse the event as JSON.");
    }
    if (typeof event !== "object" || event === null || typeof (event as { type?: unknown }).type !== "string") {
      return this.#error("missing_required_parameter", "Missing required parameter: 'type'.", "type");
    }
    const e = event as { type: string; event_id?: unknown; session?: unknown; audio?: unknown };
    const clientEventId = typeof e.event_id === "string" ? e.event_id : null;
    switch (e.type) {
      case "session.update":
        return this.#update(e.session, clientEventId);
      case "input_audio_buffer.append":
        return this.#append(e.audio, clientEventId);
      case "input_audio_buffer.commit":
        return this.#commit(clientEventId);
      case "input_audio_buffer.clear":
        this.#buffer.clear();
        return this.#send({ type: "input_audio_buffer.cleared", event_id: newId("event") });
      default:
        return this.#error(
          "invalid_value",
          `Invalid value: '${e.type}'. The stand-in supports session.update and input_audio_buffer.append/commit/clear.`,
          "type",
          clientEventId,
        );
    }
  }

  #update(session: unknown, clientEventId: string | null): void {
    const next = applySessionUpdate(this.#config, session);
    if (isConfigError(next)) return this.#error(next.code, next.message, next.param, clientEventId);
    if (next.vad !== this.#config.vad) this.#buffer.setVad(next.vad);
    this.#config = next;
    this.record.model = next.model;
    this.record.language = next.language;
    this.#send({ type: "session.updated", event_id: newId("event"), session: sessionObject(next) });
  }

  #append(audio: unknown, clientEventId: string | null): void {
    if (typeof audio !== "string")
      return this.#error("missing_required_parameter", "Missing required parameter: 'audio'.", "audio", clientEventId);
    const bytes = Buffer.from(audio, "base64");
    this.record.receivedBytes += bytes.length;
    this.record.receivedAudioMs = this.record.receivedBytes / BYTES_PER_MS;
    this.#emit(this.#buffer.append(bytes));
  }

  #commit(clientEventId: string | null): void {
    const bufferedMs = this.#buffer.bufferedMs();
    if (bufferedMs < MIN_COMMIT_MS) {
      const message = `Error committing input audio buffer: buffer too small. Expected at least ${MIN_COMMIT_MS}ms of audio, but buffer only has ${bufferedMs.toFixed(2)}ms of audio.`;
      return this.#error("input_audio_buffer_commit_empty", message, undefined, clientEventId);
    }
    this.#emit(this.#buffer.commit());
  }

  #emit(events: BufferEvent[]): void {
    for (const e of events) {
      if (e.type === "speech_started") {
        this.#send({
          type: "input_audio_buffer.speech_started",
          event_id: newId("event"),
          item_id: e.itemId,
          audio_start_ms: e.audioStartMs,
        });
      } else if (e.type === "speech_stopped") {
        this.#send({ type: "input_audio_buffer.speech_stopped", event_id: newId("event"), item_id: e.itemId, audio_end_ms: e.audioEndMs });
      } else {
        this.record.commits++;
        this.#send({
          type: "input_audio_buffer.committed",
          event_id: newId("event"),
          item_id: e.item.itemId,
          previous_item_id: e.item.previousItemId,
        });
        this.#transcribe(e.item);
      }
    }
  }

  #transcribe(item: CommittedItem): void {
    const fault = this.ports.takeItemFault();
    if (fault === "drop") return this.ports.terminate();
    if (fault === "stall") return;
    if (fault === "error") {
      const error = { type: "server_error", code: "transcription_failed", message: "Stand-in: injected transcription failure." };
      return this.#send({
        type: "conversation.item.input_audio_transcription.failed",
        event_id: newId("event"),
        item_id: item.itemId,
        content_index: 0,
        error,
      });
    }
    const transcript = transcriptOf(item);
    const deltas = deltasOf(transcript);
    const gapMs = this.ports.deltaGapMs;
    deltas.forEach((delta, i) =>
      this.#schedule(
        () =>
          this.#send({
            type: "conversation.item.input_audio_transcription.delta",
            event_id: newId("event"),
            item_id: item.itemId,
            content_index: 0,
            delta,
          }),
        i * gapMs,
      ),
    );
    this.#schedule(() => {
      if (!this.record.open) return;
      this.record.transcripts.push(transcript);
      const usage = { type: "duration" as const, seconds: (item.endMs - item.startMs) / 1000 };
      this.#send({
        type: "conversation.item.input_audio_transcription.completed",
        event_id: newId("event"),
        item_id: item.itemId,
        content_index: 0,
        transcript,
        usage,
      });
    }, deltas.length * gapMs);
  }

  #error(code: string, message: string, param?: string, clientEventId: string | null = null): void {
    this.#send({
      type: "error",
      event_id: newId("event"),
      error: { type: "invalid_request_error", code, message, param: param ?? null, event_id: clientEventId },
    });
  }

  #send(event: RealtimeServerEvent): void {
    if (this.record.open) this.ports.send(event);
  }
}

const APPEND_PREFIX = '{"type":"input_audio_buffer.append","audio":"';

/**
 * The audio of an append event written the one way clients here write it (type first, then audio, nothing
 * else), without JSON.parse scanning kilobytes of base64; undefined for anything else, which takes the
 * general path. Base64 holds no quote or backslash, so a value without them is the whole string unescaped.
 */
function appendedAudio(frame: string): string | undefined {
  if (!frame.startsWith(APPEND_PREFIX) || !frame.endsWith('"}')) return undefined;
  const audio = frame.slice(APPEND_PREFIX.length, -2);
  return audio.includes('"') || audio.includes("\\") ? undefined : audio;
}
