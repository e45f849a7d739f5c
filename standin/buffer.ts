/**
 * The input audio buffer of one realtime session: cuts appended PCM into VAD windows, keeps the session's
 * audio clock, and turns turns (server VAD) or explicit commits into items that know how much voiced audio
 * they hold and at what pitch. Pure: no sockets, no timers; the protocol layer turns its events into JSON.
 */
import { estimatePitchHz } from "./pitch.ts";
import { Vad, WINDOW_MS, rmsOf, rmsThresholdOf, type VadOptions } from "./vad.ts";

/** The only input format the stand-in (like the GA API's `audio/pcm`) takes: 16-bit LE mono at 24 kHz. */
export const SAMPLE_RATE_HZ = 24_000;
export const BYTES_PER_MS = (SAMPLE_RATE_HZ * 2) / 1000;
const WINDOW_BYTES = WINDOW_MS * BYTES_PER_MS;
/** Voiced audio kept per item for the pitch estimate; more would only cost memory. */
const MAX_PITCH_SAMPLES = SAMPLE_RATE_HZ;

/** A committed stretch of the buffer, in ms of the session's audio clock. */
export interface CommittedItem {
  itemId: string;
  previousItemId: string | null;
  startMs: number;
  endMs: number;
  /** From the first loud window's start to the last one's end (0 when nothing was loud). */
  voicedMs: number;
  /** Pitch of the loud windows, unrounded; undefined when nothing periodic was loud. */
  pitchHz: number | undefined;
}

export type BufferEvent =
  | { type: "speech_started"; itemId: string; audioStartMs: number }
  | { type: "speech_stopped"; itemId: string; audioEndMs: number }
  | { type: "committed"; item: CommittedItem };

interface Voiced {
  firstLoudMs: number | undefined;
  lastLoudEndMs: number | undefined;
  pitchChunks: Int16Array[];
  pitchSamples: number;
}

const noVoice = (): Voiced => ({ firstLoudMs: undefined, lastLoudEndMs: undefined, pitchChunks: [], pitchSamples: 0 });

export class InputAudioBuffer {
  #carry = new Uint8Array(0);
  /** End of the last whole window analysed: the session's audio clock. */
  #cursorMs = 0;
  #bufferStartMs = 0;
  #voiced = noVoice();
  #vad: Vad | null = null;
  #rmsThreshold = rmsThresholdOf(0.5);
  #speech: { itemId: string; audioStartMs: number } | undefined;
  #lastItemId: string | null = null;

  constructor(
    vad: VadOptions | null,
    private readonly newItemId: () => string,
  ) {
    this.setVad(vad);
  }

  /** Switches server VAD on (with these parameters) or off (null); a turn in progress is forgotten. */
  setVad(vad: VadOptions | null): void {
    this.#vad = vad ? new Vad(vad) : null;
    this.#rmsThreshold = rmsThresholdOf(vad?.threshold ?? 0.5);
    this.#speech = undefined;
  }

  /** Audio appended since the last commit or clear, including a trailing partial window. */
  bufferedMs(): number {
    return this.#cursorMs + this.#carry.length / BYTES_PER_MS - this.#bufferStartMs;
  }

  append(bytes: Uint8Array): BufferEvent[] {
    // One aligned copy per append: it joins the carried partial window and gives every window an Int16Array
    // view of its own buffer (hosts here are little-endian like the wire format). Windows are views, not copies;
    // the few kept for the pitch estimate keep this append's buffer alive until the item closes.
    const data = new Uint8Array(this.#carry.length + bytes.length);
    data.set(this.#carry);
    data.set(bytes, this.#carry.length);
    const samples = new Int16Array(data.buffer, 0, data.length >> 1);
    const windowSamples = WINDOW_BYTES / 2;
    const events: BufferEvent[] = [];
    let offset = 0;
    for (; offset + WINDOW_BYTES <= data.length; offset += WINDOW_BYTES) {
      this.#window(samples.subarray(offset / 2, offset / 2 + windowSamples), events);
    }
    this.#carry = data.slice(offset);
    return events;
  }

  /** Commits everything buffered as one item, even mid-turn (the turn then continues as a new item). */
  commit(): BufferEvent[] {
    const itemId = this.#speech?.itemId ?? this.newItemId();
    if (this.#speech) this.#speech = { itemId: this.newItemId(), audioStartMs: this.#cursorMs };
    return [{ type: "committed", item: this.#close(itemId, this.#bufferStartMs, this.#cursorMs) }];
  }

  /** Drops the buffered audio and any turn in progress, without events. */
  clear(): void {
    this.#bufferStartMs = this.#cursorMs;
    this.#voiced = noVoice();
    this.#speech = undefined;
    this.#vad?.reset();
  }

  #window(samples: Int16Array, events: BufferEvent[]): void {
    const startMs = this.#cursorMs;
    const loud = rmsOf(samples) >= this.#rmsThreshold;
    const change = this.#vad?.push(startMs, WINDOW_MS, loud);
    if (change?.kind === "start") {
      const audioStartMs = Math.max(this.#bufferStartMs, change.onsetMs - this.#vad!.options.prefixPaddingMs);
      this.#speech = { itemId: this.newItemId(), audioStartMs };
      // Loud windows before the onset run (clicks) do not make the turn longer.
      this.#voiced = { ...noVoice(), firstLoudMs: change.onsetMs };
      events.push({ type: "speech_started", itemId: this.#speech.itemId, audioStartMs });
    }
    if (loud && (!this.#vad || this.#vad.speaking)) this.#addVoiced(startMs, samples);
    this.#cursorMs += WINDOW_MS;
    if (change?.kind === "stop" && this.#speech) {
      const { itemId, audioStartMs } = this.#speech;
      this.#speech = undefined;
      const audioEndMs = Math.max(change.offsetMs, this.#bufferStartMs);
      events.push({ type: "speech_stopped", itemId, audioEndMs });
      // A client commit may already have taken all of this turn's speech: nothing is left to transcribe.
      if (this.#voiced.firstLoudMs !== undefined) {
        events.push({ type: "committed", item: this.#close(itemId, audioStartMs, audioEndMs) });
      }
    }
  }

  #addVoiced(startMs: number, samples: Int16Array): void {
    const v = this.#voiced;
    v.firstLoudMs ??= startMs;
    v.lastLoudEndMs = startMs + WINDOW_MS;
    if (v.pitchSamples < MAX_PITCH_SAMPLES) {
      v.pitchChunks.push(samples);
      v.pitchSamples += samples.length;
    }
  }

  /** Turns [startMs, endMs) into an item; the buffer then starts at endMs. */
  #close(itemId: string, startMs: number, endMs: number): CommittedItem {
    const v = this.#voiced;
    const voicedMs = v.firstLoudMs !== undefined && v.lastLoudEndMs !== undefined ? v.lastLoudEndMs - v.firstLoudMs : 0;
    const pitchHz = v.pitchSamples > 0 ? estimatePitchHz(concat(v.pitchChunks, v.pitchSamples), SAMPLE_RATE_HZ) : undefined;
    const item: CommittedItem = { itemId, previousItemId: this.#lastItemId, startMs, endMs, voicedMs, pitchHz };
    this.#lastItemId = itemId;
    this.#bufferStartMs = endMs;
    this.#voiced = noVoice();
    return item;
  }
}

function concat(chunks: Int16Array[], total: number): Int16Array {
  const out = new Int16Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
