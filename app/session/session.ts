/**
 * One client session, from its routing decision to its end, as a state union with one setter (as
 * runtime/instance.ts keeps an instance): routed -> upgraded -> leased -> attached -> finished. Whatever way
 * it ends (its upgrade never opens, the handshake is invalid, the container cannot start, the transcriber
 * cannot be reached, the client leaves while it waits, the container crashes, shutdown), it goes through
 * finish() once, which releases what the state it leaves holds: the routing assignment, the lease, the
 * per-IP slot and the session counts, each exactly once. See docs/architecture.md, "A session's path".
 */
import type { Instance, Lease } from "../../runtime/instance.ts";
import type { InstanceRegistry } from "../../runtime/instances.ts";
import type { GatewayEvents } from "../events.ts";
import type { Logger } from "../log.ts";
import { CLOSE, type ErrorCode, type Metadata } from "../protocol.ts";
import type { Refusal } from "../refusal.ts";
import type { SessionSelector } from "../routing/selector.ts";
import type { SessionBook } from "./book.ts";
import { containerRefusal } from "./container-refusal.ts";
import type { TranscriberLoads } from "./load-refusal.ts";
import type { MuxLinks } from "./mux-link.ts";
import { type ListenQuery, muxUrl, upstreamQuery } from "./query.ts";
import { type ClientSocket, Relay } from "./relay.ts";

/** How long a routed session may take to complete its upgrade before its routing is undone. */
export const UPGRADE_DEADLINE_MS = 10_000;

export type SessionStateName = "routed" | "upgraded" | "leased" | "attached" | "finished";

/** Lifecycle as data: each state carries exactly what must be released when the session leaves it. */
type SessionState =
  | { name: "routed"; deadline: ReturnType<typeof setTimeout> }
  | { name: "upgraded"; relay: Relay }
  | { name: "leased"; relay: Relay; lease: Lease }
  | { name: "attached"; relay: Relay; lease: Lease }
  | { name: "finished"; code: number | undefined };

/** What a session uses of the gateway; every getter is read at use time (a reload swaps the selector and config). */
export interface SessionDeps {
  selector(): SessionSelector;
  registry: Pick<InstanceRegistry, "get" | "has">;
  links: Pick<MuxLinks, "attach">;
  book: SessionBook;
  events: GatewayEvents;
  log: Logger;
  /** Takes a per-IP connection slot; returns its release. */
  acquireIp(ip: string): () => void;
  engineProblem(): string | undefined;
  /** Transcribers' own load reports: one that says it cannot keep up refuses new sessions before the upgrade. */
  loads?: Pick<TranscriberLoads, "refusal" | "sessionEnded">;
  backpressureLimitBytes(): number;
  /** GATEWAY_ID, named in the session's Metadata. */
  gatewayId(): string;
  /** Default UPGRADE_DEADLINE_MS. */
  upgradeDeadlineMs?: number;
}

export interface SessionRequest {
  query: ListenQuery;
  ip: string;
  requestId?: string;
  /** More transcriber query parameters (the Deepgram layer's), appended to the upstream query as they are. */
  upstreamParams?: string;
  /** More fields for the first Metadata, computed when it is sent (the Deepgram layer's opening fields). */
  metadataFields?: () => object;
}

export class Session {
  readonly requestId: string;
  readonly sessionId: string;
  readonly instanceId: string;
  private readonly routedAtMs = performance.now();
  private readonly instance: Pick<Instance, "acquire" | "suspect" | "touch" | "retire">;
  private readonly releaseIp: () => void;
  private current: SessionState;

  /**
   * Routes a new session: the selector's decision, then whether its instance can take one now. On success the
   * session is counted at once (so a burst sees its own load) and its upgrade deadline runs.
   */
  static route(deps: SessionDeps, request: SessionRequest): { session: Session; decisionUs: number } | Refusal {
    const startedAt = performance.now();
    const decision = deps.selector().route({ sessionId: request.query.sessionId });
    const decisionUs = (performance.now() - startedAt) * 1000;
    if (!decision.ok) {
      const { ok: _, ...refusal } = decision;
      return refusal;
    }
    const refused = containerRefusal(deps.registry, deps.engineProblem(), decision.instanceId) ?? deps.loads?.refusal(decision.instanceId);
    if (refused) return refused;
    return { session: new Session(deps, request, decision.instanceId), decisionUs };
  }

  private constructor(
    private readonly deps: SessionDeps,
    private readonly request: SessionRequest,
    instanceId: string,
  ) {
    this.requestId = request.requestId ?? crypto.randomUUID();
    this.sessionId = request.query.sessionId ?? this.requestId;
    this.instanceId = instanceId;
    this.instance = deps.registry.get(instanceId);
    this.releaseIp = deps.acquireIp(request.ip);
    deps.selector().opened(this.sessionId, instanceId);
    deps.book.routed();
    const deadline = setTimeout(() => {
      deps.log.warn({ requestId: this.requestId, instance: instanceId }, "routed session never completed its upgrade");
      this.finish(undefined);
    }, deps.upgradeDeadlineMs ?? UPGRADE_DEADLINE_MS);
    deadline.unref?.();
    this.current = { name: "routed", deadline };
  }

  get stateName(): SessionStateName {
    return this.current.name;
  }

  private get state(): SessionState {
    return this.current;
  }

