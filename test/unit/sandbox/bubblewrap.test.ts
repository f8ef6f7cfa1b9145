import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { bubblewrapArgs } from "../../../src/adapters/sandbox/bubblewrap";
import { isolateStackState, ISOLATED_DIR, SandboxError } from "../../../src/adapters/sandbox/state";
import { wrapperScript } from "../../../src/adapters/sandbox/wrapper";

/** The (option, from, to) triples of the binds in an argument list. */
function binds(args: string[]): string[][] {
  const out: string[][] = [];
  args.forEach((arg, i) => {
    if (arg === "--bind" || arg === "--ro-bind" || arg === "--symlink") out.push(args.slice(i, i + 3));
  });
  return out;
}

describe("bubblewrapArgs", () => {
  const layout = {
    system: [{ path: "/usr" }, { path: "/bin", link: "usr/bin" }],
    readOnly: [{ from: "/data/cache/deps" }, { from: "/opt/pulumi" }],
    readWrite: [
      { from: "/data/state/.tidegate-isolated/p/test", to: "/data/state/.pulumi/stacks/p" },
      { from: "/data/workspaces/test" },
    ],
  };

  it("unshares everything but the network, drops capabilities and nested namespaces, keeps /tmp private", () => {
    const args = bubblewrapArgs(layout);
    for (const flag of [
      "--unshare-all",
      "--share-net",
      "--disable-userns",
      "--die-with-parent",
      "--new-session",
    ]) {
      expect(args).toContain(flag);
    }
    expect(args.slice(args.indexOf("--cap-drop"), args.indexOf("--cap-drop") + 2)).toEqual([
      "--cap-drop",
      "ALL",
    ]);
    expect(args.slice(args.indexOf("--tmpfs"), args.indexOf("--tmpfs") + 2)).toEqual(["--tmpfs", "/tmp"]);
  });

  it("binds an environment's own folder at /tmp when given, before any bind under /tmp", () => {
    const args = bubblewrapArgs({
      ...layout,
      tmp: "/data/sandbox/prod/tmp",
      readWrite: [{ from: "/tmp/work/prod" }],
    });
    expect(args).not.toContain("--tmpfs");
    const at = args.indexOf("/data/sandbox/prod/tmp");
    expect(args.slice(at - 1, at + 2)).toEqual(["--bind", "/data/sandbox/prod/tmp", "/tmp"]);
    expect(args.indexOf("/tmp/work/prod")).toBeGreaterThan(at);
  });

  it("binds system paths read-only, keeps top-level symlinks, and the caller's paths as asked", () => {
    expect(binds(bubblewrapArgs(layout))).toEqual([
      ["--ro-bind", "/usr", "/usr"],
      ["--symlink", "usr/bin", "/bin"],
      ["--ro-bind", "/opt/pulumi", "/opt/pulumi"],
      ["--ro-bind", "/data/cache/deps", "/data/cache/deps"],
      ["--bind", "/data/workspaces/test", "/data/workspaces/test"],
      ["--bind", "/data/state/.tidegate-isolated/p/test", "/data/state/.pulumi/stacks/p"],
    ]);
  });

  it("mounts an outer folder before one inside it, whatever the order given", () => {
    const args = bubblewrapArgs({
      system: [],
      readOnly: [{ from: "/w/test/node_modules" }],
      readWrite: [{ from: "/w/test" }],
    });
    expect(binds(args)).toEqual([
      ["--bind", "/w/test", "/w/test"],
      ["--ro-bind", "/w/test/node_modules", "/w/test/node_modules"],
    ]);
  });
});

