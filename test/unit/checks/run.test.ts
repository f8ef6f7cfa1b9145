import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { GateCommandError } from "../../../src/adapters/commands/errors";
import { OUTPUT_LIMIT_BYTES } from "../../../src/adapters/commands/output";
import { commandKey, runCommand, type RunCommandOptions } from "../../../src/adapters/commands/run";
import type { GateCommand } from "../../../src/domain/gates";

// Real shells and real processes in a temp folder.

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "tidegate-check-"));
});
afterEach(() => {
  vi.unstubAllEnvs();
  fs.rmSync(dir, { recursive: true, force: true });
});

const AT = "2025-03-04T09:00:00.000Z";

const command = (run: string, overrides: Partial<GateCommand> = {}): GateCommand => ({
  name: "unit",
  run,
  timeoutMs: 20_000,
  ...overrides,
});

const run = (run: string, overrides: Partial<GateCommand> = {}, options: Partial<RunCommandOptions> = {}) =>
  runCommand(command(run, overrides), { cwd: dir, commit: "4f1c2a9e", now: () => new Date(AT), ...options });

/** Whether the process runs (a zombie nobody reaped yet counts as gone). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

async function eventually(condition: () => boolean, ms = 2_000): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (condition()) return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return condition();
}

const pidIn = (file: string): number => Number(fs.readFileSync(path.join(dir, file), "utf8").trim());

describe("runCommand", () => {
  it("returns a passing command's result, stdout and stderr in the order written", async () => {
    const result = await run("echo out1; echo err1 >&2; echo out2");
    expect(result).toEqual({
      name: "unit",
      command: "echo out1; echo err1 >&2; echo out2",
      commit: "4f1c2a9e",
      exitCode: 0,
      timedOut: false,
      durationMs: expect.any(Number),
      output: "out1\nerr1\nout2\n",
      at: AT,
    });
  });

  it("returns a failing command's exit code and output", async () => {
    const result = await run("echo '1 test failed' >&2; exit 3");
    expect(result).toMatchObject({ exitCode: 3, timedOut: false, output: "1 test failed\n" });
    const missing = await run("no-such-tool-here");
    expect(missing.exitCode).toBe(127);
    expect(missing.output).toMatch(/no-such-tool-here: .*not found/);
  });

  it("says when the command was killed by a signal it was not sent by tidegate", async () => {
    const result = await run("echo before; kill -KILL $$");
    expect(result).toMatchObject({
      exitCode: null,
      timedOut: false,
      output: "before\n… killed by SIGKILL\n",
    });
  });

  it("runs in cwd, with exactly the given env and the project's node_modules/.bin first on its PATH", async () => {
    vi.stubEnv("TIDEGATE_CANARY_SECRET", "canary-value-1234");
    const bin = path.join(dir, "node_modules", ".bin");
    fs.mkdirSync(bin, { recursive: true });
    fs.writeFileSync(path.join(bin, "project-tool"), "#!/bin/sh\necho project tool ran\n", { mode: 0o755 });

    const result = await run(
      'pwd; echo "$GREETING"; project-tool; echo "$PATH"; command -v sh; echo "canary=$TIDEGATE_CANARY_SECRET"',
      {},
      {
        env: { GREETING: "hello", PATH: process.env.PATH ?? "/usr/bin:/bin" },
      },
    );
    const [pwd, greeting, tool, pathVar, sh, canary] = result.output.trim().split("\n");
    expect(fs.realpathSync(pwd)).toBe(fs.realpathSync(dir));
    expect(greeting).toBe("hello");
    expect(tool).toBe("project tool ran");
    expect(pathVar).toBe(`${bin}${path.delimiter}${process.env.PATH}`);
    expect(sh).toMatch(/\/sh$/); // the rest of PATH still works
    expect(canary).toBe("canary="); // in tidegate's own environment (set above), not given
  });

  it("stops a command at its timeout, with everything it started", async () => {
    const started = Date.now();
    const result = await run("sleep 30 & echo $! > sleep.pid; wait", { timeoutMs: 300 }, { graceMs: 10_000 });
    expect(result).toMatchObject({ exitCode: null, timedOut: true });
    // Well inside the grace period: SIGTERM reached the grandchild, not only the shell.
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(await eventually(() => !alive(pidIn("sleep.pid")))).toBe(true);
  });

  it("kills a command that ignores SIGTERM once the grace period is over", async () => {
    const started = Date.now();
    const result = await run(
      "trap '' TERM; sleep 30 & echo $! > sleep.pid; wait",
      { timeoutMs: 200 },
      {
        graceMs: 300,
      },
    );
    expect(result).toMatchObject({ exitCode: null, timedOut: true });
    expect(Date.now() - started).toBeGreaterThanOrEqual(450);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(await eventually(() => !alive(pidIn("sleep.pid")))).toBe(true);
  });

  it("does not leave behind what a passing command started in the background", async () => {
    const started = Date.now();
    const result = await run("sleep 30 & echo $! > sleep.pid; echo done", {}, { graceMs: 10_000 });
    expect(result).toMatchObject({ exitCode: 0, timedOut: false, output: "done\n" });
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(await eventually(() => !alive(pidIn("sleep.pid")))).toBe(true);
  });

  it("keeps the tail of a long output and says how much was cut", async () => {
    // 200 000 lines of 7 bytes ("100000\n" … "299999\n"): far more than the limit.
    const result = await run("seq 100000 299999");
    expect(result.exitCode).toBe(0);
    const [first, ...rest] = result.output.split("\n");
    const cut = Number(/^… (\d+) bytes cut$/.exec(first)?.[1]);
    const kept = rest.join("\n");
    expect(cut + Buffer.byteLength(kept)).toBe(1_400_000);
    expect(Buffer.byteLength(kept)).toBeLessThanOrEqual(OUTPUT_LIMIT_BYTES);
    expect(Buffer.byteLength(kept)).toBeGreaterThan(OUTPUT_LIMIT_BYTES - 7);
    expect(rest[0]).toMatch(/^\d{6}$/); // starts on a whole line
    expect(kept.endsWith("299998\n299999\n")).toBe(true);
  });

  it("masks secrets, secret-looking env values and URL credentials, in the output and the command", async () => {
    const result = await run(
      'echo "pass=hunter2-pass token=$API_TOKEN"; echo https://bob:s3cr3t@git.example.com/repo.git >&2; echo hunter2-pass',
      {},
      { secrets: ["hunter2-pass"], env: { API_TOKEN: "tok-123456", PLAIN: "visible" } },
    );
    expect(result.output).toBe(
      "pass=[secret] token=[secret]\nhttps://***@git.example.com/repo.git\n[secret]\n",
    );
    expect(result.command).not.toContain("hunter2-pass");
    expect(result.command).toContain("https://***@git.example.com");
  });

  it("masks a secret in a cut output, even where the cut falls inside it", async () => {
    const secret = "correct-horse-battery-staple";
    // Lines of the secret only: wherever the tail starts, it starts inside one.
    const result = await run(`yes "${secret}" | head -n 20000`, {}, { secrets: [secret] });
    const [first, ...rest] = result.output.split("\n");
    expect(first).toMatch(/^… \d+ bytes cut$/);
    expect(rest.filter((line) => line !== "").every((line) => line === "[secret]")).toBe(true);
    expect(result.output).not.toMatch(/horse|staple|battery/);
  });

  it("fails with GateCommandError 'aborted' when the signal fires, and stops the command", async () => {
    const controller = new AbortController();
    const running = run(
      "sleep 30 & echo $! > sleep.pid; wait",
      {},
      { signal: controller.signal, graceMs: 1_000 },
    );
    await eventually(() => fs.existsSync(path.join(dir, "sleep.pid")) && pidIn("sleep.pid") > 0);
    controller.abort();
    await expect(running).rejects.toMatchObject({ name: "GateCommandError", problem: "aborted" });
    expect(await eventually(() => !alive(pidIn("sleep.pid")))).toBe(true);

    await expect(run("echo never", {}, { signal: AbortSignal.abort() })).rejects.toMatchObject({
      problem: "aborted",
    });
  });

  it("refuses a folder that does not exist and a timeout that is no positive number", async () => {
    await expect(run("true", {}, { cwd: path.join(dir, "gone") })).rejects.toThrow(GateCommandError);
    await expect(run("true", {}, { cwd: path.join(dir, "gone") })).rejects.toThrow(/gone does not exist/);
    await expect(run("true", { timeoutMs: 0 })).rejects.toMatchObject({ problem: "cannot-start" });
  });
});

describe("commandKey", () => {
  it("is stable, and changes with the commit, the name, the command and the timeout", () => {
    const base = command("npm test");
    const key = commandKey(base, "abc123");
    expect(commandKey({ ...base }, "abc123")).toBe(key);
    expect(key).toMatch(/^abc123:[0-9a-f]{64}$/);
    const others = [
      commandKey(base, "def456"),
      commandKey({ ...base, name: "e2e" }, "abc123"),
      commandKey({ ...base, run: "npm run test" }, "abc123"),
      commandKey({ ...base, timeoutMs: 1 }, "abc123"),
    ];
    expect(new Set([key, ...others]).size).toBe(5);
  });
});
