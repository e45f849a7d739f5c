/** ROUTING_STORE, REDIS_URL and GATEWAY_ID: defaults, and one line naming the variable for each bad value. */
import { expect, test } from "bun:test";
import { ConfigError, loadConfig, publicConfig } from "../config.ts";

const BASE = { OPENAI_API_KEY: "k" };

function problem(env: Record<string, string>): string {
  try {
    loadConfig({ ...BASE, ...env });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error("expected a ConfigError");
}

test("the memory store by default, without REDIS_URL; a generated, valid GATEWAY_ID unique per start", () => {
  const [a, b] = [loadConfig(BASE), loadConfig(BASE)];
  expect([a.routingStore, a.redisUrl]).toEqual(["memory", undefined]);
  expect(a.gatewayId).toMatch(/^gw-[0-9a-f]{8}$/);
  expect(a.gatewayId).not.toBe(b.gatewayId);
});

test("ROUTING_STORE=redis takes REDIS_URL and GATEWAY_ID as given", () => {
  const config = loadConfig({ ...BASE, ROUTING_STORE: "redis", REDIS_URL: "redis://127.0.0.1:6379/0", GATEWAY_ID: "edge-1.a_b" });
  expect([config.routingStore, config.redisUrl, config.gatewayId]).toEqual(["redis", "redis://127.0.0.1:6379/0", "edge-1.a_b"]);
});

test.each([
  [{ ROUTING_STORE: "etcd" }, /^ROUTING_STORE: expected one of memory, redis \(got 'etcd'\)$/],
  [{ ROUTING_STORE: "redis" }, /^REDIS_URL: required with ROUTING_STORE=redis, e\.g\. redis:\/\/127\.0\.0\.1:6379\/0$/],
  [{ ROUTING_STORE: "redis", REDIS_URL: "127.0.0.1:6379" }, /^REDIS_URL: expected redis:\/\/.* \(got '127\.0\.0\.1:6379': not a URL\)$/],
  [{ ROUTING_STORE: "redis", REDIS_URL: "http://127.0.0.1:6379" }, /^REDIS_URL: .*scheme http: is not redis: or rediss:/],
  [{ ROUTING_STORE: "redis", REDIS_URL: "redis://127.0.0.1:6379/zero" }, /^REDIS_URL: .*database 'zero' is not a number/],
  [{ ROUTING_STORE: "redis", REDIS_URL: "not a url" }, /^REDIS_URL: .*not a URL\)$/],
  [{ GATEWAY_ID: "-leading-dash" }, /^GATEWAY_ID: expected 1-64 letters, digits/],
  [{ GATEWAY_ID: "has space" }, /^GATEWAY_ID: expected/],
  [{ GATEWAY_ID: "x".repeat(65) }, /^GATEWAY_ID: expected/],
])("%p is refused with one line naming the variable", (env, message) => {
  const line = problem(env as Record<string, string>);
  expect(line).toMatch(message);
  expect(line).not.toContain("\n");
});

test("a REDIS_URL password is never shown, neither in the error line nor on /stats", () => {
  expect(problem({ ROUTING_STORE: "redis", REDIS_URL: "redis://:s3cret@127.0.0.1:6379/x" })).not.toContain("s3cret");
  expect(problem({ ROUTING_STORE: "redis", REDIS_URL: "redis//u:s3cret@127.0.0.1" })).not.toContain("s3cret");
  const config = loadConfig({ ...BASE, ROUTING_STORE: "redis", REDIS_URL: "redis://user:s3cret@127.0.0.1:6379/0" });
  expect(publicConfig(config).redisUrl).toBe("redis://user:***@127.0.0.1:6379/0");
});
