import * as fs from "node:fs";

import { describe, expect, it } from "vitest";

import { type AuditEntry, entryHash, GENESIS_HASH } from "../../../src/adapters/audit";
import { logWith, readLines, writeLines } from "./helpers";

// Each way of tampering with a log of five entries, and what verify names.

function entry(line: string | undefined): AuditEntry {
  return JSON.parse(line ?? "") as AuditEntry;
}

/** The line of `e` with its hash recomputed, as someone covering an edit would write it. */
function rehashed(e: AuditEntry): string {
  const { hash: _hash, ...rest } = e;
  return JSON.stringify({ ...rest, hash: entryHash(rest) });
}

describe("AuditLog.verify", () => {
  it("passes an intact log and gives the last hash as head", async () => {
    const log = await logWith(5);
    const last = entry(readLines(log.file)[4]);
    expect(await log.verify()).toEqual({ ok: true, entries: 5, head: last.hash });
  });

  it("names an edited entry: its hash no longer matches", async () => {
    const log = await logWith(5);
    const lines = readLines(log.file);
    lines[2] = (lines[2] ?? "").replace("check 3", "check 33");
    writeLines(log.file, lines);
    expect(await log.verify()).toEqual({
      ok: false,
      entries: 2,
      firstBad: {
        seq: 3,
        line: 3,
        problem: expect.stringMatching(/hash does not match its content.*edited/),
      },
    });
  });

  it("names the entry after one edited with its hash recomputed: the chain breaks there", async () => {
    const log = await logWith(5);
    const lines = readLines(log.file);
    lines[2] = rehashed({ ...entry(lines[2]), actor: "mallory" });
    writeLines(log.file, lines);
    expect(await log.verify()).toMatchObject({
      ok: false,
      firstBad: { seq: 4, line: 4, problem: expect.stringMatching(/prev .* is not the hash of seq 3/) },
    });
  });

  it("names a removed middle entry", async () => {
    const log = await logWith(5);
    const lines = readLines(log.file);
    writeLines(log.file, [...lines.slice(0, 2), ...lines.slice(3)]);
    expect(await log.verify()).toMatchObject({
      ok: false,
      entries: 2,
      firstBad: { seq: 4, line: 3, problem: "seq 4 follows seq 2: seq 3 is missing (removed)" },
    });
  });

  it("names two swapped entries as out of order", async () => {
    const log = await logWith(5);
    const [a, b, c, d, e] = readLines(log.file);
    writeLines(log.file, [a, c, b, d, e] as string[]);
    expect(await log.verify()).toMatchObject({
      ok: false,
      entries: 1,
      firstBad: {
        seq: 3,
        line: 2,
        problem: expect.stringMatching(/seq 2 is at line 3: entries are out of order/),
      },
    });
  });

  it("names a repeated entry", async () => {
    const log = await logWith(3);
    const lines = readLines(log.file);
    writeLines(log.file, [...lines, lines[1] ?? ""]);
    expect(await log.verify()).toMatchObject({
      ok: false,
      firstBad: { seq: 2, line: 4, problem: expect.stringMatching(/out of order or repeated/) },
    });
  });

  it("names a truncated tail through the head anchor", async () => {
    const log = await logWith(5);
    writeLines(log.file, readLines(log.file).slice(0, 3));
    expect(await log.verify()).toEqual({
      ok: false,
      entries: 3,
      firstBad: {
        seq: 4,
        line: 4,
        problem:
          "the log ends at seq 3 but its head anchor audit.head.json records seq 5: seqs 4–5 were removed from the end",
      },
    });
  });

  it("names a log emptied out", async () => {
    const log = await logWith(2);
    fs.rmSync(log.file);
    expect(await log.verify()).toMatchObject({
      ok: false,
      firstBad: { seq: 1, line: 1, problem: expect.stringMatching(/the log is empty but .* records seq 2/) },
    });
  });

  it("names a garbled line", async () => {
    const log = await logWith(5);
    const lines = readLines(log.file);
    lines[3] = `${(lines[3] ?? "").slice(0, 30)}#`;
    writeLines(log.file, lines);
    const result = await log.verify();
    expect(result).toMatchObject({ ok: false, entries: 3, firstBad: { line: 4 } });
    expect(result.ok ? "" : result.firstBad.problem).toMatch(/^not valid JSON/);
    expect(result.ok ? undefined : result.firstBad.seq).toBeUndefined();
  });

  it("names a line that is JSON but not an entry, and a blank line", async () => {
    const log = await logWith(3);
    const lines = readLines(log.file);
    writeLines(log.file, [
      lines[0] ?? "",
      JSON.stringify({ ...entry(lines[1]), action: "delete-everything" }),
    ]);
    expect(await log.verify()).toMatchObject({
      ok: false,
      firstBad: { seq: 2, line: 2, problem: expect.stringMatching(/^not an audit entry: action/) },
    });
    writeLines(log.file, [lines[0] ?? "", "", ...lines.slice(1)]);
    expect(await log.verify()).toMatchObject({ ok: false, firstBad: { line: 2, problem: "empty line" } });
  });

  it("catches a rewrite of the whole chain through the head anchor", async () => {
    const log = await logWith(3);
    const lines = readLines(log.file);
    let prev = GENESIS_HASH;
    const forged = lines.map((line, i) => {
      const e = { ...entry(line), prev, ...(i === 1 ? { actor: "mallory" } : {}) };
      const out = rehashed(e);
      prev = entry(out).hash;
      return out;
    });
    writeLines(log.file, forged);
    expect(await log.verify()).toMatchObject({
      ok: false,
      entries: 3,
      firstBad: {
        seq: 3,
        line: 3,
        problem: expect.stringMatching(/head anchor .* records seq 3 .*: the log was rewritten/),
      },
    });
  });

  it("names a missing or broken head anchor", async () => {
    const log = await logWith(2);
    fs.rmSync(log.headFile);
    expect(await log.verify()).toMatchObject({
      ok: false,
      firstBad: { seq: 3, line: 3, problem: expect.stringMatching(/head anchor audit.head.json is missing/) },
    });
    fs.writeFileSync(log.headFile, "{");
    expect(await log.verify()).toMatchObject({
      ok: false,
      firstBad: { problem: expect.stringMatching(/not valid JSON/) },
    });
  });

  it("catches a first entry that does not start the chain", async () => {
    const log = await logWith(3);
    writeLines(
      log.file,
      readLines(log.file)
        .slice(1)
        .map((line, i) => rehashed({ ...entry(line), seq: i + 1 })),
    );
    expect(await log.verify()).toMatchObject({
      ok: false,
      firstBad: { seq: 1, line: 1, problem: expect.stringMatching(/not the genesis value/) },
    });
  });
});
