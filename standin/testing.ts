/**
 * Test helper: a realtime transcription client built exactly as the transcriber builds one (the real
 * `openai` SDK over `ws`), recording every server event so tests can wait for and inspect them.
 */
import OpenAI from "openai";
import { OpenAIRealtimeWS } from "openai/realtime/ws";
import type { RealtimeServerEvent } from "openai/resources/realtime/realtime";
import type { OpenAIRealtimeError } from "openai/realtime/internal-base";

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
  waitForCount<T extends RealtimeServerEvent["type"]>(type: T, count: number, timeoutMs?: number): Promise<Extract<RealtimeServerEvent, { type: T }>[]>;
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
  const waiters = new Set<() => void>();
  let errorsTaken = 0;
  const notify = () => waiters.forEach((w) => w());
  rt.on("event", (e) => {
    events.push(e);
    notify();
  });
  rt.on("error", (e) => {
    errors.push(e);
    notify();
  });
  const closed = new Promise<number>((resolve) => rt.socket.on("close", (code) => resolve(code)));

  const until = <T>(find: () => T | undefined, what: string, timeoutMs: number) =>
    new Promise<T>((resolve, reject) => {
      const check = () => {
        const found = find();
        if (found === undefined) return;
        cleanup();
        resolve(found);
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; got: ${events.map((e) => e.type).join(", ")}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
      check();
    });

  return {
    rt,
    events,
    errors,
    closed,
    waitFor: (type, match = () => true, timeoutMs = 5000) =>
      until(() => events.find((e) => e.type === type && match(e as never)) as never, type, timeoutMs),
    waitForCount: (type, count, timeoutMs = 5000) =>
      until(() => {
        const found = events.filter((e) => e.type === type) as Extract<RealtimeServerEvent, { type: typeof type }>[];
        return found.length >= count ? found.slice(0, count) : undefined;
      }, `${count} x ${type}`, timeoutMs),
    nextError: async (timeoutMs = 5000) => {
      const error = await until(() => errors[errorsTaken], "an error", timeoutMs);
      errorsTaken++;
      return error;
    },
    appendAll(chunks) {
      for (const c of chunks) rt.send({ type: "input_audio_buffer.append", audio: Buffer.from(c).toString("base64") });
    },
  };
}
