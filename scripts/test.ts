/**
 * `npm test`: the whole suite through `bun test` (which ignores bunfig's timeout, so it is passed here), echoed
 * as it runs, then the plain summary line `N passed, N failed` that CI reads.
 */
export {};

const args = ["test", "--timeout", "120000", ...process.argv.slice(2)];
const child = Bun.spawn([process.execPath, ...args], {
  stdout: "pipe",
  stderr: "pipe",
  env: { ...process.env, TESTCONTAINERS_RYUK_DISABLED: "true" },
});

let transcript = "";
async function pump(stream: ReadableStream<Uint8Array>, sink: NodeJS.WriteStream) {
  const decoder = new TextDecoder();
  const reader = stream.getReader();
  for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
    sink.write(chunk.value);
    transcript += decoder.decode(chunk.value, { stream: true });
  }
}
await Promise.all([pump(child.stdout, process.stdout), pump(child.stderr, process.stderr)]);
const code = await child.exited;

/** The number in bun's last ` N pass` / ` N fail` summary line. */
function count(word: "pass" | "fail"): number {
  const matches = [...transcript.matchAll(new RegExp(`^\\s*(\\d+) ${word}$`, "gm"))];
  return Number(matches.at(-1)?.[1] ?? 0);
}
const passed = count("pass");
let failed = count("fail");
// A crash before the summary (or a non-zero exit with no failure counted) must not read as green.
if (code !== 0 && failed === 0) failed = 1;
console.log(`${passed} passed, ${failed} failed`);
process.exit(code === 0 && failed === 0 ? 0 : 1);
