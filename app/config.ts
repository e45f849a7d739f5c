/**
 * Gateway configuration from the environment (the README's Configuration table). Every variable is parsed and validated
 * here once; a bad value throws a ConfigError whose message is one line naming the variable and what it accepts.
 */
import { existsSync, readFileSync } from "node:fs";
import { DRIVER_CHOICES, type DriverChoice } from "../runtime/driver-choice.ts";
import type { ContainerLimits } from "../runtime/hardening.ts";
import { DEFAULT_TRANSCRIBER_IMAGE } from "../runtime/image.ts";
import { type EngineHostSpec, EngineHostsConfigError, parseEngineHosts } from "../runtime/engine-hosts/config.ts";
import { redactUrl, redisUrlProblem } from "./cluster/redis-url.ts";
import { ModelTableError, parseModels } from "./deepgram/models.ts";
import { normalizeOrigin } from "./security/origins.ts";
import { parseRate, type Rate } from "./security/rate-limit.ts";
import { bool, ConfigError, cpus, duration, type Env, integer, memoryBytes, oneOf, optional, share } from "./config-values.ts";

export { ConfigError, parseDurationMs } from "./config-values.ts";

export type RoutingMode = "pool" | "session" | "shared" | "autoscale";

export interface GatewayConfig {
  routingMode: RoutingMode;
  containerPoolSize: number;
  maxInstances: number;
  sleepAfterMs: number;
  maxConnectionsPerContainer: number;
  minContainers: number;
  containerDriver: DriverChoice;
  scaleDownAfterMs: number;
  poolPrewarm: boolean;
  /** Bounded-load factor (> 1), or undefined when off. */
  poolBalanceFactor: number | undefined;
  warmSpares: number;
  port: number;
  host: string;
  adminToken: string | undefined;
  openaiApiKey: string | undefined;
  openaiBaseUrl: string | undefined;
  transcribeModel: string;
  /** MODELS: Deepgram `model` names mapped to transcription models, over the built-in table (app/deepgram/models.ts). */
  models: Record<string, string>;
  openaiCaFile: string | undefined;
  containerNetwork: "bridge" | "host";
  transcriberBackend: "openai" | "local" | "echo";
  /** TRANSCRIBER_BACKEND=local: sessions per container (LOCAL_MAX_SESSIONS); undefined: from CONTAINER_MEMORY. */
  localMaxSessions: number | undefined;
  /** TRANSCRIBER_SOCKET_DIR: parent of the containers' Unix socket directories; null = TCP only; undefined = default. */
  transcriberSocketDir: string | null | undefined;
  /** Scopes container labels, so two gateways on one engine never sweep each other's containers; names a cluster. */
  gatewayName: string;
  /** GATEWAY_ID: this replica among the gateways of one GATEWAY_NAME (default: generated at start). */
  gatewayId: string;
  /** ROUTING_STORE: where routing state lives; `redis` shares it with the cluster's other gateways. */
  routingStore: "memory" | "redis";
  /** REDIS_URL: required with ROUTING_STORE=redis. */
  redisUrl: string | undefined;
  /** Largest WebSocket frame a client may send; larger ones close the session with 1009. */
  maxFrameBytes: number;
  /** Bytes queued towards one slow client (or one slow transcriber) before the session is closed. */
  backpressureLimitBytes: number;
  /** How long shutdown waits for open sessions to finish before closing them with 1001. */
  drainTimeoutMs: number;
  /** Most sessions open or upgrading at once, all clients together; more get 503 + Retry-After. */
  maxSessions: number;
  logLevel: string;
  /** Keys that admit a client (API_KEYS, API_KEYS_FILE); empty: no key accepted (open unless TOKEN_SECRET). */
  apiKeys: string[];
  /** HMAC-SHA256 secret of client tokens; unset: tokens off. */
  tokenSecret: string | undefined;
  /** Lifetime of a token minted by POST /v1/token. */
  tokenTtlMs: number;
  /** Origins a browser upgrade may come from (`*` any); undefined: not checked. */
  allowedOrigins: string[] | undefined;
  /** Open connections one client address may hold; undefined: no cap. */
  maxConnectionsPerIp: number | undefined;
  /** Upgrade (and token) requests per client address; undefined: no limit. */
  rateLimitPerIp: Rate | undefined;
  /** Per-container memory limit. */
  containerMemoryBytes: number;
  /** Per-container CPU limit, in CPUs (0.5 = half a core). */
  containerCpus: number;
  /** Per-container process/thread limit. */
  containerPids: number;
  /** HOST_CPU_MAX: a machine busier than this share (its transcribers report it) takes no new session; 1: off. */
  hostCpuMax: number;
  /** TRANSCRIBER_IMAGE: the image the engine driver runs. */
  transcriberImage: string;
  /** DOCKER_HOST: the engine API to try first (`unix:///path` or `tcp://host:port`); unset: the usual sockets. */
  dockerHost: string | undefined;
  /** KUBE_NAMESPACE (CONTAINER_DRIVER=kubernetes): where instance pods go; undefined: the credentials' own. */
  kubeNamespace: string | undefined;
  /** KUBECONFIG (CONTAINER_DRIVER=kubernetes): the kubeconfig file; undefined: in-cluster credentials. */
  kubeconfig: string | undefined;
  /** KUBE_TRANSCRIBER_SECRET: a Secret in KUBE_NAMESPACE pods read OPENAI_API_KEY from (key `openai-api-key`). */
  kubeTranscriberSecret: string | undefined;
  // --- several engine hosts (runtime/engine-hosts/) ---
  /** ENGINE_HOSTS (with ENGINE_TLS_DIR, ENGINE_HOST_ADDRESS_<NAME>), parsed; undefined: one engine. */
  engineHosts: EngineHostSpec[] | undefined;
}

