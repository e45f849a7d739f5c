/**
 * Entry point of the transcriber container (compiled with `bun build --compile` into an image FROM scratch).
 * Configuration comes from the environment only; a bad value exits 1 with one line naming the variable.
 * SIGTERM/SIGINT drain the open sessions (finals, then Error container_stopped and close 1012) and exit within
 * about 5 s.
 */
import { ConfigError } from "./config.ts";
import { RecognizerUnavailableError } from "./local/pocketsphinx.ts";
import { startTranscriber } from "./server.ts";

/** Hard cap on shutdown, in case a drain step hangs. */
const EXIT_DEADLINE_MS = 5_000;

try {
  const transcriber = await startTranscriber({ env: process.env });
  const shutdown = (): void => {
    setTimeout(() => process.exit(0), EXIT_DEADLINE_MS).unref();
    void transcriber.stop().then(() => process.exit(0));
  };
  process.once("SIGTERM", shutdown);
  process.once("SIGINT", shutdown);
} catch (error) {
  if (error instanceof ConfigError || error instanceof RecognizerUnavailableError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
  throw error;
}
