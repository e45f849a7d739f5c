/**
 * One dockerode client per engine host. testcontainers resolves a single engine per process from the
 * environment; dockerode (the client testcontainers is built on) takes its endpoint per instance, so several
 * hosts are addressed from one process without touching process.env.
 */
import Docker from "dockerode";
import { readFileSync } from "node:fs";
import type { EngineHostSpec } from "./config.ts";

/** A dockerode client for `host`: Unix socket, TCP (TLS client certificates when given) or SSH (through ssh2). */
export function engineClient(host: EngineHostSpec, env: Record<string, string | undefined> = process.env): Docker {
  if (host.kind === "unix") return new Docker({ socketPath: host.socketPath });
  if (host.kind === "tcp") {
    if (!host.tls) return new Docker({ protocol: "http", host: host.host, port: host.port });
    return new Docker({
      protocol: "https",
      host: host.host,
      port: host.port,
      ca: readFileSync(host.tls.caFile),
      cert: readFileSync(host.tls.certFile),
      key: readFileSync(host.tls.keyFile),
    });
  }
  // docker-modem runs `docker system dial-stdio` on the far side over ssh2, authenticated by the SSH agent.
  return new Docker({
    protocol: "ssh",
    host: host.host,
    port: host.port,
    username: host.user,
    sshOptions: { agent: env.SSH_AUTH_SOCK },
  } as Docker.DockerOptions);
}

/** The engine's HTTP status on an answered request (404: no such container), or undefined for a transport error. */
export function statusOf(error: unknown): number | undefined {
  const code = (error as { statusCode?: unknown } | undefined)?.statusCode;
  return typeof code === "number" ? code : undefined;
}
