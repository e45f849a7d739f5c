/**
 * What the CLI prints. Final transcripts go to stdout, one per line, so they pipe cleanly. On a terminal the
 * current interim transcript and a progress bar share one live line that is overwritten in place; everything
 * about the session (Metadata, summary, errors) goes to stderr.
 */

interface Stream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

const CLEAR_LINE = "\r\x1b[2K";

export class Screen {
  private interimText = "";
  private progressText = "";
  private liveShown = false;
  private lastDrawMs = 0;

  constructor(
    private readonly out: Stream = process.stdout,
    private readonly err: Stream = process.stderr,
  ) {}

  /** Where the live line goes: stderr when it is a terminal, else stdout when that is, else nowhere. */
  private get live(): Stream | undefined {
    return this.err.isTTY ? this.err : this.out.isTTY ? this.out : undefined;
  }

  interim(text: string): void {
    this.interimText = text;
    this.draw(true);
  }

  final(text: string): void {
    this.interimText = "";
    this.clearLive();
    if (text) this.out.write(`${text}\n`);
    this.draw(true);
  }

  /** A line about the session, on stderr. */
  info(line: string): void {
    this.clearLive();
    this.err.write(`${line}\n`);
    this.draw(true);
  }

  progress(sentMs: number, totalMs: number | undefined): void {
    const sent = `${(sentMs / 1000).toFixed(1)} s`;
    if (totalMs && totalMs > 0) {
      const width = 24;
      const done = Math.min(width, Math.round((sentMs / totalMs) * width));
      this.progressText = `[${"#".repeat(done)}${"-".repeat(width - done)}] ${sent} / ${(totalMs / 1000).toFixed(1)} s`;
    } else {
      this.progressText = `[streaming] ${sent}`;
    }
    this.draw(false);
  }

  /** Removes the live line before the process prints its last words. */
  end(): void {
    this.clearLive();
  }

  private clearLive(): void {
    if (this.liveShown) this.live?.write(CLEAR_LINE);
    this.liveShown = false;
  }

  private draw(force: boolean): void {
    const live = this.live;
    if (!live) return;
    // At most ten redraws a second for progress alone; transcripts redraw at once.
    const now = performance.now();
    if (!force && now - this.lastDrawMs < 100) return;
    this.lastDrawMs = now;
    // The interim belongs on the live line only when stdout is the same terminal.
    const interim = this.out.isTTY && this.interimText ? `  ${this.interimText}` : "";
    const line = `${this.progressText}${interim}`;
    const width = (live.columns ?? 80) - 1;
    live.write(`${CLEAR_LINE}${line.length > width ? `…${line.slice(line.length - width + 1)}` : line}`);
    this.liveShown = true;
  }
}