describe("wrapperScript", () => {
  const options = {
    bwrap: "/usr/bin/bwrap",
    args: ["--ro-bind", "/it's", "/it's"],
    pulumi: "/opt/pulumi/bin/pulumi",
    keepEnv: ["PULUMI_CONFIG_PASSPHRASE", "AWS_REGION", "not a name", "PATH"],
    setEnv: { PATH: "/opt/pulumi/bin:/usr/bin", TMPDIR: "/tmp" },
    hostTmp: "/tmp",
  };

  it("keeps only the named variables, sets the fixed ones, and never puts a value on a command line", () => {
    const script = wrapperScript(options);
    expect(script).toContain("keep=' PULUMI_CONFIG_PASSPHRASE AWS_REGION '");
    expect(script).toContain("export PATH='/opt/pulumi/bin:/usr/bin'");
    expect(script).not.toContain("--setenv");
    expect(script).toContain(`args=('--ro-bind' '/it'\\''s' '/it'\\''s')`);
  });

  it("runs: the env is filtered, and only the Automation API's temp entries are bound in", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tidegate-wrapper-"));
    try {
      // A stand-in for bwrap that prints what it was given: its arguments, then its environment.
      const fake = path.join(dir, "bwrap");
      fs.writeFileSync(fake, '#!/bin/bash\nprintf "%s\\n" "$@"; echo ---; env | sort\n', { mode: 0o755 });
      const logs = path.join(dir, "automation-logs-preview-1");
      fs.mkdirSync(logs);
      const script = path.join(dir, "pulumi");
      fs.writeFileSync(script, wrapperScript({ ...options, bwrap: fake, hostTmp: dir }), { mode: 0o755 });
      const out = execFileSync(
        script,
        ["preview", "--event-log", `${logs}/eventlog.txt`, "--policy-pack", `${dir}/other/pack`],
        {
          env: {
            PULUMI_CONFIG_PASSPHRASE: "s3cret",
            AWS_REGION: "eu-west-1",
            AWS_SECRET_ACCESS_KEY: "prod-key",
          },
        },
      ).toString();
      const [args, env] = out.split("---\n");
      expect(args).toContain(`--bind\n${logs}\n${logs}\n--\n/opt/pulumi/bin/pulumi\npreview\n`);
      expect(args).not.toContain(`--bind\n${dir}/other`);
      expect(args).not.toContain("s3cret");
      expect(env).toContain("PULUMI_CONFIG_PASSPHRASE=s3cret\n");
      expect(env).toContain("AWS_REGION=eu-west-1\n");
      expect(env).toContain("PATH=/opt/pulumi/bin:/usr/bin\n");
      expect(env).not.toContain("AWS_SECRET_ACCESS_KEY");
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("isolateStackState", () => {
  let backend: string;
  afterEach(() => fs.rmSync(backend, { recursive: true, force: true }));
  const stacks = () => path.join(backend, ".pulumi", "stacks", "app");

  it("moves a stack's checkpoint files to its own folder and leaves links; other stacks stay put", () => {
    backend = fs.mkdtempSync(path.join(os.tmpdir(), "tidegate-state-"));
    fs.mkdirSync(stacks(), { recursive: true });
    fs.writeFileSync(path.join(backend, ".pulumi", "meta.yaml"), "version: 1\n");
    fs.writeFileSync(path.join(stacks(), "test.json"), "test state");
    fs.writeFileSync(path.join(stacks(), "testing.json"), "another stack");
    fs.writeFileSync(path.join(stacks(), "prod.json"), "prod state");

    const result = isolateStackState(backend, "app", "test");
    const own = path.join(backend, ISOLATED_DIR, "app", "test");
    expect(fs.readlinkSync(path.join(stacks(), "test.json"))).toBe(
      `../../../${ISOLATED_DIR}/app/test/test.json`,
    );
    expect(fs.readFileSync(path.join(stacks(), "test.json"), "utf8")).toBe("test state");
    expect(fs.readFileSync(path.join(own, "test.json"), "utf8")).toBe("test state");
    expect(fs.lstatSync(path.join(stacks(), "testing.json")).isFile()).toBe(true);
    expect(fs.lstatSync(path.join(stacks(), "prod.json")).isFile()).toBe(true);
    expect(fs.readdirSync(own).sort()).toEqual(["test.json"]);
    expect(result.readWrite).toEqual([
      { from: own, to: stacks() },
      { from: path.join(backend, ".pulumi", "history", "app", "test") },
      { from: path.join(backend, ".pulumi", "backups", "app", "test") },
      { from: path.join(backend, ".pulumi", "locks", "organization", "app", "test") },
    ]);
    expect(result.readOnly).toEqual([{ from: path.join(backend, ".pulumi", "meta.yaml") }]);

    // A write outside any sandbox replaces the link with a file: the next isolation adopts it.
    fs.rmSync(path.join(stacks(), "test.json"));
    fs.writeFileSync(path.join(stacks(), "test.json"), "written by hand");
    isolateStackState(backend, "app", "test");
    expect(fs.lstatSync(path.join(stacks(), "test.json")).isSymbolicLink()).toBe(true);
    expect(fs.readFileSync(path.join(own, "test.json"), "utf8")).toBe("written by hand");
  });

  it("starts a new backend in Pulumi's project layout, and refuses the legacy one and odd names", () => {
    backend = fs.mkdtempSync(path.join(os.tmpdir(), "tidegate-state-"));
    isolateStackState(backend, "app", "test");
    expect(fs.readFileSync(path.join(backend, ".pulumi", "meta.yaml"), "utf8")).toBe("version: 1\n");
    expect(() => isolateStackState(backend, "app", "../prod")).toThrow(SandboxError);

    fs.rmSync(path.join(backend, ".pulumi"), { recursive: true });
    fs.mkdirSync(path.join(backend, ".pulumi", "stacks"), { recursive: true });
    fs.writeFileSync(path.join(backend, ".pulumi", "stacks", "prod.json"), "{}");
    expect(() => isolateStackState(backend, "app", "test")).toThrow(/legacy layout/);
  });
});
