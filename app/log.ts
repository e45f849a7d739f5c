/**
 * Logs with pino: JSON lines in production (`npm start`), human-readable lines through pino-pretty in
 * development (`npm run dev`). The log lines operators grep for (`Transcriber container started`,
 * `Transcriber container stopped`, `Using dispatcher for sessionId: X, container: Y`) keep their wording as `msg`;
 * their callers write them.
 */
import pino, { type DestinationStream, type Logger } from "pino";
import pretty from "pino-pretty";

export type { Logger };

/**
 * A readable stream for development: colour when stdout is a terminal, local time, one line per entry with
 * its fields after it. A plain stream in this thread rather than `pino.transport` (a worker thread): nothing
 * is lost when dev exits abruptly, and it behaves the same under Bun as under Node.
 */
export function prettyDestination(options: { colorize?: boolean; destination?: NodeJS.WritableStream | number } = {}): DestinationStream {
  return pretty({
    colorize: options.colorize ?? Boolean(process.stdout.isTTY),
    translateTime: "SYS:HH:MM:ss.l",
    ignore: "pid,hostname,service",
    singleLine: true,
    destination: options.destination ?? 1,
    sync: true,
  });
}

/** A JSON-lines logger (stdout unless a destination is given); secrets are redacted should one reach a log call. */
export function createLogger(level = "info", destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { service: "transcribe-edge" },
    redact: { paths: ["apiKey", "token", "authorization", "*.apiKey", "*.authorization"], censor: "[redacted]" },
  };
  return destination ? pino(options, destination) : pino(options);
}
