/** Starting the gateway as a process: config errors as one line, driver choice, signals (SIGHUP reloads). */
import { createDriver } from "../runtime/detect.ts";
import { ConfigError, containerLimits, type GatewayConfig, kubernetesSettings, loadConfig } from "./config.ts";
import { Gateway } from "./gateway.ts";
import { StoreUnavailableError } from "./routing/store.ts";
import { createLogger, type Logger } from "./log.ts";
import { withConfigFile } from "./reload/env-file.ts";

type Env = Record<string, string | undefined>;

/** Parses the environment (with CONFIG_FILE applied over it) or exits 1 with the one-line reason. */
export function configOrExit(env: Env = process.env): GatewayConfig {
  try {
    return loadConfig(withConfigFile(env));
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`configuration error: ${error.message}`);
      process.exit(1);
    }
    throw error;
  }
}

/**
 * Creates the driver and the gateway, starts it, and wires SIGTERM/SIGINT to a draining shutdown and SIGHUP to
 * a reload of `baseEnv` with CONFIG_FILE re-read over it (the process environment itself never changes).
 */
export async function bootGateway(config: GatewayConfig, logger: Logger = createLogger(config.logLevel), baseEnv: Env = process.env) {
  let driver;
  try {
    driver = await createDriver(config.containerDriver, {
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
  } catch (error) {
    console.error(`configuration error: ${(error as Error).message}`);
    process.exit(1);
  }
  const gateway = new Gateway(config, { driver, logger });
  let port: number;
  try {
    ({ port } = await gateway.start());
  } catch (error) {
    // Redis unreachable at start: one line naming REDIS_URL, like a bad value.
    if (!(error instanceof StoreUnavailableError)) throw error;
    console.error(`configuration error: ${error.message}`);
    process.exit(1);
  }
  logger.info(
    { port, mode: config.routingMode, driver: driver.name, gatewayId: config.gatewayId, store: config.routingStore },
    "gateway listening",
  );

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down: draining sessions");
    await gateway.shutdown();
    logger.info("gateway stopped");
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGHUP", () => {
    if (stopping) return;
    logger.info({ signal: "SIGHUP", configFile: baseEnv.CONFIG_FILE ?? null }, "reloading configuration");
    gateway.reload(() => withConfigFile(baseEnv));
  });
  return { gateway, port, driver };
}
