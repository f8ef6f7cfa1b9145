import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, it } from "vitest";
import { bubblewrapWorks } from "../helpers/sandbox";
import { startedBy } from "../helpers/processes";
import { blockingSync, type BlockingSync, startTidegate, waitForFile } from "./blocking-update";

// `kill -9` of tidegate while an update runs: everything it started (the Pulumi CLI, its wrapper,
// the language host running the program, the dynamic provider holding the blocked create) dies
// with it, through the parent-death signal and the pid namespace the CLI runs in.
describe.each([
  { sandbox: "off" as const },
  ...(bubblewrapWorks() ? [{ sandbox: "bubblewrap" as const }] : []),
])("kill -9 of tidegate mid-update (sandbox: $sandbox)", ({ sandbox }) => {
  let fixture: BlockingSync | undefined;
  afterEach(() => fixture?.cleanup());

  it("leaves no process it started running", { timeout: 300_000 }, async () => {
    fixture = await blockingSync({ sandbox });
    const tidegate = startTidegate(["sync", "test", "--config", fixture.configPath], fixture.root);
    await waitForFile(fixture.startedFile, tidegate);
    const pid = tidegate.child.pid!;

    // Mid-update: the CLI, the language host and the provider run, all started by tidegate.
    const before = startedBy(pid, fixture.root);
    expect(
      before.some((p) => /\/pulumi( |$)/.test(p.cmdline)),
      JSON.stringify(before, null, 1),
    ).toBe(true);
    expect(before.some((p) => p.cmdline.includes("pulumi-language-nodejs"))).toBe(true);
    expect(
      before.some((p) => p.cmdline.includes("@pulumi/pulumi/cmd/dynamic-provider")),
      JSON.stringify(before, null, 1),
    ).toBe(true);

    process.kill(pid, "SIGKILL");
    expect(await tidegate.exit).toEqual({ code: null, signal: "SIGKILL" });

    // Within a few seconds, none of them is left (orphans keep the test's folder in their command
    // line or working folder, so they are found even without their parent).
    const deadline = Date.now() + 5_000;
    let left = startedBy(pid, fixture.root);
    while (left.length > 0 && Date.now() < deadline) {
      await sleep(200);
      left = startedBy(pid, fixture.root);
    }
    expect(left, JSON.stringify(left, null, 1)).toEqual([]);
  });
});
