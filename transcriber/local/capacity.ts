/**
 * How many local-recognizer sessions one transcriber holds by default, from its memory cap. Measured with
 * pocketsphinx en-us under Bun 1.4 on x86-64 (`npm run bench -- --only=local` measures it again): each
 * streaming session adds about 114 MiB RSS (its decoder, with its own copy of the language model and
 * dictionary), on top of a process of about 30-60 MiB.
 */

/** RSS of a transcriber with no decoder, with headroom for sockets and Opus decoders. */
export const BASE_MEMORY_BYTES = 64 * 1024 ** 2;
/** RSS one more streaming session adds (measured 114 MiB; rounded up). */
export const SESSION_MEMORY_BYTES = 120 * 1024 ** 2;

/** The default LOCAL_MAX_SESSIONS for a container capped at `memoryBytes`: at least 1. */
export function defaultLocalMaxSessions(memoryBytes: number): number {
  return Math.max(1, Math.floor((memoryBytes - BASE_MEMORY_BYTES) / SESSION_MEMORY_BYTES));
}
