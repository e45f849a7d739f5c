/**
 * `npm run bench` (about 12-13 minutes plus the capacity ladders) or `npm run bench -- --quick` (about 3.5 minutes, every key filled with
 * fewer samples and shorter runs). `--only=micro,startup,relay,e2e,capacity,capacity_local,local,cluster,hosts` runs (`capacity_speech`, the openai ladder with LibriVox speech encoded as WebRTC does, and `capacity_capped`, `capacity_overload`, `capacity_burst`, the runs past capacity, run only when named)
 * some sections (`--steps=N,M` sets the capacity ladders' session counts); `--skip=warm,idle,capacity,bridge` leaves
 * parts of the relay section out; `--relay-variants=burst,haproxy_1t` adds diagnostic relay targets. Prints each
 * figure as it is
 * measured, then the table; writes bench/results/latest.json.
 */
import { findEngine } from "../runtime/engine.ts";
import { ensureImage } from "../runtime/image-build.ts";
import { Report } from "./report.ts";
import { capacitySection } from "./sections/capacity.ts";
import { burstSection, overloadOnlySection } from "./sections/capacity-overload.ts";
import { clusterSection } from "./sections/cluster.ts";
import { endToEndSection } from "./sections/e2e.ts";
import { localSection } from "./sections/local.ts";
import { hashSection, opusSection, routingSection } from "./sections/micro.ts";
import { relaySection } from "./sections/relay.ts";
import { startupSection } from "./sections/startup.ts";

const quick = process.argv.includes("--quick");
const only = process.argv
  .find((a) => a.startsWith("--only="))
  ?.slice(7)
  .split(",");
const skip = process.argv
  .find((a) => a.startsWith("--skip="))
  ?.slice(7)
  .split(",");
/** `--relay-variants=burst,haproxy_1t`: diagnostic targets added to the relay's rounds (see RelayOptions). */
const relayVariants = process.argv
  .find((a) => a.startsWith("--relay-variants="))
  ?.slice(17)
  .split(",");
/** `--steps=160,220`: the capacity ladder's session counts instead of its default. */
const steps = () =>
  process.argv
    .find((a) => a.startsWith("--steps="))
    ?.slice(8)
    .split(",")
    .map(Number);
/** `--overload-sessions=N`: sessions of the uncapped ramped run (capacity_overload), default 400. */
const overloadSessions = () => Number(process.argv.find((a) => a.startsWith("--overload-sessions="))?.slice(20) ?? 400);
const report = new Report();
const wanted = (section: string) => !only || only.includes(section);

const machine = report.machine();
report.progress(`transcribe-edge bench (${quick ? "quick" : "full"}) ${new Date().toISOString()}`);
report.progress(`machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memory_gib} GiB, ${machine.kernel}`);
const engine = await findEngine(process.env);
if (!engine) throw new Error("no container engine answered: the bench measures real containers (scripts/engine-setup.sh)");
process.env.DOCKER_HOST ??= engine.dockerHost;
const image = await ensureImage({ log: (line) => report.progress(`[image] ${line}`) });
report.version("transcriber_image", image.tag);
report.version("podman", Bun.spawnSync(["podman", "--version"]).stdout.toString().trim());
report.progress(`versions: ${JSON.stringify(report.versions)}`);

const sections: string[] = [];
const run = async (name: string, body: () => Promise<void> | void) => {
  if (!wanted(name)) return;
  sections.push(name);
  report.progress(`== ${name}`);
  await body();
};

await run("micro", async () => {
  routingSection(report, 10_000, quick ? 10_000 : 50_000);
  hashSection(report);
  await opusSection(report, quick);
});
await run("startup", async () => {
  await startupSection(report, "podman", quick ? 3 : 10);
  await startupSection(report, "process", quick ? 3 : 10);
});
await run("relay", () => relaySection(report, { quick, containers: 4, skip, variants: relayVariants }));
await run("e2e", () => endToEndSection(report, { quick, containers: 2 }));
await run("capacity", () => capacitySection(report, { quick, containers: 2, steps: steps() }));
// Only when asked for by name (`--only=capacity_speech`): the openai ladder again with LibriVox speech as a WebRTC
// client encodes it, which costs the transcriber more to decode than the tone.
if (only?.includes("capacity_speech"))
  await run("capacity_speech", () => capacitySection(report, { quick, containers: 2, steps: steps(), audio: "speech" }));
// Only when named (`--only=capacity_capped`): ramped past what CPU-capped transcribers carry, the early refusal's case.
if (only?.includes("capacity_capped"))
  await run("capacity_capped", () => overloadOnlySection(report, "capacity_capped", { containers: 2, cpus: "0.25", sessions: 240 }));
// Only when named (`--only=capacity_overload`, `--overload-sessions=N`, default 400): uncapped containers ramped
// past what the machine's CPU carries, where the machine's own figure (HOST_CPU_MAX) refuses.
if (only?.includes("capacity_overload"))
  await run("capacity_overload", () => overloadOnlySection(report, "capacity_overload", { containers: 2, sessions: overloadSessions() }));
// Only when named (`--only=capacity_burst`, `--burst=RAMPED,AT_ONCE`, default 100,300): a gateway already serving
// gets a burst of sessions at once, with the machine's figure off and at the defaults.
if (only?.includes("capacity_burst")) {
  const [ramped = 100, atOnce = 300] = (process.argv.find((a) => a.startsWith("--burst="))?.slice(8) ?? "100,300").split(",").map(Number);
  await run("capacity_burst", () => burstSection(report, { containers: 2, ramped, atOnce }));
}
await run("capacity_local", () => capacitySection(report, { quick, containers: 2, steps: steps(), backend: "local" }));
await run("local", () => localSection(report, { quick }));
await run("cluster", () => clusterSection(report, { quick }));
await run("hosts", async () => (await import("./sections/hosts.ts")).hostsSection(report, { quick }));

const file = report.write(quick ? "quick" : "full", sections);
console.log(`\n${report.table()}\n\nmachine: ${JSON.stringify(machine)}\nversions: ${JSON.stringify(report.versions)}\nwritten: ${file}`);
process.exit(0);
