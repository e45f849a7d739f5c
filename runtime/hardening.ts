/**
 * How every transcriber container is confined. The transcriber needs no privilege at all: it listens on an
 * unprivileged port, reads nothing from disk but its own image (the binary; the local recognizer's libraries
 * and model), and writes only scratch files to /tmp. So
 * every capability is dropped, setuid binaries cannot raise privileges, the root filesystem is read-only with
 * a small tmpfs at /tmp, and memory, CPU and process counts are capped so one runaway session cannot starve
 * the host or the other containers.
 */

/** Resource caps per container (CONTAINER_MEMORY, CONTAINER_CPUS, CONTAINER_PIDS). */
export interface ContainerLimits {
  memoryBytes: number;
  /** CPUs, fractional allowed (0.5 = half a core). */
  cpus: number;
  /** Processes and threads. */
  pids: number;
}

export const DEFAULT_LIMITS: ContainerLimits = { memoryBytes: 512 * 1024 ** 2, cpus: 1, pids: 256 };

/** The image's numeric non-root user (Containerfile); enforced here too in case another image is configured. */
export const CONTAINER_USER = "65532:65532";

/** Scratch space: not executable, no devices, no setuid, bounded. */
export const TMPFS_OPTIONS = "rw,nosuid,nodev,noexec,size=64m";

/** The engine API's HostConfig fields for a hardened container (Docker-compatible names). */
export function hardenedHostConfig(limits: ContainerLimits) {
  return {
    CapDrop: ["ALL"],
    SecurityOpt: ["no-new-privileges"],
    ReadonlyRootfs: true,
    Tmpfs: { "/tmp": TMPFS_OPTIONS },
    Memory: limits.memoryBytes,
    // Equal to Memory: no swap on top of the cap.
    MemorySwap: limits.memoryBytes,
    NanoCpus: Math.round(limits.cpus * 1e9),
    PidsLimit: limits.pids,
  };
}
