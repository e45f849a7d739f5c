/**
 * The transcriber's end of `WS /v1/mux` (wire format: mux-wire.ts): every channel is one session, handled
 * exactly like a `/v1/listen` socket of its own (the same session factory), its messages carried as records.
 */
import type { OpusBuild } from "./opus-core.ts";
import { OpusStreamDecoder, type OpusRateHz } from "./opus.ts";
import { Batcher, closePayload, payloadText, readBatch, RECORD, type RecordKind, textPayload } from "./mux-wire.ts";
import { parseListenParams, type ListenParams } from "./params.ts";
import { SHUTDOWN } from "./protocol.ts";

/** What a session needs from its peer; the same shape for a plain socket and a mux channel. */
export interface SessionPeer {
  send(message: string): void;
  close(code: number, reason: string): void;
}

/** A started session as server.ts makes one (a TranscriptionSession, or the echo backend). */
export interface SessionHandle {
  onText(text: string): void;
  onBinary(frame: Uint8Array): void;
  /** The server is stopping: finals, then SHUTDOWN's Error and close (see protocol.ts). */
  shutDown(): Promise<void>;
  dispose(): void;
}

export interface MuxHooks {
  /** Whether sessions need an Opus decoder (not with the echo backend). */
  decodesOpus: boolean;
  /** The libopus build decoders come from (libopus-wasm when not given). */
  opusBuild?: OpusBuild;
  /** The decoders' output rate when not the default 24 kHz (the local recognizer's 16 kHz). */
  pcmRateHz?: OpusRateHz;
  /** A session's largest message; a bigger one ends that session with 1009, as on a socket of its own. */
  maxFrameBytes: number;
  /** Starts a session for `params` talking to `peer`; `sendBinary` is for the echo backend. */
  startSession(
    params: ListenParams,
    opus: OpusStreamDecoder | undefined,
    peer: SessionPeer & { sendBinary(frame: Uint8Array): void },
  ): SessionHandle;
  /** A session's end (for logs); `code` as sent to the gateway. */
  ended?(params: ListenParams, code: number): void;
}

interface Channel {
  params: ListenParams;
  opus?: OpusStreamDecoder;
  session?: SessionHandle;
  /** Messages that arrived while the Opus decoder was being made. */
  waiting?: Array<string | Uint8Array>;
  ended: boolean;
}

/** One gateway link: its channels, and the batch of records going back this turn. */
export class MuxPeer {
  private readonly channels = new Map<number, Channel>();
  private readonly out: Batcher;
  /** Set by shutDownAll: a channel opened after it is refused the same way. */
  private shuttingDown = false;

  constructor(
    send: (batch: Uint8Array) => void,
    private readonly hooks: MuxHooks,
  ) {
    this.out = new Batcher(send);
  }

  /** Open sessions on this link. */
  get size(): number {
    return this.channels.size;
  }

  /** A batch from the gateway. Throws on a malformed batch (the caller closes the link). */
  receive(batch: Uint8Array): void {
    readBatch(batch, (kind, id, payload) => this.record(kind, id, payload));
  }

  /** The server is stopping: every session ends as SHUTDOWN says (finals first), and so does any opened later. */
  shutDownAll(): Promise<void>[] {
    this.shuttingDown = true;
    return [...this.channels].map(([id, channel]) => {
      if (channel.session) return channel.session.shutDown();
      this.refuse(id);
      return Promise.resolve();
    });
  }

  /** Sends this turn's records now (before the server stops, which would drop them). */
  flush(): void {
    this.out.flush();
  }

  /** The link is gone: every session ends without a word to anyone. */
  dispose(): void {
    for (const id of [...this.channels.keys()]) this.drop(id);
    this.out.clear();
  }

  private record(kind: RecordKind, id: number, payload: Uint8Array): void {
    if (kind === RECORD.open) return this.open(id, payloadText(payload));
    const channel = this.channels.get(id);
    if (!channel) return; // a record crossing this side's close: nothing to do
    if (kind === RECORD.close) {
      this.drop(id);
      return;
    }
    if (payload.byteLength > this.hooks.maxFrameBytes) return this.end(id, 1009, `frame over ${this.hooks.maxFrameBytes} bytes`);
    const message = kind === RECORD.text ? payloadText(payload) : payload;
    if (channel.waiting) channel.waiting.push(kind === RECORD.binary ? payload.slice() : message);
    else deliver(channel.session!, message);
  }

  private open(id: number, query: string): void {
    if (this.channels.has(id)) return this.end(id, 1008, `channel ${id} is already open`);
    const params = parseListenParams(new URLSearchParams(query));
    if ("error" in params) {
      this.out.add(RECORD.close, id, closePayload(1008, params.error));
      return;
    }
    const channel: Channel = { params, ended: false };
    this.channels.set(id, channel);
    if (this.shuttingDown) return this.refuse(id);
    if (!this.hooks.decodesOpus || params.encoding !== "opus") return this.start(id, channel);
    // The decoder is made asynchronously (wasm): frames wait for it, in order.
    channel.waiting = [];
    void OpusStreamDecoder.create(this.hooks.pcmRateHz, this.hooks.opusBuild).then(
      (opus) => {
        if (channel.ended) return opus.free();
        channel.opus = opus;
        this.start(id, channel);
      },
      (error: Error) => this.end(id, 1011, `could not create an Opus decoder: ${error.message}`),
    );
  }

  private start(id: number, channel: Channel): void {
    channel.session = this.hooks.startSession(channel.params, channel.opus, {
      send: (message) => {
        if (!channel.ended) this.out.add(RECORD.text, id, textPayload(message));
      },
      sendBinary: (frame) => {
        if (!channel.ended) this.out.add(RECORD.binary, id, frame);
      },
      close: (code, reason) => this.end(id, code, reason),
    });
    const waiting = channel.waiting ?? [];
    channel.waiting = undefined;
    for (const message of waiting) deliver(channel.session, message);
  }

  /** Ends a session that has no transcript to flush the way SHUTDOWN says: its Error, then its close. */
  private refuse(id: number): void {
    if (this.channels.get(id)?.ended === false) this.out.add(RECORD.text, id, textPayload(JSON.stringify(SHUTDOWN.notice)));
    this.end(id, SHUTDOWN.code, SHUTDOWN.reason);
  }

  /** This side ends the session: tell the gateway, then free it. */
  private end(id: number, code: number, reason: string): void {
    const channel = this.channels.get(id);
    if (!channel || channel.ended) return;
    this.out.add(RECORD.close, id, closePayload(code, reason));
    this.drop(id, code);
  }

  private drop(id: number, code = 1000): void {
    const channel = this.channels.get(id);
    if (!channel) return;
    this.channels.delete(id);
    channel.ended = true;
    channel.session?.dispose();
    channel.opus?.free();
    this.hooks.ended?.(channel.params, code);
  }
}

function deliver(session: SessionHandle, message: string | Uint8Array): void {
  if (typeof message === "string") session.onText(message);
  else session.onBinary(message);
}
