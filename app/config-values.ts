/**
 * The value readers every configuration variable goes through: each reads one variable (blank counts as unset),
 * checks it, and throws a ConfigError whose one-line message names the variable, what it accepts and what it got.
 */

/** A configuration error: its message is the one line printed at start. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

export type Env = Record<string, string | undefined>;

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses `500ms`, `30s`, `5m`, `1h` into milliseconds. */
export function parseDurationMs(name: string, raw: string): number {
  const match = DURATION.exec(raw.trim());
  if (!match) throw new ConfigError(`${name}: expected a duration such as 30s, 5m or 1h (got '${raw}')`);
  return Math.round(Number(match[1]) * UNIT_MS[match[2]!]!);
}

export function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === "") return fallback;
  if ((allowed as readonly string[]).includes(raw)) return raw as T;
  throw new ConfigError(`${name}: expected one of ${allowed.join(", ")} (got '${raw}')`);
}

export function integer(env: Env, name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < min || value > max) {
    throw new ConfigError(`${name}: expected an integer from ${min} to ${max} (got '${raw}')`);
  }
  return value;
}

export function duration(env: Env, name: string, fallback: string): number {
  const raw = env[name]?.trim();
  return parseDurationMs(name, raw === undefined || raw === "" ? fallback : raw);
}

export function bool(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === "") return fallback;
  if (["true", "1", "yes"].includes(raw)) return true;
  if (["false", "0", "no"].includes(raw)) return false;
  throw new ConfigError(`${name}: expected true or false (got '${env[name]}')`);
}

export function optional(env: Env, name: string): string | undefined {
  const raw = env[name]?.trim();
  return raw === undefined || raw === "" ? undefined : raw;
}

const SIZE_UNITS: Record<string, number> = { "": 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

export function memoryBytes(env: Env, name: string, fallback: string): number {
  const raw = (optional(env, name) ?? fallback).toLowerCase();
  const match = /^(\d+(?:\.\d+)?)([bkmg]?)$/.exec(raw);
  const bytes = match ? Math.round(Number(match[1]) * SIZE_UNITS[match[2]!]!) : NaN;
  // Below 64 MiB the transcriber (a Bun runtime) cannot start.
  if (!(bytes >= 64 * 1024 ** 2)) throw new ConfigError(`${name}: expected a size of at least 64m such as 512m or 1g (got '${raw}')`);
  return bytes;
}

export function cpus(env: Env, name: string, fallback: number): number {
  const raw = optional(env, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0.01 || value > 1024)
    throw new ConfigError(`${name}: expected a number of CPUs such as 1 or 0.5 (got '${raw}')`);
  return value;
}

/** A share from 0 to 1 such as 0.9 (`1` never trips a limit that is exceeded only above it). */
export function share(env: Env, name: string, fallback: number): number {
  const raw = optional(env, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!/^\d*\.?\d+$/.test(raw) || value <= 0 || value > 1)
    throw new ConfigError(`${name}: expected a share above 0 and at most 1 such as 0.9 (got '${raw}')`);
  return value;
}
