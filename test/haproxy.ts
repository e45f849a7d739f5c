/**
 * HAProxy in front of a cluster of gateways, as an operator's plain load balancer: Debian's haproxy (installed
 * by bench/haproxy.ts's `ensureHaproxy` when missing), `balance roundrobin` so consecutive connects of one client
 * reach different gateways, `timeout tunnel` for the WebSockets, a health check on /readyz, and a connect to a
 * dead gateway redispatched to another. It runs as our subprocess on a free 127.0.0.1 port and is stopped by pid.
 */
import { ensureHaproxy, runHaproxy } from "../bench/haproxy.ts";

/** One gateway behind the proxy; `name` is its server name in the configuration (the GATEWAY_ID reads best). */
export interface GatewayBackend {
  name: string;
  port: number;
}

export interface FrontProxyOptions {
  /** Milliseconds between /readyz checks; two failures take a server out, one success puts it back. */
  checkIntervalMs?: number;
}

/** The configuration: round robin over the gateways, WebSocket-friendly timeouts, /readyz checks, redispatch. */
export function roundRobinConfig(port: number, backends: readonly GatewayBackend[], options: FrontProxyOptions = {}): string {
  const interMs = options.checkIntervalMs ?? 500;
  return [
    "global",
    "  maxconn 4000",
    "defaults",
    "  mode http",
    "  timeout connect 2s",
    "  timeout client 60s",
    "  timeout server 60s",
    // An upgraded WebSocket is a tunnel: quiet spells of a live session must not cut it.
    "  timeout tunnel 1h",
    // A gateway killed between two checks refuses the connect: try another instead of failing the client.
    "  retries 2",
    "  option redispatch 1",
    "frontend gateways_in",
    `  bind 127.0.0.1:${port}`,
    "  default_backend gateways",
    "backend gateways",
    "  balance roundrobin",
    "  option httpchk GET /readyz",
    "  http-check expect status 200",
    `  default-server inter ${interMs}ms fall 2 rise 1`,
    ...backends.map((b) => `  server ${b.name} 127.0.0.1:${b.port} check`),
    "",
  ].join("\n");
}

/** A running HAProxy subprocess. */
export interface FrontProxy {
  readonly port: number;
  readonly pid: number;
  /** `http://127.0.0.1:PORT` */
  readonly httpUrl: string;
  /** `ws://127.0.0.1:PORT/v1/listen` */
  readonly listenUrl: string;
  /** SIGTERMs exactly this haproxy (SIGKILL after 2 s) and removes its configuration. Idempotent. */
  stop(): Promise<void>;
}

/** Starts haproxy over `backends`; resolves once a /healthz through it reaches a gateway. */
export async function startFrontProxy(backends: readonly GatewayBackend[], options: FrontProxyOptions = {}): Promise<FrontProxy> {
  const binary = await ensureHaproxy((line) => console.log(`[haproxy] ${line}`));
  const proxy = await runHaproxy(
    binary,
    (port) => roundRobinConfig(port, backends, options),
    "/healthz",
    (status) => status === 200,
  );
  const address = `127.0.0.1:${proxy.port}`;
  return { ...proxy, httpUrl: `http://${address}`, listenUrl: `ws://${address}/v1/listen` };
}
