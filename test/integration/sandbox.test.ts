import { createHash, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { BWRAP_REASON, bubblewrapWorks } from "../helpers/sandbox";
import { PulumiStack } from "../../src/adapters/pulumi/stack";
import { StackSandbox } from "../../src/adapters/sandbox";
import { ISOLATED_DIR } from "../../src/adapters/sandbox/state";
import { repoRoot } from "../../src/config/repo";
import { createEngineFixture, DEPENDENCY_CACHE, PROJECT, type EngineFixture } from "../helpers/engine";

const PROJECT_NAME = "platform-sdk";

/** Every file under `dir` (links as their target text) with a hash of its content. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    const file = path.join(entry.parentPath, entry.name);
    const rel = path.relative(dir, file);
    if (entry.isSymbolicLink()) out[rel] = `-> ${fs.readlinkSync(file)}`;
    else if (entry.isFile()) out[rel] = createHash("sha256").update(fs.readFileSync(file)).digest("hex");
  }
  return out;
}

/** A program for `test` that goes after `prod`'s state and reports what it got as a stack output. */
function probeProgram(original: string, stateDir: string, prodStack: string): string {
  const shared = path.join(stateDir, ".pulumi", "stacks", PROJECT_NAME);
  const targets = {
    prodCheckpoint: path.join(shared, `${prodStack}.json`),
    sharedStacks: shared,
    prodHistory: path.join(stateDir, ".pulumi", "history", PROJECT_NAME, prodStack),
    stateRoot: stateDir,
  };
  return `${original}
import * as probeFs from "fs";
const probeTargets = ${JSON.stringify(targets)};
const attempt = (f: () => unknown): string => {
  try {
    return "ok:" + String(f());
  } catch (e) {
    return "error:" + String((e as NodeJS.ErrnoException).code);
  }
};
export const sandboxProbe = {
  readProd: attempt(() => probeFs.readFileSync(probeTargets.prodCheckpoint, "utf8").length),
  listShared: attempt(() => probeFs.readdirSync(probeTargets.sharedStacks).sort().join(",")),
  listStateRoot: attempt(() => probeFs.readdirSync(probeTargets.stateRoot).sort().join(",")),
  writeNextToProd: attempt(() => probeFs.writeFileSync(probeTargets.sharedStacks + "/planted-by-test", "x")),
  writeProdHistory: attempt(() => probeFs.writeFileSync(probeTargets.prodHistory + "/planted", "x")),
};
`;
}

/**
 * The program's package.json with an install script that goes after prod's state too, and its
 * lockfile changed just enough (a version) to need a fresh install.
 */
function installScript(
  packageJson: string,
  lockfile: string,
  stateDir: string,
  marker: string,
  version: string,
) {
  const pkg = JSON.parse(packageJson) as Record<string, unknown>;
  const script = `cp -r ${stateDir}/.pulumi ${marker} || touch ${marker}`;
  const lock = JSON.parse(lockfile) as { version?: string; packages: Record<string, { version?: string }> };
  lock.version = version;
  lock.packages[""]!.version = version;
  return {
    packageJson: JSON.stringify({ ...pkg, version, scripts: { postinstall: script } }, null, 2),
    lockfile: JSON.stringify(lock, null, 2),
  };
}

function stackOutputs(stateDir: string, stack: string): Record<string, unknown> {
  const file = path.join(stateDir, ".pulumi", "stacks", PROJECT_NAME, `${stack}.json`);
  const state = JSON.parse(fs.readFileSync(file, "utf8")) as {
    checkpoint: { latest: { resources: Array<{ type: string; outputs?: Record<string, unknown> }> } };
  };
  return state.checkpoint.latest.resources.find((r) => r.type === "pulumi:pulumi:Stack")?.outputs ?? {};
}

describe.skipIf(!bubblewrapWorks())(
  `environments sharing a file:// backend, each in its sandbox${BWRAP_REASON}`,
  () => {
    let f: EngineFixture;
    let stateDir: string;
    let dataDir: string;
    let dropFromCache: string | undefined;

    beforeAll(async () => {
      f = await createEngineFixture([
        { name: "test", sync: "auto", drift: "report" },
        { name: "prod", sync: "auto", drift: "report" },
      ]);
      stateDir = path.join(path.dirname(f.configPath), "state");
      dataDir = path.join(path.dirname(f.configPath), "data");
    });
    afterAll(async () => {
      if (dropFromCache) fs.rmSync(dropFromCache, { recursive: true, force: true });
      await f?.cleanup();
    });

    it("a program committed to test neither reads nor writes prod's state, and test deploys normally", async () => {
      const prod = await f.engine.check("prod", { kind: "sync", trigger: "test", allowSync: true });
      expect(prod.status).toBe("Synced");
      expect(prod.sync?.applied).toBe(true);
      // Pulumi ran through the generated wrapper, not the toolchain's CLI directly.
      expect(
        fs.existsSync(path.join(dataDir, "sandbox", "prod", "projects", PROJECT_NAME, "bin", "pulumi")),
      ).toBe(true);

      const prodStack = f.stackName("prod");
      const testStack = f.stackName("test");
      const isProd = (rel: string) => rel.includes(prodStack);
      const before = snapshot(stateDir);
      const original = await f.readAt("test", `${PROJECT}/index.ts`);
      const marker = path.join(path.dirname(f.configPath), "taken-by-install-script");
      const install = installScript(
        await f.readAt("test", `${PROJECT}/package.json`),
        await f.readAt("test", `${PROJECT}/package-lock.json`),
        stateDir,
        marker,
        `0.0.1-${f.prefix}`,
      );
      await f.commitTo(
        "test",
        {
          [`${PROJECT}/index.ts`]: probeProgram(original, stateDir, prodStack),
          [`${PROJECT}/package.json`]: install.packageJson,
          [`${PROJECT}/package-lock.json`]: install.lockfile,
        },
        "A program (and an install script) that go after prod's state",
      );

      // A report-only check previews the program (the case that runs code without any gate)...
      const previewed = await f.engine.check("test", { kind: "check", trigger: "test", allowSync: false });
      expect(previewed.status).not.toBe("Failed");
      // ...and a sync deploys it.
      expect(previewed.dependencies?.installed).toBe(true);
      // This lockfile is this run's alone: its tree goes when the test ends.
      dropFromCache = path.join(DEPENDENCY_CACHE, previewed.dependencies!.key);
      const test = await f.engine.check("test", { kind: "sync", trigger: "test", allowSync: true });
      expect(test.status).toBe("Synced");
      expect(test.sync?.applied).toBe(true);
      // npm ran outside the sandbox, so it ran no install script at all.
      expect(fs.existsSync(marker)).toBe(false);

      const probe = stackOutputs(stateDir, testStack).sandboxProbe as Record<string, string>;
      expect(probe.readProd).toBe("error:ENOENT");
      // The shared folder of the project, seen from inside, holds test's own checkpoint only.
      expect(probe.listShared).toMatch(/^ok:/);
      expect(probe.listShared).toContain(`${testStack}.json`);
      expect(probe.listShared).not.toContain(prodStack);
      expect(probe.listStateRoot).toBe("ok:.pulumi");
      expect(probe.writeProdHistory).toBe("error:ENOENT");

      const after = snapshot(stateDir);
      // prod's files are exactly as they were.
      const prodFiles = (s: Record<string, string>) => Object.entries(s).filter(([rel]) => isProd(rel));
      expect(prodFiles(after)).toEqual(prodFiles(before));
      expect(prodFiles(before).length).toBeGreaterThan(4);
      // What the program wrote "next to prod's state" landed in test's own area; beside prod's
      // checkpoint there is nothing new but test's own links.
      const added = Object.keys(after).filter((rel) => !(rel in before));
      const shared = path.join(".pulumi", "stacks", PROJECT_NAME);
      expect(probe.writeNextToProd).toBe("ok:undefined");
      expect(added).toContain(path.join(ISOLATED_DIR, PROJECT_NAME, testStack, "planted-by-test"));
      expect(added.filter((rel) => rel.includes("planted"))).toHaveLength(1);
      const addedShared = added.filter((rel) => rel.startsWith(shared));
      expect(addedShared.length).toBeGreaterThan(0);
      for (const rel of addedShared) expect(path.basename(rel)).toMatch(new RegExp(`^${testStack}\\.json`));

      // Outside the sandbox, the backend reads as one: prod has nothing pending, test is deployed.
      const again = await f.engine.check("prod", { kind: "check", trigger: "test", allowSync: false });
      expect(again.status).toBe("Synced");
      expect(again.pending?.resources).toEqual([]);
    });
  },
);

describe.skipIf(!bubblewrapWorks())(`the sandbox's cost${BWRAP_REASON}`, () => {
  it("times one preview with and without it", async () => {
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "tidegate-it-sandbox-"));
    try {
      const workDir = path.join(scratch, "project");
      fs.mkdirSync(workDir);
      fs.writeFileSync(
        path.join(workDir, "Pulumi.yaml"),
        "name: bench\nruntime:\n  name: nodejs\n  options:\n    typescript: false\nmain: index.js\n",
      );
      fs.writeFileSync(path.join(workDir, "package.json"), '{"name":"bench","main":"index.js"}\n');
      fs.writeFileSync(path.join(workDir, "index.js"), 'module.exports = { greeting: "hello" };\n');
      const modules = fs.realpathSync(path.join(repoRoot(__dirname), "node_modules"));
      fs.symlinkSync(modules, path.join(workDir, "node_modules"));
      const backendUrl = `file://${path.join(scratch, "backend")}`;
      const toolchain = inject("toolchain");
      const base = {
        workDir,
        stackName: "bench",
        backendUrl,
        passphrase: randomBytes(8).toString("hex"),
        toolchain,
        pulumiHome: path.join(scratch, "home"),
      };
      const sandbox = new StackSandbox({
        mode: "bubblewrap",
        dir: path.join(scratch, "sandbox"),
        backendUrl,
        toolchain,
        dependencyCacheDir: modules,
      });
      // The plain stack first: its `stack init` writes the checkpoint the sandbox then adopts.
      const plain = await PulumiStack.open(base);
      const sandboxed = await sandbox.forStack({
        environment: "bench",
        stack: "bench",
        projectDir: workDir,
        envNames: [],
      });
      expect(sandboxed).toBeDefined();
      const stacks = {
        without: plain,
        with: await PulumiStack.open({ ...base, ...sandboxed }),
      };
      // Alternated, so a busy moment on a shared machine weighs on both alike.
      const times: Record<keyof typeof stacks, number[]> = { without: [], with: [] };
      for (let i = 0; i < 4; i++) {
        for (const kind of ["without", "with"] as const) {
          const start = performance.now();
          const result = await stacks[kind].preview();
          times[kind].push(Math.round(performance.now() - start));
          expect(result.summary.create).toBe(1);
        }
      }
      const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
      console.log(
        `[sandbox] one preview, ms: without ${times.without.join(", ")} (median ${median(times.without)}); ` +
          `with bubblewrap ${times.with.join(", ")} (median ${median(times.with)})`,
      );
    } finally {
      fs.rmSync(scratch, { recursive: true, force: true });
    }
  });
});
