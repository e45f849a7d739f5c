import { expect, test } from "bun:test";
import { Writable } from "node:stream";
import { createLogger, prettyDestination } from "./log.ts";

test("production lines are JSON with the message as msg; dev lines are readable with the same message", () => {
  const json: string[] = [];
  createLogger("info", { write: (line: string) => void json.push(line) }).info({ instance: "pool-0" }, "Transcriber container started");
  expect(JSON.parse(json[0]!)).toMatchObject({
    level: 30,
    service: "transcribe-edge",
    instance: "pool-0",
    msg: "Transcriber container started",
  });

  let text = "";
  const sink = new Writable({ write: (chunk, _encoding, done) => ((text += chunk.toString()), done()) });
  const dev = createLogger("info", prettyDestination({ colorize: false, destination: sink }));
  dev.info({ sessionId: "m1", instance: "pool-1" }, "Using dispatcher for sessionId: m1, container: pool-1");
  dev.warn({ authorization: "Bearer s3cret" }, "guarded");
  expect(text).toMatch(
    /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: Using dispatcher for sessionId: m1, container: pool-1 \{"sessionId":"m1","instance":"pool-1"\}\n/,
  );
  expect(text).toContain('WARN: guarded {"authorization":"[redacted]"}');
  expect(text).not.toContain("s3cret");
});
