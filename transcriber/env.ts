/**
 * The transcriber's environment contract: the variables it reads, and the only ones a driver passes to it.
 * A transcriber runs user audio against a third-party API; it must never hold the gateway's own secrets
 * (ADMIN_TOKEN, TOKEN_SECRET, API_KEYS, ...), so drivers build its environment from this list instead of
 * passing on what the gateway was started with. config.ts reads its environment through this type, so a
 * variable it starts reading without adding it here fails to compile.
 */

/** Every variable transcriber/config.ts reads. */
export const TRANSCRIBER_VARIABLES = [
  "PORT",
  "HOST",
  "LISTEN_SOCKET",
  "TRANSCRIBER_BACKEND",
  "OPENAI_API_KEY",
  "OPENAI_BASE_URL",
  "OPENAI_CA_PEM",
  "OPENAI_CA_FILE",
  "TRANSCRIBE_MODEL",
  "REALTIME_SESSION_MAX_MS",
  "LOG_LEVEL",
  "OPUS_DECODER",
  // The local recognizer sizes its decoder pool from the container's caps (not secrets: limits the gateway sets).
  "CONTAINER_MEMORY",
  "CONTAINER_CPUS",
] as const;

/**
 * Prefixes of variable families a backend owns, passed whole. The rule: a family is listed here only once
 * config.ts reads variables of it (the local recognizer's settings would be `LOCAL_`), never ahead of time,
 * so no prefix can carry a gateway variable by accident. `LOCAL_`: the local recognizer's settings
 * (LOCAL_MAX_SESSIONS, LOCAL_MODEL_DIR).
 */
export const TRANSCRIBER_VARIABLE_PREFIXES = ["LOCAL_"] as const satisfies readonly string[];

type Prefix = (typeof TRANSCRIBER_VARIABLE_PREFIXES)[number];

/** A name the transcriber reads. */
export type TranscriberVariable = (typeof TRANSCRIBER_VARIABLES)[number] | `${Prefix}${string}`;

/** The transcriber's view of its environment. */
export type TranscriberEnv = { readonly [name in TranscriberVariable]?: string | undefined };

const NAMES: ReadonlySet<string> = new Set(TRANSCRIBER_VARIABLES);

/** Whether the transcriber reads `name` (by the list or by a prefix family). */
export function isTranscriberVariable(name: string): name is TranscriberVariable {
  return NAMES.has(name) || TRANSCRIBER_VARIABLE_PREFIXES.some((prefix: string) => name.startsWith(prefix));
}

/** The part of `env` a transcriber may see: allowlisted names with a value, nothing else. */
export function transcriberEnvOnly(env: Record<string, string | undefined>): Record<string, string> {
  const passed: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && isTranscriberVariable(name)) passed[name] = value;
  }
  return passed;
}
