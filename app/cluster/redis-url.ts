/** REDIS_URL: its accepted forms, and how it is shown (never with its password). */

/** The URL with any password replaced, for messages and /stats. */
export function redactUrl(raw: string): string {
  try {
    const url = new URL(raw);
    if (url.password) url.password = "***";
    return url.toString();
  } catch {
    return raw.replace(/:[^:@/]*@/, ":***@"); // not a URL, but it may still carry a password before an @
  }
}

/** Why `raw` is not a usable Redis URL (`redis://[user:password@]host[:port][/db]`, or `rediss://`), else undefined. */
export function redisUrlProblem(raw: string): string | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return "not a URL";
  }
  if (url.protocol !== "redis:" && url.protocol !== "rediss:") return `scheme ${url.protocol} is not redis: or rediss:`;
  if (!url.hostname) return "no host";
  const db = url.pathname.replace(/^\//, "");
  if (db !== "" && !/^\d{1,2}$/.test(db)) return `database '${db}' is not a number from 0 to 99`;
  return undefined;
}
