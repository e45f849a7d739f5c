/** The security and container-limit variables of app/config.ts: defaults, parsing, one-line errors. */
import { describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, loadConfig, publicConfig } from "../config.ts";

const BASE = { TRANSCRIBER_BACKEND: "echo" };
const load = (env: Record<string, string>) => loadConfig({ ...BASE, ...env });

function errorOf(env: Record<string, string>): string {
  try {
    load(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error("expected a ConfigError");
}

describe("security configuration", () => {
  test("defaults: open gateway, no limits per IP, hardened containers at 512m, 1 CPU, 256 pids", () => {
    const config = load({});
    expect(config).toMatchObject({
      apiKeys: [],
      tokenSecret: undefined,
      tokenTtlMs: 300_000,
      allowedOrigins: undefined,
      maxConnectionsPerIp: undefined,
      rateLimitPerIp: undefined,
      containerMemoryBytes: 512 * 1024 ** 2,
      containerCpus: 1,
      containerPids: 256,
    });
  });

  test("reads keys from API_KEYS and API_KEYS_FILE, origins, rates and limits", () => {
    const file = join(mkdtempSync(join(tmpdir(), "keys-")), "keys");
    writeFileSync(file, "# backend keys\nfile-key-0123456789\n\nsecond-file-key-0123\n");
    const config = load({
      API_KEYS: "env-key-0123456789ab, other-env-key-01234",
      API_KEYS_FILE: file,
      TOKEN_SECRET: "x".repeat(32),
      TOKEN_TTL: "90s",
      ALLOWED_ORIGINS: "https://Meet.Example.com, http://localhost:3000/",
      MAX_CONNECTIONS_PER_IP: "20",
      RATE_LIMIT_PER_IP: "600/m",
      CONTAINER_MEMORY: "1g",
      CONTAINER_CPUS: "0.5",
      CONTAINER_PIDS: "64",
    });
    expect(config.apiKeys).toEqual(["env-key-0123456789ab", "other-env-key-01234", "file-key-0123456789", "second-file-key-0123"]);
    expect(config.tokenTtlMs).toBe(90_000);
    expect(config.allowedOrigins).toEqual(["https://meet.example.com", "http://localhost:3000"]);
    expect(config.maxConnectionsPerIp).toBe(20);
    expect(config.rateLimitPerIp).toEqual({ limit: 600, periodMs: 60_000 });
    expect([config.containerMemoryBytes, config.containerCpus, config.containerPids]).toEqual([1024 ** 3, 0.5, 64]);
  });

  test("bad values stop the start with one line naming the variable", () => {
    expect(errorOf({ API_KEYS: "short" })).toStartWith("API_KEYS: each key needs 16-256 characters");
    expect(errorOf({ API_KEYS: "has space in it 0123456789" })).toStartWith("API_KEYS:");
    expect(errorOf({ API_KEYS_FILE: "/nonexistent/keys" })).toBe("API_KEYS_FILE: file not found: /nonexistent/keys");
    expect(errorOf({ TOKEN_SECRET: "short" })).toStartWith("TOKEN_SECRET: expected at least 32 characters");
    expect(errorOf({ TOKEN_TTL: "soon" })).toStartWith("TOKEN_TTL:");
    expect(errorOf({ ALLOWED_ORIGINS: "meet.example.com" })).toStartWith("ALLOWED_ORIGINS: expected origins");
    expect(errorOf({ ALLOWED_ORIGINS: "https://a.example/path" })).toStartWith("ALLOWED_ORIGINS:");
    expect(errorOf({ MAX_CONNECTIONS_PER_IP: "0" })).toStartWith("MAX_CONNECTIONS_PER_IP:");
    expect(errorOf({ RATE_LIMIT_PER_IP: "lots" })).toBe("RATE_LIMIT_PER_IP: expected a rate such as 20/s, 600/m or 1000/h (got 'lots')");
    expect(errorOf({ CONTAINER_MEMORY: "12m" })).toStartWith("CONTAINER_MEMORY: expected a size of at least 64m");
    expect(errorOf({ CONTAINER_CPUS: "none" })).toStartWith("CONTAINER_CPUS:");
    expect(errorOf({ CONTAINER_PIDS: "4" })).toStartWith("CONTAINER_PIDS:");
    for (const message of [errorOf({ API_KEYS: "short" }), errorOf({ TOKEN_SECRET: "short-secret" })]) {
      expect(message).not.toContain("short"); // a rejected secret is not echoed either
    }
  });

  test("/stats shows how many keys and whether a token secret is set, never the values", () => {
    const view = JSON.stringify(publicConfig(load({ API_KEYS: "env-key-0123456789ab", TOKEN_SECRET: "y".repeat(32) })));
    expect(view).toContain('"apiKeys":1');
    expect(view).toContain('"tokenSecret":"set"');
    expect(view).not.toContain("env-key-0123456789ab");
    expect(view).not.toContain("y".repeat(32));
  });
});
