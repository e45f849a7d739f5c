/**
 * `gateway healthcheck` (the image's health command; no shell or curl in a FROM-scratch image): GET /healthz
 * on this host's PORT and exit 0 when it answers 200, 1 otherwise, with one line saying why.
 */
type Env = Record<string, string | undefined>;

/** The URL the check asks: the listening HOST unless it is a wildcard, then loopback. */
export function healthUrl(env: Env = process.env): string {
  const host = !env.HOST || env.HOST === "0.0.0.0" || env.HOST === "::" ? "127.0.0.1" : env.HOST;
  const bracketed = host.includes(":") ? `[${host}]` : host;
  return `http://${bracketed}:${env.PORT || "8080"}/healthz`;
}

/** Resolves the exit code: 0 healthy, 1 not (the reason printed on stderr). */
export async function healthcheck(env: Env = process.env, timeoutMs = 4000): Promise<number> {
  const url = healthUrl(env);
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    if (response.ok) return 0;
    console.error(`healthcheck: ${url} answered ${response.status}`);
  } catch (error) {
    console.error(`healthcheck: ${url}: ${(error as Error).message}`);
  }
  return 1;
}
