import { describe, expect, test } from "bun:test";
import { ConfigError, loadConfig } from "./config.ts";

const PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
const noFiles = (path: string): string => {
  throw new Error(`ENOENT ${path}`);
};

describe("loadConfig", () => {
  test("has the documented defaults", () => {
    const config = loadConfig({ OPENAI_API_KEY: "sk-x" }, noFiles);
    expect(config).toMatchObject({
      port: 8080,
      host: "0.0.0.0",
      backend: "openai",
      model: "gpt-4o-transcribe",
      realtimeSessionMaxMs: 55 * 60_000,
      caPem: undefined,
      opusDecoder: "auto",
    });
  });

  test("joins the CA from OPENAI_CA_PEM and OPENAI_CA_FILE", () => {
    const config = loadConfig({ OPENAI_API_KEY: "k", OPENAI_CA_PEM: PEM, OPENAI_CA_FILE: "/ca.pem" }, (path) =>
      path === "/ca.pem" ? PEM : noFiles(path),
    );
    expect(config.caPem?.match(/BEGIN CERTIFICATE/g)?.length).toBe(2);
  });

  test("the echo backend needs no API key", () => {
    expect(loadConfig({ TRANSCRIBER_BACKEND: "echo" }, noFiles).backend).toBe("echo");
  });

  test.each([
    ["PORT", "http"],
    ["PORT", "70000"],
    ["TRANSCRIBER_BACKEND", "whisper"],
    ["REALTIME_SESSION_MAX_MS", "1h"],
    ["OPENAI_BASE_URL", "ftp://x"],
    ["OPENAI_CA_FILE", "/missing.pem"],
    ["OPENAI_CA_PEM", "not a pem"],
    ["OPENAI_API_KEY", ""],
    ["LOG_LEVEL", "loud"],
    ["OPUS_DECODER", "ffmpeg"],
  ])("a bad %s (%p) fails with one line naming it", (name, value) => {
    const run = () => loadConfig({ OPENAI_API_KEY: "k", [name]: value }, noFiles);
    expect(run).toThrow(ConfigError);
    expect(run).toThrow(name);
    try {
      run();
    } catch (error) {
      expect((error as Error).message).not.toContain("\n");
    }
  });
});

describe("loadConfig, local backend", () => {
  test("needs no API key; LOCAL_MAX_SESSIONS defaults from CONTAINER_MEMORY and CONTAINER_CPUS", () => {
    expect(loadConfig({ TRANSCRIBER_BACKEND: "local" }, noFiles)).toMatchObject({ backend: "local", localMaxSessions: 1 });
    expect(loadConfig({ TRANSCRIBER_BACKEND: "local", CONTAINER_MEMORY: String(256 * 1024 ** 2) }, noFiles).localMaxSessions).toBe(1);
    expect(loadConfig({ TRANSCRIBER_BACKEND: "local", CONTAINER_MEMORY: "2g", CONTAINER_CPUS: "0.4" }, noFiles).localMaxSessions).toBe(1);
    expect(loadConfig({ TRANSCRIBER_BACKEND: "local", CONTAINER_MEMORY: "2g", LOCAL_MAX_SESSIONS: "2" }, noFiles).localMaxSessions).toBe(2);
  });

  test.each([
    ["LOCAL_MAX_SESSIONS", "0"],
    ["LOCAL_MAX_SESSIONS", "many"],
    ["CONTAINER_MEMORY", "lots"],
    ["CONTAINER_CPUS", "-1"],
  ])("%s=%s fails naming the variable", (name, value) => {
    expect(() => loadConfig({ TRANSCRIBER_BACKEND: "local", [name]: value }, noFiles)).toThrow(new RegExp(`^${name} must`));
  });
});
