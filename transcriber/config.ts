/**
 * The transcriber's configuration, read once from the environment. Every bad value fails with one line that
 * names the variable and what it accepts (the README's Configuration table), so a misconfigured container dies at start.
 */
import { readFileSync } from "node:fs";
import type { TranscriberEnv, TranscriberVariable } from "./env.ts";
import { defaultLocalMaxSessions } from "./local/capacity.ts";
import { DEFAULT_MODEL_DIR } from "./local/pocketsphinx.ts";
import type { OpusDecoderSetting } from "./opus-core.ts";

export type Backend = "openai" | "local" | "echo";

export interface TranscriberConfig {
  port: number;
  host: string;
  /** LISTEN_SOCKET: a Unix socket to serve on as well (the gateway's cheaper data path); unset: TCP only. */
  socketPath: string | undefined;
  backend: Backend;
  apiKey: string | undefined;
  /** Unset means the SDK default (api.openai.com). */
  baseUrl: string | undefined;
  model: string;
  /** Extra CA certificates (PEM) to trust for `baseUrl`, from OPENAI_CA_PEM and/or OPENAI_CA_FILE. */
  caPem: string | undefined;
  /** Age at which an upstream realtime session is replaced (OpenAI ends them at 60 minutes). */
  realtimeSessionMaxMs: number;
  logLevel: string;
  /** OPUS_DECODER: which build of libopus decodes (auto: the system's native library when it loads, else libopus-wasm). */
  opusDecoder: OpusDecoderSetting;
  /** TRANSCRIBER_BACKEND=local: concurrent sessions (LOCAL_MAX_SESSIONS, default from CONTAINER_MEMORY and CONTAINER_CPUS). */
  localMaxSessions: number;
  /** CONTAINER_CPUS: the cores this container may use; the load report's CPU mark is relative to it (default 1). */
  containerCpus: number;
  /** TRANSCRIBER_BACKEND=local: the pocketsphinx model directory (LOCAL_MODEL_DIR). */
  localModelDir: string;
}

/** A configuration error; its message is the one line to print. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

const DEFAULT_SESSION_MAX_MS = 55 * 60_000;
const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];

/**
 * Parses the transcriber environment. `readFile` is injected so tests need no files.
 * @throws ConfigError naming the offending variable.
 */
export function loadConfig(
  env: TranscriberEnv,
  readFile: (path: string) => string = (path) => readFileSync(path, "utf8"),
): TranscriberConfig {
  const backend = oneOf(env, "TRANSCRIBER_BACKEND", ["openai", "local", "echo"], "openai") as Backend;
  const baseUrl = nonEmpty(env.OPENAI_BASE_URL);
  if (baseUrl !== undefined && !/^https?:\/\/[^\s]+$/.test(baseUrl)) {
    throw new ConfigError(`OPENAI_BASE_URL must be an http(s) URL, got "${baseUrl}"`);
  }
  const apiKey = nonEmpty(env.OPENAI_API_KEY);
  if (backend === "openai" && apiKey === undefined) {
    throw new ConfigError("OPENAI_API_KEY is required when TRANSCRIBER_BACKEND=openai (or set TRANSCRIBER_BACKEND=local or echo)");
  }
  return {
    port: integer(env, "PORT", 8080, 0, 65_535),
    host: nonEmpty(env.HOST) ?? "0.0.0.0",
    socketPath: nonEmpty(env.LISTEN_SOCKET),
    backend,
    apiKey,
    baseUrl,
    model: nonEmpty(env.TRANSCRIBE_MODEL) ?? "gpt-4o-transcribe",
    caPem: caPem(env, readFile),
    realtimeSessionMaxMs: integer(env, "REALTIME_SESSION_MAX_MS", DEFAULT_SESSION_MAX_MS, 1_000, 59 * 60_000),
    logLevel: oneOf(env, "LOG_LEVEL", LOG_LEVELS, "info"),
    opusDecoder: oneOf(env, "OPUS_DECODER", ["auto", "native", "wasm"], "auto") as OpusDecoderSetting,
    localMaxSessions: integer(env, "LOCAL_MAX_SESSIONS", defaultLocalMaxSessions(memoryBytes(env), cpus(env)), 1, 1_000),
    localModelDir: nonEmpty(env.LOCAL_MODEL_DIR) ?? DEFAULT_MODEL_DIR,
    containerCpus: cpus(env),
  };
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}

function oneOf(env: TranscriberEnv, name: TranscriberVariable, allowed: string[], fallback: string): string {
  const value = nonEmpty(env[name]);
  if (value === undefined) return fallback;
  if (!allowed.includes(value)) throw new ConfigError(`${name} must be one of ${allowed.join(", ")}, got "${value}"`);
  return value;
}

function integer(env: TranscriberEnv, name: TranscriberVariable, fallback: number, min: number, max: number): number {
  const value = nonEmpty(env[name]);
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!/^\d+$/.test(value) || parsed < min || parsed > max) {
    throw new ConfigError(`${name} must be an integer from ${min} to ${max}, got "${value}"`);
  }
  return parsed;
}

/** CONTAINER_MEMORY as the gateway passes it (bytes, or a k/m/g suffix); 512m when unset, as the gateway's default. */
function memoryBytes(env: TranscriberEnv): number {
  const value = nonEmpty(env.CONTAINER_MEMORY) ?? "512m";
  const match = /^(\d+)([kmg]?)$/i.exec(value);
  if (!match) throw new ConfigError(`CONTAINER_MEMORY must be bytes or a size like 512m or 2g, got "${value}"`);
  const power = { "": 0, k: 1, m: 2, g: 3 }[match[2]!.toLowerCase() as "" | "k" | "m" | "g"];
  return Number(match[1]) * 1024 ** power;
}

/** CONTAINER_CPUS as the gateway passes it (cores, fractional allowed); 1 when unset, as the gateway's default. */
function cpus(env: TranscriberEnv): number {
  const value = nonEmpty(env.CONTAINER_CPUS) ?? "1";
  const parsed = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || parsed <= 0)
    throw new ConfigError(`CONTAINER_CPUS must be a number of cores like 1 or 0.5, got "${value}"`);
  return parsed;
}

function caPem(env: TranscriberEnv, readFile: (path: string) => string): string | undefined {
  const parts: string[] = [];
  const inline = nonEmpty(env.OPENAI_CA_PEM);
  if (inline !== undefined) {
    if (!inline.includes("-----BEGIN CERTIFICATE-----")) {
      throw new ConfigError("OPENAI_CA_PEM must contain PEM certificates (-----BEGIN CERTIFICATE-----)");
    }
    parts.push(inline);
  }
  const file = nonEmpty(env.OPENAI_CA_FILE);
  if (file !== undefined) {
    let text: string;
    try {
      text = readFile(file);
    } catch (error) {
      throw new ConfigError(`OPENAI_CA_FILE cannot be read (${file}): ${(error as Error).message}`);
    }
    if (!text.includes("-----BEGIN CERTIFICATE-----")) {
      throw new ConfigError(`OPENAI_CA_FILE must be a PEM file of certificates, got ${file}`);
    }
    parts.push(text);
  }
  return parts.length > 0 ? parts.join("\n") : undefined;
}
