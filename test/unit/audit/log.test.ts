import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";

import { describe, expect, it } from "vitest";

import { AuditLog, AuditLogError, entryHash, GENESIS_HASH } from "../../../src/adapters/audit";
import { logWith, readLines, tempDataDir, writeLines } from "./helpers";

const execFileAsync = promisify(execFile);
const repoRoot = path.resolve(__dirname, "../../..");

describe("AuditLog.append", () => {
  it("numbers entries from 1 and chains each to the one before", async () => {
    const log = await logWith(0);
    const first = await log.append({
      actor: "ada@example.com",
      action: "approve",
      environment: "prod",
      commit: "abc",
    });
    const second = await log.append({
      actor: "tidegate@host",
      action: "sync",
      environment: "prod",
      verdict: "pass",
    });
    expect(first).toMatchObject({ seq: 1, time: "2025-05-01T10:00:00.000Z", prev: GENESIS_HASH });
    expect(second).toMatchObject({ seq: 2, time: "2025-05-01T10:01:00.000Z", prev: first.hash });
    expect(first.hash).toBe(entryHash(first));
    expect(await log.entries()).toEqual([first, second]);
  });

  it("writes one JSON line per entry and keeps the head anchor on the last", async () => {
    const log = await logWith(3);
    const lines = readLines(log.file);
    expect(lines).toHaveLength(3);
    const last = JSON.parse(lines[2] ?? "") as { seq: number; hash: string };
    expect(Object.keys(last)[0]).toBe("seq");
    expect(log.headFile).toBe(path.join(path.dirname(log.file), "audit.head.json"));
    expect(JSON.parse(fs.readFileSync(log.headFile, "utf8"))).toMatchObject({ seq: 3, hash: last.hash });
  });

  it("treats a missing file as an empty log and creates the folder on the first append", async () => {
    const file = path.join(tempDataDir(), "nested", "audit.jsonl");
    const log = new AuditLog(file);
    expect(await log.entries()).toEqual([]);
    expect(await log.verify()).toEqual({ ok: true, entries: 0, head: GENESIS_HASH });
    expect(fs.existsSync(path.dirname(file))).toBe(false);
    await log.append({ actor: "ada", action: "check" });
    expect(await log.verify()).toMatchObject({ ok: true, entries: 1 });
  });

  it("redacts the reason and every string in details, and strips URL credentials", async () => {
    const log = await logWith(0, { redact: (text) => text.replaceAll("hunter2", "[secret]") });
    const entry = await log.append({
      actor: "ada",
      action: "failure",
      reason: "login hunter2 failed at https://bob:pw@git.example.com/repo.git",
      details: { output: ["ok", "password=hunter2"], nested: { text: "hunter2!" }, count: 2 },
    });
    expect(entry.reason).toBe("login [secret] failed at https://***@git.example.com/repo.git");
    expect(entry.details).toEqual({
      output: ["ok", "password=[secret]"],
      nested: { text: "[secret]!" },
      count: 2,
    });
    expect(fs.readFileSync(log.file, "utf8")).not.toContain("hunter2");
    expect((await log.verify()).ok).toBe(true);
  });

  it("stores details as plain JSON, so what is hashed is what is read back", async () => {
    const log = await logWith(0);
    const entry = await log.append({
      actor: "ada",
      action: "gate",
      details: { at: new Date("2025-01-01T00:00:00Z"), skip: undefined, list: [1, undefined] },
    });
    expect(entry.details).toEqual({ at: "2025-01-01T00:00:00.000Z", list: [1, null] });
    expect((await log.verify()).ok).toBe(true);
    await expect(log.append({ actor: "ada", action: "gate", details: { n: 1n } })).rejects.toThrow(
      /plain JSON/,
    );
  });

  it("refuses an entry without an actor, naming the field", async () => {
    await expect((await logWith(0)).append({ actor: "", action: "check" })).rejects.toThrow(/actor/);
  });

  it("refuses to append after the tail was cut off, and writes nothing", async () => {
    const log = await logWith(4);
    const lines = readLines(log.file);
    writeLines(log.file, lines.slice(0, 3));
    await expect(log.append({ actor: "ada", action: "check" })).rejects.toThrow(AuditLogError);
    await expect(log.append({ actor: "ada", action: "check" })).rejects.toThrow(/removed from the end/);
    expect(readLines(log.file)).toEqual(lines.slice(0, 3));
    expect(JSON.parse(fs.readFileSync(log.headFile, "utf8"))).toMatchObject({ seq: 4 });
  });

  it("refuses to append on a torn or edited last line", async () => {
    const log = await logWith(2);
    const content = fs.readFileSync(log.file, "utf8");
    fs.writeFileSync(log.file, content.slice(0, -20));
    await expect(log.append({ actor: "ada", action: "check" })).rejects.toThrow(/last line is damaged/);

    const edited = await logWith(2);
    const lines = readLines(edited.file);
    writeLines(edited.file, [lines[0] ?? "", (lines[1] ?? "").replace("check 2", "check 9")]);
    await expect(edited.append({ actor: "ada", action: "check" })).rejects.toThrow(/seq 2\) is damaged/);
  });

  it("goes on after an append that was cut off before its anchor was written", async () => {
    const log = await logWith(3);
    const anchor = fs.readFileSync(log.headFile, "utf8");
    await log.append({ actor: "ada", action: "check" });
    fs.writeFileSync(log.headFile, anchor); // the anchor still names seq 3
    expect(await log.verify()).toMatchObject({ ok: true, entries: 4 });
    expect((await log.append({ actor: "ada", action: "check" })).seq).toBe(5);
    expect(await log.verify()).toMatchObject({ ok: true, entries: 5 });
  });

  it("keeps the chain when two processes append at once", async () => {
    const dir = tempDataDir();
    const file = path.join(dir, "audit.jsonl");
    const barrier = path.join(dir, "go");
    const tsx = path.join(repoRoot, "node_modules", ".bin", "tsx");
    const script = path.join(__dirname, "fixtures", "append-many.ts");
    const actors = ["one", "two"];
    const children = Promise.all(
      actors.map((actor) => execFileAsync(tsx, [script, file, "50", actor, barrier], { timeout: 60_000 })),
    );
    // Both processes are loaded and waiting before either appends: they run at the same time.
    await expect
      .poll(() => actors.every((actor) => fs.existsSync(`${barrier}.${actor}`)), { timeout: 30_000 })
      .toBe(true);
    fs.writeFileSync(barrier, "");
    await children;
    const log = new AuditLog(file);
    expect(await log.verify()).toMatchObject({ ok: true, entries: 100 });
    const entries = await log.entries();
    expect(entries.map((e) => e.seq)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    expect(entries.filter((e) => e.actor === "one")).toHaveLength(50);
    expect(entries.filter((e) => e.actor === "two")).toHaveLength(50);
    // Interleaved, not one after the other: the lock was contended.
    const switches = entries.filter((e, i) => i > 0 && e.actor !== entries[i - 1]?.actor).length;
    expect(switches).toBeGreaterThan(1);
  });
});

// Filters are in the audit contract suite (test/contract/audit), run against this log too.
describe("AuditLog.entries", () => {
  it("skips lines that are not entries (verify names them)", async () => {
    const log = await logWith(5);
    const lines = readLines(log.file);
    writeLines(log.file, [lines[0] ?? "", "garbage", ...lines.slice(1)]);
    expect(await log.entries()).toHaveLength(5);
  });
});
