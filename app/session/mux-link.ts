/**
 * The gateway's end of the multiplexed transcriber link (`WS /v1/mux`, wire format in transcriber/mux-wire.ts):
 * one WebSocket per running container, opened by its first session and kept while the container runs, so a
 * warm session needs no handshake; each session is a channel on it. A relay sees a channel only through the
 * small `Upstream` interface.
 */
import { Batcher, closePayload, parseClose, payloadText, readBatch, RECORD, textPayload } from "../../transcriber/mux-wire.ts";

/** What the relay hears from its transcriber session. */
export interface UpstreamEvents {
  message(data: string | Uint8Array): void;
  /** The session ended on the transcriber's side (its close code), or the link broke (1006). */
  closed(code: number, reason: string): void;
  /** The backed-up link chose this session, its newest, to give way (see MuxLink.relieve): close it 1013. */
  shed(): void;
}

/** The relay's view of its transcriber session. */
export interface Upstream {
  send(frame: string | Uint8Array): void;
  /** Bytes queued towards the transcriber and not yet taken by the kernel (the whole link's). */
  readonly bufferedAmount: number;
  /** Ends the session on the transcriber; no event follows. */
  close(code: number, reason: string): void;
  /**
   * This session has waited on a backed-up link past its patience (or, `overLimit`, the link holds more than its
   * limit): the link may shed its newest session.
   */
  relieve?(overLimit?: boolean): void;
}

/** Opens the relay's upstream: resolves once frames can be sent. */
export type Attach = (events: UpstreamEvents) => Promise<Upstream>;

/** How far behind a link is: what it holds for the transcriber and for how long it has held more than the mark. */
export interface LinkBacklog {
  bytes: number;
  behindMs: number;
}

/** A backed-up link sheds its newest session at most this often, and only while its backlog is not falling. */
export const SHED_GAP_MS = 100;
/** A backlog that fell by this share since the last shed is draining: no more are shed yet. */
const DRAINING_SHARE = 0.1;

/** One WebSocket to one transcriber, carrying every session on it. */
export class MuxLink {
  private readonly channels = new Map<number, UpstreamEvents>();
  /** Channel ids in the order they opened (ids only grow); closed ones are dropped lazily. */
  private readonly openOrder: number[] = [];
  /** When the last session was shed (or the backlog last sampled for it), and the backlog then. */
  private lastShed = { atMs: -Infinity, bytes: Infinity };
  private readonly out: Batcher;
  private nextChannel = 1;
  private ended = false;
  /** Since when the link has held more than `behindBytes()` for the transcriber; undefined while it keeps up. */
  private behindSinceMs: number | undefined;

  private constructor(
    private readonly socket: WebSocket,
    private readonly onEnd: () => void,
    private readonly behindBytes: () => number,
  ) {
    this.out = new Batcher((batch) => socket.send(batch));
    socket.onmessage = (event) => this.receive(new Uint8Array(event.data as ArrayBuffer));
    socket.onclose = (event) => this.linkClosed(event.code, event.reason);
  }

