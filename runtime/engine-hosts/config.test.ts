import { expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EngineHostsConfigError, parseEngineHosts } from "./config.ts";

function problem(env: Record<string, string>): string {
  try {
    parseEngineHosts(env);
  } catch (error) {
    expect(error).toBeInstanceOf(EngineHostsConfigError);
    return (error as Error).message;
  }
  throw new Error("expected an EngineHostsConfigError");
}

function tlsDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "te-tls-conf-"));
  for (const file of ["ca.pem", "cert.pem", "key.pem"]) writeFileSync(join(dir, file), "-----BEGIN CERTIFICATE-----\n");
  return dir;
}

test("unset is one engine; each form parses with its name, limit and publish address", () => {
  expect(parseEngineHosts({})).toBeUndefined();
  const dir = tlsDir();
  const hosts = parseEngineHosts({
    ENGINE_HOSTS: "a@unix:///run/a.sock=4, tcp://engine-2.example.internal:2376=16,ssh://core@box-3",
    ENGINE_TLS_DIR: dir,
    ENGINE_HOST_ADDRESS_ENGINE_2: "10.0.0.2",
    ENGINE_HOST_ADDRESS_BOX_3: "10.0.0.3",
  })!;
  expect(hosts.map((h) => [h.name, h.kind, h.limit, h.publishAddress, h.local])).toEqual([
    ["a", "unix", 4, "127.0.0.1", true],
    ["engine-2", "tcp", 16, "10.0.0.2", false],
    ["box-3", "ssh", undefined, "10.0.0.3", false],
  ]);
  expect(hosts[1]!.tls?.caFile).toBe(join(dir, "ca.pem"));
  expect(hosts[2]).toMatchObject({ user: "core", host: "box-3", port: 22 });
});

test("derived names are the same whatever the order, and distinct for look-alike endpoints", () => {
  const one = parseEngineHosts({ ENGINE_HOSTS: "unix:///run/x/podman.sock,unix:///run/y/podman.sock" })!.map(
    (h) => [h.endpoint, h.name] as const,
  );
  const two = parseEngineHosts({ ENGINE_HOSTS: "unix:///run/y/podman.sock,unix:///run/x/podman.sock" })!.map(
    (h) => [h.endpoint, h.name] as const,
  );
  expect(new Map(one)).toEqual(new Map(two));
  expect(new Set(one.map(([, name]) => name)).size).toBe(2);
  for (const [, name] of one) expect(name).toMatch(/^podman-[0-9a-f]{4}$/);
  expect(parseEngineHosts({ ENGINE_HOSTS: "unix:///run/podman/podman.sock" })![0]!.name).toBe("podman");
});

test("bad values fail with one line naming the variable and the value", () => {
  expect(problem({ ENGINE_HOSTS: "http://x:1" })).toBe(
    "ENGINE_HOSTS: expected [name@]unix:///path, tcp://host:port or ssh://user@host[:port], each optionally =N (got 'http://x:1')",
  );
  expect(problem({ ENGINE_HOSTS: "unix:///a.sock=0" })).toContain("limit in 'unix:///a.sock=0' must be from 1 to 10000");
  expect(problem({ ENGINE_HOSTS: "Bad_Name@unix:///a.sock" })).toContain("host name 'Bad_Name'");
  expect(problem({ ENGINE_HOSTS: "a@unix:///a.sock,a@unix:///b.sock" })).toBe("ENGINE_HOSTS: host name 'a' is given twice");
  expect(problem({ ENGINE_HOSTS: "tcp://engine-2.example.internal:2376" })).toContain(
    "ENGINE_TLS_DIR: required for tcp://engine-2.example.internal:2376",
  );
  expect(problem({ ENGINE_HOSTS: "unix:///a.sock", ENGINE_TLS_DIR: "/nonexistent-dir" })).toContain(
    "ENGINE_TLS_DIR: /nonexistent-dir/ca.pem not found",
  );
  expect(problem({ ENGINE_HOSTS: "e2@tcp://10.1.1.1:2376", ENGINE_TLS_DIR: tlsDir() })).toBe(
    "ENGINE_HOST_ADDRESS_E2: required for engine host e2 (tcp://10.1.1.1:2376): the address its containers publish on",
  );
  expect(problem({ ENGINE_HOSTS: "a@unix:///a.sock", ENGINE_HOST_ADDRESS_A: "host.lan" })).toBe(
    "ENGINE_HOST_ADDRESS_A: expected an IPv4 address such as 10.0.0.12 (got 'host.lan')",
  );
});

test("plain TCP is accepted only to loopback", () => {
  expect(parseEngineHosts({ ENGINE_HOSTS: "tcp://127.0.0.1:2375" })![0]).toMatchObject({
    kind: "tcp",
    tls: undefined,
    local: true,
    name: "127-0-0-1",
  });
});
