/**
 * The fake's object store for pods: one resourceVersion counter, a bounded history of changes (so a watch can
 * resume from a version, and a version older than the history is 410 Expired), and live watchers. Behaves as
 * the API reference describes for what it covers; it is not etcd and keeps nothing on disk.
 */
import type { V1Pod } from "@kubernetes/client-node";

export type EventType = "ADDED" | "MODIFIED" | "DELETED";

export interface StoredEvent {
  type: EventType;
  pod: V1Pod;
  version: number;
}

export type Watcher = (event: StoredEvent) => void;

/** `a=b,c!=d,e` (equality, inequality and existence): the selector forms the driver uses, and a few more. */
export function matchesSelector(labels: Record<string, string> | undefined, selector: string | null): boolean {
  if (!selector) return true;
  const own = labels ?? {};
  return selector.split(",").every((term) => {
    const part = term.trim();
    if (part === "") return true;
    const notEqual = part.indexOf("!=");
    if (notEqual > 0) return own[part.slice(0, notEqual)] !== part.slice(notEqual + 2);
    const equal = part.indexOf("=");
    if (equal > 0) return own[part.slice(0, equal)] === part.slice(part[equal + 1] === "=" ? equal + 2 : equal + 1);
    return part.startsWith("!") ? !(part.slice(1) in own) : part in own;
  });
}

const clone = (pod: V1Pod): V1Pod => structuredClone(pod);

export class PodStore {
  private readonly pods = new Map<string, V1Pod>();
  private history: StoredEvent[] = [];
  private readonly watchers = new Set<Watcher>();
  private version = 1;
  /** Versions at or below this are compacted away: a watch from one of them gets 410. */
  private compactedThrough = 0;

  constructor(private readonly historyLimit = 1000) {}

  private key(namespace: string, name: string): string {
    return `${namespace}/${name}`;
  }

  get currentVersion(): string {
    return String(this.version);
  }

  get(namespace: string, name: string): V1Pod | undefined {
    const pod = this.pods.get(this.key(namespace, name));
    return pod && clone(pod);
  }

  list(namespace: string, selector: string | null): V1Pod[] {
    return [...this.pods.values()]
      .filter((pod) => pod.metadata?.namespace === namespace && matchesSelector(pod.metadata?.labels, selector))
      .map(clone);
  }

  /** Stores a change under a new resourceVersion and tells the watchers. */
  write(type: EventType, pod: V1Pod): V1Pod {
    const stored = clone(pod);
    this.version++;
    stored.metadata!.resourceVersion = String(this.version);
    const key = this.key(stored.metadata!.namespace!, stored.metadata!.name!);
    if (type === "DELETED") this.pods.delete(key);
    else this.pods.set(key, stored);
    const event = { type, pod: stored, version: this.version };
    this.history.push(event);
    if (this.history.length > this.historyLimit) this.compact(this.history.length - this.historyLimit);
    for (const watcher of this.watchers) watcher({ ...event, pod: clone(stored) });
    return clone(stored);
  }

  /** Forgets the oldest `count` changes (all of them by default), as etcd compaction does. */
  compact(count = this.history.length): void {
    const dropped = this.history.splice(0, count);
    const last = dropped.at(-1);
    if (last) this.compactedThrough = last.version;
    else this.compactedThrough = this.version;
  }

  /**
   * The changes after `fromVersion`, or `gone` when some of them were compacted away. Version 0 (or none)
   * means "from now", as a watch without a version starts.
   */
  since(fromVersion: number): StoredEvent[] | "gone" {
    if (fromVersion > 0 && fromVersion < this.compactedThrough) return "gone";
    return this.history.filter((event) => event.version > fromVersion).map((event) => ({ ...event, pod: clone(event.pod) }));
  }

  subscribe(watcher: Watcher): () => void {
    this.watchers.add(watcher);
    return () => this.watchers.delete(watcher);
  }
}
