import { describe, expect, it } from "vitest";
import type { NewToken } from "../../../src/adapters/store/port";
import { approval, secondHandle, storeError, useStore, type StoreFactory } from "./harness";

// API tokens: stored by name with only a hash of the secret, looked up by that hash.

const hash = (digit: string) => `sha256:${digit.repeat(64)}`;

const newToken = (name: string, overrides: Partial<NewToken> = {}): NewToken => ({
  name,
  owner: "ada@example.com",
  scopes: ["read", "approve:prod"],
  secretHash: hash("a"),
  createdAt: "2025-03-04T09:00:00.000Z",
  createdBy: "lead@example.com",
  expiresAt: "2025-04-03T09:00:00.000Z",
  ...overrides,
});

export function tokensContract(factory: StoreFactory): void {
  const handles = useStore(factory);

  describe("tokens", () => {
    it("are kept by name and found by the hash of their secret, which is never read back", async (ctx) => {
      const store = await handles.open();
      await store.addToken(newToken("zeta", { secretHash: hash("b") }));
      await store.addToken(newToken("ci-bot", { expiresAt: undefined }));
      const { secretHash: _hash, expiresAt: _expires, ...stored } = newToken("ci-bot");

      expect(await store.tokenByHash(hash("a"))).toEqual(stored);
      expect(await store.tokenByHash(hash("c"))).toBeUndefined();
      expect((await store.tokens()).map((t) => t.name)).toEqual(["ci-bot", "zeta"]);
      expect(JSON.stringify(await store.tokens())).not.toContain("a".repeat(64));

      const other = await secondHandle(handles, ctx);
      expect((await other.tokenByHash(hash("b")))?.name).toBe("zeta");
    });

    it("refuse a taken name, even a revoked one's, and a taken hash", async () => {
      const store = await handles.open();
      await store.addToken(newToken("ci-bot"));
      expect(await storeError(() => store.addToken(newToken("ci-bot", { secretHash: hash("b") })))).toBe(
        "conflict",
      );
      await store.revokeToken("ci-bot", "lead@example.com", "2025-03-04T10:00:00.000Z");
      expect(await storeError(() => store.addToken(newToken("ci-bot", { secretHash: hash("b") })))).toBe(
        "conflict",
      );
      expect(await storeError(() => store.addToken(newToken("other")))).toBe("conflict");
      expect((await store.tokens()).map((t) => t.name)).toEqual(["ci-bot"]);
    });

    it("refuse invalid input: a bad scope, a hash that is no sha256, an empty name", async () => {
      const store = await handles.open();
      const bad = [
        newToken("x", { scopes: ["approve:*" as never] }),
        newToken("x", { secretHash: "tg_plaintext-secret" }),
        newToken(""),
        newToken("x", { expiresAt: "next month" }),
      ];
      for (const token of bad) expect(await storeError(() => store.addToken(token))).toBe("invalid-input");
      expect(await store.tokens()).toEqual([]);
    });

    it("record the latest use; an earlier one never overwrites it", async () => {
      const store = await handles.open();
      await store.addToken(newToken("ci-bot"));
      await store.touchToken("ci-bot", "2025-03-04T10:00:00.000Z");
      await store.touchToken("ci-bot", "2025-03-04T09:30:00.000Z");
      await store.touchToken("nobody", "2025-03-04T11:00:00.000Z");
      expect((await store.tokenByHash(hash("a")))?.lastUsedAt).toBe("2025-03-04T10:00:00.000Z");
      expect(await storeError(() => store.touchToken("ci-bot", "yesterday"))).toBe("invalid-input");
    });

    it("are revoked once: the first revocation stays, an unknown name gives undefined", async () => {
      const store = await handles.open();
      await store.addToken(newToken("ci-bot"));
      expect(await store.revokeToken("ci-bot", "sec@example.com", "2025-03-04T10:00:00.000Z")).toMatchObject({
        name: "ci-bot",
        revokedAt: "2025-03-04T10:00:00.000Z",
        revokedBy: "sec@example.com",
      });
      expect(await store.revokeToken("ci-bot", "lead@example.com", "2025-03-04T11:00:00.000Z")).toMatchObject(
        {
          revokedAt: "2025-03-04T10:00:00.000Z",
          revokedBy: "sec@example.com",
        },
      );
      expect(
        await store.revokeToken("nobody", "lead@example.com", "2025-03-04T11:00:00.000Z"),
      ).toBeUndefined();
      expect((await store.tokenByHash(hash("a")))?.revokedBy).toBe("sec@example.com");
    });

    it("an approval through a token keeps the person behind it", async () => {
      const store = await handles.open();
      await store.addApproval(approval("a1", { approver: "ci-bot", owner: "ada@example.com" }));
      expect(await store.approvals("prod")).toEqual([
        approval("a1", { approver: "ci-bot", owner: "ada@example.com" }),
      ]);
    });
  });
}