  /**
   * Opens the link; rejects (naming the transcriber) when it refuses or does not answer within `timeoutMs`.
   * `onEnd` runs once the link is gone, however it went.
   */
  static open(url: string, timeoutMs: number, onEnd: () => void, behindBytes: () => number = () => Infinity): Promise<MuxLink> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url);
      socket.binaryType = "arraybuffer";
      const timer = setTimeout(() => {
        socket.onclose = null;
        socket.close();
        onEnd();
        reject(new Error(`transcriber at ${url} did not accept the session within ${timeoutMs} ms`));
      }, timeoutMs);
      socket.onopen = () => {
        clearTimeout(timer);
        resolve(new MuxLink(socket, onEnd, behindBytes));
      };
      socket.onclose = (event) => {
        clearTimeout(timer);
        onEnd();
        reject(new Error(`transcriber at ${url} refused the session (${event.code})`));
      };
    });
  }

  get closed(): boolean {
    return this.ended;
  }

  /** Sessions on this link. */
  get size(): number {
    return this.channels.size;
  }

  /** A new session with the transcriber's `/v1/listen` query; usable at once (records are ordered). */
  channel(query: string, events: UpstreamEvents): Upstream {
    if (this.ended) throw new Error("the transcriber link is closed");
    const id = this.nextChannel++;
    this.channels.set(id, events);
    this.openOrder.push(id);
    if (this.openOrder.length > 2 * this.channels.size + 64) this.compactOrder();
    this.out.add(RECORD.open, id, textPayload(query));
    const link = this;
    return {
      send: (frame) => {
        if (!link.channels.has(id)) return;
        if (typeof frame === "string") link.out.add(RECORD.text, id, textPayload(frame));
        else link.out.add(RECORD.binary, id, frame);
      },
      get bufferedAmount() {
        return link.sampleBacklog();
      },
      close: (code, reason) => {
        if (!link.channels.delete(id) || link.ended) return;
        link.out.add(RECORD.close, id, closePayload(code, reason));
      },
      relieve: (overLimit) => link.relieve(overLimit),
    };
  }

  /**
   * Called by sessions paused on this link for longer than they wait: the transcriber takes less than its
   * sessions send. Sheds the newest session (its relay closes it 1013 `transcriber_backpressure`) when none was
   * shed in the last SHED_GAP_MS and the backlog has not fallen by DRAINING_SHARE since (or, `overLimit`, however
   * it moved): so the newest give way one by one until the transcriber keeps up, and the oldest keep their audio,
   * instead of every session on the link timing out, or crossing the limit, together.
   */
  relieve(overLimit = false, now = performance.now()): void {
    if (this.ended || now - this.lastShed.atMs < SHED_GAP_MS) return;
    const bytes = this.sampleBacklog(now);
    const draining = bytes < this.lastShed.bytes * (1 - DRAINING_SHARE);
    this.lastShed = { atMs: now, bytes };
    if (draining && !overLimit) return;
    const id = this.newestChannel();
    if (id !== undefined) this.channels.get(id)?.shed(); // its relay ends the session, which closes the channel
  }

  private newestChannel(): number | undefined {
    const order = this.openOrder;
    while (order.length > 0 && !this.channels.has(order[order.length - 1]!)) order.pop();
    return order[order.length - 1];
  }

  private compactOrder(): void {
    const open = this.openOrder.filter((id) => this.channels.has(id));
    this.openOrder.length = 0;
    this.openOrder.push(...open);
  }

  /**
   * What the link holds for the transcriber now, and for how long it has held more than the mark: the signal that
   * the transcriber is falling behind. Sampled here and by every relay after each frame it sends, so a link
   * carrying audio is sampled 50 times a second per session and the time behind is as fine.
   */
  backlog(now = performance.now()): LinkBacklog {
    const bytes = this.sampleBacklog(now);
    return { bytes, behindMs: this.behindSinceMs === undefined ? 0 : now - this.behindSinceMs };
  }

  private sampleBacklog(now = performance.now()): number {
    const bytes = this.socket.bufferedAmount + this.out.pendingBytes;
    if (bytes <= this.behindBytes()) this.behindSinceMs = undefined;
    else this.behindSinceMs ??= now;
    return bytes;
  }

  /** Closes the link; every session still on it hears `closed(code)`. */
  close(code = 1000, reason = "gateway closing the link"): void {
    if (this.ended) return;
    this.out.flush();
    this.socket.close(code, reason);
    this.linkClosed(code, reason);
  }

  private receive(batch: Uint8Array): void {
    try {
      readBatch(batch, (kind, id, payload) => {
        const events = this.channels.get(id);
        if (!events) return; // the session ended on this side while the record was on its way
        if (kind === RECORD.binary) events.message(payload);
        else if (kind === RECORD.text) events.message(payloadText(payload));
        else if (kind === RECORD.close) {
          this.channels.delete(id);
          const { code, reason } = parseClose(payload);
          events.closed(code, reason);
        }
      });
    } catch (error) {
      this.close(1002, (error as Error).message);
    }
  }

  private linkClosed(code: number, reason: string): void {
    if (this.ended) return;
    this.ended = true;
    this.out.clear();
    this.socket.onmessage = null;
    this.socket.onclose = null;
    // A link that closed normally still ends its sessions abnormally for them: no close record came.
    const sessionCode = code === 1000 ? 1001 : code;
    const sessions = [...this.channels.values()];
    this.channels.clear();
    this.openOrder.length = 0;
    this.onEnd();
    for (const events of sessions) events.closed(sessionCode, reason || "the transcriber link closed");
  }
}

/** The open links, one per container; a link is made on first use and forgotten once it is gone. */
export class MuxLinks {
  private readonly links = new Map<string, Promise<MuxLink>>();
  private readonly open = new Map<string, MuxLink>();

  /** `behindBytes`: the backlog over which a link counts as behind (see backlog()). */
  constructor(
    private readonly connectTimeoutMs = 5000,
    private readonly behindBytes: () => number = () => Infinity,
  ) {}

  /** The backlog of container `key`'s link, when one is open. */
  backlog(key: string): LinkBacklog | undefined {
    const link = this.open.get(key);
    return link && !link.closed ? link.backlog() : undefined;
  }

  /** Links currently open or opening. */
  get size(): number {
    return this.links.size;
  }

  /** The relay's attach for a session on container `key` at `url` (its `/v1/mux`), with `query`. */
  attach(key: string, url: string, query: string): Attach {
    return async (events) => {
      const link = await this.link(key, url);
      return link.channel(query, events);
    };
  }

  /** Closes every link (gateway shutdown, after the sessions were drained). */
  closeAll(): void {
    for (const pending of this.links.values())
      void pending.then(
        (link) => link.close(),
        () => undefined,
      );
    this.links.clear();
    this.open.clear();
  }

  private async link(key: string, url: string): Promise<MuxLink> {
    const existing = this.links.get(key);
    if (existing) {
      const link = await existing; // a link that failed to open fails this attempt too (listen.ts retries)
      if (!link.closed) return link;
    }
    const opening = MuxLink.open(
      url,
      this.connectTimeoutMs,
      () => {
        if (this.links.get(key) === opening) this.links.delete(key);
        // A link ends marked closed; a newer open link under the key stays.
        if (this.open.get(key)?.closed) this.open.delete(key);
      },
      this.behindBytes,
    );
    this.links.set(key, opening);
    void opening.then(
      (link) => !link.closed && this.open.set(key, link),
      () => undefined,
    );
    return opening;
  }
}
