/** Deepgram's HTTP routes beside the live `/v1/listen`: the token grant and pre-recorded transcription. */
import { Elysia } from "elysia";
import type { GatewayState } from "../state.ts";
import { grantRoute } from "./grant-route.ts";
import { prerecordedRoute } from "./prerecorded.ts";

/** `POST /v1/auth/grant` and `POST /v1/listen` as one Elysia plugin. */
export function deepgramRoutes(state: GatewayState) {
  return new Elysia({ name: "deepgram" }).use(grantRoute(state)).use(prerecordedRoute(state));
}
