import { describe, expect, it } from "vitest";

import { canonicalJson, entryHash, GENESIS_HASH } from "../../../src/adapters/audit";

describe("canonicalJson", () => {
  it("sorts keys at every depth and drops undefined members", () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { z: 1, y: null }], c: undefined } })).toBe(
      '{"a":{"d":[2,{"y":null,"z":1}]},"b":1}',
    );
  });

  it("gives the same text whatever order the keys were written in", () => {
    expect(canonicalJson({ x: "é", y: [1, "two"] })).toBe(canonicalJson({ y: [1, "two"], x: "é" }));
  });
});

describe("entryHash", () => {
  const entry = {
    seq: 1,
    time: "2025-05-01T10:00:00.000Z",
    actor: "ada",
    action: "check",
    prev: GENESIS_HASH,
  };

  it("is the sha256 of the canonical JSON without the hash itself", () => {
    const hash = entryHash(entry);
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(entryHash({ ...entry, hash })).toBe(hash);
    expect(entryHash({ action: "check", prev: GENESIS_HASH, actor: "ada", seq: 1, time: entry.time })).toBe(
      hash,
    );
  });

  it("covers every field, prev included", () => {
    const hash = entryHash(entry);
    expect(entryHash({ ...entry, prev: "1".repeat(64) })).not.toBe(hash);
    expect(entryHash({ ...entry, extra: true })).not.toBe(hash);
  });
});
