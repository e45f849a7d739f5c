/**
 * `npm run dev`: the gateway with embedded defaults. An engine when one answers (building the transcriber
 * image if it is missing), else local Bun processes; the OpenAI API when OPENAI_API_KEY is set, else the local
 * recognizer (installed from Debian packages first when it can be), else the realtime stand-in, which it says
 * loudly with the command that would enable the recognizer. Logs are readable lines (pino-pretty) unless
 * LOG_FORMAT=json.
 */
import { findEngine } from "../runtime/engine.ts";
import { ensureImage } from "../runtime/image-build.ts";
import { ensureRecognizer } from "../scripts/recognizer-setup.ts";
import { startStandin } from "../standin/server.ts";
import { bootGateway, configOrExit } from "./boot.ts";
import { createLogger, prettyDestination } from "./log.ts";

const env: Record<string, string | undefined> = { ...process.env };
const banner: string[] = [];

// Before the image check: an image built before the recognizer was installed is rebuilt with it.
let recognizerUnavailable: string | undefined;
if (!env.OPENAI_API_KEY && env.TRANSCRIBER_BACKEND === undefined) {
  recognizerUnavailable = await ensureRecognizer();
  if (!recognizerUnavailable) env.TRANSCRIBER_BACKEND = "local";
}

// The local recognizer holds LOCAL_MAX_SESSIONS sessions per container (1 by default: what keeps its finals
// within a second): autoscale gives each new session a free one, where pool would refuse a second session
// hashed to a member already in use.
if (env.TRANSCRIBER_BACKEND === "local") {
  env.ROUTING_MODE ??= "autoscale";
  env.MAX_CONNECTIONS_PER_CONTAINER ??= env.LOCAL_MAX_SESSIONS ?? "1";
}

const choice = env.CONTAINER_DRIVER ?? "auto";
const engine = choice === "process" ? undefined : await findEngine(env);
if (engine) {
  env.DOCKER_HOST ??= engine.dockerHost;
  await ensureImage({ log: (line: string) => console.log(`[image] ${line}`) });
}

if (!env.OPENAI_API_KEY && (env.TRANSCRIBER_BACKEND ?? "openai") === "openai") {
  const standin = await startStandin({ port: 0 });
  env.OPENAI_API_KEY = "standin-key";
  env.OPENAI_BASE_URL = standin.baseUrl;
  env.OPENAI_CA_FILE = standin.caFile;
  // The stand-in listens on 127.0.0.1, which bridged containers cannot reach.
  env.CONTAINER_NETWORK ??= "host";
  banner.push(
    "!! OPENAI_API_KEY is not set: transcripts come from the LOCAL REALTIME STAND-IN, not from OpenAI.",
    `!! stand-in: ${standin.baseUrl} (set OPENAI_API_KEY to use the real API)`,
    ...(recognizerUnavailable ? [`!! local recognizer not available: ${recognizerUnavailable}`] : []),
  );
} else if (env.TRANSCRIBER_BACKEND === "local") {
  banner.push("local recognizer: pocketsphinx en-us, demo quality; set OPENAI_API_KEY for OpenAI");
} else if (env.OPENAI_API_KEY) {
  banner.push(
    `transcription backend: OpenAI Realtime (${env.OPENAI_BASE_URL ?? "default endpoint"}, model ${env.TRANSCRIBE_MODEL ?? "gpt-4o-transcribe"})`,
  );
} else {
  banner.push(`transcription backend: ${env.TRANSCRIBER_BACKEND}`);
}

const config = configOrExit(env);
const logger = createLogger(config.logLevel, env.LOG_FORMAT === "json" ? undefined : prettyDestination());
// SIGHUP reloads from this environment (with the stand-in's settings), CONFIG_FILE re-read over it.
const { port, driver } = await bootGateway(config, logger, env);
console.log(
  [
    "",
    `transcribe-edge dev gateway: http://localhost:${port}/  (status page; /stats, /metrics, /healthz, /readyz)`,
    `sessions: ws://localhost:${port}/v1/listen?sessionId=demo&encoding=opus&sample_rate=48000&channels=1`,
    `routing: ${config.routingMode} · container driver: ${driver.name}${engine ? ` (${engine.dockerHost})` : " (no container engine answered)"}`,
    ...banner,
    "",
  ].join("\n"),
);
