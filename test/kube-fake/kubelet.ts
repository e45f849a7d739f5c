/**
 * The fake's one "node": what a scheduler and kubelet would do to a created pod, done on this machine. Each
 * pod's transcriber runs as a local process (runtime/process-driver.ts) on 127.0.0.1 with a port of its own,
 * so the pod reports podIP 127.0.0.1 and that port as its container port (on a real cluster every pod has its
 * own IP and the port stays 8080). Status moves Pending -> scheduled -> Running -> Ready as the API reference
 * describes; failures (kubelet eviction, node lost, a killed container) are injected by the tests.
 */
import type { V1Pod, V1PodCondition } from "@kubernetes/client-node";
import type { RunningContainer } from "../../runtime/driver.ts";
import { ProcessDriver } from "../../runtime/process-driver.ts";
import type { PodStore } from "./store.ts";

export const FAKE_NODE = "kube-fake-node-1";

interface Running {
  container?: RunningContainer;
  /** Set once the fake (not the process) decided how the pod ends, so its exit is not read as a crash. */
  ending: boolean;
}

const now = () => new Date();

function setCondition(pod: V1Pod, type: string, status: "True" | "False" | "Unknown", reason?: string, message?: string): void {
  const conditions: V1PodCondition[] = (pod.status!.conditions ??= []);
  const next: V1PodCondition = { type, status, lastTransitionTime: now() };
  if (reason) next.reason = reason;
  if (message) next.message = message;
  const at = conditions.findIndex((condition) => condition.type === type);
  if (at >= 0) conditions[at] = next;
  else conditions.push(next);
}

export class FakeKubelet {
  private readonly processes = new ProcessDriver({ stdio: "ignore", startupTimeoutMs: 20_000, stopTimeoutMs: 3_000 });
  private readonly running = new Map<string, Running>();

  /** Secrets by name (this namespace-free fake has one set): what secretKeyRef env entries resolve to. */
  readonly secrets = new Map<string, Record<string, string>>();

  constructor(
    private readonly store: PodStore,
    /** Pause before the pod is scheduled, as a scheduler's latency. */
    private readonly scheduleDelayMs = 20,
  ) {}

  private key(pod: V1Pod): string {
    return `${pod.metadata!.namespace}/${pod.metadata!.name}`;
  }

  /** Writes `change` to the pod if it is still the same incarnation (uid) and not gone. */
  private update(pod: V1Pod, change: (current: V1Pod) => void): V1Pod | undefined {
    const current = this.store.get(pod.metadata!.namespace!, pod.metadata!.name!);
    if (!current || current.metadata!.uid !== pod.metadata!.uid) return undefined;
    change(current);
    return this.store.write("MODIFIED", current);
  }

