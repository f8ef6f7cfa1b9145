import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { bubblewrapArgs } from "../../../src/adapters/sandbox/bubblewrap";
import { readableStacks } from "../../../src/adapters/sandbox/references";
import { ISOLATED_DIR, referencedStackState, SandboxError } from "../../../src/adapters/sandbox/state";

// cloud → cluster → app, and a dns stack app does not need; every stack is Pulumi stack `test`.
const STACKS = [
  { name: "cloud", project: "stacks/cloud", stack: "test", dependsOn: [] },
  { name: "dns", project: "stacks/dns", stack: "test", dependsOn: [] },
  { name: "cluster", project: "stacks/cluster", stack: "test", dependsOn: ["cloud"] },
  { name: "app", project: "stacks/app", stack: "test", dependsOn: ["cluster"] },
];

describe("readableStacks", () => {
  it("lists the stacks the opened one depends on, directly or through others, in its checkout", () => {
    expect(
      readableStacks({ project: "stacks/app", stack: "test", stacks: STACKS }, "/w/test/stacks/app"),
    ).toEqual([
      { projectDir: "/w/test/stacks/cloud", stack: "test" },
      { projectDir: "/w/test/stacks/cluster", stack: "test" },
    ]);
    expect(
      readableStacks({ project: "stacks/cluster", stack: "test", stacks: STACKS }, "/w/test/stacks/cluster/"),
    ).toEqual([{ projectDir: "/w/test/stacks/cloud", stack: "test" }]);
  });

  it("lists nothing for a stack depending on none, the one-stack form, or a stack not of the list", () => {
    expect(
      readableStacks({ project: "stacks/cloud", stack: "test", stacks: STACKS }, "/w/stacks/cloud"),
    ).toEqual([]);
    const one = [{ name: "test", project: ".", stack: "test", dependsOn: [] }];
    expect(readableStacks({ project: ".", stack: "test", stacks: one }, "/w/test")).toEqual([]);
    expect(readableStacks({ project: ".", stack: "test" }, "/w/test")).toEqual([]);
    // Another environment's stack of the same project: its own `stacks`, never this one's.
    expect(
      readableStacks({ project: "stacks/app", stack: "prod", stacks: STACKS }, "/w/prod/stacks/app"),
    ).toEqual([]);
  });
});

describe("referencedStackState", () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it("binds another stack's own folder read-only and links its checkpoint where the engine reads it", () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "sandbox-refs-"));
    const shared = path.join(dir, ".pulumi", "stacks", "cloud");
    const own = path.join(dir, ISOLATED_DIR, "cloud", "test");
    // cloud's `test` was last deployed outside a sandbox: a plain file, adopted into its folder.
    fs.mkdirSync(shared, { recursive: true });
    fs.writeFileSync(path.join(shared, "test.json"), '{"from":"cloud"}');
    fs.writeFileSync(path.join(shared, "prod.json"), "{}");

    const ref = referencedStackState(dir, "cloud", "test");
    expect(ref.readOnly).toEqual([{ from: own }]);
    expect(ref.links).toEqual([
      {
        target: path.join("..", "..", "..", ISOLATED_DIR, "cloud", "test", "test.json"),
        path: path.join(shared, "test.json"),
      },
      {
        target: path.join("..", "..", "..", ISOLATED_DIR, "cloud", "test", "test.json.attrs"),
        path: path.join(shared, "test.json.attrs"),
      },
    ]);
    // The link inside is the one outside: it reads the checkpoint, and nothing of prod is bound.
    expect(fs.readFileSync(path.resolve(shared, ref.links[0]!.target), "utf8")).toBe('{"from":"cloud"}');
    expect(fs.readFileSync(path.join(shared, "test.json"), "utf8")).toBe('{"from":"cloud"}');
    const args = bubblewrapArgs({ system: [], readOnly: ref.readOnly, readWrite: [], links: ref.links });
    expect(args.join(" ")).toContain(`--ro-bind ${own} ${own}`);
    expect(args.join(" ")).toContain(`--symlink ${ref.links[0]!.target} ${ref.links[0]!.path}`);
    expect(args.join(" ")).not.toContain("prod");
  });

  it("prepares a stack never deployed (its link dangles until it is), and refuses names that are not plain", () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "sandbox-refs-"));
    const ref = referencedStackState(dir, "cloud", "test");
    expect(fs.statSync(ref.readOnly[0]!.from).isDirectory()).toBe(true);
    expect(() => referencedStackState(dir!, "cloud", "../prod")).toThrow(SandboxError);
    expect(() => referencedStackState(dir!, "..", "test")).toThrow(SandboxError);
  });
});
