/**
 * Test helper: a realtime transcription client built exactly as the transcriber builds one (the real
 * `openai` SDK over `ws`), recording every server event so tests can wait for and inspect them.
 */
import OpenAI from "openai";
import { OpenAIRealtimeWS } from "openai/realtime/ws";
import type { RealtimeServerEvent } from "openai/resources/realtime/realtime";
import type { OpenAIRealtimeError } from "openai/realtime/internal-base";
import { Notifier } from "../test/wait.ts";

export interface RecordingClient {
  rt: OpenAIRealtimeWS;
  events: RealtimeServerEvent[];
  errors: OpenAIRealtimeError[];
  /** Resolves with the close code once the socket closes. */
  closed: Promise<number>;
  /** Resolves with the first recorded event (past or future) that `match` accepts. */
  waitFor<T extends RealtimeServerEvent["type"]>(
    type: T,
    match?: (e: Extract<RealtimeServerEvent, { type: T }>) => boolean,
    timeoutMs?: number,
  ): Promise<Extract<RealtimeServerEvent, { type: T }>>;
  /** Resolves with the first `count` recorded events of `type`, once there are that many. */
  waitForCount<T extends RealtimeServerEvent["type"]>(
    type: T,
    count: number,
    timeoutMs?: number,
  ): Promise<Extract<RealtimeServerEvent, { type: T }>[]>;
  /** Resolves with the next SDK error (API `error` event or transport failure) not yet taken by this call. */
  nextError(timeoutMs?: number): Promise<OpenAIRealtimeError>;
  /** Sends base64 PCM chunks as `input_audio_buffer.append` events. */
  appendAll(chunks: Uint8Array[]): void;
}

/** Opens a transcription-intent session to `baseUrl` trusting `caPem` (omit it to trust nothing extra). */
export function connect(baseUrl: string, caPem: string | undefined, apiKey = "test"): RecordingClient {
  const client = new OpenAI({ apiKey, baseURL: baseUrl });
  const rt = new OpenAIRealtimeWS({ intent: "transcription", options: caPem ? { ca: caPem } : undefined }, client);
  const events: RealtimeServerEvent[] = [];
  const errors: OpenAIRealtimeError[] = [];
  const changes = new Notifier(() => events.map((e) => e.type).join(", "));
  let errorsTaken = 0;
  rt.on("event", (e) => {
    events.push(e);
    changes.notify();
  });
  rt.on("error", (e) => {
    errors.push(e);
    changes.notify();
  });
  const closed = new Promise<number>((resolve) => rt.socket.on("close", (code) => resolve(code)));

  return {
    rt,
    events,
    errors,
    closed,
    waitFor: (type, match = () => true, timeoutMs = 5000) =>
      changes.until(() => events.find((e) => e.type === type && match(e as never)) as never, timeoutMs, type),
    waitForCount: (type, count, timeoutMs = 5000) =>
      changes.until(
        () => {
          const found = events.filter((e) => e.type === type) as Extract<RealtimeServerEvent, { type: typeof type }>[];
          return found.length >= count ? found.slice(0, count) : undefined;
        },
        timeoutMs,
        `${count} x ${type}`,
      ),
    nextError: async (timeoutMs = 5000) => {
      const error = await changes.until(() => errors[errorsTaken], timeoutMs, "an error");
      errorsTaken++;
      return error;
    },
    appendAll(chunks) {
      for (const c of chunks) rt.send({ type: "input_audio_buffer.append", audio: Buffer.from(c).toString("base64") });
    },
  };
}
