/**
 * `npm run cli -- <file.wav|file.opus|-> [--url ws://localhost:8080/v1/listen] [--session-id X]
 * [--speed 1|2|max] [--language en] [--token KEY]`: streams audio to the gateway as 20 ms Opus packets and
 * prints transcripts as they arrive. Exit status: 0 when the session ended with 1000 and no Error, 1 for any
 * failure (bad input, refused connection, Error message, abnormal close), 2 for bad usage.
 */
import { parseArgs, USAGE } from "./cli/args.ts";
import { Screen } from "./cli/screen.ts";
import { runSession } from "./cli/session.ts";
import { type AudioSource, openAudio } from "./cli/source.ts";

let options;
try {
  options = parseArgs(process.argv.slice(2));
} catch (error) {
  const message = (error as Error).message;
  console.error(message === "help" ? USAGE : `cli: ${message}\n${USAGE}`);
  process.exit(message === "help" ? 0 : 2);
}

const inputName = options.input === "-" ? "stdin" : options.input;
let source: AudioSource;
try {
  source = await openAudio(options.input);
} catch (error) {
  console.error(`cli: ${inputName}: ${(error as Error).message}`);
  process.exit(1);
}

const screen = new Screen();
const speed = options.speed === Infinity ? "max speed" : options.speed === 1 ? "real time" : `${options.speed}x`;
screen.info(`streaming ${inputName} (${source.description}) to ${options.url} at ${speed}`);
const startedAt = performance.now();
let result;
try {
  result = await runSession(options, source, screen);
} catch (error) {
  // A file that turns bad partway (truncated, corrupt Ogg page) surfaces here, from the packet stream.
  screen.end();
  console.error(`cli: ${inputName}: ${(error as Error).message}`);
  process.exit(1);
} finally {
  source.close();
}

const elapsedS = ((performance.now() - startedAt) / 1000).toFixed(1);
const summary = `${result.finals} final transcript${result.finals === 1 ? "" : "s"}, ${(result.sentMs / 1000).toFixed(1)} s of audio in ${elapsedS} s`;
if (result.failure) {
  console.error(`cli: failed: ${result.failure} (${summary})`);
  process.exit(1);
}
console.error(`done: ${summary}`);
process.exit(0);
