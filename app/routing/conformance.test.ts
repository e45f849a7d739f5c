import { routingConfig } from "./test-config.ts";
import { AutoscaleStrategy } from "./autoscale.ts";
import { strategyConformance } from "./conformance.ts";
import { PoolStrategy } from "./pool.ts";
import { SessionStrategy } from "./session.ts";
import { SharedStrategy } from "./shared.ts";

// Limits large enough for the suite's 10,000 live sessions; refusals are tested per mode.
const config = routingConfig({
  CONTAINER_POOL_SIZE: "20",
  POOL_BALANCE_FACTOR: "1.25",
  MAX_INSTANCES: "10000",
  MAX_CONNECTIONS_PER_CONTAINER: "100",
  MIN_CONTAINERS: "2",
  WARM_SPARES: "1",
});

strategyConformance("shared", (view, store, clock) => new SharedStrategy(view, store, clock), { requiresSessionId: false });
strategyConformance("pool", (view, store, clock) => new PoolStrategy(config, view, store, clock), { requiresSessionId: false });
strategyConformance("session", (view, store, clock) => new SessionStrategy({ ...config, maxInstances: 20_000 }, view, store, clock), {
  requiresSessionId: true,
});
strategyConformance("autoscale", (view, store, clock) => new AutoscaleStrategy(config, view, store, clock), {
  requiresSessionId: true,
});
