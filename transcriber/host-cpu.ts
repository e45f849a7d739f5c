/**
 * How busy the whole machine a transcriber runs on is: the share of all its cores' time over the last window
 * that was not idle, from the first line of /proc/stat. Inside a Podman or Docker container, and in a
 * Kubernetes pod, /proc/stat is the host's (the kernel does not namespace it), so each transcriber can say
 * when the machine under it is full, which its own thread's CPU share cannot: on an oversubscribed machine
 * every process gets its fair share of too little, and each one's loop still turns on time.
 *
 * Time the hypervisor stole counts as busy (the cores were not there for us); iowait counts as idle.
 */
import { readFileSync } from "node:fs";
import { hostname } from "node:os";

/** Cumulative clock ticks of every core since boot: the busy ones (steal among them), and all. */
export interface HostTicks {
  busy: number;
  total: number;
  /** What the hypervisor took (inside `busy`). */
  steal: number;
}

/** The ticks in one /proc/stat text's aggregate `cpu` line; undefined when there is none. */
export function parseHostTicks(stat: string): HostTicks | undefined {
  const line = /^cpu\s+(.+)$/m.exec(stat)?.[1];
  // user nice system idle iowait irq softirq steal (guest time is already inside user and nice)
  const ticks = (line ?? "").split(/\s+/).slice(0, 8).map(Number);
  if (ticks.length < 4 || ticks.some((n) => !Number.isFinite(n))) return undefined;
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = ticks;
  const busy = user + nice + system + irq + softirq + steal;
  return { busy, total: busy + idle + iowait, steal };
}

/** A reader of the host's ticks, or undefined where /proc/stat cannot be read (not Linux). */
export function hostTicksReader(statPath = "/proc/stat"): (() => HostTicks | undefined) | undefined {
  const read = () => parseHostTicks(readFileSync(statPath, "utf8"));
  try {
    return read() ? read : undefined;
  } catch {
    return undefined;
  }
}

/** Busy share (0-1) between two readings; undefined when no tick passed. */
export function busyShare(from: HostTicks, to: HostTicks): number | undefined {
  const total = to.total - from.total;
  return total > 0 ? Math.min(1, Math.max(0, (to.busy - from.busy) / total)) : undefined;
}

/**
 * Which machine this is, the same from every container on it: the kernel's boot id (not namespaced either), so
 * the gateway can tell which transcribers share a machine under any engine or driver; the hostname off Linux.
 */
export function machineId(bootIdPath = "/proc/sys/kernel/random/boot_id"): string {
  try {
    return readFileSync(bootIdPath, "utf8").trim() || hostname();
  } catch {
    return hostname();
  }
}
