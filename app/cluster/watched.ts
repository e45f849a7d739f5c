/**
 * The containers one gateway watches for the cluster: those it made, and those it adopted from a gateway that
 * died. A watched container's own end (crash, kill) releases its record with the reason, fenced; a release Redis
 * did not take is tried again at the directory's next poll, so the peers' handles always learn of it.
 */
import type { RunningContainer } from "../../runtime/driver.ts";
import type { DirectoryRecord } from "./directory-copy.ts";
import type { InstanceDirectory } from "./directory.ts";

export class WatchedContainers {
  /** By instance id. */
  private readonly byInstance = new Map<string, { record: DirectoryRecord; container: RunningContainer }>();
  private readonly owed: Array<{ record: DirectoryRecord; reason: string }> = [];

  constructor(private readonly directory: Pick<InstanceDirectory, "release" | "onBeat">) {
    directory.onBeat(() => this.payReleases());
  }

  /** Watches `container` under `record` (replacing whatever was watched for that instance). */
  watch(record: DirectoryRecord, container: RunningContainer): void {
    this.byInstance.set(record.instanceId, { record, container });
    void container.exited.then((info) => {
      if (!this.forget(record)) return;
      void this.release(record, `crash: ${info.reason}`);
    });
  }

  /** Stops watching `record`'s container (it is being stopped on purpose); the container, if it was watched. */
  forget(record: Pick<DirectoryRecord, "instanceId" | "fence">): RunningContainer | undefined {
    const watched = this.byInstance.get(record.instanceId);
    if (watched?.record.fence !== record.fence) return undefined;
    this.byInstance.delete(record.instanceId);
    return watched.container;
  }

  records(): DirectoryRecord[] {
    return [...this.byInstance.values()].map((watched) => watched.record);
  }

  /** Stops watching everything (this gateway leaves the cluster; the leader adopts what it watched). */
  clear(): void {
    this.byInstance.clear();
  }

  private async release(record: DirectoryRecord, reason: string): Promise<void> {
    try {
      await this.directory.release(record.instanceId, record.fence, reason, false);
    } catch {
      this.owed.push({ record, reason });
    }
  }

  private async payReleases(): Promise<void> {
    for (const owed of this.owed.splice(0)) await this.release(owed.record, owed.reason);
  }
}
