/**
 * The Redis store's two connections: one for commands (scripts loaded on it) and one subscribed to the
 * cluster's notice channel. Commands fail at once while the connection is down (no offline queue: a queued
 * write would land after the resync that already wrote its effect) and are bounded by `timeoutMs`. Bun's
 * RedisClient reconnects by itself but does not subscribe again, so every open() makes a fresh subscriber.
 */
import { RedisClient } from "bun";
import { loadScripts, type RedisScripts } from "./script-runner.ts";

export class RedisLink {
  private client: RedisClient | undefined;
  private subscriber: RedisClient | undefined;
  private loaded: RedisScripts | undefined;

  /** `onReconnect` runs whenever the command connection is (re)established, so the store resyncs. */
  constructor(
    private readonly url: string,
    private readonly timeoutMs: number,
    private readonly onReconnect: () => void,
  ) {}

  get connected(): boolean {
    return this.client?.connected ?? false;
  }

  /** The scripts on the command connection; throws when open() has not succeeded. */
  get scripts(): RedisScripts {
    if (!this.loaded) throw new Error("not connected");
    return this.loaded;
  }

  /** Connects (when needed), loads the scripts and subscribes a fresh subscriber to `channel`. */
  async open(channel: string, onMessage: (message: string) => void): Promise<void> {
    if (!this.client) {
      this.client = new RedisClient(this.url, { enableOfflineQueue: false, connectionTimeout: this.timeoutMs, autoReconnect: true });
      this.client.onconnect = () => this.onReconnect();
    }
    if (!this.client.connected) await this.call(this.client.connect());
    this.loaded = await this.call(loadScripts(this.client));
    this.subscriber?.close();
    this.subscriber = new RedisClient(this.url, { connectionTimeout: this.timeoutMs });
    await this.call(this.subscriber.subscribe(channel, onMessage));
  }

  /** A raw command on the command connection. */
  send(command: string, args: string[]): Promise<any> {
    if (!this.client) return Promise.reject(new Error("not connected"));
    return this.call(this.client.send(command, args));
  }

  /** `promise`, or a rejection after timeoutMs: a slower answer counts as Redis being away. */
  call<T>(promise: Promise<T>): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${this.timeoutMs} ms`)), this.timeoutMs);
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  }

  close(): void {
    this.subscriber?.close();
    this.client?.close();
    this.subscriber = undefined;
    this.client = undefined;
    this.loaded = undefined;
  }
}
