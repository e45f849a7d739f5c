/**
 * TRANSCRIBER_BACKEND=local: sessions recognised inside this transcriber. Owns the recognizer pool, refuses
 * a session it cannot serve with an Error and a close code (another language: 1008; every decoder busy: 1013,
 * so the client retries elsewhere rather than the container being OOM-killed), and otherwise starts a
 * LocalSession.
 */
import type { Logger } from "pino";
import type { SessionHandle, SessionPeer } from "../mux-server.ts";
import type { DecodedPacket } from "../opus.ts";
import type { ListenParams } from "../params.ts";
import { errorMessage, type ClientMessage } from "../protocol.ts";
import { PocketsphinxDecoder } from "./pocketsphinx.ts";
import { RecognizerBusyError, RecognizerPool } from "./pool.ts";
import type { RecognizerFactory } from "./recognizer.ts";
import { LocalSession } from "./session.ts";

/** What the shipped recognizer understands; say so in every message that refuses a language. */
export const LOCAL_RECOGNIZER_NAME = "pocketsphinx en-us";

export interface LocalBackendOptions {
  maxSessions: number;
  modelDir: string;
  log: Logger;
  /** Makes recognizers; defaults to pocketsphinx on `modelDir`. */
  createRecognizer?: RecognizerFactory;
}

/** The local backend of one transcriber. */
export class LocalBackend {
  readonly pool: RecognizerPool;
  readonly #log: Logger;

  /** Loads one decoder now, so a missing library or model fails the transcriber at start, not its first session. */
  constructor(options: LocalBackendOptions) {
    this.#log = options.log;
    this.pool = new RecognizerPool(options.createRecognizer ?? (() => new PocketsphinxDecoder(options.modelDir)), options.maxSessions);
    this.pool.release(this.pool.acquire());
  }

  /** A session for `params` on `peer`, or a refusal (Error, then close) that still behaves as a session. */
  startSession(params: ListenParams, input: (frame: Uint8Array) => DecodedPacket, peer: SessionPeer): SessionHandle {
    const send = (message: ClientMessage) => peer.send(JSON.stringify(message));
    const language = params.language;
    if (language !== undefined && !/^en(-|$)/i.test(language)) {
      return refused(
        send,
        peer,
        1008,
        errorMessage(
          "unsupported_language",
          `language "${language}" is not supported by the local recognizer (${LOCAL_RECOGNIZER_NAME}); use language=en, or TRANSCRIBER_BACKEND=openai`,
        ),
      );
    }
    let recognizer;
    try {
      recognizer = this.pool.acquire();
    } catch (error) {
      if (!(error instanceof RecognizerBusyError)) throw error;
      this.#log.warn({ sessionId: params.sessionId, maxSessions: this.pool.maxSessions }, "Local recognizer at capacity; session refused");
      return refused(send, peer, 1013, errorMessage("at_capacity", `${error.message}; try again later`));
    }
    return new LocalSession({
      input,
      recognizer,
      release: (used) => this.pool.release(used),
      send,
      close: (code, reason) => peer.close(code, reason),
      log: this.#log.child({ sessionId: params.sessionId }),
      features: {
        interimResults: params.interimResults,
        speechStarted: params.vadEvents,
        utteranceEnd: params.utteranceEndMs !== undefined,
        utteranceEndGapMs: params.utteranceEndMs,
      },
      context: { requestId: params.requestId ?? crypto.randomUUID(), modelName: LOCAL_RECOGNIZER_NAME, arch: "local" },
      endpointing: params.endpointingMs !== false,
      channels: params.channels,
      echo: { tags: params.tags, extra: params.extra },
    });
  }

  /** Frees the idle decoders. */
  close(): void {
    this.pool.close();
  }
}

/** Sends `error`, closes with `code` on the next turn (after the peer is wired up), ignores everything else. */
function refused(send: (message: ClientMessage) => void, peer: SessionPeer, code: number, error: ClientMessage): SessionHandle {
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    send(error);
    peer.close(code, error.type === "Error" ? error.code : "refused");
  };
  queueMicrotask(close);
  return {
    onBinary: () => undefined,
    onText: () => undefined,
    shutDown: async () => close(),
    dispose: () => {
      closed = true;
    },
  };
}
