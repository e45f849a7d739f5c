/**
 * The cluster's instance directory in Redis (directory-scripts.ts), with this gateway's copy of it
 * (directory-copy.ts) for synchronous reads. Notices on the directory's channel keep the copy current; each poll
 * compares versions and reads everything when a notice was missed, and on every (re)connect the copy is read
 * again in full: pub/sub is a shortcut, never the only truth. A changed epoch means Redis lost its data: the
 * `lost` listeners (the cluster member) write back what this gateway holds.
 */
import { StoreUnavailableError } from "../routing/store.ts";
import { type DirectoryCopy as Copy, DirectoryCopy, type DirectoryListener, type DirectoryRecord, encodeRecord } from "./directory-copy.ts";
import {
  ADOPT,
  CLAIM,
  COMPLETE,
  directoryKeys,
  LEASE,
  LEASE_DROP,
  LIVE,
  MARK,
  READ,
  RELEASE,
  RESTORE,
  VERSION,
} from "./directory-scripts.ts";
import { BeatLoop } from "./beat-loop.ts";
import { RedisLink } from "./link.ts";
import { redactUrl } from "./redis-url.ts";

export type { DirectoryRecord } from "./directory-copy.ts";

/** What a claim found. */
export type ClaimAnswer =
  | { kind: "claimed"; record: DirectoryRecord }
  | { kind: "existing"; record: DirectoryRecord }
  | { kind: "refused" };

/** How a release decides (see RELEASE): always, only while idle cluster-wide, only while its owner is gone. */
export type ReleaseMode = "any" | "idle" | "dead";

export interface DirectoryOptions {
  url: string;
  clusterName: string;
  gatewayId: string;
  /** Between version checks (and the beat hooks: the leader lease). Default 500 ms. */
  pollMs?: number;
  commandTimeoutMs?: number;
  clock?: () => number;
}

export class InstanceDirectory {
  readonly copy: Copy = new DirectoryCopy();
  readonly gatewayId: string;
  /** The cluster's directory keys (membership.ts uses the leader and leaving keys). */
  readonly keys;
  private readonly link: RedisLink;
  private readonly clock: () => number;
  private epoch: string | undefined;
  private up = false;
  /** True while (re)connecting: its own reads run before `available` says so. */
  private opening = false;
  private needsOpen = true;
  private closed = false;
  private readonly beats: BeatLoop;
  private readonly beatHooks = new Set<() => Promise<void>>();
  private readonly lostListeners = new Set<() => void>();
  /** When this gateway last saw Redis come back without the directory (ms epoch), else undefined. */
  lostAtMs: number | undefined;

  constructor(private readonly options: DirectoryOptions) {
    this.gatewayId = options.gatewayId;
    this.keys = directoryKeys(options.clusterName);
    this.beats = new BeatLoop(options.pollMs ?? 500, () => this.beat());
    this.clock = options.clock ?? Date.now;
    this.link = new RedisLink(options.url, options.commandTimeoutMs ?? 1000, () => void (this.needsOpen = true));
  }

  get available(): boolean {
    return this.up && !this.closed;
  }

  get(instanceId: string): DirectoryRecord | undefined {
    return this.copy.get(instanceId);
  }

  records(): DirectoryRecord[] {
    return this.copy.records();
  }

  count(): number {
    return this.copy.count();
  }

  onChange(listener: DirectoryListener): () => void {
    return this.copy.onChange(listener);
  }

  /** Runs `hook` after every poll that reached Redis (the leader lease rides on it). */
  onBeat(hook: () => Promise<void>): void {
    this.beatHooks.add(hook);
  }

  /** Called when Redis is found to have lost the directory (after it was re-read, empty). */
  onLost(listener: () => void): void {
    this.lostListeners.add(listener);
  }

  async connect(): Promise<void> {
    try {
      await this.open();
    } catch (error) {
      this.link.close();
      throw new StoreUnavailableError(`REDIS_URL: cannot reach ${redactUrl(this.options.url)}: ${(error as Error).message}`);
    }
    if (!this.closed) this.beats.start();
  }

  /** Claims `instanceId`'s start (see CLAIM); StoreUnavailableError while Redis is away. */
  async claim(instanceId: string, maxInstances: number, staleMs: number): Promise<ClaimAnswer> {
    const [kind, raw] = (await this.eval(CLAIM, this.epochKeys(), [
      ...[crypto.randomUUID().slice(0, 8), instanceId, this.gatewayId, String(maxInstances)],
      ...[String(this.clock()), String(staleMs), this.keys.prefix, this.keys.channel],
    ])) as [string, string];
    if (kind === "refused") return { kind };
    const record = this.copy.applyWritten(raw);
    return kind === "claimed" ? { kind, record } : { kind: "existing", record };
  }

