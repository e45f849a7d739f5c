/** Runs a real gateway in the test process on a free port, with its log lines captured. */
import { containerLimits, kubernetesSettings, loadConfig } from "../app/config.ts";
import { Gateway } from "../app/gateway.ts";
import { createLogger } from "../app/log.ts";
import { createDriver } from "../runtime/detect.ts";
import type { ContainerDriver } from "../runtime/driver.ts";
import { type Standin, startStandin } from "../standin/server.ts";

export interface TestGateway {
  gateway: Gateway;
  /** The environment the gateway's configuration was loaded from: a test reloads `{ ...env, CHANGE: "x" }`. */
  env: Record<string, string>;
  driver: ContainerDriver;
  port: number;
  /** `ws://127.0.0.1:PORT/v1/listen` */
  listenUrl: string;
  /** `http://127.0.0.1:PORT` */
  httpUrl: string;
  /** Every log line so far, parsed. */
  logs: Array<Record<string, any>>;
  /** The local realtime stand-in the transcribers use, when started with `{ standin: true }`. */
  standin?: Standin;
  stats(): Promise<any>;
  stop(): Promise<void>;
}

let counter = 0;

/**
 * Starts a gateway with `env` over the defaults tests want (free port, loopback, a unique gateway name). With
 * `standin: true` it also starts a local realtime stand-in and points the transcribers at it; stop() ends both.
 */
export async function startTestGateway(env: Record<string, string>, options: { standin?: boolean } = {}): Promise<TestGateway> {
  const standin = options.standin ? await startStandin({ port: 0 }) : undefined;
  const standinEnv: Record<string, string> = standin
    ? { OPENAI_API_KEY: "test-key", OPENAI_BASE_URL: standin.baseUrl, OPENAI_CA_FILE: standin.caFile }
    : {};
  const fullEnv: Record<string, string> = {
    // The engine and the image this test run was pointed at (each worktree builds its own tag).
    ...(process.env.DOCKER_HOST ? { DOCKER_HOST: process.env.DOCKER_HOST } : {}),
    ...(process.env.TRANSCRIBER_IMAGE ? { TRANSCRIBER_IMAGE: process.env.TRANSCRIBER_IMAGE } : {}),
    PORT: "0",
    HOST: "127.0.0.1",
    GATEWAY_NAME: `test-${process.pid}-${++counter}`,
    LOG_LEVEL: "info",
    // The suite shares a small machine it often fills for a moment (container starts, load tests): the machine's
    // CPU refusal is off here, and its own tests turn it on.
    HOST_CPU_MAX: "1",
    ...standinEnv,
    ...env,
  };
  const config = loadConfig(fullEnv);
  const logs: Array<Record<string, any>> = [];
  const logger = createLogger(config.logLevel, { write: (line: string) => void logs.push(JSON.parse(line)) });
  const driver = await createDriver(config.containerDriver, {
    gatewayName: config.gatewayName,
    network: config.containerNetwork,
    limits: containerLimits(config),
    socketParentDir: config.transcriberSocketDir,
    image: config.transcriberImage,
    dockerHost: config.dockerHost,
    kubernetes: kubernetesSettings(config),
    engineHosts: config.engineHosts,
    logger,
  });
  const gateway = new Gateway(config, { driver, logger });
  const { port } = await gateway.start();
  const httpUrl = `http://127.0.0.1:${port}`;
  return {
    gateway,
    env: fullEnv,
    driver,
    port,
    listenUrl: `ws://127.0.0.1:${port}/v1/listen`,
    httpUrl,
    logs,
    stats: async () => (await fetch(`${httpUrl}/stats`)).json(),
    standin,
    stop: async () => {
      await gateway.shutdown();
      await standin?.close();
    },
  };
}
