/** The client's API errors as typed KubeApiError with the Status object's reason and message (against the API fake). */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { type KubeFake, startKubeFake } from "../../test/kube-fake/index.ts";
import { DEFAULT_LIMITS } from "../hardening.ts";
import { KubeApiError } from "./errors.ts";
import { instancePod } from "./pod-spec.ts";
import { FAKE_IMAGE, fakeClient } from "./test-harness.ts";

let fake: KubeFake;
beforeAll(async () => {
  fake = await startKubeFake();
});
afterAll(() => fake.close());

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: unknown) => error as KubeApiError,
  );

test("get of a missing pod: 404 NotFound with the API's message", async () => {
  const error = await failure(fakeClient(fake).getPod("te-nowhere"));
  expect(error).toBeInstanceOf(KubeApiError);
  expect([error!.status, error!.reason, error!.apiMessage]).toEqual([404, "NotFound", 'pods "te-nowhere" not found']);
});

test("create twice: 409 AlreadyExists; delete with another uid: 409 Conflict and the pod stays; delete twice: 404", async () => {
  const client = fakeClient(fake);
  const pod = instancePod({
    gatewayName: "errors",
    instanceId: "pool-0",
    image: FAKE_IMAGE,
    env: { TRANSCRIBER_BACKEND: "echo" },
    limits: DEFAULT_LIMITS,
  });
  const created = await client.createPod(pod);
  const again = await failure(client.createPod(pod));
  expect([again!.status, again!.reason, again!.apiMessage]).toEqual([409, "AlreadyExists", 'pods "te-errors-pool-0" already exists']);
  const wrongUid = await failure(client.deletePod("te-errors-pool-0", { uid: "not-this-one" }));
  expect([wrongUid!.status, wrongUid!.reason]).toEqual([409, "Conflict"]);
  expect(wrongUid!.apiMessage).toContain("Precondition failed: UID in precondition: not-this-one");
  expect(fake.pod("te-errors-pool-0")?.metadata?.uid).toBe(created.metadata!.uid);
  await client.deletePod("te-errors-pool-0", { uid: created.metadata!.uid });
  for (let i = 0; i < 200 && fake.pod("te-errors-pool-0"); i++) await Bun.sleep(25);
  expect((await failure(client.deletePod("te-errors-pool-0")))!.status).toBe(404);
});

test("a watch from a compacted version: the stream's ERROR event becomes KubeApiError 410 Expired", async () => {
  const client = fakeClient(fake);
  const { metadata } = await client.listPods({ labelSelector: "io.transcribe-edge.managed=true" });
  fake.compact();
  await client.createPod(
    instancePod({
      gatewayName: "errors",
      instanceId: "pool-9",
      image: FAKE_IMAGE,
      env: { TRANSCRIBER_BACKEND: "echo" },
      limits: DEFAULT_LIMITS,
    }),
  );
  fake.compact();
  const events = client.watchPods({
    labelSelector: "io.transcribe-edge.managed=true",
    resourceVersion: metadata!.resourceVersion!,
    signal: AbortSignal.timeout(5_000),
  });
  const error = await failure(events.next());
  expect([error!.status, error!.reason]).toEqual([410, "Expired"]);
  expect(error!.message).toContain("too old resource version");
});
