/**
 * The stand-in's TLS identity. The `openai` SDK's realtime client always dials `wss:`, so the stand-in must
 * speak TLS, and its clients must be told to trust it: the certificate is self-signed for 127.0.0.1 and
 * localhost and doubles as its own CA (hand `caFile` to NODE_EXTRA_CA_CERTS / OPENAI_CA_FILE, or its text
 * to a `ws` client's `ca` option).
 *
 * Generated once and cached on disk so that every process (tests, `bun run dev`, transcribers in other
 * processes) trusts the same certificate; regenerated when missing, unreadable or about to expire.
 */
import { X509Certificate, createPrivateKey } from "node:crypto";
import { closeSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { generate } from "selfsigned";

/** The stand-in's certificate and key (PEM), and the path of the PEM file a client must trust. */
export interface StandinCert {
  certPem: string;
  keyPem: string;
  caFile: string;
}

/** `.cache/standin/` under the project root (this file's parent folder). */
export const DEFAULT_CERT_DIR = resolve(import.meta.dir, "..", ".cache", "standin");

const VALID_DAYS = 365;
/** A cert this close to expiry is replaced, so a long dev session never meets an expired one. */
const RENEW_BEFORE_MS = 24 * 3600_000;
/** A lock older than this was left by a crashed generator. */
const STALE_LOCK_MS = 30_000;

/**
 * Returns the cached certificate in `dir`, generating it first if needed. Safe to call from several
 * processes at once: one generates under a lock file, the others wait and read its result.
 */
export async function loadOrCreateCert(dir: string = DEFAULT_CERT_DIR, nowMs: () => number = Date.now): Promise<StandinCert> {
  mkdirSync(dir, { recursive: true });
  const paths = { cert: join(dir, "cert.pem"), key: join(dir, "key.pem"), lock: join(dir, "generate.lock") };
  for (;;) {
    const cached = readValid(paths.cert, paths.key, nowMs());
    if (cached) return cached;
    if (!tryLock(paths.lock)) {
      await Bun.sleep(50);
      continue;
    }
    try {
      // Another process may have finished between our read and our lock.
      const again = readValid(paths.cert, paths.key, nowMs());
      if (again) return again;
      const { certPem, keyPem } = await generateCert(new Date(nowMs()));
      // Key first: a reader that sees the new cert must also see its key.
      writeAtomic(paths.key, keyPem, 0o600);
      // Readable by all: transcriber containers running as another user must be able to trust it.
      writeAtomic(paths.cert, certPem, 0o644);
      return { certPem, keyPem, caFile: paths.cert };
    } finally {
      rmSync(paths.lock, { force: true });
    }
  }
}

/** A fresh self-signed EC P-256 certificate for 127.0.0.1, ::1 and localhost. */
export async function generateCert(notBefore: Date): Promise<{ certPem: string; keyPem: string }> {
  // Backdated an hour so a slightly slow clock elsewhere (a container) does not see a not-yet-valid cert.
  const notBeforeDate = new Date(notBefore.getTime() - 3600_000);
  const notAfterDate = new Date(notBefore.getTime() + VALID_DAYS * 24 * 3600_000);
  const pems = await generate([{ name: "commonName", value: "localhost" }], {
    keyType: "ec",
    curve: "P-256",
    algorithm: "sha256",
    notBeforeDate,
    notAfterDate,
    extensions: [
      { name: "basicConstraints", cA: false },
      { name: "keyUsage", digitalSignature: true, keyEncipherment: true },
      { name: "extKeyUsage", serverAuth: true },
      {
        name: "subjectAltName",
        altNames: [
          { type: 2, value: "localhost" },
          { type: 7, ip: "127.0.0.1" },
          { type: 7, ip: "::1" },
        ],
      },
    ],
  });
  return { certPem: pems.cert, keyPem: pems.private };
}

function readValid(certFile: string, keyFile: string, nowMs: number): StandinCert | undefined {
  try {
    const certPem = readFileSync(certFile, "utf8");
    const keyPem = readFileSync(keyFile, "utf8");
    const x509 = new X509Certificate(certPem);
    if (Date.parse(x509.validTo) - RENEW_BEFORE_MS <= nowMs) return undefined;
    if (!x509.checkPrivateKey(createPrivateKey(keyPem))) return undefined;
    return { certPem, keyPem, caFile: certFile };
  } catch {
    return undefined;
  }
}

function tryLock(lockFile: string): boolean {
  try {
    closeSync(openSync(lockFile, "wx"));
    return true;
  } catch {
    try {
      // The real clock, not the injected one: it is compared with the file system's mtime.
      if (Date.now() - statSync(lockFile).mtimeMs > STALE_LOCK_MS) rmSync(lockFile, { force: true });
    } catch {
      // The holder removed it meanwhile; the next round will see the result.
    }
    return false;
  }
}

function writeAtomic(file: string, text: string, mode: number): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode });
  renameSync(tmp, file);
}
