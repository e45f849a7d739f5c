/**
 * `pool`: CONTAINER_POOL_SIZE members `pool-0`..`pool-N-1`, chosen by rendezvous (highest random weight)
 * hashing of sessionId.
 *
 * Why rendezvous, measured with `bun app/routing/hash-compare.ts` (10,000 ids on 20 members, Bun 1.4.5):
 *   ids `user-<i>`: rendezvous max/mean 1.092, moved 0.985/21, 110-140 ns/lookup
 *                   jump       max/mean 1.098, moved 1.021/21,  45-55 ns
 *                   maglev     max/mean 1.068, moved 1.142/21,  20 ns (65,537-entry table)
 *   100 sets of random UUIDs (median / p95 max/mean; share of sets above 1.10; mean moved):
 *                   rendezvous 1.080 / 1.118; 20 %; 0.998/21
 *                   jump       1.076 / 1.118; 19 %; 0.998/21
 *                   maglev     1.080 / 1.122; 21 %; 1.058/21
 * Balance is the same for all three: each maps ids independently, so loads are multinomial and no pure hash
 * keeps max/mean under 1.10 on every id set (POOL_BALANCE_FACTOR does). Rendezvous moves the fewest ids and is
 * the only one with a natural fallback order (the next-highest score) when a member has failed or is full;
 * jump can only drop the last member and Maglev must rebuild its table. Its O(N) lookup costs ~0.1 us at 20.
 */
import type { GatewayConfig } from "../config.ts";
import { BaseStrategy } from "./base.ts";
import { hash32, rendezvousOrder, rendezvousTop } from "./hashing.ts";
import { indexOf, poolMemberIds } from "./instance-ids.ts";
import type { RouteDecision, RouteRequest } from "./selector.ts";
import type { RoutingStore } from "./store.ts";
import type { InstanceView } from "./strategy.ts";

export class PoolStrategy extends BaseStrategy {
  readonly mode = "pool" as const;
  private readonly members: string[];
  private readonly seeds: number[];
  private readonly balanceFactor: number | undefined;
  private readonly prewarm: boolean;

  constructor(
    config: Pick<GatewayConfig, "containerPoolSize" | "poolBalanceFactor" | "poolPrewarm">,
    view: InstanceView,
    store: RoutingStore,
    clock: () => number,
  ) {
    super(view, store, clock);
    this.members = poolMemberIds(config.containerPoolSize);
    this.seeds = this.members.map(hash32);
    this.balanceFactor = config.poolBalanceFactor;
    this.prewarm = config.poolPrewarm;
  }

  route({ sessionId }: RouteRequest): RouteDecision {
    if (sessionId === undefined) return { ok: true, instanceId: this.leastLoaded() };
    // A reconnect while the old socket is still open stays put, even if bounded load would now send it elsewhere.
    const holder = this.store.holder(sessionId);
    if (holder !== undefined && this.isMember(holder) && !this.failed(holder)) return { ok: true, instanceId: holder };

    const keyHash = hash32(sessionId);
    const cap = this.capacityCap();
    const top = this.members[rendezvousTop(keyHash, this.seeds)]!;
    if (this.eligible(top, cap)) return { ok: true, instanceId: top };

    const order = rendezvousOrder(keyHash, this.seeds).map((i) => this.members[i]!);
    // Bounded load only holds "while others have room": with every healthy member full, hash order wins.
    const chosen = order.find((id) => this.eligible(id, cap)) ?? order.find((id) => !this.failed(id)) ?? top;
    return { ok: true, instanceId: chosen };
  }

  override prewarmIds(): string[] {
    return this.prewarm ? [...this.members] : [];
  }

  /**
   * Bounded-load consistent hashing (Mirrokni et al.; HAProxy's hash-balance-factor): a member may take one more
   * session while its load is below ceil(factor * (total + 1) / healthy members).
   */
  private capacityCap(): number {
    if (this.balanceFactor === undefined) return Infinity;
    const healthy = this.members.filter((id) => !this.failed(id)).length || this.members.length;
    return Math.ceil((this.balanceFactor * (this.store.totalLoad() + 1)) / healthy);
  }

  private eligible(id: string, cap: number): boolean {
    return !this.failed(id) && (cap === Infinity || this.loadOf(id) < cap);
  }

  private leastLoaded(): string {
    let best: string | undefined;
    let bestLoad = Infinity;
    for (const id of this.members) {
      if (this.failed(id)) continue;
      const load = this.loadOf(id);
      if (load < bestLoad) [best, bestLoad] = [id, load];
    }
    return best ?? this.members[0]!;
  }

  private failed(id: string): boolean {
    return this.view.state(id) === "failed";
  }

  private isMember(id: string): boolean {
    const index = indexOf("pool", id);
    return index >= 0 && index < this.members.length;
  }
}
