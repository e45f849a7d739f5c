/**
 * `npm run containers -- list`: every instance of a running gateway, one line each, in the line format of
 * Cloudflare's `wrangler containers list` plus the open connections. GATEWAY_URL (default http://localhost:$PORT) and ADMIN_TOKEN are read from the env.
 */
export {};

const [command = "list"] = process.argv.slice(2);
if (command === "drain" || command === "undrain")
  process.exit(await (await import("./containers/drain.ts")).drainCommand(command, process.argv.slice(3)));
if (command !== "list") {
  console.error(`containers: unknown command '${command}' (expected: list)`);
  process.exit(2);
}
const base = process.env.GATEWAY_URL ?? `http://localhost:${process.env.PORT ?? 8080}`;
const headers: Record<string, string> = process.env.ADMIN_TOKEN ? { authorization: `Bearer ${process.env.ADMIN_TOKEN}` } : {};
let response: Response;
try {
  response = await fetch(`${base}/stats`, { headers });
} catch (error) {
  console.error(`containers: no gateway answered at ${base} (${(error as Error).message}); set GATEWAY_URL`);
  process.exit(1);
}
if (!response.ok) {
  console.error(`containers: ${base}/stats answered HTTP ${response.status}${response.status === 401 ? " (set ADMIN_TOKEN)" : ""}`);
  process.exit(1);
}
const stats = (await response.json()) as {
  mode: string;
  instances: Array<{ id: string; state: string; requests: number; connections: number }>;
};
const number = new Intl.NumberFormat("en-US");
if (stats.instances.length === 0) console.log(`no instances yet (mode ${stats.mode})`);
for (const i of stats.instances) {
  console.log(`ID: ${i.id} | Status: ${i.state} | Requests: ${number.format(i.requests)} | Connections: ${number.format(i.connections)}`);
}
