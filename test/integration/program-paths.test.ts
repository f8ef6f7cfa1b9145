import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { person } from "../../src/app/actor";
import { ProgramPathError } from "../../src/adapters/pulumi/program-paths";
import { dataPaths } from "../../src/config/paths";
import { programTree } from "../../src/reconcile/gating";
import { createEngineFixture, PROJECT, type EngineFixture } from "../helpers/engine";

// The program that runs is the program that was judged: a branch whose project folder is a
// committed symbolic link, or whose Pulumi.yaml points `main` out of the project folder, fails
// before anything is installed or run, and nothing is written outside the data directory.

const ACTOR = "ada@example.com";
const PROJECT_NAME = "platform-sdk";

/** Every path under `dir` with its size and mtime: a listing that any write would change. */
function listing(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (at: string): void => {
    for (const entry of fs.readdirSync(at, { withFileTypes: true })) {
      const p = path.join(at, entry.name);
      const stat = fs.lstatSync(p);
      out.push(`${path.relative(dir, p)} ${stat.isDirectory() ? "dir" : stat.size} ${stat.mtimeMs}`);
      if (entry.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out.sort();
}

describe("a program that leads outside what the gates judged", () => {
  let f: EngineFixture;
  let outside: string;
  let stateDir: string;
  const check = (env: string) => f.engine.check(env, { kind: "sync", trigger: "test", allowSync: true });
  const stackFile = (env: string) =>
    path.join(stateDir, ".pulumi", "stacks", PROJECT_NAME, `${f.stackName(env)}.json`);

  beforeAll(async () => {
    f = await createEngineFixture([
      { name: "dev", sync: "auto", drift: "report" },
      { name: "test", sync: "auto", drift: "report" },
      { name: "stage", sync: "auto", drift: "report" },
    ]);
    stateDir = path.join(path.dirname(f.configPath), "state");
    // A complete copy of the program outside the repository: it would run, were it followed.
    outside = path.join(f.remote.root, "outside");
    fs.cpSync(path.join(f.remote.workDir, PROJECT), outside, { recursive: true });
  });
  afterAll(async () => {
    await f?.cleanup();
  });

  it("fails on a project folder committed as a symbolic link, and touches nothing outside", async () => {
    const { remote } = f;
    await remote.switchBranch("test");
    await remote.git("rm", "-r", "--quiet", "--", PROJECT);
    fs.rmSync(path.join(remote.workDir, PROJECT), { recursive: true, force: true });
    fs.mkdirSync(path.dirname(path.join(remote.workDir, PROJECT)), { recursive: true });
    fs.symlinkSync(outside, path.join(remote.workDir, PROJECT));
    await remote.git("add", "--", PROJECT);
    await remote.git("commit", "--quiet", "-m", "The project folder is a link out of the repository");
    await remote.push("test");
    await remote.switchBranch("main");
    expect(await remote.git("ls-tree", "test", "--", PROJECT)).toMatch(/^120000 /);
    const before = listing(outside);

    const report = await check("test");

    expect(report.status).toBe("Failed");
    expect(report.reason).toContain(
      `environments/test.yaml: project '${PROJECT}' is a symbolic link (to '${outside}') in the checked-out commit`,
    );
    expect(report.dependencies).toBeUndefined();
    expect(listing(outside)).toEqual(before);
    expect(fs.existsSync(path.join(outside, "node_modules"))).toBe(false);
    expect(fs.existsSync(stackFile("test"))).toBe(false);
    expect(await f.engine.store.status("test")).toMatchObject({ status: "Failed" });
  });

  it("fails on a Pulumi.yaml whose main leaves the project folder, and installs nothing there", async () => {
    const projectFile = `${PROJECT}/Pulumi.yaml`;
    const program = await f.readAt("stage", projectFile);
    const index = await f.readAt("stage", `${PROJECT}/index.ts`);
    await f.commitTo(
      "stage",
      {
        [projectFile]: `${program.trimEnd()}\nmain: ../outside\n`,
        "stacks/outside/index.ts": index,
        "stacks/outside/package.json": await f.readAt("stage", `${PROJECT}/package.json`),
      },
      "Run the program from another folder",
    );

    const report = await check("stage");

    expect(report.status).toBe("Failed");
    expect(report.reason).toMatch(
      new RegExp(
        `^${projectFile}: main '\\.\\./outside' resolves outside the project folder ${PROJECT}; expected a relative path inside`,
      ),
    );
    const checkout = path.join(dataPaths(path.join(f.remote.root, "data")).workspaces, "stage");
    expect(fs.readdirSync(path.join(checkout, "stacks", "outside")).sort()).toEqual([
      "index.ts",
      "package.json",
    ]);
    expect(fs.existsSync(path.join(checkout, PROJECT, "node_modules"))).toBe(false);
    expect(fs.existsSync(stackFile("stage"))).toBe(false);
  });

  it("a promotion's dry run refuses to preview a merged tree whose main leaves the project folder", async () => {
    await f.commitTo("dev", { "README.md": "The platform.\n" }, "Say what this is");
    expect((await check("dev")).status).toBe("Synced");

    // Merged onto stage, which keeps its `main: ../outside`: the preview would run stacks/outside.
    const dry = f.engine.promote("dev", "stage", {
      actor: person(ACTOR),
      dryRun: true,
      allowTargetAhead: true,
    });

    await expect(dry).rejects.toBeInstanceOf(ProgramPathError);
    await expect(dry).rejects.toMatchObject({ problem: "outside", where: `${PROJECT}/Pulumi.yaml: main` });
    expect(fs.existsSync(stackFile("stage"))).toBe(false);
  });

  it("the program tree digest changes with a policy pack the gates name", async () => {
    const before = (await f.engine.git.heads(["dev"])).dev as string;
    const after = await f.commitTo(
      "dev",
      { "policies/base/index.ts": "export const rules = 2;\n" },
      "Weaken the policy pack",
    );
    const withPack = { project: PROJECT, programPolicyPacks: ["policies/base"] };
    const withoutPack = { project: PROJECT, programPolicyPacks: [] };
    expect(await programTree(f.engine.git, withPack, before)).not.toBe(
      await programTree(f.engine.git, withPack, after),
    );
    expect(await programTree(f.engine.git, withoutPack, before)).toBe(
      await programTree(f.engine.git, withoutPack, after),
    );
  });
});
