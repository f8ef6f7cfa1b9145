import { describe, expect, it } from "vitest";
import type { Approval } from "../../../src/domain/gates";
import {
  approval,
  commandResult as result,
  secondHandle,
  storeError,
  useStore,
  type StoreFactory,
} from "./harness";

// What the gates keep in the store: approvals, which program tree succeeded where, check results.

export function gatesContract(factory: StoreFactory): void {
  const handles = useStore(factory);

  describe("approvals", () => {
    it("are listed per environment, newest first, with optional fields kept", async () => {
      const store = await handles.open();
      await store.addApproval(approval("a1"));
      await store.addApproval(
        approval("a2", { approver: "bob@example.com", at: "2025-03-04T09:05:00.000Z" }),
      );
      await store.addApproval(
        approval("a3", { approver: "cy@example.com", scope: "protected", comment: "deletes reviewed" }),
      );
      await store.addApproval(approval("s1", { environment: "stage" }));

      expect((await store.approvals("prod")).map((a) => a.id)).toEqual(["a2", "a3", "a1"]);
      expect((await store.approvals("prod"))[1]).toEqual(
        approval("a3", { approver: "cy@example.com", scope: "protected", comment: "deletes reviewed" }),
      );
      expect((await store.approvals("prod"))[2]).not.toHaveProperty("comment");
      expect(await store.approvals("stage")).toEqual([approval("s1", { environment: "stage" })]);
      expect(await store.approvals("test")).toEqual([]);
    });

    it("are idempotent per id, and one approver approves one plan once", async () => {
      const store = await handles.open();
      await store.addApproval(approval("a1"));
      await store.addApproval(approval("a1")); // a retried write
      await store.addApproval(approval("a2", { at: "2025-03-04T10:00:00.000Z" })); // the same plan again
      expect((await store.approvals("prod", { includeRevoked: true })).map((a) => a.id)).toEqual(["a1"]);

      // A new plan, or the other scope, is a new approval.
      await store.addApproval(approval("a3", { planDigest: "sha256:plan-2" }));
      await store.addApproval(approval("a4", { scope: "protected" }));
      expect((await store.approvals("prod")).map((a) => a.id)).toEqual(["a4", "a3", "a1"]);

      expect(
        await storeError(
          async () => await store.addApproval(approval("a1", { approver: "eve@example.com" })),
        ),
      ).toBe("conflict");
    });

    it("refuse an invalid or already revoked approval", async () => {
      const store = await handles.open();
      expect(await storeError(async () => await store.addApproval(approval("")))).toBe("invalid-input");
      expect(await storeError(async () => await store.addApproval(approval("a1", { at: "yesterday" })))).toBe(
        "invalid-input",
      );
      expect(
        await storeError(
          async () =>
            await store.addApproval({ ...approval("a1"), scope: "everything" as Approval["scope"] }),
        ),
      ).toBe("invalid-input");
      expect(
        await storeError(
          async () =>
            await store.addApproval(
              approval("a1", { revokedAt: "2025-03-04T10:00:00.000Z", revokedBy: "x" }),
            ),
        ),
      ).toBe("invalid-input");
      expect(await store.approvals("prod", { includeRevoked: true })).toEqual([]);
    });

    it("are revoked by filter, kept as history, and can be given again", async () => {
      const store = await handles.open();
      await store.addApproval(approval("a1"));
      await store.addApproval(
        approval("a2", { approver: "bob@example.com", at: "2025-03-04T09:01:00.000Z" }),
      );
      await store.addApproval(approval("a3", { planDigest: "sha256:old", at: "2025-03-04T08:00:00.000Z" }));
      await store.addApproval(approval("s1", { environment: "stage" }));
      const at = "2025-03-04T11:00:00.000Z";

      const byBob = await store.revokeApprovals("prod", { by: "root", at, approver: "bob@example.com" });
      expect(byBob).toEqual([
        approval("a2", {
          approver: "bob@example.com",
          at: "2025-03-04T09:01:00.000Z",
          revokedAt: at,
          revokedBy: "root",
        }),
      ]);
      expect((await store.approvals("prod")).map((a) => a.id)).toEqual(["a1", "a3"]);

      expect(
        (await store.revokeApprovals("prod", { by: "root", at, planDigest: "sha256:old" })).map((a) => a.id),
      ).toEqual(["a3"]);
      expect(await store.revokeApprovals("prod", { by: "root", at, id: "a3" })).toEqual([]); // already revoked
      expect(
        await store.revokeApprovals("prod", { by: "root", at, id: "a1", approver: "bob@example.com" }),
      ).toEqual([]);

      // Without filters: every active approval of the environment, and only of that one.
      expect((await store.revokeApprovals("prod", { by: "ada@example.com", at })).map((a) => a.id)).toEqual([
        "a1",
      ]);
      expect(await store.approvals("prod")).toEqual([]);
      expect((await store.approvals("stage")).map((a) => a.id)).toEqual(["s1"]);
      expect(
        (await store.approvals("prod", { includeRevoked: true })).map((a) => [a.id, a.revokedBy]),
      ).toEqual([
        ["a2", "root"],
        ["a1", "ada@example.com"],
        ["a3", "root"],
      ]);

      // A revoked approval does not stop the same approver approving the same plan anew.
      await store.addApproval(approval("a5", { at: "2025-03-04T12:00:00.000Z" }));
      expect((await store.approvals("prod")).map((a) => a.id)).toEqual(["a5"]);
      // Re-adding a revoked approval's id (a retry) neither fails nor revives it.
      await store.addApproval(approval("a1"));
      expect((await store.approvals("prod")).map((a) => a.id)).toEqual(["a5"]);

      expect(await storeError(async () => await store.revokeApprovals("prod", { by: "", at }))).toBe(
        "invalid-input",
      );
      expect(
        await storeError(async () => await store.revokeApprovals("prod", { by: "root", at: "now" })),
      ).toBe("invalid-input");
    });
  });

  describe("successes", () => {
    it("keep the first time a tree succeeded and the latest commit", async () => {
      const store = await handles.open();
      expect(await store.success("test", "tree-1")).toBeUndefined();

      await store.recordSuccess({
        environment: "test",
        programTree: "tree-1",
        commit: "c1",
        at: "2025-03-04T09:00:00.000Z",
      });
      await store.recordSuccess({
        environment: "test",
        programTree: "tree-1",
        commit: "c2",
        at: "2025-03-04T10:00:00.000Z",
      });
      await store.recordSuccess({
        environment: "test",
        programTree: "tree-2",
        commit: "c3",
        at: "2025-03-04T11:00:00.000Z",
      });
      await store.recordSuccess({
        environment: "stage",
        programTree: "tree-1",
        commit: "c4",
        at: "2025-03-04T12:00:00.000Z",
      });

      expect(await store.success("test", "tree-1")).toEqual({
        environment: "test",
        programTree: "tree-1",
        commit: "c2",
        firstAt: "2025-03-04T09:00:00.000Z",
        lastAt: "2025-03-04T10:00:00.000Z",
      });
      expect(await store.success("test", "tree-2")).toMatchObject({
        commit: "c3",
        firstAt: "2025-03-04T11:00:00.000Z",
      });
      expect(await store.success("stage", "tree-1")).toMatchObject({
        commit: "c4",
        firstAt: "2025-03-04T12:00:00.000Z",
      });
      expect(await store.success("prod", "tree-1")).toBeUndefined();
    });

    it("recorded out of order still keep the earliest first and the latest last", async () => {
      const store = await handles.open();
      const record = (commit: string, at: string) =>
        store.recordSuccess({ environment: "test", programTree: "tree-1", commit, at });
      await record("c2", "2025-03-04T10:00:00.000Z");
      await record("c1", "2025-03-04T10:30:00+02:00"); // 08:30Z: earlier, though later as text
      await record("c0", "2025-03-04T09:00:00.000Z");

      expect(await store.success("test", "tree-1")).toEqual({
        environment: "test",
        programTree: "tree-1",
        commit: "c2",
        firstAt: "2025-03-04T10:30:00+02:00",
        lastAt: "2025-03-04T10:00:00.000Z",
      });
    });

    it("refuse bad input", async () => {
      const store = await handles.open();
      const ok = { environment: "test", programTree: "tree-1", commit: "c1", at: "2025-03-04T09:00:00.000Z" };
      expect(await storeError(async () => await store.recordSuccess({ ...ok, programTree: "" }))).toBe(
        "invalid-input",
      );
      expect(await storeError(async () => await store.recordSuccess({ ...ok, at: "later" }))).toBe(
        "invalid-input",
      );
    });
  });

  describe("check results", () => {
    it("are kept per environment and key; the latest wins", async () => {
      const store = await handles.open();
      expect(await store.commandResult("stage", "k1")).toBeUndefined();

      await store.saveCommandResult("stage", "k1", result({ exitCode: 1, output: "1 failed\n" }));
      await store.saveCommandResult("stage", "k1", result({ at: "2025-03-04T10:00:00.000Z" }));
      await store.saveCommandResult("stage", "k1", result({ exitCode: 2, at: "2025-03-04T08:00:00.000Z" })); // older
      await store.saveCommandResult("stage", "k2", result({ exitCode: null, timedOut: true }));
      await store.saveCommandResult("prod", "k1", result({ name: "e2e" }));

      expect(await store.commandResult("stage", "k1")).toEqual(result({ at: "2025-03-04T10:00:00.000Z" }));
      expect(await store.commandResult("stage", "k2")).toEqual(result({ exitCode: null, timedOut: true }));
      expect((await store.commandResult("prod", "k1"))?.name).toBe("e2e");
      expect(await store.commandResult("prod", "k2")).toBeUndefined();
    });

    it("refuse an invalid result", async () => {
      const store = await handles.open();
      expect(await storeError(async () => await store.saveCommandResult("stage", "", result()))).toBe(
        "invalid-input",
      );
      expect(
        await storeError(async () => await store.saveCommandResult("stage", "k1", result({ at: "soon" }))),
      ).toBe("invalid-input");
      expect(
        await storeError(
          async () =>
            await store.saveCommandResult("stage", "k1", { ...result(), exitCode: "1" as unknown as number }),
        ),
      ).toBe("invalid-input");

      expect(await store.commandResult("stage", "k1")).toBeUndefined();
    });
  });

  describe("two processes on one store", () => {
    it("share approvals, successes and check results", async (ctx) => {
      const a = await handles.open();
      const b = await secondHandle(handles, ctx);
      await a.addApproval(approval("a1"));
      await b.addApproval(approval("a2")); // the same approver and plan, from the other process
      expect((await b.approvals("prod")).map((x) => x.id)).toEqual(["a1"]);
      expect(await b.revokeApprovals("prod", { by: "root", at: "2025-03-04T10:00:00.000Z" })).toHaveLength(1);
      expect(await a.approvals("prod")).toEqual([]);
      expect(await a.revokeApprovals("prod", { by: "root", at: "2025-03-04T10:00:00.000Z" })).toEqual([]);

      await a.recordSuccess({
        environment: "test",
        programTree: "t",
        commit: "c2",
        at: "2025-03-04T10:00:00.000Z",
      });
      await b.recordSuccess({
        environment: "test",
        programTree: "t",
        commit: "c1",
        at: "2025-03-04T09:00:00.000Z",
      });
      expect(await a.success("test", "t")).toMatchObject({
        commit: "c2",
        firstAt: "2025-03-04T09:00:00.000Z",
      });

      await b.saveCommandResult("stage", "k", result());
      expect(await a.commandResult("stage", "k")).toEqual(result());
    });
  });
}
