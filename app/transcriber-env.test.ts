import { describe, expect, test } from "bun:test";
import { loadConfig } from "./config.ts";
import { transcriberEnv } from "./gateway.ts";

describe("transcriberEnv", () => {
  test("local backend: the container's caps (the transcriber sizes its decoder pool from them) and LOCAL_MAX_SESSIONS when set", () => {
    const env = transcriberEnv(loadConfig({ TRANSCRIBER_BACKEND: "local", CONTAINER_MEMORY: "1g", CONTAINER_CPUS: "0.5" }));
    expect(env).toMatchObject({ TRANSCRIBER_BACKEND: "local", CONTAINER_MEMORY: String(1024 ** 3), CONTAINER_CPUS: "0.5" });
    expect(env.LOCAL_MAX_SESSIONS).toBeUndefined();
    expect(transcriberEnv(loadConfig({ TRANSCRIBER_BACKEND: "local", LOCAL_MAX_SESSIONS: "4" })).LOCAL_MAX_SESSIONS).toBe("4");
  });

  test("LOCAL_MAX_SESSIONS out of range fails at start naming it", () => {
    expect(() => loadConfig({ TRANSCRIBER_BACKEND: "local", LOCAL_MAX_SESSIONS: "0" })).toThrow(/^LOCAL_MAX_SESSIONS: /);
  });

  test("other backends get none of the local settings, but the CPU cap their load report measures against", () => {
    const env = transcriberEnv(loadConfig({ TRANSCRIBER_BACKEND: "echo", LOCAL_MAX_SESSIONS: "4", CONTAINER_CPUS: "0.25" }));
    expect(env.CONTAINER_MEMORY).toBeUndefined();
    expect(env.LOCAL_MAX_SESSIONS).toBeUndefined();
    expect(env.CONTAINER_CPUS).toBe("0.25");
  });
});
