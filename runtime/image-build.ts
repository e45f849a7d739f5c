/**
 * Builds the project's images with no registry: compile one entry into one binary, add the glibc files it
 * links, `podman build` (or `docker build`) FROM scratch. Two images: the transcriber (transcriber/main.ts,
 * ./Containerfile) and the gateway (app/main.ts, deploy/Containerfile.gateway, for the Quadlet unit).
 * `ensureImage` rebuilds the transcriber only when its sources are newer.
 */
import { chmod, copyFile, mkdir, readdir, rename, rm, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { recognizerImageFiles } from "../transcriber/local/image-files.ts";
import { nativeOpusImageFiles, OPUS_LIBRARY } from "../transcriber/opus-native.ts";
import { POCKETSPHINX_LIBRARY } from "../transcriber/local/pocketsphinx.ts";
import { gatewayImage, transcriberImage } from "./image.ts";

const PROJECT_ROOT = dirname(import.meta.dir);

export type EngineCli = "podman" | "docker";

/** What one image is made of; the Containerfile COPYs `binary` from the context. */
export interface ImageSpec {
  /** Name in progress lines and of the context directory under .build/. */
  name: string;
  entry: string;
  containerfile: string;
  binary: string;
  /** `bun build --minify`: not for the gateway, whose Elysia reads handler source to see what they use. */
  minify: boolean;
  tag: () => string;
  /**
   * Host files the image carries besides the binary's own libraries, each at its own path (the transcriber's
   * native libopus and local recognizer), or why they are missing here; the image is then built without them.
   */
  extraFiles?: ExtraFiles[];
}

/** One optional part of an image: its files, or why they are missing and what the image does without them. */
export interface ExtraFiles {
  name: string;
  /** What an image without the part does, for the build's log line. */
  without: string;
  collect(ldd: (file: string) => Promise<string[]>): Promise<{ files: string[] } | { missing: string }>;
}

export const IMAGES = {
  transcriber: {
    name: "image",
    entry: "transcriber/main.ts",
    containerfile: "Containerfile",
    binary: "transcriber",
    minify: true,
    tag: () => transcriberImage(),
    extraFiles: [
      { name: "native libopus", without: "the transcriber decodes with libopus-wasm", collect: nativeOpusImageFiles },
      {
        name: "local recognizer",
        without: "TRANSCRIBER_BACKEND=local containers will exit naming it",
        collect: recognizerImageFiles,
      },
    ],
  },
  gateway: {
    name: "gateway-image",
    entry: "app/main.ts",
    containerfile: "deploy/Containerfile.gateway",
    binary: "gateway",
    minify: false,
    tag: () => gatewayImage(),
  },
} satisfies Record<string, ImageSpec>;

export interface BuildImageOptions {
  /** Which image. Default: the transcriber. */
  image?: ImageSpec;
  /** Tag to produce. Default: the image's own (TRANSCRIBER_IMAGE / GATEWAY_IMAGE or the local default). */
  tag?: string;
  /** Entry compiled into the binary. Default: the image's (transcriber/main.ts for the transcriber). */
  entry?: string;
  /** `ARG BASE` of the Containerfile; scratch unless a registry base is reachable. */
  base?: string;
  /** Progress lines. Default: console.log. */
  log?: (line: string) => void;
}

export interface BuiltImage {
  tag: string;
  seconds: number;
  sizeBytes: number;
}

/** The engine CLI to build with: podman first, docker otherwise; throws one clear line when neither exists. */
export function engineCli(): EngineCli {
  if (Bun.which("podman")) return "podman";
  if (Bun.which("docker")) return "docker";
  throw new Error("build:image needs podman or docker on PATH; neither was found (Debian: apt-get install -y podman runc)");
}

/** Runs a command; resolves its stdout, rejects with its output when it fails. */
async function run(argv: string[], cwd = PROJECT_ROOT): Promise<string> {
  const child = Bun.spawn(argv, { cwd, stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  if (code !== 0) throw new Error(`${argv.slice(0, 2).join(" ")} failed (exit ${code}):\n${stderr || stdout}`);
  return stdout;
}

/** Absolute library paths `ldd` reports for a binary (the vDSO has none and is skipped). */
export function parseLdd(output: string): string[] {
  const paths = output
    .split("\n")
    .map((line) => /(?:=>\s*)?(\/\S+)\s+\(0x/.exec(line)?.[1])
    .filter((path): path is string => path !== undefined);
  return [...new Set(paths)];
}

/** Builds the image now and returns its tag, build time and size. */
export async function buildImage(options: BuildImageOptions = {}): Promise<BuiltImage> {
  const log = options.log ?? console.log;
  const image = options.image ?? IMAGES.transcriber;
  const tag = options.tag ?? image.tag();
  const entry = options.entry ?? join(PROJECT_ROOT, image.entry);
  const cli = engineCli();
  // A context per build, renamed to .build/<name> at the end: two processes building at once (a test run and
  // `dev`) must not delete each other's files.
  const finalContext = join(PROJECT_ROOT, ".build", image.name);
  const context = `${finalContext}.${process.pid}`;
  const startedAt = performance.now();
  const elapsed = () => `${((performance.now() - startedAt) / 1000).toFixed(1)}s`;

  try {
    await prepareAndBuild({ cli, image, tag, entry, context, base: options.base ?? "scratch", log, elapsed });
  } catch (error) {
    await rm(context, { recursive: true, force: true }); // a failed build leaves no half-made context
    throw error;
  }
  await rm(finalContext, { recursive: true, force: true });
  await rename(context, finalContext).catch(() => rm(context, { recursive: true, force: true }));

  const sizeBytes = Number((await run([cli, "image", "inspect", "--format", "{{.Size}}", tag])).trim());
  const seconds = (performance.now() - startedAt) / 1000;
  log(`[build:${image.name} 4/4] built ${tag} in ${seconds.toFixed(1)}s, ${(sizeBytes / 1e6).toFixed(1)} MB`);
  return { tag, seconds, sizeBytes };
}

/** Steps 1-3: compile, copy the libraries, run the engine's build; removes the image this one replaces. */
async function prepareAndBuild(step: {
  cli: EngineCli;
  image: ImageSpec;
  tag: string;
  entry: string;
  context: string;
  base: string;
  log: (line: string) => void;
  elapsed: () => string;
}): Promise<void> {
  const { cli, image, tag, entry, context, base, log, elapsed } = step;
  const binary = join(context, image.binary);
  const prefix = `[build:${image.name}`;
  log(`${prefix} 1/4] compiling ${entry} -> .build/${image.name}/${image.binary}`);
  await rm(context, { recursive: true, force: true });
  await mkdir(join(context, "rootfs", "tmp"), { recursive: true });
  await chmod(join(context, "rootfs", "tmp"), 0o1777); // COPY keeps modes: a writable /tmp for user 65532
  await run([process.execPath, "build", "--compile", ...(image.minify ? ["--minify"] : []), entry, "--outfile", binary]);

  log(`${prefix} 2/4] copying the glibc files it links (${elapsed()})`);
  const libraries = parseLdd(await run(["ldd", binary]));
  for (const library of libraries) {
    // Same path inside the image: the binary's interpreter and ld.so's search path expect them there.
    const target = join(context, "rootfs", library);
    await mkdir(dirname(target), { recursive: true });
    await copyFile(library, target); // follows symlinks, so /lib64/ld-linux-x86-64.so.2 becomes a real file
  }
  log(`${prefix}]     ${libraries.join(" ")}`);
  for (const part of image.extraFiles ?? []) {
    const extra = await part.collect(async (file) => parseLdd(await run(["ldd", file])));
    if ("missing" in extra) {
      log(`${prefix}]     WITHOUT the ${part.name}: ${extra.missing}; ${part.without}`);
      continue;
    }
    for (const file of extra.files) {
      const target = join(context, "rootfs", file);
      await mkdir(dirname(target), { recursive: true });
      await copyFile(file, target);
    }
    log(`${prefix}]     ${part.name}: ${extra.files.length} files (libraries with what ldd lists for them)`);
  }

  log(`${prefix} 3/4] ${cli} build -t ${tag} (${elapsed()})`);
  const previousId = (await run([cli, "image", "inspect", "--format", "{{.Id}}", tag]).catch(() => "")).trim();
  const version = ((await Bun.file(join(PROJECT_ROOT, "package.json")).json()) as { version?: string }).version;
  const source = await run(["git", "config", "--get", "remote.origin.url"]).catch(() => "");
  await run([
    cli,
    "build",
    "-f",
    join(PROJECT_ROOT, image.containerfile),
    "-t",
    tag,
    "--build-arg",
    `BASE=${base}`,
    "--build-arg",
    `VERSION=${version ?? "0.0.0"}`,
    "--build-arg",
    `SOURCE=${source.trim()}`,
    // Podman keeps an intermediate image per instruction by default; nothing here is worth caching.
    ...(cli === "podman" ? ["--layers=false"] : []),
    context,
  ]);
  // Each rebuild would otherwise leave a dangling ~110 MB image behind; one still used by a container stays.
  const currentId = (await run([cli, "image", "inspect", "--format", "{{.Id}}", tag])).trim();
  if (previousId && previousId !== currentId) await run([cli, "rmi", previousId]).catch(() => undefined);
}

/** Creation time of a local image, or undefined when it does not exist. */
async function imageCreatedMs(cli: EngineCli, tag: string): Promise<number | undefined> {
  const child = Bun.spawn([cli, "image", "inspect", "--format", "{{.Created}}", tag], { stdout: "pipe", stderr: "ignore" });
  const [text, code] = await Promise.all([new Response(child.stdout).text(), child.exited]);
  if (code !== 0) return undefined;
  // Go's time format ("2026-11-27 08:40:01.123 +0000 UTC"): keep date, time and offset.
  const match = /^(\d{4}-\d\d-\d\d)[ T](\d\d:\d\d:\d\d(?:\.\d+)?)\s*([+-]\d{4}|Z)?/.exec(text.trim());
  if (!match) return undefined;
  const parsed = Date.parse(`${match[1]}T${match[2]}${match[3] ?? "Z"}`);
  return Number.isNaN(parsed) ? undefined : parsed;
}

/** Newest modification time among the files that go into the image. */
async function newestSourceMs(): Promise<number> {
  let newest = 0;
  const visit = async (path: string): Promise<void> => {
    const info = await stat(path).catch(() => undefined);
    if (!info) return;
    if (info.isDirectory()) {
      for (const entry of await readdir(path)) if (!entry.endsWith(".test.ts")) await visit(join(path, entry));
    } else newest = Math.max(newest, info.mtimeMs);
  };
  for (const path of ["transcriber", "Containerfile", "package-lock.json", "runtime/image-build.ts"]) {
    await visit(join(PROJECT_ROOT, path));
  }
  // The optional libraries' install time (ctime; mtime is the package's build date): an image built before the
  // packages were installed lacks them and is stale.
  for (const library of [POCKETSPHINX_LIBRARY, OPUS_LIBRARY]) {
    newest = Math.max(newest, (await stat(library).catch(() => undefined))?.ctimeMs ?? 0);
  }
  return newest;
}

/**
 * Builds the image when it is missing, older than its sources, or `rebuild` is set. Tests and `dev` call it
 * before starting containers. Resolves whether it built.
 */
export function ensureImage(
  options: { rebuild?: boolean; log?: (line: string) => void; tag?: string } = {},
): Promise<{ tag: string; built: boolean }> {
  // Callers in one process (dev, several test files) share one check and at most one build.
  inFlight ??= checkAndBuild(options).finally(() => (inFlight = undefined));
  return inFlight;
}

let inFlight: Promise<{ tag: string; built: boolean }> | undefined;

async function checkAndBuild(options: { rebuild?: boolean; log?: (line: string) => void; tag?: string }) {
  const tag = options.tag ?? transcriberImage();
  const createdMs = await imageCreatedMs(engineCli(), tag);
  const stale = createdMs === undefined || (await newestSourceMs()) > createdMs;
  if (!options.rebuild && !stale) return { tag, built: false };
  await buildImage({ tag, log: options.log });
  return { tag, built: true };
}
