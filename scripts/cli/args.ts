/** Command line of `npm run cli`. */

export interface CliOptions {
  input: string;
  url: string;
  sessionId: string;
  /** Playback speed: 1 real time, 2 twice as fast, Infinity as fast as the connection takes it. */
  speed: number;
  language: string;
  /** API key or token for gateways with client authentication (also TRANSCRIBE_TOKEN). */
  token: string | undefined;
}

export const USAGE = `usage: npm run cli -- <file.wav|file.opus|-> [--url ws://localhost:8080/v1/listen] [--session-id ID]
                       [--speed 1|2|max] [--language en] [--token KEY]
Streams a 16-bit PCM WAV (any rate, mono or stereo) or an Ogg Opus file ('-': stdin) to /v1/listen as 20 ms
Opus packets and prints the transcripts as they arrive.`;

/** Parses argv (without `bun script`); throws a one-line message for bad usage. */
export function parseArgs(argv: string[], env: Record<string, string | undefined> = process.env): CliOptions {
  const options: CliOptions = {
    input: "",
    url: env.TRANSCRIBE_URL ?? "ws://localhost:8080/v1/listen",
    sessionId: `cli-${crypto.randomUUID().slice(0, 8)}`,
    speed: 1,
    language: "en",
    token: env.TRANSCRIBE_TOKEN,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] =
      arg.startsWith("--") && arg.includes("=") ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)] : [arg, undefined];
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    if (flag === "--url") options.url = value();
    else if (flag === "--session-id") options.sessionId = value();
    else if (flag === "--language") options.language = value();
    else if (flag === "--token") options.token = value();
    else if (flag === "--speed") {
      const v = value();
      options.speed = v === "max" ? Infinity : Number(v);
      if (!(options.speed > 0)) throw new Error(`--speed: expected a number above 0 or 'max' (got '${v}')`);
    } else if (flag === "-h" || flag === "--help") throw new Error("help");
    else if (flag.startsWith("--")) throw new Error(`unknown option ${flag}`);
    else if (options.input) throw new Error(`one input only (got '${options.input}' and '${arg}')`);
    else options.input = arg;
  }
  if (!options.input) throw new Error("no input: give a WAV or Ogg Opus file, or - for stdin");
  if (!/^wss?:\/\//.test(options.url)) throw new Error(`--url: expected ws:// or wss:// (got '${options.url}')`);
  return options;
}
