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

  it("binds a referenced stack's own folder read-only where the engine reads its project's stacks", () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "sandbox-refs-"));
    const shared = path.join(dir, ".pulumi", "stacks", "cloud");
    const own = path.join(dir, ISOLATED_DIR, "cloud", "test");
    // cloud's `test` was last deployed outside a sandbox: a plain file, adopted into its folder.
    fs.mkdirSync(shared, { recursive: true });
    fs.writeFileSync(path.join(shared, "test.json"), '{"from":"cloud"}');
    fs.writeFileSync(path.join(shared, "prod.json"), "{}");

    const binds = referencedStackState(dir, [{ project: "cloud", stack: "test" }]);
    expect(binds).toEqual([{ from: own, to: shared }]);
    expect(fs.readdirSync(own)).toEqual(["test.json"]);
    expect(fs.readFileSync(path.join(shared, "test.json"), "utf8")).toBe('{"from":"cloud"}');
    // Read-only, after the folders it sits in; nothing of prod.
    const args = bubblewrapArgs({ system: [], readOnly: binds, readWrite: [{ from: dir }] });
    expect(args.join(" ")).toContain(`--ro-bind ${own} ${shared}`);
    expect(args.indexOf(dir)).toBeLessThan(args.indexOf(own));
    expect(args.join(" ")).not.toContain("prod");
  });

  it("binds the checkpoint files one by one for two referenced stacks of one project", () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "sandbox-refs-"));
    const shared = path.join(dir, ".pulumi", "stacks", "net");
    fs.mkdirSync(shared, { recursive: true });
    fs.writeFileSync(path.join(shared, "blue.json"), "{}");
    const binds = referencedStackState(dir, [
      { project: "net", stack: "blue" },
      { project: "net", stack: "green" }, // never deployed: nothing to bind
    ]);
    expect(binds).toEqual([
      { from: path.join(dir, ISOLATED_DIR, "net", "blue", "blue.json"), to: path.join(shared, "blue.json") },
    ]);
  });

  it("prepares a stack never deployed (an empty folder until it is), and refuses names that are not plain", () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "sandbox-refs-"));
    const [bind] = referencedStackState(dir, [{ project: "cloud", stack: "test" }]);
    expect(fs.readdirSync(bind!.from)).toEqual([]);
    expect(() => referencedStackState(dir!, [{ project: "cloud", stack: "../prod" }])).toThrow(SandboxError);
    expect(() => referencedStackState(dir!, [{ project: "..", stack: "test" }])).toThrow(SandboxError);
  });
});
