/** The query string of `WS /v1/listen`, validated with Elysia's schema before the upgrade (400 on failure). */
import { TypeCompiler } from "@sinclair/typebox/compiler";
import { t } from "elysia";

/** sessionId grammar (the README's Protocol section): it names sessions, never containers, paths or commands. */
export const SESSION_ID_PATTERN = "^[A-Za-z0-9._:-]{1,128}$";

export const listenQuery = t.Object({
  sessionId: t.Optional(t.String({ pattern: SESSION_ID_PATTERN, error: "sessionId: expected 1-128 characters of A-Z a-z 0-9 . _ : -" })),
  encoding: t.Optional(t.Union([t.Literal("opus"), t.Literal("linear16")], { error: "encoding: expected opus or linear16" })),
  sample_rate: t.Optional(
    t.Numeric({ minimum: 8000, maximum: 48000, multipleOf: 1, error: "sample_rate: expected an integer from 8000 to 48000" }),
  ),
  channels: t.Optional(t.Numeric({ minimum: 1, maximum: 2, multipleOf: 1, error: "channels: expected 1 or 2" })),
  language: t.Optional(
    t.String({ pattern: "^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})?$", error: "language: expected a code such as en or pt-BR" }),
  ),
});

export type ListenQuery = typeof listenQuery.static;

const checker = TypeCompiler.Compile(listenQuery);
const properties = listenQuery.properties as Record<string, { error?: string }>;

/**
 * Validates and converts a listen query (the schema compiled once, as Elysia would). On failure: the failing
 * parameter's one-line message from the schema.
 */
export function parseListenQuery(params: URLSearchParams): { ok: true; query: ListenQuery } | { ok: false; message: string } {
  const raw: Record<string, string> = {};
  for (const [key, value] of params) raw[key] ??= value; // a repeated parameter counts once, as its first value
  if (!checker.Check(raw)) {
    const error = checker.Errors(raw).First();
    const name = error?.path.split("/")[1] ?? "";
    return { ok: false, message: properties[name]?.error ?? `${name || "query"}: ${error?.message ?? "invalid"}` };
  }
  try {
    return { ok: true, query: checker.Decode(raw) };
  } catch (error) {
    // Numeric parameters convert (and check their range) while decoding; the error carries the schema's message.
    const failed = error as { error?: { customError?: string }; schema?: { error?: string }; path?: string };
    const name = failed.path?.split("/")[1] ?? "";
    return {
      ok: false,
      message: failed.error?.customError ?? failed.schema?.error ?? properties[name]?.error ?? "invalid request parameters",
    };
  }
}

/** The transcriber's `/v1/listen` query for one session: only validated parameters are forwarded. */
export function upstreamQuery(query: ListenQuery, sessionId: string): string {
  const params = new URLSearchParams({
    encoding: query.encoding ?? "opus",
    sample_rate: String(query.sample_rate ?? 48000),
    channels: String(query.channels ?? 1),
    session_id: sessionId,
  });
  if (query.language) params.set("language", query.language);
  return params.toString();
}

/**
 * The transcriber's multiplexed link (mux-link.ts): over its Unix socket when it has one (Bun's
 * `ws+unix://path:/route`), else TCP.
 */
export function muxUrl(endpoint: { host: string; port: number; socketPath?: string }): string {
  if (endpoint.socketPath) return `ws+unix://${endpoint.socketPath}:/v1/mux`;
  return `ws://${endpoint.host}:${endpoint.port}/v1/mux`;
}
