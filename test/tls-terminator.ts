/**
 * An engine API over TCP with TLS client certificates, for tests: Podman 4.3 cannot serve TLS itself, so a
 * small TLS terminator (node:tls, which demands and verifies a client certificate) forwards each connection to
 * a Podman Unix socket. The certificates (a private CA, a server certificate for 127.0.0.1, a client
 * certificate) are made with openssl into a fresh directory laid out as ENGINE_TLS_DIR expects.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer, type Server } from "node:tls";

export interface TlsEngine {
  /** `tcp://127.0.0.1:PORT` */
  endpoint: string;
  /** ENGINE_TLS_DIR: ca.pem, cert.pem, key.pem (the client's). */
  tlsDir: string;
  /** Handshakes refused for a missing or unknown client certificate. */
  refusedHandshakes(): number;
  close(): Promise<void>;
}

async function openssl(cwd: string, ...args: string[]): Promise<void> {
  const result = await Bun.$`openssl ${args}`.cwd(cwd).quiet().nothrow();
  if (result.exitCode !== 0) throw new Error(`openssl ${args.join(" ")} failed: ${result.stderr.toString().trim()}`);
}

/** A private CA plus server and client certificates signed by it (EC P-256, one day). */
async function makeCertificates(dir: string): Promise<void> {
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  await openssl(dir, "req", "-x509", ...ec, "-keyout", "ca-key.pem", "-out", "ca.pem", "-days", "1", "-subj", "/CN=te-test-ca");
  writeFileSync(join(dir, "server.ext"), "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
  writeFileSync(join(dir, "client.ext"), "extendedKeyUsage=clientAuth\n");
  for (const [who, subject] of [
    ["server", "/CN=127.0.0.1"],
    ["client", "/CN=te-gateway"],
  ] as const) {
    await openssl(dir, "req", ...ec, "-keyout", `${who}-key.pem`, "-out", `${who}.csr`, "-subj", subject);
    await openssl(
      dir,
      "x509",
      "-req",
      "-in",
      `${who}.csr`,
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca-key.pem",
      "-CAcreateserial",
      "-out",
      `${who}-cert.pem`,
      "-days",
      "1",
      "-extfile",
      `${who}.ext`,
    );
  }
  // The client's files under the names Docker's DOCKER_CERT_PATH uses.
  writeFileSync(join(dir, "cert.pem"), readFileSync(join(dir, "client-cert.pem")));
  writeFileSync(join(dir, "key.pem"), readFileSync(join(dir, "client-key.pem")));
}

/** Starts a TLS terminator on 127.0.0.1 (a free port) in front of the Unix socket `socketPath`. */
export async function startTlsEngine(socketPath: string): Promise<TlsEngine> {
  const dir = mkdtempSync(join(tmpdir(), "te-engine-tls-"));
  await makeCertificates(dir);
  let refused = 0;
  const open = new Set<{ destroy(): void }>();
  const server: Server = createServer(
    {
      key: readFileSync(join(dir, "server-key.pem")),
      cert: readFileSync(join(dir, "server-cert.pem")),
      ca: readFileSync(join(dir, "ca.pem")),
      requestCert: true,
      rejectUnauthorized: true,
    },
    (client) => {
      const engine = connect(socketPath);
      open.add(client).add(engine);
      const end = () => {
        client.destroy();
        engine.destroy();
        open.delete(client);
        open.delete(engine);
      };
      client.on("error", end).on("close", end);
      engine.on("error", end).on("close", end);
      client.pipe(engine).pipe(client);
    },
  );
  server.on("tlsClientError", () => refused++);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return {
    endpoint: `tcp://127.0.0.1:${port}`,
    tlsDir: dir,
    refusedHandshakes: () => refused,
    close: async () => {
      for (const socket of open) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
