import { describe, expect, test } from "bun:test";
import { ConfigError, loadConfig, parseDurationMs, publicConfig } from "./config.ts";

describe("configuration", () => {
  test("defaults follow the design table", () => {
    const config = loadConfig({ OPENAI_API_KEY: "k" });
    expect(config.routingMode).toBe("pool");
    expect(config.containerPoolSize).toBe(5);
    expect(config.maxInstances).toBe(20);
    expect(config.sleepAfterMs).toBe(600_000);
    expect(config.maxConnectionsPerContainer).toBe(10);
    expect(config.minContainers).toBe(2);
    expect(config.containerDriver).toBe("auto");
    expect(config.scaleDownAfterMs).toBe(120_000);
    expect(config.poolPrewarm).toBe(false);
    expect(config.poolBalanceFactor).toBeUndefined();
    expect(config.warmSpares).toBe(0);
    expect(config.hostCpuMax).toBe(0.85);
    expect(config.port).toBe(8080);
    expect(config.transcribeModel).toBe("gpt-4o-transcribe");
    expect(config.containerNetwork).toBe("bridge");
    expect(config.transcriberBackend).toBe("openai");
  });

  test("durations accept ms, s, m and h", () => {
    expect(parseDurationMs("SLEEP_AFTER", "250ms")).toBe(250);
    expect(parseDurationMs("SLEEP_AFTER", "30s")).toBe(30_000);
    expect(parseDurationMs("SLEEP_AFTER", "5m")).toBe(300_000);
    expect(parseDurationMs("SLEEP_AFTER", "1h")).toBe(3_600_000);
  });

  test.each([
    ["ROUTING_MODE", "roundrobin", /^ROUTING_MODE: expected one of pool, session, shared, autoscale \(got 'roundrobin'\)$/],
    ["CONTAINER_POOL_SIZE", "0", /^CONTAINER_POOL_SIZE: expected an integer from 1/],
    ["CONTAINER_POOL_SIZE", "five", /^CONTAINER_POOL_SIZE: expected an integer/],
    ["SLEEP_AFTER", "10 minutes", /^SLEEP_AFTER: expected a duration such as 30s, 5m or 1h \(got '10 minutes'\)$/],
    ["POOL_PREWARM", "maybe", /^POOL_PREWARM: expected true or false/],
    ["POOL_BALANCE_FACTOR", "0.9", /^POOL_BALANCE_FACTOR: expected a number above 1/],
    ["PORT", "70000", /^PORT: expected an integer from 0 to 65535/],
    ["CONTAINER_NETWORK", "macvlan", /^CONTAINER_NETWORK: expected one of bridge, host/],
    ["TRANSCRIBER_BACKEND", "whisper", /^TRANSCRIBER_BACKEND: expected one of openai, local, echo/],
    ["OPENAI_BASE_URL", "not a url", /^OPENAI_BASE_URL: expected an http\(s\) URL/],
    ["OPENAI_CA_FILE", "/nonexistent/ca.pem", /^OPENAI_CA_FILE: file not found: \/nonexistent\/ca.pem$/],
    ["CONTAINER_DRIVER", "lxc", /^CONTAINER_DRIVER: expected one of auto, podman, docker, process/],
    [
      "TRANSCRIBER_IMAGE",
      "Transcriber Image",
      /^TRANSCRIBER_IMAGE: expected an image reference such as localhost\/transcribe-edge-transcriber:latest \(got 'Transcriber Image'\)$/,
    ],
    ["TRANSCRIBER_IMAGE", "localhost/Upper:1", /^TRANSCRIBER_IMAGE: expected an image reference/],
    ["TRANSCRIBER_IMAGE", "te:", /^TRANSCRIBER_IMAGE: expected an image reference/],
    [
      "DOCKER_HOST",
      "/run/podman/podman.sock",
      /^DOCKER_HOST: expected unix:\/\/\/path\/to\/engine.sock or tcp:\/\/host:port \(got '\/run\/podman\/podman.sock'\)$/,
    ],
    ["DOCKER_HOST", "ssh://engine-host", /^DOCKER_HOST: expected unix:\/\/\/path/],
    ["DOCKER_HOST", "tcp://engine-host", /^DOCKER_HOST: expected unix:\/\/\/path/],
    ["HOST_CPU_MAX", "90%", /^HOST_CPU_MAX: expected a share above 0 and at most 1 such as 0.9 \(got '90%'\)$/],
    ["HOST_CPU_MAX", "1.5", /^HOST_CPU_MAX: expected a share above 0 and at most 1/],
    ["HOST_CPU_MAX", "0", /^HOST_CPU_MAX: expected a share above 0 and at most 1/],
  ])("a bad %s (%s) fails naming the variable", (name, value, message) => {
    let thrown: unknown;
    try {
      loadConfig({ OPENAI_API_KEY: "k", [name]: value });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect((thrown as Error).message).toMatch(message);
    expect((thrown as Error).message).not.toContain("\n");
  });

  test("the openai backend needs an API key; the echo backend does not", () => {
    expect(() => loadConfig({})).toThrow(/^OPENAI_API_KEY: required when TRANSCRIBER_BACKEND=openai/);
    expect(loadConfig({ TRANSCRIBER_BACKEND: "echo" }).openaiApiKey).toBeUndefined();
  });

  test("a pool larger than MAX_INSTANCES, or a minimum above it, is refused naming the variable", () => {
    expect(() => loadConfig({ OPENAI_API_KEY: "k", CONTAINER_POOL_SIZE: "30", MAX_INSTANCES: "25" })).toThrow(
      /^CONTAINER_POOL_SIZE: 30 members cannot run within MAX_INSTANCES=25/,
    );
    expect(() => loadConfig({ OPENAI_API_KEY: "k", ROUTING_MODE: "autoscale", MIN_CONTAINERS: "5", MAX_INSTANCES: "3" })).toThrow(
      /^MIN_CONTAINERS: 5 exceeds MAX_INSTANCES=3$/,
    );
  });

  test("TRANSCRIBER_SOCKET_DIR takes an absolute path or off", () => {
    expect(loadConfig({ OPENAI_API_KEY: "k" }).transcriberSocketDir).toBeUndefined();
    expect(loadConfig({ OPENAI_API_KEY: "k", TRANSCRIBER_SOCKET_DIR: "off" }).transcriberSocketDir).toBeNull();
    expect(loadConfig({ OPENAI_API_KEY: "k", TRANSCRIBER_SOCKET_DIR: "/run/te" }).transcriberSocketDir).toBe("/run/te");
    expect(() => loadConfig({ OPENAI_API_KEY: "k", TRANSCRIBER_SOCKET_DIR: "run/te" })).toThrow(
      /^TRANSCRIBER_SOCKET_DIR: expected an absolute directory path, or off \(got 'run\/te'\)$/,
    );
  });

  test("TRANSCRIBER_IMAGE and DOCKER_HOST are validated here and shown in the public view", () => {
    const defaults = loadConfig({ OPENAI_API_KEY: "k" });
    expect([defaults.transcriberImage, defaults.dockerHost]).toEqual(["localhost/transcribe-edge-transcriber:latest", undefined]);
    const digest = `@sha256:${"a".repeat(64)}`;
    for (const image of ["localhost/transcribe-edge-transcriber:core", "registry.internal:5000/team/te:1.2", `te${digest}`]) {
      expect(loadConfig({ OPENAI_API_KEY: "k", TRANSCRIBER_IMAGE: image }).transcriberImage).toBe(image);
    }
    for (const host of ["unix:///run/podman/podman.sock", "tcp://127.0.0.1:2375"]) {
      expect(loadConfig({ OPENAI_API_KEY: "k", DOCKER_HOST: host }).dockerHost).toBe(host);
    }
    const view = publicConfig(
      loadConfig({ OPENAI_API_KEY: "k", TRANSCRIBER_IMAGE: "localhost/te:9", DOCKER_HOST: "tcp://127.0.0.1:2375" }),
    );
    expect(view).toMatchObject({ transcriberImage: "localhost/te:9", dockerHost: "tcp://127.0.0.1:2375" });
  });

  test("KUBE_NAMESPACE is a namespace name; KUBECONFIG is one existing file, read only with CONTAINER_DRIVER=kubernetes", () => {
    const base = { OPENAI_API_KEY: "k", CONTAINER_DRIVER: "kubernetes" };
    expect(loadConfig(base)).toMatchObject({ containerDriver: "kubernetes", kubeNamespace: undefined, kubeconfig: undefined });
    expect(loadConfig({ ...base, KUBE_NAMESPACE: "transcribe-edge" }).kubeNamespace).toBe("transcribe-edge");
    expect(() => loadConfig({ ...base, KUBE_NAMESPACE: "Edge_1" })).toThrow("KUBE_NAMESPACE: expected a namespace name");
    expect(loadConfig({ ...base, KUBECONFIG: import.meta.path }).kubeconfig).toBe(import.meta.path);
    expect(() => loadConfig({ ...base, KUBECONFIG: "/nonexistent/kubeconfig" })).toThrow(
      "KUBECONFIG: file not found: /nonexistent/kubeconfig",
    );
    expect(() => loadConfig({ ...base, KUBECONFIG: "/a:/b" })).toThrow("KUBECONFIG: expected one file, not a list");
    // A shell's KUBECONFIG does not matter to the other drivers.
    expect(loadConfig({ OPENAI_API_KEY: "k", KUBECONFIG: "/nonexistent/kubeconfig" }).kubeconfig).toBeUndefined();
  });

  test("the public view never shows secrets", () => {
    const view = JSON.stringify(publicConfig(loadConfig({ OPENAI_API_KEY: "sk-secret-123", ADMIN_TOKEN: "tok-456" })));
    expect(view).not.toContain("sk-secret-123");
    expect(view).not.toContain("tok-456");
    expect(view).toContain('"openaiApiKey":"set"');
  });

  // --- several engine hosts ---
  test("ENGINE_HOSTS is parsed into named hosts, and a bad entry is a ConfigError naming the variable and the value", () => {
    expect(loadConfig({ OPENAI_API_KEY: "k" }).engineHosts).toBeUndefined();
    const hosts = loadConfig({ OPENAI_API_KEY: "k", ENGINE_HOSTS: "h1@unix:///run/h1.sock=2,unix:///run/h2.sock" }).engineHosts;
    expect(hosts?.map((h) => [h.name, h.limit])).toEqual([
      ["h1", 2],
      ["h2", undefined],
    ]);
    expect(() => loadConfig({ OPENAI_API_KEY: "k", ENGINE_HOSTS: "h1@/run/h1.sock" })).toThrow(
      /^ENGINE_HOSTS: expected \[name@\]unix:\/\/\/path, tcp:\/\/host:port or ssh:\/\/user@host\[:port\], each optionally =N \(got 'h1@\/run\/h1.sock'\)$/,
    );
    expect(() => loadConfig({ OPENAI_API_KEY: "k", ENGINE_HOSTS: "tcp://10.0.0.2:2376" })).toThrow(ConfigError);
    expect(() => loadConfig({ OPENAI_API_KEY: "k", ENGINE_HOSTS: "unix:///run/h1.sock", CONTAINER_DRIVER: "process" })).toThrow(
      "ENGINE_HOSTS: places containers on engine hosts, so it needs CONTAINER_DRIVER auto, podman or docker (got process)",
    );
  });
});
