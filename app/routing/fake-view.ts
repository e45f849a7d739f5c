/** An InstanceView for tests: states and connections set by hand, or by simulate() as the gateway would. */
import { type InstanceStateName as InstanceState, isLive } from "../../runtime/instance-state.ts";
import type { InstanceView } from "./strategy.ts";

export class FakeInstanceView implements InstanceView {
  private readonly states = new Map<string, InstanceState>();
  private readonly open = new Map<string, number>();
  /** Kept incrementally, as the registry should: session mode asks on every decision, with one instance per session. */
  private running = 0;
  /** Instances whose transcriber says it takes no new session (setAccepting). */
  private readonly refusing = new Set<string>();

  state(id: string): InstanceState | undefined {
    return this.states.get(id);
  }

  connections(id: string): number {
    return this.open.get(id) ?? 0;
  }

  runningCount(): number {
    return this.running;
  }

  accepting(id: string): boolean {
    return !this.refusing.has(id);
  }

  /** As a transcriber's load report would say: `false` while it cannot keep up. */
  setAccepting(id: string, accepting: boolean): this {
    if (accepting) this.refusing.delete(id);
    else this.refusing.add(id);
    return this;
  }

  set(id: string, state: InstanceState): this {
    this.running += Number(isLive(state)) - Number(isLive(this.states.get(id)));
    this.states.set(id, state);
    return this;
  }

  /** A session's lease: the gateway starts the instance (if it is not up) and holds a connection on it. */
  connect(id: string): void {
    const state = this.states.get(id);
    if (state !== "running" && state !== "starting") this.set(id, "running");
    this.open.set(id, this.connections(id) + 1);
  }

  disconnect(id: string): void {
    this.open.set(id, Math.max(0, this.connections(id) - 1));
  }
}
