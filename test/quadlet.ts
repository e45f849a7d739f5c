/**
 * Reading deploy/'s unit files in tests: a systemd-style parser, the [Container] keys Quadlet knows, and the
 * `podman run` arguments Quadlet makes of a .container file's [Container] section, for the keys our unit uses.
 * Podman here (4.3) has no Quadlet generator; the translation was compared with Quadlet 4.9.5's own output, and
 * gateway-image.test.ts compares it again whenever QUADLET names a generator binary.
 */
export type Unit = Record<string, Array<[string, string]>>;

/** [Container] keys Quadlet understands (podman-systemd.unit(5), Podman 4.6). */
export const QUADLET_CONTAINER_KEYS = new Set([
  "AddCapability",
  "AddDevice",
  "Annotation",
  "AutoUpdate",
  "ContainerName",
  "DropCapability",
  "Environment",
  "EnvironmentFile",
  "EnvironmentHost",
  "Exec",
  "ExposeHostPort",
  "Group",
  "HealthCmd",
  "HealthInterval",
  "HealthOnFailure",
  "HealthRetries",
  "HealthStartPeriod",
  "HealthStartupCmd",
  "HealthStartupInterval",
  "HealthStartupRetries",
  "HealthStartupSuccess",
  "HealthStartupTimeout",
  "HealthTimeout",
  "HostName",
  "IP",
  "IP6",
  "Image",
  "Label",
  "LogDriver",
  "Mount",
  "Network",
  "NoNewPrivileges",
  "Notify",
  "PodmanArgs",
  "PublishPort",
  "Pull",
  "ReadOnly",
  "RunInit",
  "Secret",
  "SecurityLabelDisable",
  "SecurityLabelFileType",
  "SecurityLabelLevel",
  "SecurityLabelNested",
  "SecurityLabelType",
  "Timezone",
  "Tmpfs",
  "User",
  "UserNS",
  "Volume",
  "WorkingDir",
]);

/** Parses a systemd-style unit file into sections of key/value pairs (keys may repeat). */
export function parseUnit(text: string): Unit {
  const unit: Unit = {};
  let section = "";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#") || line.startsWith(";")) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) unit[(section = header[1]!)] ??= [];
    else {
      const eq = line.indexOf("=");
      if (!section || eq <= 0) throw new Error(`not a unit line: ${line}`);
      unit[section]!.push([line.slice(0, eq), line.slice(eq + 1)]);
    }
  }
  return unit;
}

/** Every value of `key` in `section`, in order. */
export function unitValues(unit: Unit, section: string, key: string): string[] {
  return (unit[section] ?? []).filter(([k]) => k === key).map(([, v]) => v);
}

/** Splits a systemd command line into words: double and single quotes, backslash escapes inside them. */
export function splitCommandLine(line: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  let quote: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote) {
      if (c === "\\" && i + 1 < line.length) word = (word ?? "") + line[++i];
      else if (c === quote) quote = undefined;
      else word = (word ?? "") + c;
    } else if (c === '"' || c === "'") {
      quote = c;
      word ??= "";
    } else if (c === " " || c === "\t") {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else word = (word ?? "") + c;
  }
  if (quote) throw new Error(`unterminated ${quote} in: ${line}`);
  if (word !== undefined) words.push(word);
  return words;
}

/** One [Container] key -> the `podman run` arguments Quadlet (podman-systemd.unit(5)) generates for it. */
const FLAGS: Record<string, (value: string) => string[]> = {
  ContainerName: (v) => [`--name=${v}`],
  Network: (v) => [`--network=${v}`],
  EnvironmentFile: (v) => ["--env-file", v],
  Environment: (v) => ["--env", v],
  Volume: (v) => ["-v", v],
  Tmpfs: (v) => ["--tmpfs", v],
  LogDriver: (v) => ["--log-driver", v],
  SecurityLabelDisable: (v) => (v === "true" ? ["--security-opt", "label:disable"] : []),
  ReadOnly: (v) => (v === "true" ? ["--read-only"] : []),
  NoNewPrivileges: (v) => (v === "true" ? ["--security-opt=no-new-privileges"] : []),
  DropCapability: (v) => [`--cap-drop=${v}`],
  HealthCmd: (v) => ["--health-cmd", v],
  HealthInterval: (v) => ["--health-interval", v],
  HealthTimeout: (v) => ["--health-timeout", v],
  HealthRetries: (v) => ["--health-retries", v],
  HealthStartPeriod: (v) => ["--health-start-period", v],
  PodmanArgs: (v) => splitCommandLine(v),
  Image: () => [], // the last argument
};

/** What Quadlet always adds for a systemd-managed container (cid file, --replace, --rm, sd-notify, -d). */
const QUADLET_FIXED = ["--cidfile=%t/%N.cid", "--replace", "--rm", "--cgroups=split", "--sdnotify=conmon", "-d"];

/**
 * The `podman run` arguments (without `podman run`) for a .container unit: Quadlet's fixed ones, then one
 * group per key, then the image. Throws naming a key this translation does not know.
 */
export function quadletRunArgs(unit: Unit): string[] {
  const args = [...QUADLET_FIXED];
  for (const [key, value] of unit.Container ?? []) {
    const flags = FLAGS[key];
    if (!flags) throw new Error(`quadletRunArgs: no translation for [Container] ${key}=`);
    args.push(...flags(value));
  }
  const image = unitValues(unit, "Container", "Image");
  if (image.length !== 1) throw new Error(`quadletRunArgs: expected one Image=, found ${image.length}`);
  return [...args, image[0]!];
}

/** Arguments as flag groups (a flag with its value), sorted: Quadlet orders them its own way. */
export function argGroups(args: readonly string[]): string[] {
  const groups: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const takesValue = arg.startsWith("-") && !arg.includes("=") && i + 1 < args.length && !args[i + 1]!.startsWith("-");
    groups.push(takesValue && !SWITCHES.has(arg) ? `${arg} ${args[++i]}` : arg);
  }
  return groups.sort();
}

/** Flags that take no value (the word after them is the next flag or the image). */
const SWITCHES = new Set(["--replace", "--rm", "-d", "--read-only"]);
