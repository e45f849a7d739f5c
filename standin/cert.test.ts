import { afterAll, expect, test } from "bun:test";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadOrCreateCert } from "./cert.ts";

const dirs: string[] = [];
const freshDir = () => {
  const dir = mkdtempSync(join(tmpdir(), "standin-cert-"));
  dirs.push(dir);
  return dir;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

test("generates a certificate for 127.0.0.1 and localhost, and caFile holds it", async () => {
  const cert = await loadOrCreateCert(freshDir());
  const x509 = new X509Certificate(cert.certPem);
  expect(x509.subjectAltName).toContain("IP Address:127.0.0.1");
  expect(x509.subjectAltName).toContain("DNS:localhost");
  expect(x509.checkHost("localhost")).toBe("localhost");
  expect(x509.checkIP("127.0.0.1")).toBe("127.0.0.1");
  expect(await Bun.file(cert.caFile).text()).toBe(cert.certPem);
});

test("reuses the cached certificate on later calls", async () => {
  const dir = freshDir();
  const first = await loadOrCreateCert(dir);
  const second = await loadOrCreateCert(dir);
  expect(second).toEqual(first);
});

test("concurrent first calls (several processes starting at once) agree on one certificate", async () => {
  const dir = freshDir();
  const all = await Promise.all(Array.from({ length: 5 }, () => loadOrCreateCert(dir)));
  for (const c of all) expect(c.certPem).toBe(all[0]!.certPem);
});

test("replaces a certificate that expires within a day, or whose files are damaged", async () => {
  const dir = freshDir();
  const first = await loadOrCreateCert(dir);
  const expiresAt = Date.parse(new X509Certificate(first.certPem).validTo);
  const later = await loadOrCreateCert(dir, () => expiresAt - 3600_000);
  expect(later.certPem).not.toBe(first.certPem);
  await Bun.write(join(dir, "key.pem"), "garbage");
  const repaired = await loadOrCreateCert(dir);
  expect(repaired.certPem).not.toBe(later.certPem);
  expect(repaired.keyPem).toContain("PRIVATE KEY");
});
