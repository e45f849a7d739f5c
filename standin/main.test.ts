import { afterAll, beforeAll, expect, test } from "bun:test";
import { resolve } from "node:path";

/** The stand-in in its own process, as `bun run dev` and cross-process tests use it. */
const here = import.meta.dir;
let standin: Bun.Subprocess<"ignore", "pipe", "pipe">;
let info: { baseUrl: string; caFile: string; port: number };

beforeAll(async () => {
  standin = Bun.spawn(["bun", resolve(here, "main.ts")], {
    env: { ...process.env, PORT: "0", STANDIN_API_KEY: "dev-key" },
    stdout: "pipe",
    stderr: "pipe",
  });
  const reader = standin.stdout.getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`stand-in exited early: ${await new Response(standin.stderr).text()}`);
    text += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  info = JSON.parse(text.split("\n")[0]!);
});
afterAll(async () => {
  standin.kill("SIGTERM");
  await standin.exited;
});

/** Runs smoke.ts in a fresh process whose only trust settings are `env`'s. */
const runSmoke = (env: Record<string, string>) => {
  const { NODE_EXTRA_CA_CERTS: _, ...inherited } = process.env;
  const run = Bun.spawnSync(["bun", resolve(here, "smoke.ts")], {
    env: { ...inherited, OPENAI_BASE_URL: info.baseUrl, OPENAI_API_KEY: "dev-key", ...env },
    timeout: 20_000,
  });
  return { code: run.exitCode, out: run.stdout.toString(), err: run.stderr.toString() };
};

test("prints its baseUrl and caFile as one JSON line", () => {
  expect(info.baseUrl).toBe(`https://127.0.0.1:${info.port}/v1`);
  expect(info.caFile).toEndWith(".pem");
});

test("a client process that trusts caFile through NODE_EXTRA_CA_CERTS alone gets transcripts", () => {
  const { code, out, err } = runSmoke({ NODE_EXTRA_CA_CERTS: info.caFile });
  expect(err).toBe("");
  expect(code).toBe(0);
  expect(JSON.parse(out).transcripts).toEqual(["1000 ms of speech at 220 hz", "600 ms of speech at 330 hz"]);
});

test("the same client without NODE_EXTRA_CA_CERTS fails on the self-signed certificate", () => {
  const { code, err } = runSmoke({});
  expect(code).toBe(1);
  expect(err).toMatch(/certificate/i);
});

test("GET /v1/standin/sessions reports the other process's sessions", async () => {
  const res = await fetch(`${info.baseUrl}/standin/sessions`, { tls: { ca: await Bun.file(info.caFile).text() } });
  const sessions = (await res.json()) as { authorized: boolean; commits: number; receivedAudioMs: number }[];
  expect(sessions.filter((s) => s.authorized && s.commits === 2)).toHaveLength(1);
  expect(sessions.find((s) => s.commits === 2)!.receivedAudioMs).toBe(3200);
});
