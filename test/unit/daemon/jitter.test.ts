import { describe, expect, it } from "vitest";
import { jitterDelay } from "../../../src/daemon/jitter";

describe("jitterDelay", () => {
  it("stays within 0..jitterMs for any draw, reaching both ends", () => {
    expect(jitterDelay(1000, () => 0)).toBe(0);
    expect(jitterDelay(1000, () => 0.5)).toBe(500);
    expect(jitterDelay(1000, () => 0.9999999)).toBe(1000);
    for (const r of [0, 1e-9, 0.25, 0.5, 0.75, 0.999999, 1, 2, -1, Number.NaN]) {
      const ms = jitterDelay(1000, () => r);
      expect(ms).toBeGreaterThanOrEqual(0);
      expect(ms).toBeLessThanOrEqual(1000);
      expect(Number.isInteger(ms)).toBe(true);
    }
  });

  it("is zero without jitter", () => {
    expect(jitterDelay(0, () => 0.9)).toBe(0);
    expect(jitterDelay(-5, () => 0.9)).toBe(0);
  });
});
