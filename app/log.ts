/** Structured JSON logs (pino). The seed's three messages are logged verbatim as `msg` by their callers. */
import pino, { type DestinationStream, type Logger } from "pino";

export type { Logger };

/** A JSON-lines logger (stdout unless a destination is given); secrets are redacted should one reach a log call. */
export function createLogger(level = "info", destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { service: "transcribe-edge" },
    redact: { paths: ["apiKey", "token", "authorization", "*.apiKey", "*.authorization"], censor: "[redacted]" },
  };
  return destination ? pino(options, destination) : pino(options);
}
