/**
 * CONFIG_FILE: an optional file of `KEY=VALUE` lines applied over the process environment, at start and again
 * on every SIGHUP. It exists because a running process's environment cannot change: editing this file and
 * sending SIGHUP is how an operator changes the pool size or SLEEP_AFTER without a restart.
 */
import { readFileSync } from "node:fs";
import { ConfigError } from "../config.ts";

type Env = Record<string, string | undefined>;

const KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Parses `KEY=VALUE` lines: blank lines and `#` comments are skipped, an `export ` prefix is allowed (so the
 * file can be sourced by a shell too), and a value wrapped in single or double quotes loses them. Anything
 * else is a ConfigError naming the line.
 */
export function parseEnvFile(text: string, path = "CONFIG_FILE"): Record<string, string> {
  const env: Record<string, string> = {};
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const body = line.startsWith("export ") ? line.slice(7).trimStart() : line;
    const eq = body.indexOf("=");
    const key = eq > 0 ? body.slice(0, eq).trim() : "";
    if (!KEY.test(key)) throw new ConfigError(`CONFIG_FILE: ${path} line ${index + 1}: expected KEY=VALUE (got '${line.slice(0, 60)}')`);
    let value = body.slice(eq + 1).trim();
    const quote = value[0];
    if ((quote === '"' || quote === "'") && value.length >= 2 && value.endsWith(quote)) value = value.slice(1, -1);
    env[key] = value;
  });
  return env;
}

/** `env` with CONFIG_FILE's entries applied over it (file wins); `env` itself when CONFIG_FILE is unset. */
export function withConfigFile(env: Env, read: (path: string) => string = (path) => readFileSync(path, "utf8")): Env {
  const path = env.CONFIG_FILE?.trim();
  if (!path) return env;
  let text: string;
  try {
    text = read(path);
  } catch (error) {
    throw new ConfigError(`CONFIG_FILE: cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  return { ...env, ...parseEnvFile(text, path) };
}
