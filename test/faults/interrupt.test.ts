import * as fs from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, it } from "vitest";
import { bubblewrapWorks } from "../helpers/sandbox";
import { blockingSync, type BlockingSync, startTidegate, waitForFile } from "./blocking-update";

// Ctrl-C in a terminal reaches the foreground process group: tidegate's. The processes tidegate
// starts are in sessions of their own, so only tidegate hears it, and it decides: the first lets
// the update finish, the second cancels it through Pulumi's own cancellation.
describe.each([
  { sandbox: "off" as const },
  ...(bubblewrapWorks() ? [{ sandbox: "bubblewrap" as const }] : []),
])("Ctrl-C during `tidegate sync` (sandbox: $sandbox)", ({ sandbox }) => {
  let fixture: BlockingSync | undefined;
  afterEach(() => fixture?.cleanup());

  it("the first lets the update finish: Synced, exit 130", { timeout: 300_000 }, async () => {
    fixture = await blockingSync({ sandbox });
    const tidegate = startTidegate(["sync", "test", "--config", fixture.configPath], fixture.root);
    await waitForFile(fixture.startedFile, tidegate);

    process.kill(-tidegate.child.pid!, "SIGINT");
    await sleep(2_000);
    expect(tidegate.child.exitCode, tidegate.output()).toBeNull();
    expect(tidegate.output()).toContain(
      "SIGINT: letting syncing test finish (an update in flight is not interrupted)",
    );

    fs.writeFileSync(fixture.releaseFile, "go");
    const exit = await tidegate.exit;
    expect(exit, tidegate.output()).toEqual({ code: 130, signal: null });
    expect(tidegate.output()).toMatch(/test\s.*Synced/);
    expect(tidegate.output()).not.toContain("was cancelled");
  });

  it("the second cancels it through Pulumi and says what state it left", { timeout: 300_000 }, async () => {
    fixture = await blockingSync({ sandbox });
    const tidegate = startTidegate(["sync", "test", "--config", fixture.configPath], fixture.root);
    await waitForFile(fixture.startedFile, tidegate);

    process.kill(-tidegate.child.pid!, "SIGINT");
    await sleep(1_000);
    process.kill(-tidegate.child.pid!, "SIGINT");
    await sleep(2_000);
    expect(tidegate.output()).toContain("cancelling the work in flight through Pulumi");
    // Pulumi's cancellation lets the create under way finish, then stops the update.
    expect(tidegate.child.exitCode, tidegate.output()).toBeNull();
    fs.writeFileSync(fixture.releaseFile, "go");

    const exit = await tidegate.exit;
    expect(exit, tidegate.output()).toEqual({ code: 130, signal: null });
    const output = tidegate.output();
    expect(output).toContain("environment 'test' (stack test): pulumi up was cancelled on request");
    // The create under way finished before Pulumi stopped: nothing is left pending.
    expect(output).toContain(
      "no pending operations remain: the stack is consistent and the next sync finishes the change",
    );
    expect(output).toContain("test: Failed");
  });
});
