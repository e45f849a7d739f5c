/**
 * How many instances hold capacity right now, for MAX_INSTANCES. The registry's runningCount() lags routing:
 * a session is routed (and opened) before its instance starts, so a burst would all see the old count and
 * overshoot. This adds instances routed to but not yet starting.
 */
import { isLive as isLiveState } from "../../runtime/instance-state.ts";
import type { RoutingStore } from "./store.ts";
import type { InstanceView } from "./strategy.ts";

/** Whether `id` is starting or running, as `view` sees it. */
export function isLive(view: InstanceView, id: string): boolean {
  return isLiveState(view.state(id));
}

export class Occupancy {
  /** Routed-to instances that were not starting or running when their session opened. */
  private readonly pending = new Set<string>();

  constructor(
    private readonly view: InstanceView,
    private readonly store: RoutingStore,
  ) {}

  /** Call after store.bind for the session's instance. */
  noteOpened(instanceId: string): void {
    if (!isLive(this.view, instanceId)) this.pending.add(instanceId);
  }

  /** Instances starting or running, plus those about to start. Amortised O(1): the pending set stays tiny. */
  count(): number {
    for (const id of this.pending) {
      if (isLive(this.view, id) || this.store.load(id) === 0) this.pending.delete(id);
    }
    return this.view.runningCount() + this.pending.size;
  }
}
