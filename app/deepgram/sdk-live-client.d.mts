/** Types of sdk-live-client.mjs (plain JavaScript so Node runs it as Deepgram's users do). */

/** What one live session does. */
export interface LivePlan {
  httpUrl: string;
  wsUrl: string;
  /** `apiKey` (sent as `Token <key>`) or `accessToken` (sent as `Bearer <token>`). */
  auth: { apiKey: string } | { accessToken: string };
  /** `client.listen.v1.connect` arguments (Deepgram's query parameters). */
  connect: Record<string, string>;
  packetsBase64: string[];
  gapMs: number;
  /** Send Finalize after the audio and wait for its final. */
  finalize: boolean;
}

export interface LiveOutcome {
  /** Every message as the SDK handed it to `on("message")`. */
  messages: unknown[];
  close: { code: number; reason: string };
}

export function runLive(plan: LivePlan): Promise<LiveOutcome>;
