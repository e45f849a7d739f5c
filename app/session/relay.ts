/**
 * One client session relayed to its transcriber. Frames from the client queue (bounded) until the upstream
 * (a channel of the container's multiplexed link, mux-link.ts) is open, then pass through untouched both ways.
 * Every way a session can end (client close, upstream close, container crash, backpressure, shutdown) goes
 * through `finish`, which runs exactly once, so the lease, and with it the instance's open-session count, is
 * released exactly once.
 */
import type { Attach, Upstream } from "./mux-link.ts";
import { CLOSE, type ErrorCode, errorMessage } from "../protocol.ts";

/** The parts of Bun's ServerWebSocket the relay uses (a seam for unit tests). */
export interface ClientSocket {
  send(data: string | Uint8Array): number;
  close(code?: number, reason?: string): void;
  getBufferedAmount(): number;
  /** Stops/restarts reading the client's socket (Bun's ServerWebSocket): TCP backpressure towards it. */
  pause?(): void;
  resume?(): void;
}

/**
 * How often a paused client is checked against the transcriber's drain; how long it waits before asking its link
 * to shed its newest session (mux-link.ts `relieve`); and how long at most before it is closed itself.
 */
const DRAIN_CHECK_MS = 5;
const MAX_PAUSE_MS = 5_000;
const MAX_SHED_WAIT_MS = 15_000;

export interface RelayOptions {
  client: ClientSocket;
  /** Bytes queued towards either side before the session is closed instead of buffering more. */
  backpressureLimitBytes: number;
  /** Called for every relayed frame; must stay O(1) (it marks the instance active). */
  onActivity: () => void;
  /**
   * Called when an open upstream breaks without a close frame: the container may be gone. It may resolve with
   * why (the container was killed, its engine host was lost), which the client's Error then carries; the relay
   * waits for that at most LOSS_ACCOUNT_WAIT_MS.
   */
  onUpstreamLost?: () => Promise<string | undefined> | undefined;
  /** Called when the transcriber ended the session because it is shutting down: its container is on its way out. */
  onContainerStopping?: () => void;
  /** Called once when the session ends, however it ends. */
  onFinish: (code: number, reason: string) => void;
}

type Frame = string | Uint8Array;

/** How long a lost upstream's account of why (see onUpstreamLost) may hold the client's close. */
const LOSS_ACCOUNT_WAIT_MS = 2_000;

export class Relay {
  private upstream: Upstream | undefined;
  private queue: Frame[] = [];
  private queuedBytes = 0;
  private finished = false;
  private pausedSinceMs: number | undefined;
  /** Who asked for the end the transcriber's 1000 answers: the client (CloseStream) or the gateway (drain). */
  private closeAskedBy: "client" | "gateway" | undefined;
  bytesIn = 0;
  bytesOut = 0;

  constructor(private readonly opts: RelayOptions) {}

  get closed(): boolean {
    return this.finished;
  }

  /** A frame from the client: forwarded now, or queued until the upstream is open. */
  fromClient(frame: Frame): void {
    if (this.finished) return;
    // Text frames are rare control messages: only CloseStream turns the transcriber's 1000 into the client's.
    if (typeof frame === "string" && frame.includes("CloseStream")) this.closeAskedBy ??= "client";
    const size = typeof frame === "string" ? frame.length : frame.byteLength;
    this.bytesIn += size;
    this.opts.onActivity();
    const upstream = this.upstream;
    if (upstream) {
      upstream.send(frame);
      const buffered = upstream.bufferedAmount;
      const limit = this.opts.backpressureLimitBytes;
      if (buffered > limit) {
        // Past the limit (paused clients read again at once, each with the audio it held): the link sheds its
        // newest session now; past twice the limit, or on an upstream that cannot shed, this one is closed.
        if (buffered > 2 * limit || !upstream.relieve) {
          return this.fail(CLOSE.tryAgainLater, "transcriber_backpressure", "the transcriber is not keeping up");
        }
        upstream.relieve(true);
        if (!this.finished) this.pauseClient();
      } else if (buffered > limit / 2) this.pauseClient();
      return;
    }
    this.queuedBytes += size;
    this.queue.push(frame);
    if (this.queuedBytes > this.opts.backpressureLimitBytes) {
      this.fail(CLOSE.tryAgainLater, "transcriber_backpressure", "too much audio buffered while the transcriber started");
    }
  }

  /**
   * Opens the upstream through `attach` and resolves once frames flow. Rejects, leaving the session and its
   * queued frames intact for another attempt, if the transcriber cannot be reached.
   */
  async connect(attach: Attach): Promise<void> {
    const upstream = await attach({
      message: (data) => this.fromUpstream(data),
      closed: (code, reason) => this.upstreamClosed(code, reason),
      shed: () =>
        this.fail(
          CLOSE.tryAgainLater,
          "transcriber_backpressure",
          "the transcriber is not keeping up (its newest sessions give way first)",
        ),
    });
    if (this.finished) return upstream.close(1000, "client session ended");
    for (const frame of this.queue) upstream.send(frame);
    this.queue = [];
    this.queuedBytes = 0;
    this.upstream = upstream;
  }

