/**
 * The cluster's units (deploy/cluster/) checked like the single gateway's in deploy/units.test.ts: only keys
 * Quadlet knows, every host path shipped or created, what each replica is given (and that the gateway accepts
 * it), the HAProxy config (`haproxy -c`, roundrobin over the replicas' ports, /readyz checks, a tunnel timeout),
 * and the Redis unit's arguments run by Debian's redis-server.
 */
import { describe, expect, test } from "bun:test";
import { RedisClient } from "bun";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../app/config.ts";
import { freePort } from "../../runtime/free-port.ts";
import { parseUnit, QUADLET_CONTAINER_KEYS, splitCommandLine, unitValues as values } from "../../test/quadlet.ts";
import { redisServerPath, redisTest } from "../../test/redis.ts";
import { pollUntil } from "../../test/wait.ts";

const ROOT = join(import.meta.dir, "../..");
describe("deploy/cluster/ (Redis, gateway replicas, front proxy)", () => {
  const CLUSTER = join(ROOT, "deploy/cluster");
  const read = (name: string) => parseUnit(readFileSync(join(CLUSTER, name), "utf8"));
  const units = {
    gateway: read("transcribe-edge-gateway@.container"),
    redis: read("transcribe-edge-redis.container"),
    proxy: read("transcribe-edge-proxy.container"),
  };
  const haproxyCfg = readFileSync(join(CLUSTER, "haproxy.cfg"), "utf8");
  /** The file deploy/ ships for a path under /etc/transcribe-edge/ (the README installs them there). */
  const shipped = (etcPath: string) => {
    const name = etcPath.replace(/^\/etc\/transcribe-edge\//, "");
    return [join(CLUSTER, name), join(ROOT, "deploy", name)].find((path) => existsSync(path));
  };

  test("every unit uses only keys Quadlet knows in [Container]", () => {
    for (const unit of Object.values(units)) {
      expect(unit.Container!.map(([k]) => k).filter((k) => !QUADLET_CONTAINER_KEYS.has(k))).toEqual([]);
    }
  });

  test("every host path a unit reads is shipped in deploy/, made by its ExecStartPre, or the engine socket", () => {
    for (const [name, unit] of Object.entries(units)) {
      const made = values(unit, "Service", "ExecStartPre").join(" ");
      const sources = [
        ...values(unit, "Container", "Volume").map((v) => v.split(":")[0]!),
        ...values(unit, "Container", "EnvironmentFile"),
      ];
      for (const source of sources) {
        const ok =
          source === "/run/podman/podman.sock" ||
          source === "/etc/transcribe-edge" ||
          made.includes(source) ||
          shipped(source) !== undefined;
        expect(`${name}: ${source} ${ok ? "found" : "missing"}`).toBe(`${name}: ${source} found`);
      }
    }
  });

  test("each replica: the Redis store, its own id and loopback port, the cluster's shared settings, the engine socket", () => {
    const env = values(units.gateway, "Container", "Environment");
    expect(env).toEqual(expect.arrayContaining(["ROUTING_STORE=redis", "GATEWAY_ID=gw-%i", "PORT=808%i", "HOST=127.0.0.1"]));
    expect(env).toContain("DOCKER_HOST=unix:///run/podman/podman.sock");
    expect(values(units.gateway, "Container", "EnvironmentFile")).toEqual([
      "/etc/transcribe-edge/gateway.env",
      "/etc/transcribe-edge/cluster.env",
    ]);
    expect(values(units.gateway, "Container", "Network")).toEqual(["host"]);
    expect(values(units.gateway, "Container", "ContainerName")).toEqual(["transcribe-edge-gw-%i"]);
    expect(values(units.gateway, "Unit", "After")[0]).toContain("transcribe-edge-redis.service");
  });

  test("the gateway accepts what the units and cluster.env give replicas 1-6 (GATEWAY_ID, PORT, GATEWAY_NAME, REDIS_URL)", () => {
    const shared = Object.fromEntries(
      readFileSync(join(CLUSTER, "cluster.env"), "utf8")
        .split("\n")
        .filter((line) => /^[A-Z_]+=/.test(line))
        .map((line) => line.split("=", 2) as [string, string]),
    );
    expect(Object.keys(shared).sort()).toEqual(["GATEWAY_NAME", "REDIS_URL"]);
    const env = Object.fromEntries(values(units.gateway, "Container", "Environment").map((kv) => kv.split("=", 2) as [string, string]));
    for (let i = 1; i <= 6; i++) {
      const replica = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v.replaceAll("%i", String(i))]));
      const config = loadConfig({ ...shared, ...replica, TRANSCRIBER_BACKEND: "echo" });
      expect([config.gatewayId, config.port, config.routingStore]).toEqual([`gw-${i}`, 8080 + i, "redis"]);
    }
  });

  test("haproxy.cfg: roundrobin over gw-1..gw-6 on the replicas' ports, /readyz checks, a tunnel timeout for WebSockets", () => {
    expect(haproxyCfg).toMatch(/^\s*balance roundrobin$/m);
    expect(haproxyCfg).toMatch(/^\s*option httpchk GET \/readyz$/m);
    expect(haproxyCfg).toMatch(/^\s*http-check expect status 200$/m);
    expect(haproxyCfg).toMatch(/^\s*timeout tunnel \S+$/m);
    // A draining replica finishes its own sessions: the proxy must not cut them when it marks the replica down.
    expect(haproxyCfg.replace(/#.*$/gm, "")).not.toContain("on-marked-down");
    const servers = [...haproxyCfg.matchAll(/^\s*server (\S+) (\S+)/gm)].map((m) => `${m[1]} ${m[2]}`);
    expect(servers).toEqual([1, 2, 3, 4, 5, 6].map((i) => `gw-${i} 127.0.0.1:${8080 + i}`));
    expect(values(units.proxy, "Container", "Volume")).toContain("/etc/transcribe-edge/haproxy.cfg:/etc/haproxy/haproxy.cfg:ro");
  });

  const haproxy = Bun.which("haproxy", { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" });
  test.skipIf(!haproxy)("haproxy -c accepts haproxy.cfg", () => {
    const check = Bun.spawnSync([haproxy!, "-c", "-f", join(CLUSTER, "haproxy.cfg")], { stdout: "pipe", stderr: "pipe" });
    expect(`${check.stdout}${check.stderr}`.trim()).toBe("Configuration file is valid");
    expect(check.exitCode).toBe(0);
  });

  redisTest("redis-server runs with the unit's Exec arguments: no RDB, no AOF, noeviction, loopback only", async () => {
    const argv = splitCommandLine(values(units.redis, "Container", "Exec")[0]!);
    expect(argv[0]).toBe("redis-server");
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), "te-redis-unit-"));
    // The unit's arguments as they are, on a free port and in a scratch directory instead of the container's.
    const args = argv.slice(1).map((arg, i, all) => (all[i - 1] === "--port" ? String(port) : arg));
    const server = Bun.spawn([redisServerPath!, ...args, "--dir", dir], { stdout: "ignore", stderr: "pipe" });
    const client = new RedisClient(`redis://127.0.0.1:${port}/0`);
    try {
      await pollUntil(
        () =>
          client.send("PING", []).then(
            (r) => r === "PONG",
            () => false,
          ),
        "redis-server to answer",
        5000,
      );
      const get = async (name: string) => (await client.send("CONFIG", ["GET", name])) as string[] | Record<string, string>;
      const flat = async (name: string) => Object.values(await get(name)).at(-1);
      expect([await flat("save"), await flat("appendonly"), await flat("maxmemory-policy"), await flat("bind")]).toEqual([
        "",
        "no",
        "noeviction",
        "127.0.0.1",
      ]);
    } finally {
      client.close();
      server.kill();
      await server.exited;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
