import { describe, expect, test } from "bun:test";
import { healthcheck, healthUrl } from "./healthcheck.ts";

describe("gateway healthcheck (the image's HealthCmd)", () => {
  test("asks loopback for a wildcard HOST, the HOST itself otherwise, on PORT (default 8080)", () => {
    expect(healthUrl({})).toBe("http://127.0.0.1:8080/healthz");
    expect(healthUrl({ HOST: "0.0.0.0", PORT: "9000" })).toBe("http://127.0.0.1:9000/healthz");
    expect(healthUrl({ HOST: "::", PORT: "9000" })).toBe("http://127.0.0.1:9000/healthz");
    expect(healthUrl({ HOST: "10.1.2.3" })).toBe("http://10.1.2.3:8080/healthz");
    expect(healthUrl({ HOST: "::1", PORT: "81" })).toBe("http://[::1]:81/healthz");
  });

  test("exits 0 on 200, 1 on another status or no answer", async () => {
    let status = 200;
    const server = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch: (req) => new Response("", { status: new URL(req.url).pathname === "/healthz" ? status : 404 }),
    });
    try {
      const env = { HOST: "127.0.0.1", PORT: String(server.port) };
      expect(await healthcheck(env)).toBe(0);
      status = 503;
      expect(await healthcheck(env)).toBe(1);
    } finally {
      server.stop(true);
    }
    expect(await healthcheck({ HOST: "127.0.0.1", PORT: String(server.port) })).toBe(1);
  });
});
