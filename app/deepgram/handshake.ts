/**
 * What a Deepgram-compatible upgrade carries besides the socket: the routing facts as response headers, and
 * Deepgram's Metadata fields on the gateway's first message.
 *
 * The gateway's first message is its routing Metadata (container, start, wait_ms). Deepgram sends a Metadata
 * only at the end of a stream, and the Deepgram SDK passes every JSON message to the one `message` handler
 * without dispatching by type, so the first message reaches Deepgram clients as a Metadata. It therefore also
 * carries every field of Deepgram's Metadata with the values true at that moment (`duration: 0`), so code typed
 * against the SDK's `ListenV1Metadata` reads it without surprises; the closing Metadata (from the transcriber)
 * carries the real duration. The same routing facts are in the 101's headers for clients that read them.
 */

/** Headers of the 101: Deepgram's `dg-request-id`, and the routing facts known at the upgrade. */
export function handshakeHeaders(requestId: string, sessionId: string, instanceId: string, routing: string): Record<string, string> {
  return {
    "dg-request-id": requestId,
    "x-transcribe-edge-session-id": sessionId,
    "x-transcribe-edge-container": instanceId,
    "x-transcribe-edge-routing": routing,
  };
}

/** Deepgram's Metadata fields, as of a session that has just started. */
export interface OpeningMetadataFields {
  transaction_key: "deprecated";
  sha256: string;
  created: string;
  duration: number;
  channels: number;
}

/** The fields for a session opened at `createdAtMs` declaring `channels`. */
export function openingMetadataFields(createdAtMs: number, channels: number): OpeningMetadataFields {
  // SHA-256 of no audio yet.
  const sha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
  return { transaction_key: "deprecated", sha256, created: new Date(createdAtMs).toISOString(), duration: 0, channels };
}
