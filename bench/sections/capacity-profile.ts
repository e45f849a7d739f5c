/** Reads a `bun --cpu-prof` profile and ranks functions by self time (shares stay meaningful on a loaded machine): for the capacity designs and bench/profile.ts. */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** One function's share of the sampled time, in percent. */
export interface ProfileLine {
  share: number;
  where: string;
}

/** The top `limit` functions by self time in the first `.cpuprofile` under `dir`. */
export function topSelfTime(dir: string, limit = 25): { file: string; sampledMs: number; lines: ProfileLine[] } {
  const name = readdirSync(dir).find((entry) => entry.endsWith(".cpuprofile"));
  if (!name) throw new Error(`no .cpuprofile written in ${dir}`);
  const profile = JSON.parse(readFileSync(join(dir, name), "utf8"));
  const byId = new Map<number, any>(profile.nodes.map((node: any) => [node.id, node]));
  const selfUs = new Map<string, number>();
  const deltas: number[] = profile.timeDeltas;
  let totalUs = 0;
  profile.samples.forEach((id: number, i: number) => {
    const frame = byId.get(id).callFrame;
    const key = `${frame.functionName || "(anonymous)"} ${frame.url.split("/").slice(-2).join("/")}:${frame.lineNumber + 1}`;
    selfUs.set(key, (selfUs.get(key) ?? 0) + deltas[i]!);
    totalUs += deltas[i]!;
  });
  const lines = [...selfUs]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([where, us]) => ({ share: (100 * us) / totalUs, where }));
  return { file: join(dir, name), sampledMs: totalUs / 1000, lines };
}
