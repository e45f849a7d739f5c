/** The watch wire format: one JSON object per line, `{"type": ..., "object": ...}`, as a stream of events. */
import type { V1Pod, V1Status } from "@kubernetes/client-node";

/** One watch event. BOOKMARK carries only metadata.resourceVersion; ERROR carries a Status. */
export interface WatchEvent {
  type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";
  object: V1Pod | V1Status;
}

/** Splits a response body into events; a line cut by the end of the stream is dropped (the watch resumes). */
export async function* watchLines(response: Response, signal: AbortSignal): AsyncGenerator<WatchEvent> {
  if (!response.body) return;
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffered = "";
  const cancel = () => void reader.cancel().catch(() => undefined);
  signal.addEventListener("abort", cancel, { once: true });
  try {
    while (!signal.aborted) {
      const { value, done } = await reader.read();
      if (done) return;
      buffered += decoder.decode(value, { stream: true });
      let newline = buffered.indexOf("\n");
      while (newline >= 0) {
        const line = buffered.slice(0, newline).trim();
        buffered = buffered.slice(newline + 1);
        if (line !== "") yield JSON.parse(line) as WatchEvent;
        newline = buffered.indexOf("\n");
      }
    }
  } finally {
    signal.removeEventListener("abort", cancel);
    cancel();
  }
}
