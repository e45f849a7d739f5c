/** A GatewayConfig for routing tests: parsed by the real loader, with a backend that needs no API key. */
import { loadConfig, type GatewayConfig } from "../config.ts";

export function routingConfig(env: Record<string, string> = {}): GatewayConfig {
  return loadConfig({ TRANSCRIBER_BACKEND: "echo", ...env });
}
