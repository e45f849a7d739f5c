/** One transcription session: connect, wait for Metadata, stream paced packets, CloseStream, await the close. */
import type { CliOptions } from "./args.ts";
import { packetDurationMs } from "./encode.ts";
import type { Screen } from "./screen.ts";
import type { AudioSource } from "./source.ts";

/** How the session ended; `failure` is the one-line reason when it did not end well. */
export interface SessionResult {
  failure: string | undefined;
  finals: number;
  sentMs: number;
}

/** Packets in flight on the socket, beyond which `--speed max` waits for the connection to drain. */
const MAX_BUFFERED_BYTES = 256 * 1024;
const CONNECT_TIMEOUT_MS = 60_000;
const CLOSE_TIMEOUT_MS = 60_000;

function listenUrl(options: CliOptions): string {
  const url = new URL(options.url);
  url.searchParams.set("sessionId", options.sessionId);
  url.searchParams.set("encoding", "opus");
  url.searchParams.set("sample_rate", "48000");
  url.searchParams.set("channels", "1");
  url.searchParams.set("language", options.language);
  // Finals only unless asked (Deepgram's default); the live line shows the interim transcript.
  url.searchParams.set("interim_results", "true");
  return url.toString();
}

export async function runSession(options: CliOptions, source: AudioSource, screen: Screen): Promise<SessionResult> {
  const result: SessionResult = { failure: undefined, finals: 0, sentMs: 0 };
  const headers: Record<string, string> = options.token ? { authorization: `Bearer ${options.token}` } : {};
  // Bun's WebSocket takes headers; browsers' cannot, which is why the gateway also accepts a subprotocol.
  const ws = new WebSocket(listenUrl(options), { headers } as unknown as string[]);
  let opened = false;
  let metadata!: () => void;
  const gotMetadata = new Promise<void>((resolve) => (metadata = resolve));
  const closed = new Promise<CloseEvent>((resolve) => ws.addEventListener("close", resolve));

  ws.addEventListener("open", () => (opened = true));
  ws.addEventListener("message", (event) => {
    if (typeof event.data !== "string") return;
    const m = JSON.parse(event.data);
    // The gateway's first Metadata carries the routing facts; the closing one (Deepgram's shape) does not.
    if (m.type === "Metadata" && m.container !== undefined) {
      screen.info(
        `session ${m.session_id} · container ${m.container} (routing ${m.routing}) · start ${m.start}${m.wait_ms ? ` after ${Math.round(m.wait_ms)} ms` : ""}`,
      );
      metadata();
    } else if (m.type === "Results") {
      const text: string = m.channel?.alternatives?.[0]?.transcript ?? "";
      if (m.is_final) {
        if (text) result.finals++;
        screen.final(text);
      } else screen.interim(text);
    } else if (m.type === "Error") {
      result.failure ??= `server error ${m.code}: ${m.message}`;
      screen.info(`error from the gateway: ${m.code}: ${m.message}`);
    }
  });

  const timeout = (ms: number) => new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), ms).unref());
  const first = await Promise.race([gotMetadata.then(() => "ready" as const), closed, timeout(CONNECT_TIMEOUT_MS)]);
  if (first !== "ready") {
    ws.close();
    if (first === "timeout") return { ...result, failure: `no Metadata from ${options.url} within ${CONNECT_TIMEOUT_MS / 1000} s` };
    const reason = first.reason ? `: ${first.reason}` : "";
    return {
      ...result,
      failure: opened
        ? `closed ${first.code}${reason} before Metadata`
        : `could not connect to ${options.url} (refused, or no gateway there)`,
    };
  }

  const startedAt = performance.now();
  for await (const packet of source.packets) {
    if (ws.readyState !== WebSocket.OPEN) break;
    ws.send(packet);
    result.sentMs += packetDurationMs(packet);
    screen.progress(result.sentMs, source.totalMs);
    if (options.speed === Infinity) {
      while (ws.bufferedAmount > MAX_BUFFERED_BYTES && ws.readyState === WebSocket.OPEN) await Bun.sleep(5);
    } else {
      const wait = startedAt + result.sentMs / options.speed - performance.now();
      if (wait > 1) await Bun.sleep(wait);
    }
  }
  if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: "CloseStream" }));

  const end = await Promise.race([closed, timeout(CLOSE_TIMEOUT_MS)]);
  screen.end();
  if (end === "timeout") {
    ws.close();
    return {
      ...result,
      failure: result.failure ?? `the gateway did not close the session within ${CLOSE_TIMEOUT_MS / 1000} s of CloseStream`,
    };
  }
  if (end.code !== 1000) result.failure ??= `closed ${end.code}${end.reason ? `: ${end.reason}` : ""}`;
  return result;
}
