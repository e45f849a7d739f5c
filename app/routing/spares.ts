/**
 * WARM_SPARES: instances started ahead of demand under their own ids (`spare-0`, `spare-1`, ...). A strategy
 * hands an unclaimed spare to a new session; claiming renames nothing, it only takes the id off the spare list
 * and puts a fresh id (`spare-<next>`) on it, which the gateway then starts in the background.
 */
import { spareId } from "./instance-ids.ts";
import { isLive } from "./occupancy.ts";
import type { RoutingStore } from "./store.ts";
import type { InstanceView } from "./strategy.ts";

export class SparePool {
  private readonly unclaimed: string[] = [];
  private next = 0;

  constructor(
    count: number,
    private readonly view: InstanceView,
    private readonly store: RoutingStore,
  ) {
    for (let i = 0; i < count; i++) this.unclaimed.push(this.nextId());
  }

  /**
   * The next spare id never bound to a session. Over a fresh store that is spare-0, spare-1, ...; over a store
   * carried across a config reload it skips the spares already claimed, while unclaimed ones (never bound)
   * are adopted again under the same ids.
   */
  private nextId(): string {
    let id: string;
    do id = spareId(this.next++);
    while (this.store.lastChangeAtMs(id) !== undefined);
    return id;
  }

  /**
   * A spare that ever held a session was claimed, here or (in a cluster) through another gateway: it leaves the
   * list and the next fresh id takes its place, so every gateway offers, keeps awake and starts the same spares.
   */
  private prune(): void {
    for (let i = 0; i < this.unclaimed.length; i++) {
      if (this.store.lastChangeAtMs(this.unclaimed[i]!) !== undefined) this.unclaimed[i] = this.nextId();
    }
  }

  /** An unclaimed spare that can take a session now: running first (warm), else one already starting. */
  available(): string | undefined {
    this.prune();
    let starting: string | undefined;
    for (const id of this.unclaimed) {
      if (this.store.load(id) > 0) continue;
      const state = this.view.state(id);
      if (state === "running") return id;
      if (state === "starting") starting ??= id;
    }
    return starting;
  }

  isSpare(id: string): boolean {
    this.prune();
    return this.unclaimed.includes(id);
  }

  /** Takes `id` off the spare list and names its replacement. False when `id` is not an unclaimed spare. */
  claim(id: string): boolean {
    const index = this.unclaimed.indexOf(id);
    if (index < 0) return false;
    this.unclaimed.splice(index, 1);
    this.unclaimed.push(this.nextId());
    return true;
  }

  /** Unclaimed spares not yet starting or running, at most `roomInstances` of them (MAX_INSTANCES still holds). */
  toStart(roomInstances: number): string[] {
    this.prune();
    return this.unclaimed.filter((id) => !isLive(this.view, id)).slice(0, Math.max(0, roomInstances));
  }
}