  /** A created pod: schedule it, start its transcriber, report Running, then Ready once /health answers. */
  async admit(pod: V1Pod): Promise<void> {
    const state: Running = { ending: false };
    this.running.set(this.key(pod), state);
    await Bun.sleep(this.scheduleDelayMs);
    const scheduled = this.update(pod, (current) => {
      current.spec!.nodeName = FAKE_NODE;
      setCondition(current, "PodScheduled", "True");
    });
    if (!scheduled || state.ending) return;
    const container = scheduled.spec!.containers[0]!;
    const env: Record<string, string> = {};
    for (const variable of container.env ?? []) {
      const ref = variable.valueFrom?.secretKeyRef;
      if (!ref) {
        env[variable.name] = variable.value ?? "";
        continue;
      }
      const value = this.secrets.get(ref.name ?? "")?.[ref.key];
      if (value !== undefined) env[variable.name] = value;
      else if (!ref.optional) {
        // As the kubelet: the container cannot be created, the pod stays Pending with the reason.
        this.update(pod, (current) => {
          current.status!.containerStatuses = [
            {
              name: container.name,
              image: container.image!,
              imageID: "",
              ready: false,
              restartCount: 0,
              state: { waiting: { reason: "CreateContainerConfigError", message: `secret "${ref.name}" not found` } },
            },
          ];
        });
        return;
      }
    }
    let started: RunningContainer;
    try {
      started = await this.processes.start({ instanceId: pod.metadata!.name!, env });
    } catch (error) {
      this.update(pod, (current) => {
        current.status!.phase = "Failed";
        current.status!.message = `transcriber did not start: ${(error as Error).message}`;
      });
      return;
    }
    state.container = started;
    void started.exited.then((info) => {
      if (state.ending) return;
      this.terminate(pod, info.exitCode ?? 137, info.reason);
    });
    if (state.ending) return void this.processes.stop(started);
    this.update(pod, (current) => {
      // All pods of the fake share 127.0.0.1, so each is told its own port (see the file comment).
      for (const port of current.spec!.containers[0]!.ports ?? []) port.containerPort = started.port;
      current.status!.phase = "Running";
      current.status!.podIP = "127.0.0.1";
      current.status!.podIPs = [{ ip: "127.0.0.1" }];
      current.status!.hostIP = "127.0.0.1";
      current.status!.startTime = now();
      setCondition(current, "Initialized", "True");
      current.status!.containerStatuses = [
        {
          name: container.name,
          image: container.image!,
          imageID: "",
          ready: false,
          restartCount: 0,
          started: true,
          state: { running: { startedAt: now() } },
        },
      ];
      setCondition(current, "ContainersReady", "False", "ContainersNotReady", `containers with unready status: [${container.name}]`);
      setCondition(current, "Ready", "False", "ContainersNotReady", `containers with unready status: [${container.name}]`);
    });
    // ProcessDriver.start resolved after GET /health answered 200: what the readiness probe checks.
    this.update(pod, (current) => {
      current.status!.containerStatuses![0]!.ready = true;
      setCondition(current, "ContainersReady", "True");
      setCondition(current, "Ready", "True");
    });
  }

  /** The container ended: restartPolicy Never, so the pod is over (Failed, or Succeeded on exit 0). */
  private terminate(pod: V1Pod, exitCode: number, reason: string): void {
    this.update(pod, (current) => {
      current.status!.phase = exitCode === 0 ? "Succeeded" : "Failed";
      const status = current.status!.containerStatuses?.[0];
      if (status) {
        status.ready = false;
        status.state = { terminated: { exitCode, reason: exitCode === 0 ? "Completed" : "Error", message: reason, finishedAt: now() } };
      }
      setCondition(current, "ContainersReady", "False", "PodFailed");
      setCondition(current, "Ready", "False", "PodFailed");
    });
  }

  /** Stops the pod's transcriber (SIGTERM, then SIGKILL after the process driver's timeout); resolves when it exited. */
  async shutDown(pod: V1Pod): Promise<void> {
    const state = this.running.get(this.key(pod));
    this.running.delete(this.key(pod));
    if (!state) return;
    state.ending = true;
    if (state.container) await this.processes.stop(state.container);
  }

  /** Kills the container from outside (an OOM kill, a crash): the pod goes Failed with exit code 137. */
  kill(pod: V1Pod): void {
    const container = this.running.get(this.key(pod))?.container;
    if (container) process.kill(Number(container.id.slice("pid:".length)), "SIGKILL");
  }

  /** The kubelet evicts the pod under node pressure: phase Failed, reason Evicted, container killed. */
  async evict(pod: V1Pod): Promise<void> {
    await this.shutDown(pod);
    this.update(pod, (current) => {
      current.status!.phase = "Failed";
      current.status!.reason = "Evicted";
      current.status!.message = "The node was low on resource: memory. Threshold quantity: 100Mi, available: 42Mi.";
      setCondition(current, "DisruptionTarget", "True", "TerminationByKubelet", "The node was low on resource: memory.");
      setCondition(current, "Ready", "False", "PodFailed");
    });
  }

  /**
   * The node stops answering the control plane: the node controller marks the pod not Ready, while its
   * transcriber may well run on behind the partition (here it does, until the pod is deleted).
   */
  loseNode(pod: V1Pod): void {
    this.update(pod, (current) => {
      setCondition(
        current,
        "Ready",
        "False",
        "NodeLost",
        `Node ${FAKE_NODE} which was running pod ${current.metadata!.name} is unresponsive`,
      );
    });
  }

  async close(): Promise<void> {
    for (const state of this.running.values()) state.ending = true;
    this.running.clear();
    await this.processes.close();
  }
}
