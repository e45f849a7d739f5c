/** What the live `/v1/listen` route uses of the Deepgram compatibility layer, in one import. */
export { handshakeHeaders, openingMetadataFields } from "./handshake.ts";
export { modelTableOf } from "./models.ts";
export { type DeepgramOptions, deepgramUpstreamParams, parseDeepgramQuery } from "./params.ts";
export { refusalResponse } from "./refusal.ts";
