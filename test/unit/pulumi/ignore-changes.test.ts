import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ignoreChangesEnv } from "../../../src/adapters/pulumi/ignore-changes";

// The hook on a stand-in for @pulumi/pulumi's runtime/stack module: the real one is proven on a real
// stack in test/integration/drift-ignore.test.ts.
describe("the ignoreChanges hook", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tidegate-hook-"));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(
    path.join(dir, "stack.js"),
    `const transforms = [];
exports.registerStackTransformation = (t) => transforms.push(t);
exports.runInPulumiStack = async (init) => { await init(); return transforms; };`,
  );
  fs.writeFileSync(
    path.join(dir, "program.js"),
    `const stack = require("./stack.js");
stack.runInPulumiStack(async () => {}).then((transforms) => {
  const run = (type, name) => transforms.reduce((args, t) => t(args) ?? args,
    { type, name, props: { tags: {} }, opts: { ignoreChanges: ["own"] } }).opts.ignoreChanges;
  console.log(JSON.stringify([transforms.length, run("aws:s3/bucket:Bucket", "artifacts"), run("aws:sqs/queue:Queue", "events")]));
});`,
  );
  const run = (env: Record<string, string>) =>
    JSON.parse(
      execFileSync(process.execPath, [path.join(dir, "program.js")], {
        env: { PATH: process.env.PATH ?? "", ...env },
        encoding: "utf8",
      }),
    ) as unknown;

  it("registers a transformation adding the rules' paths to the matching resources' ignoreChanges", () => {
    const env = ignoreChangesEnv(
      [{ type: "^aws:s3/.*$", name: "^artifacts$", paths: ["tags.team"] }],
      undefined,
    );
    expect(run(env)).toEqual([1, ["own", "tags.team"], ["own"]]);
  });

  it("adds nothing without rules, and keeps NODE_OPTIONS already set", () => {
    expect(ignoreChangesEnv([], "--max-old-space-size=512")).toEqual({});
    const env = ignoreChangesEnv([{ type: "^.*$", name: "^.*$", paths: ["x"] }], "--max-old-space-size=512");
    expect(env.NODE_OPTIONS).toMatch(/^--max-old-space-size=512 --import=data:text\/javascript,/);
    expect(run({})).toEqual([0, ["own"], ["own"]]);
  });
});
