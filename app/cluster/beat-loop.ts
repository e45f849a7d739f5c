/**
 * A periodic task that never overlaps itself: the next run is scheduled only after the last one settled, so a
 * slow Redis call delays the beat instead of piling beats up. The routing store's heartbeat and the instance
 * directory's poll both run on one.
 */
export class BeatLoop {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly periodMs: number,
    private readonly beat: () => Promise<void>,
  ) {}

  /** Runs `beat` every `periodMs` after the previous run settled, until stop(). */
  start(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.beat().finally(() => {
        this.running = undefined;
        this.start();
      });
    }, this.periodMs);
  }

  /** No further run starts; resolves once a run in flight settled. */
  stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    return this.running ?? Promise.resolve();
  }
}