  /**
   * The gateway is shutting down: asks the transcriber to flush (CloseStream), so the client gets its finals
   * and then Error `gateway_shutdown` and 1001, not the 1000 that only its own CloseStream earns.
   */
  drain(): void {
    if (this.finished) return;
    this.closeAskedBy ??= "gateway";
    const closeStream = '{"type":"CloseStream"}';
    // Still connecting: it goes after the audio already queued, so the transcriber flushes that too.
    if (this.upstream) this.upstream.send(closeStream);
    else this.queue.push(closeStream);
  }

  /** Sends a message straight to the client (Metadata). */
  sendClient(message: string): void {
    if (!this.finished) this.opts.client.send(message);
  }

  /** Ends the session with an Error message and a close code. */
  fail(code: number, errorCode: ErrorCode, message: string): void {
    if (this.finished) return;
    this.opts.client.send(errorMessage(errorCode, message));
    this.end(code, message);
  }

  /** Ends the session from the gateway's side. */
  end(code: number, reason: string): void {
    if (this.finished) return;
    this.opts.client.close(code, reason);
    this.finish(code, reason);
  }

  /** The client closed (or went away); nothing is sent to it. */
  clientClosed(code: number, reason: string): void {
    this.finish(code, reason);
  }

  private fromUpstream(frame: string | Uint8Array): void {
    if (this.finished) return;
    this.bytesOut += typeof frame === "string" ? frame.length : frame.byteLength;
    this.opts.onActivity();
    const client = this.opts.client;
    client.send(frame);
    if (client.getBufferedAmount() > this.opts.backpressureLimitBytes) {
      this.end(CLOSE.policy, "client is not reading");
    }
  }

  private upstreamClosed(code: number, reason: string): void {
    if (this.finished) return;
    this.upstream = undefined; // ended on the transcriber's side: nothing more to send or close there
    if (code === CLOSE.normal && this.closeAskedBy === "client") return this.end(CLOSE.normal, reason);
    if (code === CLOSE.normal && this.closeAskedBy === "gateway") {
      return this.fail(CLOSE.goingAway, "gateway_shutdown", "gateway is shutting down");
    }
    // A transcriber shutting down (SIGTERM: podman stop, an upgrade, an eviction) sent the finals and its Error
    // before this 1012; an unasked-for 1000 (an older transcriber's drain) means the same, without the Error.
    if (code === CLOSE.serviceRestart || code === CLOSE.normal) {
      this.opts.onContainerStopping?.();
      if (code === CLOSE.serviceRestart) return this.end(CLOSE.serviceRestart, reason || "transcriber shutting down");
      return this.fail(CLOSE.serviceRestart, "container_stopped", "the transcriber container is shutting down; reconnect");
    }
    // No close frame (1006) or "going away" means the container went away: the client should reconnect.
    if (code === 1006 || code === CLOSE.goingAway) {
      const why = this.opts.onUpstreamLost?.();
      const lost = (reason: string | undefined) =>
        this.fail(CLOSE.serviceRestart, "container_stopped", `the transcriber container stopped${reason ? ` (${reason})` : ""}; reconnect`);
      if (!why) return lost(undefined);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const giveUp = new Promise<undefined>((resolve) => (timer = setTimeout(resolve, LOSS_ACCOUNT_WAIT_MS, undefined)));
      void Promise.race([why, giveUp])
        .finally(() => clearTimeout(timer))
        .then(lost, () => lost(undefined));
      return;
    }
    this.end(isSendable(code) ? code : CLOSE.internalError, reason || "transcriber closed the session");
  }

  /**
   * A burst the transcriber has not taken yet: stop reading the client (TCP backpressure) instead of buffering
   * on, and read again once the transcriber drained. Over a Unix socket the kernel buffers far less than on
   * loopback TCP, so this is what keeps a burst from reading as "transcriber not keeping up". Still backed up
   * after MAX_PAUSE_MS, it is: the link is asked to shed its newest session (this one, when it is the newest) every
   * check, which it does while its backlog does not fall; past MAX_SHED_WAIT_MS, or on an upstream that cannot
   * shed, this session is closed 1013 itself.
   */
  private pauseClient(): void {
    const client = this.opts.client;
    if (this.pausedSinceMs !== undefined || !client.pause || !client.resume) return;
    client.pause();
    this.pausedSinceMs = performance.now();
    const check = () => {
      if (this.finished) return;
      if ((this.upstream?.bufferedAmount ?? 0) <= this.opts.backpressureLimitBytes / 4) {
        this.pausedSinceMs = undefined;
        return client.resume!();
      }
      const pausedMs = performance.now() - this.pausedSinceMs!;
      if (pausedMs > MAX_PAUSE_MS) {
        const upstream = this.upstream;
        if (pausedMs > MAX_SHED_WAIT_MS || !upstream?.relieve) {
          return this.fail(CLOSE.tryAgainLater, "transcriber_backpressure", "the transcriber is not keeping up");
        }
        upstream.relieve();
        if (this.finished) return; // this session was the newest: it gave way
      }
      setTimeout(check, DRAIN_CHECK_MS);
    };
    setTimeout(check, DRAIN_CHECK_MS);
  }

  private finish(code: number, reason: string): void {
    if (this.finished) return;
    this.finished = true;
    this.queue = [];
    this.upstream?.close(1000, "client session ended");
    this.upstream = undefined;
    this.opts.onFinish(code, reason);
  }
}

function isSendable(code: number): boolean {
  return (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) || (code >= 3000 && code <= 4999);
}
