import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  assertPolicyPackPaths,
  assertProgramPaths,
  ProgramPathError,
} from "../../../src/adapters/pulumi/program-paths";
import { thrownBy } from "../../helpers/errors";

const FILE = "environments/test.yaml";
const PROJECT = "stacks/app";

// Real folders and real symbolic links: a checkout, and a folder beside it playing "outside".
let root: string;
let checkout: string;
let outside: string;

beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), "tidegate-paths-"));
  checkout = path.join(root, "checkout");
  outside = path.join(root, "outside");
  fs.mkdirSync(outside, { recursive: true });
  write(outside, { "index.js": "module.exports = {};\n", "package.json": "{}\n" });
  write(checkout, {
    [`${PROJECT}/Pulumi.yaml`]: "name: app\nruntime: nodejs\n",
    [`${PROJECT}/package.json`]: "{}\n",
    [`${PROJECT}/index.ts`]: "export {};\n",
  });
});
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

function write(dir: string, files: Record<string, string>): void {
  for (const [file, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.writeFileSync(path.join(dir, file), text);
  }
}

function projectFile(text: string): void {
  fs.writeFileSync(path.join(checkout, PROJECT, "Pulumi.yaml"), `name: app\n${text}`);
}

const refusal = (run: () => void): ProgramPathError => thrownBy(run, ProgramPathError);

const env = (overrides: Partial<{ project: string; policyPacks: string[] }> = {}) => ({
  file: FILE,
  project: overrides.project ?? PROJECT,
  gates: { policyPacks: overrides.policyPacks ?? [] },
});
const check = (overrides?: Parameters<typeof env>[0]) => () => assertProgramPaths(checkout, env(overrides));

describe("assertProgramPaths", () => {
  it("lets a plain project through, with links that stay inside it", () => {
    projectFile(
      "runtime:\n  name: nodejs\n  options:\n    nodeargs: --max-old-space-size=4096 -r ./setup.js\n",
    );
    fs.mkdirSync(path.join(checkout, PROJECT, "lib"));
    fs.symlinkSync("../index.ts", path.join(checkout, PROJECT, "lib", "index.ts"));
    // The link the dependency step replaces with its own before anything runs.
    fs.symlinkSync(outside, path.join(checkout, PROJECT, "node_modules"));
    expect(check()).not.toThrow();
  });

  it("lets a folder that is not there through: the step that needs it says so", () => {
    expect(check({ project: "stacks/missing", policyPacks: ["policies/missing"] })).not.toThrow();
  });

  it("refuses a project folder that is a symbolic link", () => {
    fs.rmSync(path.join(checkout, PROJECT), { recursive: true });
    fs.symlinkSync(outside, path.join(checkout, PROJECT));
    const err = refusal(check());
    expect(err).toMatchObject({ problem: "symlinked-folder", where: `${FILE}: project`, path: PROJECT });
    expect(err.expected).toMatch(/not a symbolic link/);
    expect(err.message).toContain(`${FILE}: project 'stacks/app' is a symbolic link (to '${outside}')`);
  });

  it("refuses a project folder reached through a symbolic link, even one inside the checkout", () => {
    fs.renameSync(path.join(checkout, "stacks"), path.join(checkout, "real-stacks"));
    fs.symlinkSync("real-stacks", path.join(checkout, "stacks"));
    const err = refusal(check());
    expect(err.problem).toBe("symlinked-folder");
    expect(err.message).toContain("passes through the symbolic link stacks (to 'real-stacks')");
  });

  it("refuses a project folder outside the checkout", () => {
    expect(refusal(check({ project: "../outside" }))).toMatchObject({
      problem: "outside",
      path: "../outside",
    });
  });

  it("refuses a main outside the project folder: relative, absolute, or through a link", () => {
    projectFile("runtime: nodejs\nmain: ../../other\n");
    const err = refusal(check());
    expect(err).toMatchObject({
      problem: "outside",
      where: `${PROJECT}/Pulumi.yaml: main`,
      path: "../../other",
      expected: `a relative path inside the project folder ${PROJECT}`,
    });
    expect(err.message).toMatch(
      /^stacks\/app\/Pulumi\.yaml: main '\.\.\/\.\.\/other' resolves outside the project folder stacks\/app;/,
    );

    projectFile(`runtime: nodejs\nmain: ${outside}\n`);
    expect(refusal(check())).toMatchObject({ problem: "outside", path: outside });

    fs.symlinkSync(outside, path.join(checkout, PROJECT, "elsewhere"));
    projectFile("runtime: nodejs\nmain: elsewhere/index.js\n");
    expect(refusal(check())).toMatchObject({ problem: "outside", path: "elsewhere/index.js" });
  });

  it("lets a main inside the project folder through", () => {
    projectFile("runtime: nodejs\nmain: src/\n");
    fs.mkdirSync(path.join(checkout, PROJECT, "src"));
    expect(check()).not.toThrow();
  });

  it.each([
    ["stackConfigDir", "stackConfigDir: ../config\n", "stackConfigDir", "../config"],
    ["a config folder (the old form)", "config: ../../config\n", "config", "../../config"],
    [
      "a plugin path",
      "plugins:\n  providers:\n    - name: aws\n      path: /opt/plugins/aws\n",
      "plugins.providers[0].path",
      "/opt/plugins/aws",
    ],
    ["a local package", "packages:\n  mine: ../component\n", "packages.mine", "../component"],
    [
      "a local package source",
      "packages:\n  mine:\n    source: ../component\n",
      "packages.mine",
      "../component",
    ],
    [
      "a node argument",
      "runtime:\n  name: nodejs\n  options:\n    nodeargs: --require=/tmp/evil.js\n",
      "runtime.options.nodeargs",
      "--require=/tmp/evil.js",
    ],
    [
      "a file URL",
      "runtime:\n  name: nodejs\n  options:\n    nodeargs: --import file:///tmp/evil.mjs\n",
      "runtime.options.nodeargs",
      "--import file:///tmp/evil.mjs",
    ],
    [
      "a runtime binary",
      "runtime:\n  name: go\n  options:\n    binary: ../bin/app\n",
      "runtime.options.binary",
      "../bin/app",
    ],
  ])("refuses %s outside the project folder", (_, text, field, written) => {
    projectFile(text.startsWith("runtime:") ? text : `runtime: nodejs\n${text}`);
    expect(refusal(check())).toMatchObject({
      problem: "outside",
      where: `${PROJECT}/Pulumi.yaml: ${field}`,
      path: written,
    });
  });

  it("lets registry packages and URLs through", () => {
    projectFile(
      "runtime: nodejs\npackages:\n  a: terraform-provider\n  b: github.com/org/repo@v1.0.0\n  c: https://example.com/x\n",
    );
    expect(check()).not.toThrow();
  });

  it("refuses a project that names its own backend", () => {
    projectFile("runtime: nodejs\nbackend:\n  url: file://../../state\n");
    expect(refusal(check())).toMatchObject({
      problem: "backend",
      where: `${PROJECT}/Pulumi.yaml: backend.url`,
      path: "file://../../state",
    });
  });

  it("refuses a project file it cannot read, rather than let its paths through unchecked", () => {
    projectFile("runtime: nodejs\nmain: src\nmain: ../other\n");
    expect(refusal(check())).toMatchObject({
      problem: "unreadable",
      where: `project folder ${PROJECT}`,
      path: `${PROJECT}/Pulumi.yaml`,
    });
  });

  it.each(["Pulumi.yml", "Pulumi.json"])("reads %s too", (name) => {
    fs.rmSync(path.join(checkout, PROJECT, "Pulumi.yaml"));
    write(checkout, { [`${PROJECT}/${name}`]: '{"name": "app", "runtime": "nodejs", "main": "../other"}\n' });
    expect(refusal(check())).toMatchObject({ where: `${PROJECT}/${name}: main` });
  });

  it("refuses a link inside the project folder that points out of it", () => {
    fs.mkdirSync(path.join(checkout, PROJECT, "lib"));
    fs.symlinkSync(path.join(outside, "index.js"), path.join(checkout, PROJECT, "lib", "helper.js"));
    expect(refusal(check())).toMatchObject({
      problem: "escaping-link",
      where: `symbolic link ${PROJECT}/lib/helper.js`,
      path: path.join(outside, "index.js"),
    });
  });

  it("refuses an escaping link that dangles, a relative one, and one to a sibling folder of the checkout", () => {
    const link = path.join(checkout, PROJECT, "up");
    fs.symlinkSync("../../../nowhere", link);
    expect(refusal(check()).problem).toBe("escaping-link");
    fs.rmSync(link);
    fs.mkdirSync(path.join(checkout, "stacks", "shared"));
    fs.symlinkSync("../shared", link);
    expect(refusal(check()).problem).toBe("escaping-link");
  });

  it("refuses a node_modules link anywhere but the program's package folder", () => {
    fs.mkdirSync(path.join(checkout, PROJECT, "lib"));
    fs.symlinkSync(outside, path.join(checkout, PROJECT, "lib", "node_modules"));
    expect(refusal(check())).toMatchObject({ problem: "escaping-link", path: outside });
  });

  it("checks the policy pack folders the definition names", () => {
    write(checkout, { "policies/base/PulumiPolicy.yaml": "runtime: nodejs\nmain: ../../../outside\n" });
    expect(refusal(check({ policyPacks: ["policies/base"] }))).toMatchObject({
      problem: "outside",
      where: "policies/base/PulumiPolicy.yaml: main",
      expected: "a relative path inside the policy pack folder policies/base",
    });

    fs.rmSync(path.join(checkout, "policies", "base"), { recursive: true });
    fs.symlinkSync(outside, path.join(checkout, "policies", "base"));
    expect(refusal(check({ policyPacks: ["policies/base"] }))).toMatchObject({
      problem: "symlinked-folder",
      where: `${FILE}: gates.policyPacks[0]`,
    });
    expect(refusal(() => assertPolicyPackPaths(checkout, "policies/base"))).toMatchObject({
      problem: "symlinked-folder",
      where: "policy pack",
    });
  });
});
