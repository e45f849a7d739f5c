import { describe, expect, test } from "bun:test";
import { loadConfig } from "./config.ts";
import { isTranscriberVariable, TRANSCRIBER_VARIABLE_PREFIXES, TRANSCRIBER_VARIABLES, transcriberEnvOnly } from "./env.ts";

/** The names loadConfig reads from `env`, recorded by a proxy in front of it. */
function namesRead(env: Record<string, string>): Set<string> {
  const read = new Set<string>();
  const recording = new Proxy(env, {
    get: (target, name) => {
      if (typeof name === "string") read.add(name);
      return target[name as string];
    },
  });
  loadConfig(recording, () => "-----BEGIN CERTIFICATE-----\n");
  return read;
}

describe("the transcriber's environment allowlist", () => {
  test("names exactly what loadConfig reads, under every backend", () => {
    const read = new Set([
      ...namesRead({
        TRANSCRIBER_BACKEND: "openai",
        OPENAI_API_KEY: "sk-x",
        OPENAI_CA_PEM: "-----BEGIN CERTIFICATE-----\n",
        OPENAI_CA_FILE: "/ca.pem",
      }),
      ...namesRead({ TRANSCRIBER_BACKEND: "echo" }),
    ]);
    for (const name of read) expect({ name, allowed: isTranscriberVariable(name) }).toEqual({ name, allowed: true });
    // Names outside a prefix family are listed one by one, and the list names nothing config.ts does not read.
    const byPrefix = (name: string) => TRANSCRIBER_VARIABLE_PREFIXES.some((prefix: string) => name.startsWith(prefix));
    expect([...read].filter((name) => !byPrefix(name)).sort()).toEqual([...TRANSCRIBER_VARIABLES].sort());
  });

  test("keeps the transcriber's settings and drops everything else the gateway holds", () => {
    const gatewayEnv = {
      TRANSCRIBER_BACKEND: "openai",
      OPENAI_API_KEY: "sk-upstream",
      LOG_LEVEL: "debug",
      ADMIN_TOKEN: "admin-secret",
      TOKEN_SECRET: "t".repeat(32),
      API_KEYS: "client-key-0123456789",
      REDIS_URL: "redis://127.0.0.1:6379",
      PATH: "/usr/bin",
      EMPTY: undefined,
    };
    expect(transcriberEnvOnly(gatewayEnv)).toEqual({ TRANSCRIBER_BACKEND: "openai", OPENAI_API_KEY: "sk-upstream", LOG_LEVEL: "debug" });
  });
});
