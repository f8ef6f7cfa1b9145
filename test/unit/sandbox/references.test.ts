import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { bubblewrapArgs } from "../../../src/adapters/sandbox/bubblewrap";
import { readableStacks } from "../../../src/adapters/sandbox/references";
import { isolateStackState, referencedStackState, SandboxError } from "../../../src/adapters/sandbox/state";

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

  it("binds another stack's checkpoint read-only where the engine reads it, through tidegate's links", () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "sandbox-refs-"));
    const shared = (project: string) => path.join(dir!, ".pulumi", "stacks", project);
    // cloud's `test` ran sandboxed (its checkpoint is a link); net's `test` plainly (a file).
    isolateStackState(dir, "cloud", "test");
    fs.writeFileSync(path.join(dir, ".tidegate-isolated", "cloud", "test", "test.json"), "{}");
    fs.mkdirSync(shared("net"), { recursive: true });
    fs.writeFileSync(path.join(shared("net"), "test.json"), "{}");
    fs.writeFileSync(path.join(shared("net"), "test.json.attrs"), "{}");
    fs.writeFileSync(path.join(shared("net"), "prod.json"), "{}");

    expect(referencedStackState(dir, "cloud", "test")).toEqual([
      {
        from: fs.realpathSync(path.join(dir, ".tidegate-isolated", "cloud", "test", "test.json")),
        to: path.join(shared("cloud"), "test.json"),
      },
    ]);
    const net = referencedStackState(dir, "net", "test");
    expect(net.map((b) => b.to)).toEqual([
      path.join(shared("net"), "test.json"),
      path.join(shared("net"), "test.json.attrs"),
    ]);
    // Read-only, after the folders they sit in; nothing of the project's other stacks.
    const args = bubblewrapArgs({ system: [], readOnly: net, readWrite: [{ from: dir }] });
    expect(args.join(" ")).toContain(`--ro-bind ${net[0]!.from} ${net[0]!.to}`);
    expect(args.indexOf(dir)).toBeLessThan(args.indexOf(net[0]!.to!));
    expect(args.join(" ")).not.toContain("prod.json");
  });

  it("binds nothing for a stack never deployed, and refuses names that are not plain", () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "sandbox-refs-"));
    expect(referencedStackState(dir, "cloud", "test")).toEqual([]);
    expect(() => referencedStackState(dir!, "cloud", "../prod")).toThrow(SandboxError);
    expect(() => referencedStackState(dir!, "..", "test")).toThrow(SandboxError);
  });
});
