import { type ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { probeContainment, type ContainmentLevel } from "../../../src/adapters/sandbox/contain";
import { containedScript } from "../../../src/adapters/sandbox/wrapper";

// The wrapper standing in for `pulumi` when stacks run unsandboxed, run for real around a stand-in
// CLI: a Node script that reports its session, stops on SIGINT (or ignores it when told), and
// starts a grandchild in a session of its own (as Pulumi's plugins may be).

const FAKE_CLI = `#!/usr/bin/env node
const fs = require("fs");
const [out, mode] = process.argv.slice(2);
const child = require("child_process").spawn("sleep", ["600"], { stdio: "ignore", detached: true });
fs.writeFileSync(out, JSON.stringify({ pid: process.pid, grandchild: child.pid }));
process.on("SIGINT", () => {
  fs.appendFileSync(out + ".log", "SIGINT\\n");
  if (mode !== "stubborn") setTimeout(() => process.exit(4), 100);
});
setInterval(() => undefined, 1000);
`;

const alive = (pid: number): boolean => {
  try {
    const state = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.[0];
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
};

async function until(what: string, check: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

describe("containedScript", async () => {
  const containment = await probeContainment();
  let dir: string;
  const started: ChildProcess[] = [];
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "tidegate-contain-"))));
  afterEach(() => {
    for (const child of started.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function start(level: ContainmentLevel, mode = "polite") {
    const cli = path.join(dir, "pulumi-real");
    fs.writeFileSync(cli, FAKE_CLI, { mode: 0o755 });
    const wrapper = path.join(dir, "pulumi");
    fs.writeFileSync(
      wrapper,
      containedScript({ bwrap: "bwrap", pulumi: cli, containment: level, graceSeconds: 2 }),
      {
        mode: 0o755,
      },
    );
    const out = path.join(dir, "cli.json");
    const child = spawn(wrapper, [out, mode], { stdio: "ignore" });
    started.push(child);
    const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.on("exit", (code, signal) => resolve({ code, signal })),
    );
    const info = async () => {
      await until("the CLI to start", () => fs.existsSync(out) && fs.readFileSync(out, "utf8") !== "");
      return JSON.parse(fs.readFileSync(out, "utf8")) as { pid: number; grandchild: number };
    };
    return { child, exit, info, log: () => fs.readFileSync(`${out}.log`, "utf8") };
  }

  it("runs the CLI outside the caller's session and passes SIGINT on: the CLI stops on its own", async () => {
    const run = start(containment.level);
    await run.info();
    // The wrapper (the pid the Automation API signals) leads a session of its own.
    const session = (pid: number | undefined) =>
      Number(
        fs
          .readFileSync(`/proc/${pid ?? "self"}/stat`, "utf8")
          .split(") ")[1]!
          .split(" ")[3],
      );
    expect(session(run.child.pid)).toBe(run.child.pid);
    expect(session(undefined)).not.toBe(run.child.pid);
    run.child.kill("SIGINT");
    expect(await run.exit).toEqual({ code: 4, signal: null });
    expect(run.log()).toBe("SIGINT\n");
  });

  it("leaves SIGINT and SIGQUIT to the CLI and what it starts (a background job of a script ignores them)", async () => {
    // A stand-in that keeps the dispositions it inherited (Node would reset them when it starts, as
    // Go programs such as Pulumi's plugins do not).
    const cli = path.join(dir, "pulumi-real");
    fs.writeFileSync(cli, '#!/bin/bash\ngrep SigIgn /proc/self/status > "$1"\n', { mode: 0o755 });
    const wrapper = path.join(dir, "pulumi");
    fs.writeFileSync(
      wrapper,
      containedScript({ bwrap: "bwrap", pulumi: cli, containment: containment.level }),
      {
        mode: 0o755,
      },
    );
    const out = path.join(dir, "status");
    const child = spawn(wrapper, [out], { stdio: "ignore" });
    started.push(child);
    await new Promise((resolve) => child.on("exit", resolve));
    const sigIgn = /SigIgn:\s*(\w+)/.exec(fs.readFileSync(out, "utf8"))?.[1] ?? "";
    // Bits 2 and 3: SIGINT and SIGQUIT.
    expect(BigInt(`0x${sigIgn}`) & 0b110n).toBe(0n);
  });

  it("kills a CLI that does not stop within the grace period", async () => {
    const run = start(containment.level, "stubborn");
    await run.info();
    const t0 = Date.now();
    run.child.kill("SIGINT");
    expect(await run.exit).toEqual({ code: null, signal: "SIGKILL" });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1_500);
    expect(run.log()).toBe("SIGINT\n");
  });

  it.skipIf(containment.level !== "namespace")(
    `in a pid namespace, everything the CLI started dies with the wrapper's parent, even on SIGKILL${containment.level === "namespace" ? "" : ` — skipped: containment here is '${containment.level}' (bubblewrap cannot make a pid namespace)`}`,
    async () => {
      // The wrapper's parent here is a shell the test kills, as tidegate would be.
      const cli = path.join(dir, "pulumi-real");
      fs.writeFileSync(cli, FAKE_CLI, { mode: 0o755 });
      const wrapper = path.join(dir, "pulumi");
      fs.writeFileSync(wrapper, containedScript({ bwrap: "bwrap", pulumi: cli, containment: "namespace" }), {
        mode: 0o755,
      });
      const out = path.join(dir, "cli.json");
      const parent = spawn("/bin/sh", ["-c", `"${wrapper}" "${out}" polite & wait`], { stdio: "ignore" });
      started.push(parent);
      await until("the CLI to start", () => fs.existsSync(out) && fs.readFileSync(out, "utf8") !== "");
      // The pids it wrote are its namespace's; find the host's by the command line.
      const hostPids = fs
        .readdirSync("/proc")
        .filter((e) => /^\d+$/.test(e))
        .filter((e) => {
          try {
            return (
              fs.readFileSync(`/proc/${e}/cmdline`, "utf8").includes(dir) ||
              fs.readlinkSync(`/proc/${e}/cwd`).startsWith(dir)
            );
          } catch {
            return false;
          }
        })
        .map(Number);
      expect(hostPids.length).toBeGreaterThanOrEqual(2);
      parent.kill("SIGKILL");
      await until("every process to die", () => hostPids.every((pid) => !alive(pid)), 5_000);
    },
  );
});
