import { describe, expect, it } from "vitest";

import { evaluatePromotion } from "../../../src/gates/promotion";

const TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";
const success = {
  environment: "stage",
  commit: "fedcba9876543210fedcba9876543210fedcba98",
  programTree: TREE,
  firstAt: "2025-06-02T10:00:00.000Z",
};

describe("evaluatePromotion", () => {
  it("blocks a program that never succeeded in the environment below", () => {
    expect(evaluatePromotion({ from: "stage", soakMs: 0 }, { programTree: TREE, now: new Date() })).toEqual({
      gate: "promotion",
      verdict: "block",
      reason:
        "this program (tree 4b825dc642cb) has never been deployed successfully in stage; promote it there first",
    });
  });

  it("blocks when what succeeded there is another program or another environment", () => {
    const gate = { from: "stage", soakMs: 0 };
    const now = new Date("2025-06-03T00:00:00Z");
    expect(
      evaluatePromotion(gate, { programTree: TREE, success: { ...success, programTree: "0000" }, now })
        .verdict,
    ).toBe("block");
    expect(
      evaluatePromotion(gate, { programTree: TREE, success: { ...success, environment: "test" }, now })
        .verdict,
    ).toBe("block");
  });

  it("passes once the same program tree succeeded there", () => {
    expect(
      evaluatePromotion(
        { from: "stage", soakMs: 0 },
        { programTree: TREE, success, now: new Date("2025-06-02T10:00:00Z") },
      ),
    ).toEqual({
      gate: "promotion",
      verdict: "pass",
      reason: "succeeded in stage at commit fedcba987654 (first at 2025-06-02T10:00:00.000Z)",
    });
  });

  it("blocks while the program soaks, saying how long is left", () => {
    const gate = { from: "stage", soakMs: 30 * 60_000 };
    const soaking = evaluatePromotion(gate, {
      programTree: TREE,
      success,
      now: new Date("2025-06-02T10:17:59.500Z"),
    });
    expect(soaking).toEqual({
      gate: "promotion",
      verdict: "block",
      reason:
        "succeeded in stage at commit fedcba987654 (first at 2025-06-02T10:00:00.000Z); soaking there for 30m, 12m1s left",
    });
    const soaked = evaluatePromotion(gate, {
      programTree: TREE,
      success,
      now: new Date("2025-06-02T10:30:00Z"),
    });
    expect(soaked).toMatchObject({ verdict: "pass", reason: expect.stringContaining("soaked 30m") });
  });
});
