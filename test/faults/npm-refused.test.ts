import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { DEPENDENCY_CACHE, PROJECT, type EngineFixture } from "../helpers/engine";
import { tempDir } from "./support";
import { deployedFixture, expectNothingLost, STACK_TIMEOUT, SYNC } from "./stack-faults";

// The program's lockfile gains a dependency on the branch and the npm registry refuses (a local
// registry on 127.0.0.1 that answers 503, reached through npm's own settings, as an operator sets
// them). The run fails naming the registry and the package; the deployed stack and the install
// cache stay as they were; with the registry back, the next run installs and syncs.

const PACKAGE = "tidegate-fault-probe";

/** A one-file package as a registry tarball, with its lockfile integrity. */
function probeTarball(dir: string): { tarball: Buffer; integrity: string } {
  const root = path.join(dir, "package");
  fs.mkdirSync(root, { recursive: true });
  fs.writeFileSync(path.join(root, "package.json"), JSON.stringify({ name: PACKAGE, version: "1.0.0" }));
  fs.writeFileSync(path.join(root, "index.js"), "module.exports = 1;\n");
  const file = path.join(dir, "probe.tgz");
  execFileSync("tar", ["-czf", file, "-C", dir, "package"]);
  const tarball = fs.readFileSync(file);
  return { tarball, integrity: `sha512-${createHash("sha512").update(tarball).digest("base64")}` };
}

/** A registry that refuses (503) until healed; healed, it serves the probe and redirects the rest to npmjs. */
async function startRegistry(
  tarball: Buffer,
): Promise<{ url: string; heal(): void; refused(): number; close(): Promise<void> }> {
  let healthy = false;
  let refused = 0;
  const server = http.createServer((req, res) => {
    if (!healthy) {
      refused++;
      res.writeHead(503, { "content-type": "text/plain" }).end("service unavailable\n");
    } else if (req.url?.endsWith(`/${PACKAGE}-1.0.0.tgz`)) {
      res.writeHead(200, { "content-type": "application/octet-stream" }).end(tarball);
    } else {
      res.writeHead(302, { location: `https://registry.npmjs.org${req.url ?? "/"}` }).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    heal: () => void (healthy = true),
    refused: () => refused,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe("the npm registry refuses a changed lockfile", () => {
  let f: EngineFixture;
  let registry: Awaited<ReturnType<typeof startRegistry>>;
  let temp: ReturnType<typeof tempDir>;
  let integrity: string;

  beforeAll(async () => {
    temp = tempDir("npm");
    const probe = probeTarball(temp.dir);
    integrity = probe.integrity;
    registry = await startRegistry(probe.tarball);
    // npm's own settings, inherited by every install tidegate runs; one try per request keeps it short.
    vi.stubEnv("npm_config_registry", registry.url);
    vi.stubEnv("npm_config_fetch_retries", "0");
    f = await deployedFixture(["test"]);
  }, STACK_TIMEOUT);
  afterAll(async () => {
    vi.unstubAllEnvs();
    await f?.cleanup();
    await registry?.close();
    temp?.remove();
  });

  it(
    "fails naming the registry and the package; stack and install cache untouched; installs once the registry is back",
    async () => {
      const deployedBefore = (await f.engine.store.status("test"))?.deployedCommit;
      const read = (file: string) =>
        JSON.parse(fs.readFileSync(path.join(f.remote.workDir, PROJECT, file), "utf8")) as {
          dependencies: Record<string, string>;
          packages: Record<string, Record<string, unknown>>;
        };
      const pkg = read("package.json");
      pkg.dependencies[PACKAGE] = "1.0.0";
      const lock = read("package-lock.json");
      (lock.packages[""] as { dependencies: Record<string, string> }).dependencies[PACKAGE] = "1.0.0";
      lock.packages[`node_modules/${PACKAGE}`] = {
        version: "1.0.0",
        resolved: `https://registry.npmjs.org/${PACKAGE}/-/${PACKAGE}-1.0.0.tgz`,
        integrity,
      };
      await f.commitTo(
        "test",
        {
          [`${PROJECT}/package.json`]: `${JSON.stringify(pkg, null, 2)}\n`,
          [`${PROJECT}/package-lock.json`]: `${JSON.stringify(lock, null, 2)}\n`,
        },
        `Depend on ${PACKAGE}`,
      );
      const entriesBefore = completeEntries();

      const report = await f.engine.check("test", SYNC);
      expect(report.status).toBe("Failed");
      expect(registry.refused()).toBeGreaterThan(0);
      expect(report.reason).toContain(registry.url.replace(/\/$/, ""));
      expect(report.reason).toContain(PACKAGE);
      expect(report.sync?.applied ?? false).toBe(false);
      expect((await f.engine.store.status("test"))?.deployedCommit).toBe(deployedBefore);
      // The cache keeps every complete tree it had, and no half-installed one is left to be used.
      expect(completeEntries()).toEqual(entriesBefore);

      registry.heal();
      const next = await f.engine.check("test", SYNC);
      expect(next.status, next.reason).toBe("Synced");
      expect(next.dependencies?.installed).toBe(true);
      await expectNothingLost(f, ["test"]);
    },
    STACK_TIMEOUT,
  );
});

/** The install cache's complete trees (other tests' scratch folders come and go). */
function completeEntries(): string[] {
  return fs
    .readdirSync(DEPENDENCY_CACHE)
    .filter((name) => fs.existsSync(path.join(DEPENDENCY_CACHE, name, ".complete")))
    .filter((name) => !fs.existsSync(path.join(DEPENDENCY_CACHE, name, "node_modules", PACKAGE)))
    .sort();
}
