import * as fs from "node:fs";
import * as path from "node:path";

import { describe, expect, it } from "vitest";

import { AuditLog } from "../../../src/adapters/audit";
import { formatAuditTable, parseTime } from "../../../src/cli/audit";
import { type CommandContext, UsageError } from "../../../src/cli/command";
import { main } from "../../../src/main";
import { readLines, steppingClock, tempDataDir, writeLines } from "./helpers";

// `tidegate audit` through main(), with a data directory of the test's own (--data-dir: no
// configuration and no Git needed).

const repoRoot = path.resolve(__dirname, "../../..");

async function audit(dataDir: string, ...args: string[]) {
  const out = { stdout: "", stderr: "" };
  const context: CommandContext = {
    repoRoot,
    env: {},
    stdout: (text) => void (out.stdout += text),
    stderr: (text) => void (out.stderr += text),
  };
  const code = await main(["audit", ...args, "--data-dir", dataDir], context);
  return { code, ...out };
}

async function seeded(): Promise<{ dataDir: string; log: AuditLog }> {
  const dataDir = tempDataDir();
  const log = new AuditLog(path.join(dataDir, "audit.jsonl"), { now: steppingClock() });
  await log.append({
    actor: "tidegate@host",
    action: "check",
    environment: "test",
    commit: "a".repeat(40),
    verdict: "OutOfSync",
  });
  await log.append({
    actor: "ada@example.com",
    action: "approve",
    environment: "prod",
    commit: "b".repeat(40),
    planDigest: `sha256:${"c".repeat(64)}`,
    reason: "looks right\nsecond line",
  });
  await log.append({
    actor: "tidegate@host",
    action: "sync",
    environment: "test",
    commit: "a".repeat(40),
    verdict: "pass",
  });
  return { dataDir, log };
}

describe("tidegate audit verify", () => {
  it("exits 0 with the count and head for an intact log, and for no log at all", async () => {
    const { dataDir, log } = await seeded();
    const head = await log.verify();
    const run = await audit(dataDir, "verify");
    expect(run).toMatchObject({
      code: 0,
      stdout: `3 entries, chain intact, head ${head.ok ? head.head : ""}\n`,
    });
    expect(await audit(tempDataDir(), "verify")).toMatchObject({
      code: 0,
      stdout: `0 entries, chain intact, head ${"0".repeat(64)}\n`,
    });
  });

  it("exits 1 naming the first bad entry of a tampered log", async () => {
    const { dataDir, log } = await seeded();
    const lines = readLines(log.file);
    writeLines(log.file, [
      lines[0] ?? "",
      (lines[1] ?? "").replace("ada@example.com", "eve@example.com"),
      lines[2] ?? "",
    ]);
    const run = await audit(dataDir, "verify");
    expect(run.code).toBe(1);
    expect(run.stdout).toContain("line 2 (seq 2): its hash does not match its content");
    expect(run.stdout).toContain("1 entry before it is intact");

    const json = await audit(dataDir, "verify", "--json");
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, entries: 1, firstBad: { seq: 2, line: 2 } });
  });

  it("exits 1 for a cut-off tail", async () => {
    const { dataDir, log } = await seeded();
    writeLines(log.file, readLines(log.file).slice(0, 2));
    const run = await audit(dataDir, "verify");
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/line 3 \(seq 3\): .*seq 3 was removed from the end/);
  });
});

describe("tidegate audit head", () => {
  it("prints the verified head, and refuses a broken log", async () => {
    const { dataDir, log } = await seeded();
    const result = await log.verify();
    const head = result.ok ? result.head : "";
    expect(await audit(dataDir, "head")).toMatchObject({ code: 0, stdout: `seq 3 head ${head}\n` });
    expect(JSON.parse((await audit(dataDir, "head", "--json")).stdout)).toEqual({
      file: log.file,
      seq: 3,
      head,
    });
    fs.writeFileSync(log.file, "garbage\n", { flag: "a" });
    expect((await audit(dataDir, "head")).code).toBe(1);
  });
});

