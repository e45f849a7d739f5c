/**
 * Runs the stand-in on its own: `bun standin/main.ts`. Environment: `PORT` (default 0: a free port),
 * `HOST` (default 127.0.0.1), `STANDIN_API_KEY` (require this bearer key), `STANDIN_CERT_DIR`.
 * Prints one JSON line `{"baseUrl","caFile","port"}` once listening, so a parent process can read it;
 * stops on SIGINT/SIGTERM.
 */
import { startStandin } from "./server.ts";

const env = process.env;
const port = Number(env.PORT ?? 0);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`PORT must be an integer 0..65535, got '${env.PORT}'`);
  process.exit(2);
}

const standin = await startStandin({
  port,
  host: env.HOST || undefined,
  apiKey: env.STANDIN_API_KEY || undefined,
  certDir: env.STANDIN_CERT_DIR || undefined,
});
console.log(JSON.stringify({ baseUrl: standin.baseUrl, caFile: standin.caFile, port: standin.port }));

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => void standin.close().then(() => process.exit(0)));
}
