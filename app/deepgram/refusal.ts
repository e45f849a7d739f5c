/**
 * Refusals as Deepgram reports them: the one-line reason in the body (as the gateway always did) and in a
 * `dg-error` header, which Deepgram's clients read when a WebSocket handshake is refused (a browser cannot
 * read the body of a refused upgrade at all).
 */
import { plainText } from "../http.ts";

/** A refusal response with `message` in the body and in `dg-error`; `headers` add to it (Retry-After, ...). */
export function refusalResponse(status: number, message: string, headers: Record<string, string> = {}): Response {
  return plainText(status, message, { "dg-error": headerValue(message), ...headers });
}

/** `text` as a header value: printable ASCII only (anything else is replaced), at most 512 characters. */
export function headerValue(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, "?").slice(0, 512);
}
