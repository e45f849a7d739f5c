// `node app/deepgram/sdk-live-node.mjs < plan.json`: runs sdk-live-client.mjs under Node and prints the
// outcome as one JSON line (the Bun test spawns it, so the SDK is exercised on the runtime its users run).
import { runLive } from "./sdk-live-client.mjs";

let input = "";
for await (const chunk of process.stdin) input += chunk;
const outcome = await runLive(JSON.parse(input));
process.stdout.write(`${JSON.stringify(outcome)}\n`);
process.exit(0);
