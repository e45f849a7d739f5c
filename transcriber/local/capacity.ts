/**
 * How many local-recognizer sessions one transcriber holds by default, from its memory cap. Measured with
 * pocketsphinx en-us under Bun 1.4 on x86-64 (bench/sections/local.ts measures it again): the process
 * without decoders about 60 MiB RSS, each decoder about 95 MiB more.
 */

/** RSS of a transcriber with no decoder, with headroom for the Opus decoders and sockets. */
export const BASE_MEMORY_BYTES = 80 * 1024 ** 2;
/** RSS one more pocketsphinx decoder adds (measured ~95 MiB; rounded up). */
export const SESSION_MEMORY_BYTES = 100 * 1024 ** 2;

/** The default LOCAL_MAX_SESSIONS for a container capped at `memoryBytes`: at least 1. */
export function defaultLocalMaxSessions(memoryBytes: number): number {
  return Math.max(1, Math.floor((memoryBytes - BASE_MEMORY_BYTES) / SESSION_MEMORY_BYTES));
}
