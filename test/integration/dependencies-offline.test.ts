import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DependencyError, ensureDependencies } from "../../src/adapters/pulumi/dependencies";
import { installProcessEnv } from "../../src/adapters/targets/process-env";

// Issue 12: a changed lockfile whose packages are all in npm's cache installs without network. The
// first install fills a private npm cache from the registry (the network, as every install here);
// the later ones go through a proxy that counts its connections and answers none, so npm sees no
// network at all, and the test sees whether npm tried.

const MS = {
  version: "2.1.3",
  integrity:
    "sha512-6FlzubTLZG3J2a/NVCAleEhjzq5oxgHyaCU9yYXvcLsvoVaHJq/s5xXI6/XXP6tz7R9xAOtHnSO/tXtF3WRTlA==",
  license: "MIT",
};
const IS_NUMBER = {
  version: "7.0.0",
  integrity:
    "sha512-41Cifkg6e8TylSpdtTpeLVMqvSBEVzTttHvERD741+pnZ8ANv0004MRL43QKPDlK9cGvNp6NZWZUBlbGXYxxng==",
  license: "MIT",
  engines: { node: ">=0.12.0" },
};

/** A program whose package.json and package-lock.json name exactly `packages`. */
function program(dir: string, packages: Record<string, { version: string }>): string {
  const projectDir = path.join(dir, `program-${Object.keys(packages).join("-")}`);
  fs.mkdirSync(projectDir, { recursive: true });
  fs.writeFileSync(path.join(projectDir, "Pulumi.yaml"), "name: offline\nruntime: nodejs\n");
  const dependencies = Object.fromEntries(Object.entries(packages).map(([name, p]) => [name, p.version]));
  fs.writeFileSync(
    path.join(projectDir, "package.json"),
    JSON.stringify({ name: "offline", private: true, dependencies }),
  );
  const lock = {
    name: "offline",
    lockfileVersion: 3,
    requires: true,
    packages: {
      "": { name: "offline", dependencies },
      ...Object.fromEntries(Object.entries(packages).map(([name, p]) => [`node_modules/${name}`, p])),
    },
  };
  fs.writeFileSync(path.join(projectDir, "package-lock.json"), JSON.stringify(lock, null, 2));
  return projectDir;
}

describe("dependency installs from npm's cache", () => {
  let dir: string;
  let proxy: net.Server;
  let proxyPort: number;
  let connections = 0;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "tidegate-offline-"));
    proxy = net.createServer((socket) => {
      connections++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
    proxyPort = (proxy.address() as net.AddressInfo).port;
  });

  afterAll(async () => {
    await new Promise((resolve) => proxy.close(resolve));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** npm's environment: a private cache; offline, every request through `proxy`. */
  const npmEnv = (proxyUrl?: string): Record<string, string> => ({
    ...installProcessEnv(),
    npm_config_cache: path.join(dir, "npm-cache"),
    // One attempt: a request that fails says so at once (npm would retry for about a minute).
    npm_config_fetch_retries: "0",
    ...(proxyUrl ? { npm_config_proxy: proxyUrl, npm_config_https_proxy: proxyUrl } : {}),
  });

  it("installs a changed lockfile of cached packages with no request to the network", async () => {
    const cacheDir = path.join(dir, "trees");
    const first = await ensureDependencies({
      projectDir: program(dir, { ms: MS, "is-number": IS_NUMBER }),
      cacheDir,
      env: npmEnv(),
    });
    expect(first.installed).toBe(true);

    // The lockfile changed (is-number dropped): a new install, from the cache alone.
    const projectDir = program(dir, { ms: MS });
    const second = await ensureDependencies({
      projectDir,
      cacheDir,
      env: npmEnv(`http://127.0.0.1:${proxyPort}/`),
    });
    expect(second.installed).toBe(true);
    expect(second.key).not.toBe(first.key);
    expect(connections).toBe(0);
    expect(fs.existsSync(path.join(projectDir, "node_modules", "ms", "package.json"))).toBe(true);
    expect(fs.existsSync(path.join(projectDir, "node_modules", "is-number"))).toBe(false);
  });

  it("fails at once, naming npm and the program's folder, when a package is not cached", async () => {
    // A port nothing listens on: refused, as with no network.
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const closedPort = (closed.address() as net.AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));

    const projectDir = program(dir, { ms: MS, "left-pad": { version: "1.3.0" } });
    const started = Date.now();
    const error = await ensureDependencies({
      projectDir,
      cacheDir: path.join(dir, "trees"),
      env: npmEnv(`http://127.0.0.1:${closedPort}/`),
    }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(DependencyError);
    const message = (error as Error).message;
    expect(message).toContain(`npm ci for ${projectDir}`);
    expect(message).toContain("did not answer (ECONNREFUSED)");
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(fs.existsSync(path.join(projectDir, "node_modules"))).toBe(false);
  });
});
