/**
 * The browser the tests get, installed without Debian's recommends: it launches headless and draws text (a
 * font is there), the two things every browser test relies on before it checks anything of its own.
 */
import { expect } from "bun:test";
import { browserTests, launchChromium } from "./chromium.ts";

const browserTest = await browserTests();

browserTest(
  "chromium launches headless and renders text with an installed font",
  async () => {
    const browser = await launchChromium();
    try {
      const page = await browser.context.newPage();
      await page.setContent('<!doctype html><p id=t style="font:20px sans-serif">transcribe-edge</p>');
      // Ink drawn by the font. Measured with fontconfig pointed at an empty font directory: 0 px wide, 0 px inked
      // (DejaVu here: 158 px wide, 999 px inked).
      const ink = await page.evaluate(() => {
        const canvas = document.createElement("canvas");
        canvas.width = 200;
        canvas.height = 40;
        const ctx = canvas.getContext("2d")!;
        ctx.font = "20px sans-serif";
        ctx.fillText("transcribe-edge", 4, 28);
        const pixels = ctx.getImageData(0, 0, 200, 40).data;
        let inked = 0;
        for (let i = 3; i < pixels.length; i += 4) if (pixels[i]! > 0) inked++;
        return { inked, widthPx: ctx.measureText("transcribe-edge").width };
      });
      expect(ink.widthPx).toBeGreaterThan(60);
      expect(ink.inked).toBeGreaterThan(200);
      expect(await page.textContent("#t")).toBe("transcribe-edge");
    } finally {
      await browser.close();
    }
  },
  60_000,
);
