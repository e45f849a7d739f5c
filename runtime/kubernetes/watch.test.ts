/** The driver's one watch against the API fake: resumed from its resourceVersion, relisted on 410, kept fresh by bookmarks. */
import { afterEach, expect, test } from "bun:test";
import { type KubeFake, startKubeFake } from "../../test/kube-fake/index.ts";
import { pollUntil } from "../../test/wait.ts";
import { DEFAULT_LIMITS } from "../hardening.ts";
import { clusterSelector, instancePod } from "./pod-spec.ts";
import { FAKE_IMAGE, fakeClient } from "./test-harness.ts";
import { PodWatch } from "./watch.ts";

let fake: KubeFake | undefined;
let watch: PodWatch | undefined;
afterEach(async () => {
  watch?.close();
  await fake?.close();
});

/** A pod object of `cluster` that the fake's kubelet would run; created straight through the API. */
function pod(cluster: string, instanceId: string) {
  return instancePod({ gatewayName: cluster, instanceId, image: FAKE_IMAGE, env: { TRANSCRIBER_BACKEND: "echo" }, limits: DEFAULT_LIMITS });
}

test("a dropped watch resumes from its last resourceVersion: no relist, and what changed meanwhile arrives", async () => {
  fake = await startKubeFake();
  const client = fakeClient(fake);
  watch = new PodWatch(client, clusterSelector("resume"));
  await watch.ensure();
  await client.createPod(pod("resume", "a"));
  await pollUntil(() => watch!.get("te-resume-a"), "the first pod in the cache");
  const changes: string[] = [];
  watch.onChange((change, changed) => changes.push(`${change} ${changed.metadata?.name}`));
  const release = fake.holdWatches();
  fake.dropWatches();
  await client.createPod(pod("resume", "b"));
  release();
  await pollUntil(() => watch!.get("te-resume-b"), "the pod created while the watch was down", 5_000);
  expect(watch.relists).toBe(1);
  expect(watch.watchesOpened).toBeGreaterThanOrEqual(2);
  expect(changes).toContain("ADDED te-resume-b");
  // Only this cluster's pods: another cluster's never reach the cache.
  await client.createPod(pod("other", "a"));
  await Bun.sleep(200);
  expect(
    watch
      .all()
      .map((p) => p.metadata?.name)
      .sort(),
  ).toEqual(["te-resume-a", "te-resume-b"]);
});

test("410 Expired on resume (history compacted): the watch relists, and a pod deleted meanwhile leaves the cache as DELETED", async () => {
  fake = await startKubeFake({ bookmarkIntervalMs: 60_000 });
  const client = fakeClient(fake);
  watch = new PodWatch(client, clusterSelector("gone"));
  await client.createPod(pod("gone", "a"));
  await watch.ensure();
  await pollUntil(
    () => watch!.get("te-gone-a")?.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"),
    "pod a ready",
    10_000,
  );
  const changes: string[] = [];
  watch.onChange((change, changed) => changes.push(`${change} ${changed.metadata?.name}`));
  // While the watch is down: a deleted, b created, and the history that recorded it compacted away.
  const release = fake.holdWatches();
  fake.dropWatches();
  await client.deletePod("te-gone-a", { gracePeriodSeconds: 0 });
  await client.createPod(pod("gone", "b"));
  await pollUntil(() => !fake!.pod("te-gone-a"), "pod a gone from the fake", 10_000);
  fake.compact();
  release();
  await pollUntil(() => watch!.relists === 2, "a relist after 410", 5_000);
  await pollUntil(() => watch!.get("te-gone-b") && !watch!.get("te-gone-a"), "the cache caught up", 5_000);
  expect(changes).toContain("DELETED te-gone-a");
});

test("bookmarks keep an idle watch's version current, so a resume after compaction needs no relist", async () => {
  fake = await startKubeFake({ bookmarkIntervalMs: 50 });
  const client = fakeClient(fake);
  watch = new PodWatch(client, clusterSelector("quiet"));
  await watch.ensure();
  // Another cluster's pods move the server's resourceVersion; this watch sees none of them, only bookmarks.
  await client.createPod(pod("busy", "a"));
  await pollUntil(() => fake!.pod("te-busy-a")?.status?.phase === "Running", "the other cluster's pod running", 10_000);
  await Bun.sleep(200);
  const release = fake.holdWatches();
  fake.dropWatches();
  fake.compact();
  await client.createPod(pod("quiet", "a"));
  release();
  await pollUntil(() => watch!.get("te-quiet-a"), "the pod after the resume", 5_000);
  expect(watch.relists).toBe(1);
});
