/**
 * The testcontainers pieces the Podman driver builds each transcriber container from: a wait strategy that
 * leaves readiness to the driver's own /health poll, and GenericContainer with what its builder cannot say.
 */
import { GenericContainer, type WaitStrategy } from "testcontainers";
import { CONTAINER_USER, type ContainerLimits, hardenedHostConfig } from "./hardening.ts";

/**
 * testcontainers' wait is replaced by our own poll of /health (runtime/health.ts), which returns at once.
 * Measured here (Podman 4.3, scratch image, server ready 150 ms after exec, 5 runs each): start() to healthy
 * ~310 ms with the poll vs ~1,180 ms with Wait.forHttp, whose retry interval equals its read timeout (1 s), so
 * one refused first attempt costs a whole second. Polling also stops at once when the container dies.
 */
export class NoWait implements WaitStrategy {
  private startupTimeoutMs = 15_000;
  async waitUntilReady(): Promise<void> {}
  withStartupTimeout(startupTimeoutMs: number): this {
    this.startupTimeoutMs = startupTimeoutMs;
    return this;
  }
  isStartupTimeoutSet(): boolean {
    return true;
  }
  getStartupTimeout(): number {
    return this.startupTimeoutMs;
  }
}

/** GenericContainer plus what its builder cannot say: a loopback-only port binding, and the id as soon as created. */
export class TranscriberContainer extends GenericContainer {
  constructor(
    image: string,
    private readonly onCreated: (id: string) => void,
  ) {
    super(image);
  }

  /** Confines the container (runtime/hardening.ts): no capability, no privilege gain, read-only root, caps. */
  withHardening(limits: ContainerLimits): this {
    Object.assign(this.hostConfig, hardenedHostConfig(limits));
    return this.withUser(CONTAINER_USER);
  }

  /** Seconds between SIGTERM and SIGKILL when the engine stops it (the driver passes ENGINE_STOP_TIMEOUT_SECONDS). */
  withStopTimeout(seconds: number): this {
    this.createOpts.StopTimeout = seconds;
    return this;
  }

  /** Publishes `port` on 127.0.0.1 with an engine-chosen host port (withExposedPorts binds 0.0.0.0). */
  withLoopbackPort(port: number): this {
    this.exposedPorts = [...this.exposedPorts, port];
    this.createOpts.ExposedPorts = { ...this.createOpts.ExposedPorts, [`${port}/tcp`]: {} };
    this.hostConfig.PortBindings = { ...this.hostConfig.PortBindings, [`${port}/tcp`]: [{ HostIp: "127.0.0.1", HostPort: "0" }] };
    return this;
  }

  // Known before start(): a stop or failure mid-start can then remove it instead of leaking it.
  protected override async containerCreated(containerId: string): Promise<void> {
    this.onCreated(containerId);
  }
}
