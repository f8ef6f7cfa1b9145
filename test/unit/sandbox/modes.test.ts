import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
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

/** The wrapper forStack gave, when it is the unsandboxed one: the CLI contained, not isolated. */
function containedWrapper(result: { toolchain: { binDir: string }; pulumiHome?: string }): string {
  expect(result.pulumiHome).toBeUndefined();
  const script = fs.readFileSync(path.join(result.toolchain.binDir, "pulumi"), "utf8");
  expect(script).toContain("in a session of its own, dying with tidegate");
  expect(script).toContain("'/nonexistent/pulumi/bin/pulumi' \"$@\") &");
  return script;
}

describe("StackSandbox without a working bubblewrap", () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "tidegate-modes-"))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("auto: runs stacks unsandboxed, still contained, and says so once", async () => {
    const told: string[] = [];
    const sandbox = new StackSandbox({ ...options, dir, mode: "auto", onUnavailable: (d) => told.push(d) });
    containedWrapper(await sandbox.forStack(request));
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

  it("off: never probes for the sandbox, but the CLI is still contained", async () => {
    const sandbox = new StackSandbox({
      ...options,
      dir,
      mode: "off",
      onUnavailable: () => expect.fail("probed"),
    });
    containedWrapper(await sandbox.forStack(request));
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

describe.skipIf(!bubblewrapWorks())(`StackSandbox and an environment's own files${BWRAP_REASON}`, () => {
  it("binds a file outside the worktree (the kubeconfig) read-only, at its own path", async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "tidegate-sandbox-"));
    try {
      const worktree = path.join(root, "worktree");
      fs.mkdirSync(path.join(worktree, ".git"), { recursive: true });
      fs.writeFileSync(path.join(worktree, "Pulumi.yaml"), "name: app\n");
      const kubeconfig = path.join(root, "kube", "test.yaml");
      fs.mkdirSync(path.dirname(kubeconfig));
      fs.writeFileSync(kubeconfig, "clusters: []\n");
      const sandbox = new StackSandbox({
        ...options,
        dir: path.join(root, "sandbox"),
        mode: "bubblewrap",
        bwrap: "bwrap",
        backendUrl: `file://${path.join(root, "state")}`,
        dependencyCacheDir: path.join(root, "deps"),
      });
      const bound = (files?: string[]) =>
        sandbox
          .forStack({ ...request, projectDir: worktree, ...(files ? { files } : {}) })
          .then((result) => fs.readFileSync(path.join(result.toolchain.binDir, "pulumi"), "utf8"));
      expect(await bound([kubeconfig])).toContain(`'--ro-bind' '${kubeconfig}' '${kubeconfig}'`);
      expect(await bound()).not.toContain(kubeconfig);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
