/**
 * The handles a cluster driver gives its registry, and when each one's `exited` resolves: when the container ends
 * on its own (one this gateway made), or when its record in the instance directory goes or is replaced by a newer
 * start (a peer stopped it, put it to sleep, or saw it crash). `ExitInfo.expected` carries whether that was a
 * decision, so the instance sleeps instead of failing.
 */
import type { ExitInfo, RunningContainer } from "../../runtime/driver.ts";
import type { DirectoryRecord, DropInfo } from "./directory-copy.ts";
import type { InstanceDirectory } from "./directory.ts";

type ExitWaiter = (after: DirectoryRecord | undefined, drop: DropInfo | undefined) => void;

export class ClusterHandles {
  /** Handles given out and not ended, by container id. */
  private readonly byContainer = new Map<string, DirectoryRecord>();
  /** Their exits waiting on their record, by instance id and fence. */
  private readonly exits = new Map<string, Map<string, ExitWaiter>>();

  constructor(
    directory: Pick<InstanceDirectory, "onChange">,
    /** This machine's name: a peer's Unix socket is used only when it was made here. */
    private readonly machine: string,
    /** A peer ended a container this gateway made (`own`): it cleans up after it too. */
    private readonly ownEnded: (record: DirectoryRecord, own: RunningContainer) => void,
  ) {
    directory.onChange((id, _before, after, drop) => {
      const waiting = this.exits.get(id);
      if (waiting) for (const [fence, waiter] of [...waiting]) if (after?.fence !== fence) waiter(after, drop);
    });
  }

  /** A handle on `record`'s container: `own` when this gateway made it, else how a peer's was joined. */
  give(record: DirectoryRecord, own?: RunningContainer, joined?: RunningContainer["joined"]): RunningContainer {
    const { instanceId, fence } = record;
    let waiters = this.exits.get(instanceId);
    if (!waiters) this.exits.set(instanceId, (waiters = new Map()));
    const exited = new Promise<ExitInfo>((resolve) => {
      const done = (info: ExitInfo) => {
        if (waiters.get(fence) === waiter) waiters.delete(fence);
        // Ended: a later stop() of this handle has no record left to release (the container is gone or going).
        if (this.byContainer.get(record.containerId!) === record) this.byContainer.delete(record.containerId!);
        resolve(info);
      };
      const waiter: ExitWaiter = (after, drop) => {
        done({
          exitCode: null,
          reason: after ? `replaced by a newer container of ${instanceId}` : (drop?.reason ?? "released"),
          expected: after ? true : (drop?.expected ?? true),
        });
        if (own) this.ownEnded(record, own);
      };
      waiters.set(fence, waiter);
      void own?.exited.then(done);
    });
    const container: RunningContainer = {
      id: record.containerId!,
      host: record.host!,
      port: record.port!,
      exited,
      ...(record.socketPath && record.machine === this.machine ? { socketPath: record.socketPath } : {}),
      ...(record.hostName ? { hostName: record.hostName } : {}),
      ...(joined ? { joined } : {}),
    };
    this.byContainer.set(container.id, record);
    return container;
  }

  /**
   * The record behind a handle the registry asks to stop, taken off the books first, so the release that follows
   * does not resolve its `exited` (never for a stop() that was asked for). Undefined for an unknown handle.
   */
  take(containerId: string): DirectoryRecord | undefined {
    const record = this.byContainer.get(containerId);
    if (!record) return undefined;
    this.byContainer.delete(containerId);
    this.exits.get(record.instanceId)?.delete(record.fence);
    return record;
  }
}
