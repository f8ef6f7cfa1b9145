import * as fs from "node:fs";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { GitTimeoutError } from "../../src/adapters/git/errors";
import { loadEngineConfig } from "../../src/compose";
import { type SilentServer, startSilentServer } from "./servers";
import { failure, tempDir } from "./support";

// Reading the configuration fetches the environment files from the repository at the config ref.
// Against a hung remote that used to hang `tidegate check` before it printed anything.
describe("reading the configuration from a remote that never answers", () => {
  let server: SilentServer;
  let temp: ReturnType<typeof tempDir>;

  beforeEach(async () => {
    server = await startSilentServer();
    temp = tempDir("config");
    // The config mirror lives in the per-user cache: this test's own.
    process.env.TIDEGATE_CACHE_DIR = path.join(temp.dir, "cache");
  });
  afterEach(async () => {
    delete process.env.TIDEGATE_CACHE_DIR;
    await server.close();
    temp.remove();
  });

  it("fails with GitTimeoutError naming the remote and the limit from tidegate.yaml", async () => {
    // https: the TLS handshake never ends, which no limit of Git's own catches.
    const url = `https://127.0.0.1:${server.port}/infra.git`;
    const configPath = path.join(temp.dir, "tidegate.yaml");
    fs.writeFileSync(
      configPath,
      `repository:\n  url: ${url}\n  timeouts:\n    connect: 2s\n    lowSpeed: 3s\n    operation: 1m\n`,
    );
    const { error, ms } = await failure(loadEngineConfig(configPath));
    expect(error).toBeInstanceOf(GitTimeoutError);
    expect(error).toMatchObject({ operation: "fetch", remote: url, limit: "no-answer" });
    expect((error as Error).message).toContain(`git fetch from ${url} timed out`);
    expect((error as Error).message).toContain("(repository.timeouts.connect + lowSpeed: 5s)");
    expect(server.accepted()).toBeGreaterThan(0);
    expect(ms).toBeLessThan(30_000);
  });
});