  /** Every transition goes through here; finish() is the only way into `finished`. */
  private set state(next: SessionState) {
    this.current = next;
  }

  /** The handshake could not be completed after routing (Bun refused it): undo everything now. */
  upgradeFailed(): void {
    if (this.state.name === "routed") this.finish(undefined);
  }

  /** The WebSocket opened: relay it, then acquire the instance and attach the transcriber in the background. */
  opened(client: ClientSocket): void {
    if (this.state.name !== "routed") return client.close(CLOSE.tryAgainLater, "upgrade took too long");
    clearTimeout(this.state.deadline);
    const relay = new Relay({
      client,
      backpressureLimitBytes: this.deps.backpressureLimitBytes(),
      onActivity: () => this.instance.touch(),
      onUpstreamLost: () => {
        if ("lease" in this.state) return this.instance.suspect(this.state.lease.containerId);
        return undefined;
      },
      // The container announced its shutdown: no new session may be placed on it; the next starts a fresh one.
      onContainerStopping: () => {
        if ("lease" in this.state) this.instance.retire(this.state.lease.containerId);
      },
      onFinish: (code) => this.finish(code),
    });
    this.state = { name: "upgraded", relay };
    this.deps.book.opened(relay);
    void this.attach(relay);
  }

  /** A frame from the client (queued in the relay until the transcriber is attached). */
  fromClient(message: string | Uint8Array): void {
    if ("relay" in this.state) this.state.relay.fromClient(message);
  }

  /** Ends the session from the gateway's side with an Error and `code` (once its relay is open). */
  fail(code: number, reason: ErrorCode, message: string): void {
    if ("relay" in this.state) this.state.relay.fail(code, reason, message);
  }

  /** The client closed its socket. */
  clientClosed(code: number, reason: string): void {
    if ("relay" in this.state) this.state.relay.clientClosed(code, reason);
  }

  /**
   * Acquires the instance, sends Metadata as soon as a running container holds the session, and attaches the
   * upstream (frames the client sends meanwhile queue in the relay). A warm container that died a moment ago
   * refuses the upstream: it is marked suspect (the instance probes it) and one more acquire() starts a fresh
   * one; the session, its queued frames and its Metadata stay as they are.
   */
  private async attach(relay: Relay): Promise<void> {
    let metadataSent = false;
    for (let attempt = 1; ; attempt++) {
      let lease: Lease;
      try {
        lease = await this.instance.acquire();
      } catch (error) {
        return relay.fail(CLOSE.tryAgainLater, "container_failed", `could not start ${this.instanceId}: ${(error as Error).message}`);
      }
      if (this.state.name !== "upgraded") return lease.release(); // the client left while it waited
      this.state = { name: "leased", relay, lease };
      if (!metadataSent) {
        metadataSent = true;
        this.sendMetadata(relay, lease);
      }
      try {
        await relay.connect(this.deps.links.attach(lease.containerId, muxUrl(lease.endpoint), this.upstreamQuery()));
      } catch (error) {
        if (this.state.name !== "leased") return; // finished meanwhile: finish() released the lease
        this.state = { name: "upgraded", relay };
        lease.release();
        if (attempt === 2) return relay.fail(CLOSE.tryAgainLater, "transcriber_unreachable", (error as Error).message);
        await this.instance.suspect(lease.containerId);
        continue;
      }
      if (this.state.name !== "leased") return;
      this.state = { name: "attached", relay, lease };
      return lease.onCrash((info) =>
        relay.fail(CLOSE.serviceRestart, "container_stopped", `container ${this.instanceId} stopped (${info.reason}); reconnect`),
      );
    }
  }

  private upstreamQuery(): string {
    const base = upstreamQuery(this.request.query, this.sessionId);
    return this.request.upstreamParams ? `${base}&${this.request.upstreamParams}` : base;
  }

  private sendMetadata(relay: Relay, lease: Lease): void {
    const metadata: Metadata = {
      ...this.request.metadataFields?.(),
      type: "Metadata",
      session_id: this.sessionId,
      request_id: this.requestId,
      container: this.instanceId,
      routing: this.deps.selector().mode,
      gateway: this.deps.gatewayId(),
      start: lease.start,
      wait_ms: Math.round((performance.now() - this.routedAtMs) * 10) / 10,
    };
    relay.sendClient(JSON.stringify(metadata));
    this.deps.events.emit({
      type: "session_opened",
      sessionId: this.sessionId,
      instanceId: this.instanceId,
      start: lease.start,
      waitMs: metadata.wait_ms,
    });
  }

  /** The one way out: releases what the state being left holds, then everything every session holds. */
  private finish(code: number | undefined): void {
    const from = this.state;
    if (from.name === "finished") return;
    this.state = { name: "finished", code };
    if (from.name === "routed") clearTimeout(from.deadline);
    if (from.name === "leased" || from.name === "attached") from.lease.release();
    this.releaseIp();
    this.deps.selector().closed(this.sessionId, this.instanceId);
    this.deps.loads?.sessionEnded(this.instanceId);
    const who = { sessionId: this.sessionId, instanceId: this.instanceId, routedAtMs: this.routedAtMs };
    if (from.name === "routed") this.deps.book.abandoned();
    else this.deps.book.ended(from.relay, code ?? CLOSE.internalError, who);
  }
}
