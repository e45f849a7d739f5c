/**
 * The deployment units: the plain systemd unit passes `systemd-analyze verify` (when systemd is here), and
 * both units carry what deploy/README.md promises (socket access, hardening, health, reload, drain time).
 * Podman here (4.3) has no Quadlet generator, so the .container file is checked against Quadlet's key list;
 * gateway-image.test.ts runs it for real. deploy/cluster/units.test.ts checks the cluster's units the same way.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseUnit, QUADLET_CONTAINER_KEYS, quadletRunArgs, unitValues } from "../test/quadlet.ts";

const ROOT = join(import.meta.dir, "..");
const values = unitValues;

describe("deploy/transcribe-edge.container (Quadlet)", () => {
  const unit = parseUnit(readFileSync(join(ROOT, "deploy/transcribe-edge.container"), "utf8"));

  test("uses only keys Quadlet knows in [Container]", () => {
    const unknown = unit.Container!.map(([k]) => k).filter((k) => !QUADLET_CONTAINER_KEYS.has(k));
    expect(unknown).toEqual([]);
  });

  test("every key has a podman run translation (gateway-image.test.ts runs the unit with it)", () => {
    const args = quadletRunArgs(unit);
    expect(args.at(-1)).toBe("localhost/transcribe-edge-gateway:latest");
    expect(args).toContain("--read-only");
    expect(() => quadletRunArgs(parseUnit("[Container]\nImage=x\nNoSuchKey=1\n"))).toThrow("NoSuchKey");
  });

  test("mounts the engine socket and points the gateway at it, on the host network", () => {
    expect(values(unit, "Container", "Volume")).toContain("/run/podman/podman.sock:/run/podman/podman.sock");
    expect(values(unit, "Container", "Environment")).toContain("DOCKER_HOST=unix:///run/podman/podman.sock");
    expect(values(unit, "Container", "Environment")).toContain("CONTAINER_DRIVER=podman");
    expect(values(unit, "Container", "Network")).toEqual(["host"]);
    expect(values(unit, "Container", "EnvironmentFile")).toEqual(["/etc/transcribe-edge/gateway.env"]);
  });

  test("is hardened and health-checked (the binary asks /healthz), reloads with SIGHUP and leaves time to drain", () => {
    expect(values(unit, "Container", "ReadOnly")).toEqual(["true"]);
    expect(values(unit, "Container", "NoNewPrivileges")).toEqual(["true"]);
    expect(values(unit, "Container", "DropCapability")).toEqual(["all"]);
    expect(values(unit, "Container", "HealthCmd")).toEqual(['["/usr/local/bin/gateway","healthcheck"]']);
    expect(values(unit, "Service", "ExecReload")[0]).toContain("--signal HUP");
    expect(Number(values(unit, "Service", "TimeoutStopSec")[0])).toBeGreaterThan(10);
    expect(values(unit, "Install", "WantedBy")[0]).toContain("multi-user.target");
  });
});

describe("deploy/transcribe-edge.service (plain systemd)", () => {
  const text = readFileSync(join(ROOT, "deploy/transcribe-edge.service"), "utf8");
  const unit = parseUnit(text);

  test("runs the gateway with Bun from the checkout, reloads with SIGHUP, drains on stop", () => {
    expect(values(unit, "Service", "ExecStart")).toEqual(["/opt/transcribe-edge/node_modules/.bin/bun app/main.ts"]);
    expect(values(unit, "Service", "ExecReload")).toEqual(["/bin/kill -HUP $MAINPID"]);
    expect(values(unit, "Service", "Environment")).toContain("DOCKER_HOST=unix:///run/podman/podman.sock");
    expect(values(unit, "Service", "NoNewPrivileges")).toEqual(["true"]);
    expect(values(unit, "Service", "ProtectSystem")).toEqual(["strict"]);
  });

  const analyze = Bun.which("systemd-analyze");
  test.skipIf(!analyze)("passes systemd-analyze verify (with the checkout at this repository)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "te-units-"));
    try {
      // verify checks that ExecStart exists: point it at this checkout's bun instead of /opt.
      const path = join(dir, "transcribe-edge.service");
      writeFileSync(path, text.replaceAll("/opt/transcribe-edge", ROOT));
      expect(existsSync(join(ROOT, "node_modules/.bin/bun"))).toBe(true);
      const proc = Bun.spawn([analyze!, "verify", path], { stdout: "pipe", stderr: "pipe" });
      const [stderr, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
      // Only lines about this unit count: a container's own systemd may complain about unrelated units.
      const ours = stderr.split("\n").filter((line) => line.includes("transcribe-edge"));
      expect(ours).toEqual([]);
      expect(code).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