function balanceFactor(env: Env): number | undefined {
  const raw = optional(env, "POOL_BALANCE_FACTOR");
  if (raw === undefined || raw === "off") return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 1) {
    throw new ConfigError(`POOL_BALANCE_FACTOR: expected a number above 1 such as 1.25, or off (got '${raw}')`);
  }
  return value;
}

function baseUrl(env: Env): string | undefined {
  const raw = optional(env, "OPENAI_BASE_URL");
  if (raw === undefined) return undefined;
  try {
    const url = new URL(raw);
    if (url.protocol === "https:" || url.protocol === "http:") return raw;
  } catch {}
  throw new ConfigError(`OPENAI_BASE_URL: expected an http(s) URL such as https://api.example.com/v1 (got '${raw}')`);
}

function caFile(env: Env): string | undefined {
  const path = optional(env, "OPENAI_CA_FILE");
  if (path === undefined) return undefined;
  if (!existsSync(path)) throw new ConfigError(`OPENAI_CA_FILE: file not found: ${path}`);
  if (!readFileSync(path, "utf8").includes("-----BEGIN CERTIFICATE-----")) {
    throw new ConfigError(`OPENAI_CA_FILE: expected PEM certificates in ${path}`);
  }
  return path;
}

/** API_KEYS (comma-separated) plus API_KEYS_FILE (one per line or comma-separated; `#` starts a comment). */
function apiKeys(env: Env): string[] {
  const file = optional(env, "API_KEYS_FILE");
  if (file !== undefined && !existsSync(file)) throw new ConfigError(`API_KEYS_FILE: file not found: ${file}`);
  const fromFile = file === undefined ? "" : readFileSync(file, "utf8").replace(/#.*$/gm, "");
  const keys = `${env.API_KEYS ?? ""},${fromFile}`
    .split(/[,\n]/)
    .map((key) => key.trim())
    .filter((key) => key !== "");
  for (const key of keys) {
    // Token characters only, so a key also fits a Sec-WebSocket-Protocol header; long enough not to be guessed.
    if (!/^[A-Za-z0-9._~-]{16,256}$/.test(key)) {
      throw new ConfigError(
        `${file ? "API_KEYS/API_KEYS_FILE" : "API_KEYS"}: each key needs 16-256 characters from A-Z a-z 0-9 . _ ~ - (a key of ${key.length} characters is not)`,
      );
    }
  }
  return keys;
}

function tokenSecret(env: Env): string | undefined {
  const secret = optional(env, "TOKEN_SECRET");
  if (secret !== undefined && secret.length < 32) {
    throw new ConfigError(`TOKEN_SECRET: expected at least 32 characters, e.g. \`openssl rand -hex 32\` (got ${secret.length})`);
  }
  return secret;
}

function allowedOrigins(env: Env): string[] | undefined {
  const raw = optional(env, "ALLOWED_ORIGINS");
  if (raw === undefined) return undefined;
  try {
    return raw
      .split(",")
      .map((entry) => entry.trim())
      .filter((entry) => entry !== "")
      .map(normalizeOrigin);
  } catch (error) {
    throw new ConfigError(`ALLOWED_ORIGINS: ${(error as Error).message}`);
  }
}

function rateLimit(env: Env): Rate | undefined {
  const raw = optional(env, "RATE_LIMIT_PER_IP");
  if (raw === undefined || raw === "off") return undefined;
  try {
    return parseRate("RATE_LIMIT_PER_IP", raw);
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
}

function socketDir(env: Env): string | null | undefined {
  const raw = optional(env, "TRANSCRIBER_SOCKET_DIR");
  if (raw === undefined) return undefined;
  if (raw === "off") return null;
  if (!raw.startsWith("/")) throw new ConfigError(`TRANSCRIBER_SOCKET_DIR: expected an absolute directory path, or off (got '${raw}')`);
  return raw;
}

/** An image reference: [host[:port]/]path[:tag][@sha256:digest], lowercase path components as engines require. */
const IMAGE_REFERENCE =
  /^(?:[a-zA-Z0-9.-]+(?::\d+)?\/)?[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[0-9a-f]{64})?$/;

function transcriberImage(env: Env): string {
  const image = optional(env, "TRANSCRIBER_IMAGE") ?? DEFAULT_TRANSCRIBER_IMAGE;
  if (!IMAGE_REFERENCE.test(image)) {
    throw new ConfigError(`TRANSCRIBER_IMAGE: expected an image reference such as ${DEFAULT_TRANSCRIBER_IMAGE} (got '${image}')`);
  }
  return image;
}

/** The two forms the engine client speaks: a Unix socket by absolute path, or TCP to host:port. */
const DOCKER_HOST_FORM = /^(?:unix:\/\/\/[^\s]+|tcp:\/\/[A-Za-z0-9.-]+:\d{1,5})$/;

function dockerHost(env: Env): string | undefined {
  const raw = optional(env, "DOCKER_HOST");
  if (raw === undefined) return undefined;
  if (!DOCKER_HOST_FORM.test(raw)) {
    throw new ConfigError(`DOCKER_HOST: expected unix:///path/to/engine.sock or tcp://host:port (got '${raw}')`);
  }
  return raw;
}

// --- Kubernetes (CONTAINER_DRIVER=kubernetes) ---

/** A namespace name: a DNS-1123 label. */
const NAMESPACE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

function kubeNamespace(env: Env): string | undefined {
  const raw = optional(env, "KUBE_NAMESPACE");
  if (raw !== undefined && !NAMESPACE.test(raw)) {
    throw new ConfigError(`KUBE_NAMESPACE: expected a namespace name (1-63 lowercase letters, digits or '-') (got '${raw}')`);
  }
  return raw;
}

/** Checked only for the Kubernetes driver: other drivers never read it, whatever the shell exports. */
function kubeconfig(env: Env, driver: DriverChoice): string | undefined {
  const path = optional(env, "KUBECONFIG");
  if (path === undefined || driver !== "kubernetes") return undefined;
  if (path.includes(":")) throw new ConfigError(`KUBECONFIG: expected one file, not a list (got '${path}')`);
  if (!existsSync(path)) throw new ConfigError(`KUBECONFIG: file not found: ${path}`);
  return path;
}

/** A Secret's name: a DNS-1123 subdomain. */
const SECRET_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function kubeTranscriberSecret(env: Env): string | undefined {
  const raw = optional(env, "KUBE_TRANSCRIBER_SECRET");
  if (raw !== undefined && (!SECRET_NAME.test(raw) || raw.length > 253)) {
    throw new ConfigError(`KUBE_TRANSCRIBER_SECRET: expected a Secret name (lowercase letters, digits, '-' and '.') (got '${raw}')`);
  }
  return raw;
}

// --- several engine hosts ---
function engineHosts(env: Env): EngineHostSpec[] | undefined {
  let hosts: EngineHostSpec[] | undefined;
  try {
    hosts = parseEngineHosts(env);
  } catch (error) {
    if (error instanceof EngineHostsConfigError) throw new ConfigError(error.message);
    throw error;
  }
  const driver = optional(env, "CONTAINER_DRIVER");
  if (hosts && (driver === "process" || driver === "kubernetes")) {
    throw new ConfigError(
      `ENGINE_HOSTS: places containers on engine hosts, so it needs CONTAINER_DRIVER auto, podman or docker (got ${driver})`,
    );
  }
  return hosts;
}

function models(env: Env): Record<string, string> {
  try {
    return parseModels(optional(env, "MODELS"));
  } catch (error) {
    if (error instanceof ModelTableError) throw new ConfigError(error.message);
    throw error;
  }
}

/** A replica id: letters, digits, `.`, `_`, `-`; 1-64 characters (it names Redis keys and shows on /stats). */
const GATEWAY_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

function gatewayId(env: Env): string {
  const raw = optional(env, "GATEWAY_ID");
  if (raw === undefined) return `gw-${crypto.randomUUID().slice(0, 8)}`;
  if (!GATEWAY_ID.test(raw))
    throw new ConfigError(`GATEWAY_ID: expected 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit (got '${raw}')`);
  return raw;
}

function redisUrl(env: Env, store: "memory" | "redis"): string | undefined {
  const raw = optional(env, "REDIS_URL");
  if (raw === undefined) {
    if (store === "redis") throw new ConfigError("REDIS_URL: required with ROUTING_STORE=redis, e.g. redis://127.0.0.1:6379/0");
    return undefined;
  }
  const problem = redisUrlProblem(raw);
  if (problem)
    throw new ConfigError(
      `REDIS_URL: expected redis://[user:password@]host[:port][/db] or rediss://... (got '${redactUrl(raw)}': ${problem})`,
    );
  return raw;
}

/** Parses and validates the whole configuration; throws ConfigError on the first bad variable. */
export function loadConfig(env: Env = process.env): GatewayConfig {
  const gatewayName = optional(env, "GATEWAY_NAME") ?? "default";
  if (!/^[a-z0-9][a-z0-9-]{0,30}$/.test(gatewayName)) {
    throw new ConfigError(`GATEWAY_NAME: expected 1-31 lowercase letters, digits or '-' (got '${gatewayName}')`);
  }
  const routingStore = oneOf(env, "ROUTING_STORE", ["memory", "redis"], "memory");
  const containerDriver = oneOf(env, "CONTAINER_DRIVER", DRIVER_CHOICES, "auto");
  const config: GatewayConfig = {
    routingMode: oneOf(env, "ROUTING_MODE", ["pool", "session", "shared", "autoscale"], "pool"),
    containerPoolSize: integer(env, "CONTAINER_POOL_SIZE", 5, 1, 1000),
    maxInstances: integer(env, "MAX_INSTANCES", 20, 1, 10_000),
    sleepAfterMs: duration(env, "SLEEP_AFTER", "10m"),
    maxConnectionsPerContainer: integer(env, "MAX_CONNECTIONS_PER_CONTAINER", 10, 1, 100_000),
    minContainers: integer(env, "MIN_CONTAINERS", 2, 0, 10_000),
    containerDriver,
    scaleDownAfterMs: duration(env, "SCALE_DOWN_AFTER", "2m"),
    poolPrewarm: bool(env, "POOL_PREWARM", false),
    poolBalanceFactor: balanceFactor(env),
    warmSpares: integer(env, "WARM_SPARES", 0, 0, 1000),
    port: integer(env, "PORT", 8080, 0, 65535),
    host: optional(env, "HOST") ?? "0.0.0.0",
    adminToken: optional(env, "ADMIN_TOKEN"),
    openaiApiKey: optional(env, "OPENAI_API_KEY"),
    openaiBaseUrl: baseUrl(env),
    transcribeModel: optional(env, "TRANSCRIBE_MODEL") ?? "gpt-4o-transcribe",
    models: models(env),
    openaiCaFile: caFile(env),
    containerNetwork: oneOf(env, "CONTAINER_NETWORK", ["bridge", "host"], "bridge"),
    transcriberBackend: oneOf(env, "TRANSCRIBER_BACKEND", ["openai", "local", "echo"], "openai"),
    localMaxSessions: optional(env, "LOCAL_MAX_SESSIONS") === undefined ? undefined : integer(env, "LOCAL_MAX_SESSIONS", 0, 1, 1_000),
    gatewayName,
    gatewayId: gatewayId(env),
    routingStore,
    redisUrl: redisUrl(env, routingStore),
    transcriberSocketDir: socketDir(env),
    maxFrameBytes: integer(env, "MAX_FRAME_BYTES", 64 * 1024, 256, 16 * 1024 * 1024),
    backpressureLimitBytes: integer(env, "BACKPRESSURE_LIMIT_BYTES", 1024 * 1024, 16 * 1024, 1024 * 1024 * 1024),
    drainTimeoutMs: duration(env, "DRAIN_TIMEOUT", "10s"),
    maxSessions: integer(env, "MAX_SESSIONS", 10_000, 1, 1_000_000),
    logLevel: oneOf(env, "LOG_LEVEL", ["trace", "debug", "info", "warn", "error", "fatal", "silent"], "info"),
    apiKeys: apiKeys(env),
    tokenSecret: tokenSecret(env),
    tokenTtlMs: duration(env, "TOKEN_TTL", "5m"),
    allowedOrigins: allowedOrigins(env),
    maxConnectionsPerIp:
      optional(env, "MAX_CONNECTIONS_PER_IP") === undefined ? undefined : integer(env, "MAX_CONNECTIONS_PER_IP", 0, 1, 1_000_000),
    rateLimitPerIp: rateLimit(env),
    containerMemoryBytes: memoryBytes(env, "CONTAINER_MEMORY", "512m"),
    containerCpus: cpus(env, "CONTAINER_CPUS", 1),
    containerPids: integer(env, "CONTAINER_PIDS", 256, 32, 1_000_000),
    hostCpuMax: share(env, "HOST_CPU_MAX", 0.85),
    transcriberImage: transcriberImage(env),
    dockerHost: dockerHost(env),
    kubeNamespace: kubeNamespace(env),
    kubeconfig: kubeconfig(env, containerDriver),
    kubeTranscriberSecret: kubeTranscriberSecret(env),
    engineHosts: engineHosts(env),
  };
  if (config.routingMode === "pool" && config.containerPoolSize > config.maxInstances) {
    throw new ConfigError(
      `CONTAINER_POOL_SIZE: ${config.containerPoolSize} members cannot run within MAX_INSTANCES=${config.maxInstances}; raise MAX_INSTANCES or shrink the pool`,
    );
  }
  if (config.routingMode === "autoscale" && config.minContainers > config.maxInstances) {
    throw new ConfigError(`MIN_CONTAINERS: ${config.minContainers} exceeds MAX_INSTANCES=${config.maxInstances}`);
  }
  if (config.transcriberBackend === "openai" && !config.openaiApiKey) {
    throw new ConfigError(
      "OPENAI_API_KEY: required when TRANSCRIBER_BACKEND=openai (or set TRANSCRIBER_BACKEND=local or echo; `npm run dev` uses local)",
    );
  }
  return config;
}

/** The per-container caps the engine driver applies (CONTAINER_MEMORY, CONTAINER_CPUS, CONTAINER_PIDS). */
export function containerLimits(config: GatewayConfig): ContainerLimits {
  return { memoryBytes: config.containerMemoryBytes, cpus: config.containerCpus, pids: config.containerPids };
}

/** What the Kubernetes driver takes from the configuration (runtime/kubernetes/index.ts). */
export function kubernetesSettings(config: GatewayConfig): { namespace?: string; kubeconfig?: string; transcriberSecret?: string } {
  return { namespace: config.kubeNamespace, kubeconfig: config.kubeconfig, transcriberSecret: config.kubeTranscriberSecret };
}

/** The configuration as shown on /stats: every setting, never a secret. */
export function publicConfig(config: GatewayConfig): Record<string, unknown> {
  const { adminToken, openaiApiKey, apiKeys, tokenSecret, redisUrl, ...rest } = config;
  return {
    ...rest,
    redisUrl: redisUrl === undefined ? null : redactUrl(redisUrl),
    adminToken: adminToken ? "set" : "unset",
    openaiApiKey: openaiApiKey ? "set" : "unset",
    apiKeys: apiKeys.length,
    tokenSecret: tokenSecret ? "set" : "unset",
  };
}
