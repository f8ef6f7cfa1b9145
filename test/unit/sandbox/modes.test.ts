import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { BWRAP_REASON, bubblewrapWorks } from "../../helpers/sandbox";
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

describe.skipIf(!bubblewrapWorks())(`StackSandbox with a worktree around shared state${BWRAP_REASON}`, () => {
  it("refuses to bind a worktree that holds the backend", async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "tidegate-sandbox-"));
    try {
      fs.mkdirSync(path.join(root, ".git"));
      fs.writeFileSync(path.join(root, "Pulumi.yaml"), "name: app\n");
      const sandbox = new StackSandbox({
        ...options,
        mode: "bubblewrap",
        bwrap: "bwrap",
        backendUrl: `file://${path.join(root, ".tidegate", "state")}`,
      });
      await expect(sandbox.forStack({ ...request, projectDir: root })).rejects.toThrow(
        /which every environment shares/,
      );
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