  /** The claimed start is running: false when the fence moved on (this gateway lost its claim). */
  async complete(record: Omit<DirectoryRecord, "version">): Promise<DirectoryRecord | undefined> {
    const keys = [this.keys.dir, this.keys.version];
    const raw = await this.eval(COMPLETE, keys, [record.instanceId, record.fence, encodeRecord(record), this.keys.channel]);
    return typeof raw === "string" ? this.copy.applyWritten(raw) : undefined;
  }

  /** Drops `instanceId`'s record if its fence is `fence` (and `mode` allows); true when it did. */
  async release(instanceId: string, fence: string, reason: string, expected: boolean, mode: ReleaseMode = "any"): Promise<boolean> {
    const keys = [this.keys.dir, this.keys.version, this.keys.gateways];
    const args = [instanceId, fence, reason, expected ? "1" : "0", mode, this.keys.prefix, this.keys.channel];
    const done = (await this.eval(RELEASE, keys, args)) === 1;
    if (done) this.copy.applyDropped(instanceId, { fence, reason, expected });
    return done;
  }

  /** Takes over the watch of a running record whose owner is gone; the record when it did. */
  async adopt(instanceId: string, fence: string): Promise<DirectoryRecord | undefined> {
    const keys = [this.keys.dir, this.keys.version];
    const raw = await this.eval(ADOPT, keys, [instanceId, fence, this.gatewayId, this.keys.prefix, this.keys.channel]);
    return typeof raw === "string" ? this.copy.applyWritten(raw) : undefined;
  }

  /** Writes back a record this gateway holds after Redis lost the directory; undefined when one is there. */
  async restore(record: Omit<DirectoryRecord, "version">): Promise<DirectoryRecord | undefined> {
    const args = [crypto.randomUUID().slice(0, 8), record.instanceId, encodeRecord(record), this.keys.channel];
    const raw = await this.eval(RESTORE, this.epochKeys(), args);
    return typeof raw === "string" ? this.copy.applyWritten(raw) : undefined;
  }

  /** Reads the whole directory now (before decisions that must not act on a stale copy). */
  async refresh(): Promise<void> {
    const [epoch, version, flat] = (await this.eval(READ, this.epochKeys(), [crypto.randomUUID().slice(0, 8)])) as [
      string,
      number,
      string[],
    ];
    this.noteEpoch(epoch);
    this.copy.applyRead(Number(version), flat);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.beats.stop();
    this.link.close();
  }

  private epochKeys(): string[] {
    return [this.keys.dir, this.keys.version, this.keys.fence, this.keys.epoch];
  }

  /** A script on the directory's connection; a failure marks Redis as away and is a StoreUnavailableError. */
  async eval(script: string, keys: string[], args: string[]): Promise<unknown> {
    if (!this.available && !this.opening) throw this.unavailable();
    try {
      return await this.link.send("EVAL", [script, String(keys.length), ...keys, ...args]);
    } catch (error) {
      this.up = false;
      this.needsOpen = true;
      throw this.unavailable(error);
    }
  }

  private async open(): Promise<void> {
    this.opening = true;
    try {
      await this.link.open(this.keys.channel, (message) => this.onNotice(message));
      this.needsOpen = false;
      await this.refresh();
      this.up = true;
    } finally {
      this.opening = false;
    }
  }

  private onNotice(message: string): void {
    try {
      const n = JSON.parse(message) as { v: number; i: string; r: string | false; f?: string; d?: string; x?: boolean };
      const drop = n.r === false ? { fence: String(n.f), reason: String(n.d), expected: Boolean(n.x) } : undefined;
      // A gap (a notice missed): read now rather than at the next poll.
      if (this.copy.applyNotice(Number(n.v), n.i, n.r, drop)) void this.refresh().catch(() => undefined);
    } catch {
      // A malformed notice is ignored: the next poll reads what it would have said.
    }
  }

  /** An epoch other than the one known: Redis lost its data, so the copy is stale as a whole. */
  private noteEpoch(epoch: string): void {
    if (this.epoch !== undefined && epoch !== this.epoch) {
      this.copy.reset();
      this.lostAtMs = this.clock();
      this.epoch = epoch;
      queueMicrotask(() => {
        for (const listener of this.lostListeners) listener();
      });
    }
    this.epoch = epoch;
  }

  private async beat(): Promise<void> {
    try {
      if (!this.link.connected) this.up = false;
      if (this.needsOpen || !this.link.connected) await this.open();
      const [epoch, version] = (await this.eval(VERSION, this.epochKeys(), [crypto.randomUUID().slice(0, 8)])) as [string, number];
      if (epoch !== this.epoch || Number(version) !== this.copy.contiguous) await this.refresh();
      this.noteEpoch(epoch);
    } catch {
      this.up = false;
      return;
    }
    for (const hook of this.beatHooks) await hook().catch(() => undefined);
  }

  private unavailable(cause?: unknown): StoreUnavailableError {
    const why = cause instanceof Error ? `: ${cause.message}` : "";
    return new StoreUnavailableError(`instance directory unavailable (Redis at ${redactUrl(this.options.url)})${why}`);
  }
}
