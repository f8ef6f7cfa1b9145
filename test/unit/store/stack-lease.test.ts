import { describe, expect, it } from "vitest";
import { newMemoryState, openMemoryStore } from "../../../src/adapters/store/memory";
import { acquireStoreLease, stackLeaseKey } from "../../../src/adapters/store/stack-lease";

describe("a stack's lease in a shared store", () => {
  it("is one key per backend and stack, whatever the backend URL's query says", () => {
    expect(stackLeaseKey("s3://state?region=eu-west-1&endpoint=x", "prod")).toBe("stack:s3://state/prod");
    expect(stackLeaseKey("s3://state/", "prod")).toBe(stackLeaseKey("s3://state", "prod"));
    expect(stackLeaseKey("s3://state", "prod")).not.toBe(stackLeaseKey("s3://other", "prod"));
  });

  it("has one holder at a time; a release frees it for the next", async () => {
    const state = newMemoryState();
    // Two stores on one state: two replicas on one database.
    const [a, b] = [openMemoryStore(state), openMemoryStore(state)];
    const key = stackLeaseKey("s3://state", "prod");
    const first = await acquireStoreLease(a, key, { owner: "host-a/1/1/run-1" });
    expect(first?.owner).toBe("host-a/1/1/run-1");
    expect(
      await acquireStoreLease(b, key, { owner: "host-b/2/2/run-2", isDead: () => false }),
    ).toBeUndefined();
    first?.release();
    await new Promise((resolve) => setImmediate(resolve));
    const second = await acquireStoreLease(b, key, { owner: "host-b/2/2/run-2" });
    expect(second?.owner).toBe("host-b/2/2/run-2");
    second?.release();
  });

  it("is taken over at once from a holder the store's deadness check says is dead", async () => {
    const store = openMemoryStore(newMemoryState());
    const key = stackLeaseKey("file:///state", "test");
    await acquireStoreLease(store, key, { owner: "host-a/1/1/run-1" });
    const taken = await acquireStoreLease(store, key, {
      owner: "host-a/9/9/run-2",
      isDead: (owner) => owner?.startsWith("host-a/1/") ?? false,
    });
    expect(taken?.owner).toBe("host-a/9/9/run-2");
    taken?.release();
  });
});
