// A Deepgram user's live client, as the official SDK's README writes one, run unchanged against the gateway:
// plain JavaScript so Node runs it as its users do (sdk-live-node.mjs) and Bun imports the same code.
import { DeepgramClient } from "@deepgram/sdk";

/**
 * Opens `client.listen.v1.connect(plan.connect)` with an API key or an access token, streams the Opus packets
 * `plan.gapMs` apart (a KeepAlive halfway), optionally sends Finalize and waits for its final, then CloseStream, and resolves with
 * every message and the close.
 * @param {import("./sdk-live-client.d.mts").LivePlan} plan
 * @returns {Promise<import("./sdk-live-client.d.mts").LiveOutcome>}
 */
export async function runLive(plan) {
  const environment = { base: plan.httpUrl, production: plan.wsUrl, agent: plan.wsUrl, agentRest: plan.httpUrl };
  const client = new DeepgramClient({ ...plan.auth, environment });
  const socket = await client.listen.v1.connect({ ...plan.connect, reconnectAttempts: 0 });
  const messages = [];
  const waiters = new Set();
  const changed = () => waiters.forEach((check) => check());
  const until = (what, predicate, timeoutMs = 15_000) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`timed out waiting for ${what}; got ${JSON.stringify(messages).slice(0, 1500)}`));
      }, timeoutMs);
      const check = () => {
        if (!predicate()) return;
        clearTimeout(timer);
        waiters.delete(check);
        resolve();
      };
      waiters.add(check);
      check();
    });
  let close;
  socket.on("message", (message) => {
    messages.push(message);
    changed();
  });
  socket.on("close", (event) => {
    close ??= { code: event.code, reason: event.reason ?? "" };
    changed();
  });
  socket.connect();
  await socket.waitForOpen();
  for (const [i, packet] of plan.packetsBase64.entries()) {
    // Halfway, a KeepAlive, as clients send during pauses: it must change nothing.
    if (i === Math.floor(plan.packetsBase64.length / 2)) socket.sendKeepAlive({ type: "KeepAlive" });
    socket.sendMedia(Buffer.from(packet, "base64"));
    await new Promise((resolve) => setTimeout(resolve, plan.gapMs));
  }
  if (plan.finalize) {
    socket.sendFinalize({ type: "Finalize" });
    await until("a final from Finalize", () => messages.some((m) => m.type === "Results" && m.from_finalize === true));
  }
  socket.sendCloseStream({ type: "CloseStream" });
  await until("the close", () => close !== undefined);
  return { messages, close };
}
