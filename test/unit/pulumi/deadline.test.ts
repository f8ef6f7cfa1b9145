import { describe, expect, it } from "vitest";
import {
  boundedRun,
  operationOf,
  PulumiCancellation,
  PulumiCancelledError,
  PulumiTimeoutError,
  type RunCommand,
} from "../../../src/adapters/pulumi/deadline";

const TIMEOUTS = { previewMs: 50, updateMs: 80, refreshMs: 50, stackMs: 60 };
const SUBJECT = "environment 'test' (stack test)";

/** A stand-in for the Automation API's run: fails as the CLI does when its signal aborts, else answers after `ms`. */
function fakeRun(ms: number, seen: AbortSignal[] = []): RunCommand {
  return (_args, _cwd, _env, _onOutput, _onError, signal) => {
    if (signal) seen.push(signal);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => resolve("done"), ms);
      signal?.addEventListener("abort", () => {
        clearTimeout(timer);
        reject(new Error("code: 255 stderr: update canceled"));
      });
    });
  };
}

describe("boundedRun", () => {
  it("names each command line's operation", () => {
    expect(["preview", "up", "destroy", "refresh", "stack"].map((a) => operationOf([a, "--x"]))).toEqual([
      "preview",
      "update",
      "update",
      "refresh",
      "stack",
    ]);
  });

  it("lets a call within its deadline answer", async () => {
    const run = boundedRun(fakeRun(5), {
      timeouts: TIMEOUTS,
      subject: SUBJECT,
      cancellation: new PulumiCancellation(),
    });
    await expect(run(["up"], "/w", {})).resolves.toBe("done");
  });

  it("cancels an update past its deadline, with a timeout error naming it and the setting", async () => {
    const run = boundedRun(fakeRun(10_000), {
      timeouts: TIMEOUTS,
      subject: SUBJECT,
      cancellation: new PulumiCancellation(),
    });
    const error = await run(["up", "--yes"], "/w", {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PulumiTimeoutError);
    expect(error).toMatchObject({ kind: "timeout", operation: "update" });
    expect((error as Error).message).toBe(
      "environment 'test' (stack test): pulumi up did not finish within 80ms and was cancelled",
    );
    expect((error as PulumiTimeoutError).recovery).toContain("timeouts.update in tidegate.yaml");
    const left = (error as PulumiTimeoutError).withState({
      state: "1 pending operation(s) remain",
      recovery: "run `tidegate recover test`",
    });
    expect(left.message).toContain("was cancelled; 1 pending operation(s) remain");
    expect(left.recovery).toMatch(/^run `tidegate recover test`; check what the program waits for/);
  });

  it("gives stack commands their own deadline, and the process's cancellation never reaches them", async () => {
    const cancellation = new PulumiCancellation();
    cancellation.cancel();
    const seen: AbortSignal[] = [];
    const run = boundedRun(fakeRun(10_000, seen), { timeouts: TIMEOUTS, subject: SUBJECT, cancellation });
    const error = await run(["stack", "export", "--stack", "test"], "/w", {}).catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: "timeout", operation: "stack", command: "stack export" });
    expect((error as Error).message).toContain("within 60ms");
  });

  it("a cancellation stops the preview, update or refresh in flight, and refuses new ones", async () => {
    const cancellation = new PulumiCancellation();
    const run = boundedRun(fakeRun(10_000), {
      timeouts: { ...TIMEOUTS, updateMs: 60_000 },
      subject: SUBJECT,
      cancellation,
    });
    const inFlight = run(["up"], "/w", {}).catch((e: unknown) => e);
    cancellation.cancel();
    const error = await inFlight;
    expect(error).toBeInstanceOf(PulumiCancelledError);
    expect(error).toMatchObject({ kind: "interrupted" });
    expect((error as Error).message).toBe(
      "environment 'test' (stack test): pulumi up was cancelled on request",
    );
    await expect(run(["preview"], "/w", {})).rejects.toBeInstanceOf(PulumiCancelledError);
  });

  it("passes on a failure of its own unchanged", async () => {
    const broken: RunCommand = () => Promise.reject(new Error("code: 255 stderr: boom"));
    const run = boundedRun(broken, {
      timeouts: TIMEOUTS,
      subject: SUBJECT,
      cancellation: new PulumiCancellation(),
    });
    await expect(run(["up"], "/w", {})).rejects.toThrow("boom");
  });
});
