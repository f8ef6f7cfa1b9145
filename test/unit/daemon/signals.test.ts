import { describe, expect, it } from "vitest";
import { FORCED_EXIT_CODE, onShutdown } from "../../../src/daemon/signals";
import { fakeProcess } from "../../helpers/signals";

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe("onShutdown", () => {
  it("calls the handler once on the first signal, and forces exit 130 on the second", async () => {
    const proc = fakeProcess();
    const lines: string[] = [];
    const calls: string[] = [];
    let finish!: () => void;
    onShutdown(
      (signal) => {
        calls.push(signal);
        return new Promise<void>((resolve) => (finish = resolve));
      },
      { target: proc.target, write: (line) => lines.push(line), running: () => ["test:drift", "prod:sync"] },
    );

    proc.send("SIGTERM");
    await tick();
    expect(calls).toEqual(["SIGTERM"]);
    expect(proc.exits).toEqual([]);

    proc.send("SIGINT");
    expect(calls).toEqual(["SIGTERM"]);
    expect(proc.exits).toEqual([FORCED_EXIT_CODE]);
    expect(lines).toEqual([
      "received SIGINT again; exiting now (still running: test:drift, prod:sync); an update cut short leaves pending operations: see `tidegate status` and run `tidegate recover <env>`",
    ]);
    finish();
  });

  it("with cancel: the second signal cancels gracefully, the third forces exit 130", async () => {
    const proc = fakeProcess();
    const lines: string[] = [];
    let cancels = 0;
    let handled = 0;
    onShutdown(
      async () => {
        handled += 1;
        await new Promise<void>(() => undefined);
      },
      { target: proc.target, write: (line) => lines.push(line), cancel: () => (cancels += 1) },
    );

    proc.send("SIGINT");
    await tick();
    expect([handled, cancels, proc.exits]).toEqual([1, 0, []]);

    proc.send("SIGINT");
    expect([handled, cancels, proc.exits]).toEqual([1, 1, []]);
    expect(lines[0]).toMatch(/^received SIGINT again; cancelling the work in flight through Pulumi/);
    expect(lines[0]).toContain("says whether it left pending operations");

    proc.send("SIGINT");
    expect([handled, cancels, proc.exits]).toEqual([1, 1, [FORCED_EXIT_CODE]]);
    expect(lines[1]).toMatch(/^received SIGINT again; exiting now \(nothing was running\)/);
  });

  it("exits with 1 when the handler fails", async () => {
    const proc = fakeProcess();
    const lines: string[] = [];
    onShutdown(
      async () => {
        throw new Error("store not flushed");
      },
      { target: proc.target, write: (line) => lines.push(line) },
    );
    proc.send("SIGINT");
    await tick();
    expect(proc.exits).toEqual([1]);
    expect(lines).toEqual(["shutdown failed: store not flushed"]);
  });

  it("leaves exiting to the caller when the handler succeeds", async () => {
    const proc = fakeProcess();
    onShutdown(async () => undefined, { target: proc.target, write: () => undefined });
    proc.send("SIGTERM");
    await tick();
    expect(proc.exits).toEqual([]);
  });

  it("uninstalls its handlers", () => {
    const proc = fakeProcess();
    const uninstall = onShutdown(async () => undefined, { target: proc.target });
    expect(proc.listeners("SIGINT")).toBe(1);
    expect(proc.listeners("SIGTERM")).toBe(1);
    uninstall();
    expect(proc.listeners("SIGINT")).toBe(0);
    expect(proc.listeners("SIGTERM")).toBe(0);
  });

  it("installs on the real process and uninstalls cleanly", () => {
    const before = process.listenerCount("SIGTERM");
    const uninstall = onShutdown(async () => undefined);
    expect(process.listenerCount("SIGTERM")).toBe(before + 1);
    uninstall();
    expect(process.listenerCount("SIGTERM")).toBe(before);
  });
});
