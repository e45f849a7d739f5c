/**
 * A real gateway with CONTAINER_DRIVER=kubernetes against the Kubernetes API fake (test/kube-fake/): a session
 * streams end to end through a pod's transcriber (echo backend), evicting that pod closes it with 1012, and so
 * does its node being lost, seen only through the watch (the transcriber itself still runs then).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { type KubeFake, startKubeFake } from "../../test/kube-fake/index.ts";
import { TestClient } from "../../test/client.ts";
import { startTestGateway, type TestGateway } from "../../test/gateway.ts";
import { pollUntil } from "../../test/wait.ts";
import { podName } from "./pod-spec.ts";

let fake: KubeFake;
let gw: TestGateway;

beforeAll(async () => {
  fake = await startKubeFake();
  gw = await startTestGateway({
    CONTAINER_DRIVER: "kubernetes",
    KUBECONFIG: fake.writeKubeconfig("token"),
    KUBE_NAMESPACE: fake.namespace,
    ROUTING_MODE: "shared",
    TRANSCRIBER_BACKEND: "echo",
  });
});

afterAll(async () => {
  await gw?.stop();
  await fake?.close();
});

test("a session streams through a pod, an eviction closes it with 1012, the next session gets a fresh pod", async () => {
  const client = TestClient.connect(`${gw.listenUrl}?sessionId=kube-1`);
  const metadata = await client.next("Metadata", 30_000);
  expect(metadata.container).toBe("shared");
  const name = podName(gw.env.GATEWAY_NAME!, "shared");
  const first = fake.pod(name)!;
  expect(first.status?.phase).toBe("Running");
  const stats = await gw.stats();
  expect(stats.driver).toBe("kubernetes");
  expect(stats.instances.find((i: any) => i.id === "shared").endpoint).toBe(
    `127.0.0.1:${first.spec!.containers[0]!.ports![0]!.containerPort}`,
  );

  for (let seq = 0; seq < 5; seq++) client.send(new Uint8Array([seq, 1, 2, 3]));
  await client.until(() => client.binary.length === 5, 10_000, "5 echoed frames");
  expect(client.binary.map((frame) => frame[0])).toEqual([0, 1, 2, 3, 4]);

  const evictedAt = performance.now();
  await fake.evict(name);
  const closed = await client.closed;
  console.log(`[kube gateway] eviction to close ${closed.code}: ${(performance.now() - evictedAt).toFixed(0)} ms`);
  expect(closed.code).toBe(1012);
  expect(client.ofType("Error").at(-1)?.code).toBe("container_stopped");

  // The failed pod is deleted by the driver (its name is needed again), and the next session starts a new one.
  await pollUntil(() => fake.pod(name)?.metadata?.uid !== first.metadata!.uid, "the evicted pod gone", 10_000);
  const next = TestClient.connect(`${gw.listenUrl}?sessionId=kube-2`);
  await next.next("Metadata", 30_000);
  const second = fake.pod(name)!;
  expect(second.metadata!.uid).not.toBe(first.metadata!.uid);
  next.send(new Uint8Array([9]));
  await next.until(() => next.binary.length === 1, 10_000, "the echo");
  next.send({ type: "CloseStream" });
  expect((await next.closed).code).toBe(1000);
}, 90_000);

test("the pod's node lost while its transcriber still answers: the driver's watch alone ends the session, 1012 naming NodeLost", async () => {
  const client = TestClient.connect(`${gw.listenUrl}?sessionId=kube-3`);
  await client.next("Metadata", 30_000);
  const name = podName(gw.env.GATEWAY_NAME!, "shared");
  client.send(new Uint8Array([1]));
  await client.until(() => client.binary.length === 1, 10_000, "the echo");
  fake.loseNode(name);
  expect((await client.closed).code).toBe(1012);
  const error = client.ofType("Error").at(-1)!;
  expect(error.code).toBe("container_stopped");
  expect(error.message).toContain("NodeLost");
}, 60_000);
