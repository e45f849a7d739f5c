import type { ExitInfo } from "./driver.ts";

/** How a session got its container: already running, woken from sleep (or after a crash), or first ever start. */
export type StartKind = "warm" | "wake" | "cold";

/** One open session's hold on an instance. The gateway calls release() exactly when the session ends. */
export interface Lease {
  readonly instanceId: string;
  /** Where the transcriber listens; `socketPath` (a Unix socket) when it has one, preferred by the relay. */
  readonly endpoint: { host: string; port: number; socketPath?: string };
  readonly containerId: string;
  readonly start: StartKind;
  /** Milliseconds acquire() waited (0 for warm). */
  readonly waitMs: number;
  /** Idempotent: decrements the instance's open-session count exactly once. */
  release(): void;
  /** `cb` runs once if the container dies while this lease is held (at once if it already has). */
  onCrash(cb: (info: ExitInfo) => void): void;
}

/** The Lease the instance hands out; the instance drives crash() and learns about release via `onRelease`. */
export class InstanceLease implements Lease {
  private released = false;
  private crashInfo: ExitInfo | undefined;
  private readonly crashCallbacks: Array<(info: ExitInfo) => void> = [];

  constructor(
    readonly instanceId: string,
    readonly endpoint: { host: string; port: number; socketPath?: string },
    readonly containerId: string,
    readonly start: StartKind,
    readonly waitMs: number,
    private readonly onRelease: (lease: InstanceLease) => void,
  ) {}

  release(): void {
    if (this.released) return;
    this.released = true;
    this.crashCallbacks.length = 0;
    this.onRelease(this);
  }

  onCrash(cb: (info: ExitInfo) => void): void {
    if (this.released) return;
    if (this.crashInfo) {
      const info = this.crashInfo;
      queueMicrotask(() => cb(info));
    } else this.crashCallbacks.push(cb);
  }

  /** Fires the crash callbacks once; later onCrash() calls fire at once. */
  crash(info: ExitInfo): void {
    if (this.crashInfo || this.released) return;
    this.crashInfo = info;
    for (const cb of this.crashCallbacks.splice(0)) {
      try {
        cb(info);
      } catch {
        // One session's handler failing must not keep the others from learning of the crash.
      }
    }
  }
}
