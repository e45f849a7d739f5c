import { describe, expect, test } from "bun:test";
import { findEngine } from "./engine.ts";
import { ensureImage, parseLdd } from "./image-build.ts";
import { DEFAULT_TRANSCRIBER_IMAGE, transcriberImage } from "./image.ts";

describe("image", () => {
  test("TRANSCRIBER_IMAGE overrides the local default tag", () => {
    expect(transcriberImage({})).toBe(DEFAULT_TRANSCRIBER_IMAGE);
    expect(transcriberImage({ TRANSCRIBER_IMAGE: "registry.example/te:1.2" })).toBe("registry.example/te:1.2");
  });

  test("parseLdd keeps every absolute library path and skips the vDSO", () => {
    const output = [
      "\tlinux-vdso.so.1 (0x00007ffd)",
      "\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f72)",
      "\t/lib64/ld-linux-x86-64.so.2 (0x00007f72)",
      "\tlibm.so.6 => /lib/x86_64-linux-gnu/libm.so.6 (0x00007f72)",
    ].join("\n");
    expect(parseLdd(output)).toEqual(["/lib/x86_64-linux-gnu/libc.so.6", "/lib64/ld-linux-x86-64.so.2", "/lib/x86_64-linux-gnu/libm.so.6"]);
  });

  test("ensureImage does not rebuild an image newer than its sources", async () => {
    if (!(await findEngine())) return console.log("skip: no container engine answers here");
    await ensureImage({ log: () => undefined });
    const again = await ensureImage({ log: () => undefined });
    expect(again.built).toBe(false);
  }, 120_000);
});
