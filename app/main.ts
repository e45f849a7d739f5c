/**
 * Production entry (`npm start`, and the gateway image's binary): configuration only from the environment.
 * `main.ts healthcheck` instead asks the running gateway's /healthz and exits 0 or 1 (the image's HealthCmd).
 */
if (process.argv[2] === "healthcheck") {
  const { healthcheck } = await import("./healthcheck.ts");
  process.exit(await healthcheck());
}

const { bootGateway, configOrExit } = await import("./boot.ts");
await bootGateway(configOrExit());

export {}; // a module (top-level await); the imports are dynamic so the health check loads only what it needs
