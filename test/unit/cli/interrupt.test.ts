import { describe, expect, it } from "vitest";
import { pulumiCancellation } from "../../../src/adapters/pulumi/deadline";
import { interruptible, INTERRUPTED_EXIT_CODE } from "../../../src/cli/interrupt";
import { fakeProcess } from "../../helpers/signals";

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe("interruptible (one-shot commands)", () => {
  it("without a signal: the work's value, not interrupted, handlers removed", async () => {
    const proc = fakeProcess();
    const result = await interruptible(
      "syncing test",
      () => undefined,
      async () => 42,
      proc.target,
    );
    expect(result).toEqual({ value: 42, interrupted: false });
    expect(proc.listeners("SIGINT")).toBe(0);
  });

  it("the first signal lets the work finish and says so; the result says it was interrupted", async () => {
    const proc = fakeProcess();
    const lines: string[] = [];
    let finish!: (value: string) => void;
    const result = interruptible(
      "syncing test",
      (text) => lines.push(text),
      () => new Promise<string>((resolve) => (finish = resolve)),
      proc.target,
    );
    proc.send("SIGINT");
    await tick();
    expect(lines).toEqual([
      "tidegate: SIGINT: letting syncing test finish (an update in flight is not interrupted); SIGINT again cancels it through Pulumi\n",
    ]);
    expect(pulumiCancellation.cancelled).toBe(false);
    finish("Synced");
    expect(await result).toEqual({ value: "Synced", interrupted: true });
    expect(INTERRUPTED_EXIT_CODE).toBe(130);
    expect(proc.exits).toEqual([]);
  });
});
