import { describe, expect, it } from "vitest";
import { entryHash, GENESIS_HASH } from "../../../src/adapters/audit";
import { type AuditLogFactory, steppingClock, useAuditLog } from "./harness";

export type { AuditLogFactory, AuditLogUnderTest } from "./harness";

/** The behaviour every audit log shares: one suite, run against the file and PostgreSQL. */
export function auditContract(name: string, factory: AuditLogFactory): void {
  describe(`${name} audit log`, () => {
    const fresh = useAuditLog(factory);

    it("an empty log verifies, with the genesis head", async () => {
      const log = (await fresh()).open();
      expect(await log.entries()).toEqual([]);
      expect(await log.verify()).toEqual({ ok: true, entries: 0, head: GENESIS_HASH });
    });

    it("chains the entries it appends and reads them back as written", async () => {
      const log = (await fresh()).open({ now: steppingClock() });
      const first = await log.append({ actor: "ada@example.com", action: "approve", environment: "prod" });
      const second = await log.append({
        actor: "tidegate@host",
        action: "sync",
        environment: "prod",
        commit: "b".repeat(40),
        verdict: "Synced",
        details: { resources: 3, nested: { list: ["x"] } },
      });
      expect(first).toMatchObject({ seq: 1, prev: GENESIS_HASH, time: "2025-05-01T10:00:00.000Z" });
      expect(second).toMatchObject({ seq: 2, prev: first.hash, time: "2025-05-01T10:01:00.000Z" });
      expect(second.hash).toBe(entryHash(second));
      expect(await log.entries()).toEqual([first, second]);
      expect(await log.verify()).toEqual({ ok: true, entries: 2, head: second.hash });
    });

    it("filters by environment, action, actor, commit, time and limit", async () => {
      const log = (await fresh()).open({ now: steppingClock() });
      await log.append({ actor: "tidegate@host", action: "check", environment: "test", commit: "aaaa1111" });
      await log.append({
        actor: "Ada@Example.com",
        action: "approve",
        environment: "prod",
        commit: "bbbb2222",
      });
      await log.append({ actor: "tidegate@host", action: "gate", environment: "prod", commit: "bbbb2222" });
      await log.append({
        actor: "bob@example.com",
        action: "revoke",
        environment: "prod",
        commit: "bbbb2222",
      });
      await log.append({ actor: "tidegate@host", action: "sync", environment: "test", commit: "cccc3333" });
      const seqs = async (filter: Parameters<typeof log.entries>[0]) =>
        (await log.entries(filter)).map((e) => e.seq);
      expect(await seqs({ environment: "prod" })).toEqual([2, 3, 4]);
      expect(await seqs({ action: "sync" })).toEqual([5]);
      expect(await seqs({ actor: "ada@example.com" })).toEqual([2]);
      expect(await seqs({ commit: "BBBB" })).toEqual([2, 3, 4]);
      expect(await seqs({ environment: "prod", actor: "tidegate@host" })).toEqual([3]);
      const since = new Date("2025-05-01T10:01:00Z");
      const until = new Date("2025-05-01T10:04:00Z");
      expect(await seqs({ since })).toEqual([2, 3, 4, 5]);
      expect(await seqs({ since, until })).toEqual([2, 3, 4]);
      expect(await seqs({ limit: 2 })).toEqual([4, 5]);
      expect(await seqs({ environment: "test", limit: 1 })).toEqual([5]);
    });

    it("stores only redacted text: secrets and URL credentials never reach the log", async () => {
      const log = await fresh();
      const handle = log.open({ redact: (text) => text.replaceAll("hunter2", "[secret]") });
      const entry = await handle.append({
        actor: "tidegate@host",
        action: "failure",
        reason: "login hunter2 failed at https://bob:pa55word@git.example.com/repo.git",
        details: { tried: ["hunter2"], nested: { url: "https://bob:pa55word@git.example.com" } },
      });
      const stored = (await log.stored()).join("\n");
      expect(stored).not.toContain("hunter2");
      expect(stored).not.toContain("pa55word");
      expect(stored).toContain("[secret]");
      expect(entry.reason).not.toContain("hunter2");
      expect(await handle.verify()).toMatchObject({ ok: true, entries: 1 });
    });

    it("names the edited entry when an entry is changed where it is stored", async () => {
      const log = await fresh();
      const handle = log.open({ now: steppingClock() });
      for (let i = 1; i <= 4; i++)
        await handle.append({ actor: "ada", action: "check", reason: `check ${i}` });
      await log.tamper(2, (stored) => stored.replace("check 2", "check 9"));
      expect(await handle.verify()).toMatchObject({
        ok: false,
        entries: 1,
        firstBad: { seq: 2, line: 2, problem: expect.stringMatching(/the entry was edited/) },
      });
    });

    it("refuses to append onto an edited last entry, and writes nothing", async () => {
      const log = await fresh();
      const handle = log.open();
      for (let i = 1; i <= 2; i++)
        await handle.append({ actor: "ada", action: "check", reason: `check ${i}` });
      await log.tamper(2, (stored) => stored.replace("check 2", "check 9"));
      const before = await log.stored();
      await expect(handle.append({ actor: "ada", action: "check" })).rejects.toThrow(/seq 2\) is damaged/);
      expect(await log.stored()).toEqual(before);
    });

    it("names the entries cut off the end", async () => {
      const log = await fresh();
      const handle = log.open();
      for (let i = 1; i <= 3; i++) await handle.append({ actor: "ada", action: "check" });
      await log.removeLast();
      expect(await handle.verify()).toMatchObject({
        ok: false,
        entries: 2,
        firstBad: { seq: 3, problem: expect.stringMatching(/seq 3 was removed from the end/) },
      });
      await expect(handle.append({ actor: "ada", action: "check" })).rejects.toThrow(/removed from the end/);
    });

    it("keeps the order of appends that were not awaited one by one", async () => {
      const handle = (await fresh()).open();
      const reasons = Array.from({ length: 10 }, (_, i) => `#${i + 1}`);
      const appended = await Promise.all(
        reasons.map((reason) => handle.append({ actor: "ada", action: "check", reason })),
      );
      expect(appended.map((e) => e.seq)).toEqual(reasons.map((_, i) => i + 1));
      expect((await handle.entries()).map((e) => e.reason)).toEqual(reasons);
    });

    it("builds one chain from several replicas appending at once", async () => {
      const log = await fresh();
      const replicas = ["one", "two", "three"].map((actor) => ({ actor, handle: log.open() }));
      await Promise.all(
        replicas.map(async ({ actor, handle }) => {
          for (let i = 1; i <= 50; i++) {
            await handle.append({ actor, action: "check", environment: "test", reason: `${actor} #${i}` });
          }
        }),
      );
      const reader = log.open();
      expect(await reader.verify()).toMatchObject({ ok: true, entries: 150 });
      const entries = await reader.entries();
      expect(entries.map((e) => e.seq)).toEqual(Array.from({ length: 150 }, (_, i) => i + 1));
      for (const { actor } of replicas) {
        // Each replica's own entries in the order it wrote them.
        expect(entries.filter((e) => e.actor === actor).map((e) => e.reason)).toEqual(
          Array.from({ length: 50 }, (_, i) => `${actor} #${i + 1}`),
        );
      }
    });
  });
}
