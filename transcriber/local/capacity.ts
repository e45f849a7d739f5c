/**
 * How many local-recognizer sessions one transcriber holds by default: as many as fit its memory cap and its
 * CPU. Measured with pocketsphinx en-us under Bun 1.4 on x86-64 (`npm run bench -- --only=local` measures it
 * again): each streaming session adds 107-114 MiB RSS (its decoder, with its own copy of the language model
 * and dictionary). The decoder alone takes 0.29-0.39 CPU seconds per second of audio in process; a real-time
 * session through the gateway into a container, with its Opus decode and link, takes 0.45-0.64 of a core (the
 * capacity ladder, `--only=capacity_local`), and two per core fall behind for good (finals 1.7-2.2 s late and
 * growing). Decoding runs on the transcriber's one JavaScript thread, so more than one core does not help a
 * single container.
 */

/** RSS of a transcriber with no decoder, with headroom for sockets and Opus decoders. */
export const BASE_MEMORY_BYTES = 64 * 1024 ** 2;
/** RSS one more streaming session adds (measured up to 114 MiB; rounded up). */
export const SESSION_MEMORY_BYTES = 120 * 1024 ** 2;
/** CPU cores one real-time session needs end to end (measured up to 0.64; rounded up). */
export const SESSION_CPU_CORES = 0.65;

/** The default LOCAL_MAX_SESSIONS for a container capped at `memoryBytes` and `cpus` cores: at least 1. */
export function defaultLocalMaxSessions(memoryBytes: number, cpus = 1): number {
  const byMemory = Math.floor((memoryBytes - BASE_MEMORY_BYTES) / SESSION_MEMORY_BYTES);
  const byCpu = Math.floor(Math.min(cpus, 1) / SESSION_CPU_CORES + 1e-9);
  return Math.max(1, Math.min(byMemory, byCpu));
}
