/**
 * The client-facing WebSocket protocol (DESIGN.md section 3): Deepgram-style JSON messages out, and the
 * control messages clients send in. Times on the wire are seconds on the session's own timeline.
 */

/** Server-to-client messages this transcriber sends. */
export type ClientMessage =
  | {
      type: "Results";
      is_final: boolean;
      speech_final: boolean;
      start: number;
      duration: number;
      channel: { alternatives: Array<{ transcript: string }> };
    }
  | { type: "SpeechStarted"; timestamp: number }
  | { type: "UtteranceEnd"; last_word_end: number }
  | { type: "Error"; code: string; message: string };

/** Client-to-server control messages. */
export type ControlMessage = { type: "KeepAlive" } | { type: "Finalize" } | { type: "CloseStream" };

/** Text messages larger than this are refused: control messages are tiny. */
export const MAX_CONTROL_BYTES = 4096;

/** Milliseconds to seconds, rounded to the millisecond so JSON stays short. */
export function seconds(ms: number): number {
  return Math.round(ms) / 1000;
}

/** A Results message for a span of the session timeline (milliseconds in, seconds out). */
export function results(transcript: string, startMs: number, endMs: number, isFinal: boolean): ClientMessage {
  return {
    type: "Results",
    is_final: isFinal,
    speech_final: isFinal,
    start: seconds(startMs),
    duration: seconds(Math.max(0, endMs - startMs)),
    channel: { alternatives: [{ transcript }] },
  };
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
