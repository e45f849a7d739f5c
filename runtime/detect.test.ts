import { describe, expect, test } from "bun:test";
import { createDriver, driverCandidates } from "./detect.ts";
import { findEngine } from "./engine.ts";

/** Sockets that cannot answer, so these tests do not depend on whether an engine runs here. */
const nowhere = ["unix:///nonexistent/te-a.sock", "unix:///nonexistent/te-b.sock"];

describe("createDriver", () => {
  test("process gives the process driver without probing", async () => {
    const driver = await createDriver("process", { candidates: nowhere });
    expect(driver.name).toBe("process");
    await driver.close();
  });

  test("auto falls back to the process driver and says why when no engine answers", async () => {
    const said: string[] = [];
    const driver = await createDriver("auto", { candidates: nowhere, pingTimeoutMs: 200, onChoice: (line) => said.push(line) });
    expect(driver.name).toBe("process");
    expect(said[0]).toContain("no container engine answered");
    await driver.close();
  });

  test("an explicit podman with no engine throws one line naming CONTAINER_DRIVER and the sockets", async () => {
    const attempt = createDriver("podman", { candidates: nowhere, pingTimeoutMs: 200 });
    await expect(attempt).rejects.toThrow(/^CONTAINER_DRIVER=podman .*te-a\.sock, unix:\/\/\/nonexistent\/te-b\.sock/);
  });

  test("kubernetes without credentials throws one line saying neither KUBECONFIG nor a pod is there", async () => {
    const attempt = createDriver("kubernetes", { env: {}, kubernetes: {} });
    await expect(attempt).rejects.toThrow("CONTAINER_DRIVER=kubernetes: no credentials: KUBECONFIG is unset");
  });

  test("the gateway's DOCKER_HOST (the dockerHost option) is tried first, instead of the environment's", async () => {
    const env = { DOCKER_HOST: "unix:///nonexistent/from-env.sock" };
    expect(driverCandidates({ dockerHost: nowhere[0], env })[0]).toBe(nowhere[0]!);
    expect(driverCandidates({ dockerHost: nowhere[0], env })).not.toContain(env.DOCKER_HOST);
    expect(driverCandidates({ dockerHost: undefined, env })).not.toContain(env.DOCKER_HOST);
    expect(driverCandidates({ env })[0]).toBe(env.DOCKER_HOST);
  });

  test("auto picks the engine driver when a socket answers", async () => {
    const engine = await findEngine();
    if (!engine) return console.log("skip: no container engine answers here");
    const said: string[] = [];
    const driver = await createDriver("auto", { onChoice: (line) => said.push(line) });
    expect(driver.name).toBe(engine.name);
    expect(said[0]).toContain(engine.dockerHost);
    await driver.close();
  });
});
