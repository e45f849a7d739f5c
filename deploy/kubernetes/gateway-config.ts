/**
 * The gateway Deployment's environment loaded through the gateway's own configuration parser, as a pod of it
 * would load it: values taken as they are, downward-API fields and Secret keys given stand-in values (the
 * OpenAI key as a visible placeholder). A manifest the gateway would refuse fails here, not in a cluster.
 */
import { type GatewayConfig, loadConfig } from "../../app/config.ts";
import { gatewayEnv, NAMESPACE } from "./manifests.ts";

/** What a Secret holds in the rendering: a placeholder, never a real key. */
export const SECRET_PLACEHOLDER = "from-secret-transcribe-edge";

const FIELDS: Record<string, string> = { "metadata.name": "transcribe-edge-gateway-0", "metadata.namespace": NAMESPACE };

export function gatewayEnvFromManifest(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const variable of gatewayEnv) {
    if (variable.value !== undefined) env[variable.name] = variable.value;
    const field = variable.valueFrom?.fieldRef?.fieldPath;
    if (field) env[variable.name] = FIELDS[field] ?? field;
    const secret = variable.valueFrom?.secretKeyRef;
    if (secret && !secret.optional) env[variable.name] = SECRET_PLACEHOLDER;
  }
  return env;
}

export function gatewayConfigFromManifest(): GatewayConfig {
  return loadConfig(gatewayEnvFromManifest());
}