describe("tidegate audit (list)", () => {
  it("prints a table of the entries, filtered", async () => {
    const { dataDir } = await seeded();
    const all = await audit(dataDir);
    expect(all.code).toBe(0);
    const lines = all.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^SEQ\s+TIME\s+ACTOR\s+ACTION\s+ENV\s+COMMIT\s+DIGEST\s+VERDICT\s+REASON$/);
    expect(lines).toHaveLength(4);
    expect(lines[2]).toMatch(
      /^2\s+2025-05-01T10:01:00Z\s+ada@example.com\s+approve\s+prod\s+bbbbbbbbbbbb\s+cccccccccccc\s+-\s+looks right …$/,
    );

    const prod = await audit(dataDir, "--env", "prod");
    expect(prod.stdout.trimEnd().split("\n")).toHaveLength(2);
    const json = await audit(dataDir, "--action", "sync", "--json");
    expect((JSON.parse(json.stdout) as { entries: { seq: number }[] }).entries.map((e) => e.seq)).toEqual([
      3,
    ]);
    const limited = await audit(dataDir, "--actor", "TIDEGATE@host", "--limit", "1", "--json");
    expect((JSON.parse(limited.stdout) as { entries: { seq: number }[] }).entries.map((e) => e.seq)).toEqual([
      3,
    ]);
    expect((await audit(dataDir, "--since", "2025-05-01T10:02:00Z")).stdout).not.toContain("approve");
  });

  it("warns when the log does not verify", async () => {
    const { dataDir, log } = await seeded();
    writeLines(log.file, readLines(log.file).slice(1));
    const run = await audit(dataDir);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/warning: the audit log does not verify: line 1 \(seq 2\)/);
  });

  it("rejects bad options as usage errors", async () => {
    const dataDir = tempDataDir();
    await expect(audit(dataDir, "--action", "deploy")).rejects.toThrow(/--action takes one of check, gate/);
    await expect(audit(dataDir, "--since", "yesterday")).rejects.toThrow(UsageError);
    await expect(audit(dataDir, "--limit", "0")).rejects.toThrow(/--limit/);
    await expect(audit(dataDir, "verfiy")).rejects.toThrow(/unknown audit subcommand 'verfiy'/);
    await expect(audit(dataDir, "verify", "--env", "prod")).rejects.toThrow(/takes no filters/);
  });
});

describe("parseTime", () => {
  const now = new Date("2025-05-10T12:00:00Z");

  it("reads ages back from now", async () => {
    expect(parseTime("1h", now)?.toISOString()).toBe("2025-05-10T11:00:00.000Z");
    expect(parseTime("2d", now)?.toISOString()).toBe("2025-05-08T12:00:00.000Z");
    expect(parseTime("1h30m", now)?.toISOString()).toBe("2025-05-10T10:30:00.000Z");
    expect(parseTime("1w", now)?.toISOString()).toBe("2025-05-03T12:00:00.000Z");
  });

  it("reads ISO dates and times, and nothing else", async () => {
    expect(parseTime("2025-05-01", now)?.toISOString()).toBe("2025-05-01T00:00:00.000Z");
    expect(parseTime("2025-05-01T12:30Z", now)?.toISOString()).toBe("2025-05-01T12:30:00.000Z");
    expect(parseTime("2025-05-01T12:30:00+02:00", now)?.toISOString()).toBe("2025-05-01T10:30:00.000Z");
    expect(parseTime("May 1", now)).toBeUndefined();
    expect(parseTime("1", now)).toBeUndefined();
    expect(parseTime("2025-13-45", now)).toBeUndefined();
  });
});

describe("formatAuditTable", () => {
  it("says so when there are no entries", async () => {
    expect(formatAuditTable([])).toBe("No audit entries.\n");
  });
});
