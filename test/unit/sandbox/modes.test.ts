import { describe, expect, it } from "vitest";
import { SandboxError, StackSandbox } from "../../../src/adapters/sandbox";

const options = {
  dir: "/nonexistent/sandbox",
  backendUrl: "file:///nonexistent/state",
  toolchain: { root: "/nonexistent/pulumi", binDir: "/nonexistent/pulumi/bin" },
  dependencyCacheDir: "/nonexistent/deps",
  bwrap: "/nonexistent/bwrap",
};
const request = { environment: "test", stack: "test", projectDir: "/nonexistent/project", envNames: [] };

describe("StackSandbox without a working bubblewrap", () => {
  it("auto: runs stacks unsandboxed and says so once", async () => {
    const told: string[] = [];
    const sandbox = new StackSandbox({ ...options, mode: "auto", onUnavailable: (d) => told.push(d) });
    expect(await sandbox.forStack(request)).toBeUndefined();
    expect(await sandbox.enabled()).toBe(false);
    expect(told).toEqual(["/nonexistent/bwrap is not installed"]);
  });

  it("bubblewrap: refuses to run a stack at all, naming the cause", async () => {
    const sandbox = new StackSandbox({ ...options, mode: "bubblewrap" });
    await expect(sandbox.forStack(request)).rejects.toThrow(SandboxError);
    await expect(sandbox.enabled()).rejects.toThrow(
      /configured in tidegate.yaml but \/nonexistent\/bwrap is not installed/,
    );
  });

  it("off: never probes", async () => {
    const sandbox = new StackSandbox({ ...options, mode: "off", onUnavailable: () => expect.fail("probed") });
    expect(await sandbox.forStack(request)).toBeUndefined();
  });
});
