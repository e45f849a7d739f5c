import { expect, test } from "bun:test";
import { ConfigError } from "../config.ts";
import { parseEnvFile, withConfigFile } from "./env-file.ts";

test("KEY=VALUE lines with comments, blank lines, export and quotes", () => {
  const text = "# pool\nCONTAINER_POOL_SIZE=8\n\nexport SLEEP_AFTER = '30m'\nGATEWAY_NAME=\"edge\"\nEMPTY=\nURL=https://x/?a=b\n";
  expect(parseEnvFile(text)).toEqual({
    CONTAINER_POOL_SIZE: "8",
    SLEEP_AFTER: "30m",
    GATEWAY_NAME: "edge",
    EMPTY: "",
    URL: "https://x/?a=b",
  });
});

test("a line that is not KEY=VALUE is a one-line error naming the file and line", () => {
  expect(() => parseEnvFile("A=1\npool size 8\n", "/etc/te.env")).toThrow(
    new ConfigError("CONFIG_FILE: /etc/te.env line 2: expected KEY=VALUE (got 'pool size 8')"),
  );
});

test("the file's values win over the environment; no CONFIG_FILE leaves the environment as it is", () => {
  const env = { CONFIG_FILE: "/f", SLEEP_AFTER: "10m", PORT: "8080" };
  expect(withConfigFile(env, () => "SLEEP_AFTER=1m")).toEqual({ CONFIG_FILE: "/f", SLEEP_AFTER: "1m", PORT: "8080" });
  const plain = { PORT: "1" };
  expect(withConfigFile(plain)).toBe(plain);
  expect(() => withConfigFile({ CONFIG_FILE: "/nonexistent/te.env" })).toThrow("CONFIG_FILE: cannot read /nonexistent/te.env: ENOENT");
});
