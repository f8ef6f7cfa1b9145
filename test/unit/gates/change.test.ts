import { describe, expect, it } from "vitest";

import { describeGatesChange } from "../../../src/gates";
import type { Gates } from "../../../src/domain/gates";

const PROD: Gates = {
  approval: { required: 1, approvers: [], allowSelfApproval: false },
  promotion: { from: "stage", soakMs: 600_000 },
  windows: [
    { kind: "allow", schedule: "0 7 * * 1-5", durationMs: 12 * 3_600_000, timezone: "Europe/Berlin" },
    { kind: "deny", schedule: "0 0 24 12 *", durationMs: 2 * 86_400_000, timezone: "UTC" },
  ],
  checks: [{ name: "unit", run: "npm test", timeoutMs: 600_000 }],
  protect: { operations: ["delete", "replace"], resources: [], action: "refuse" },
  policyPacks: ["policies/baseline"],
};

describe("describeGatesChange", () => {
  it("is empty when nothing changes", () => {
    expect(describeGatesChange(PROD, structuredClone(PROD))).toEqual([]);
  });

  it("names every gate removed", () => {
    expect(describeGatesChange(PROD, { windows: [], checks: [], policyPacks: [] })).toEqual([
      "approval removed (was 1 of anyone)",
      "promotion removed (was from stage, soak 10m)",
      "allow window '0 7 * * 1-5' (12h, Europe/Berlin) removed",
      "deny window '0 0 24 12 *' (2d, UTC) removed",
      "check 'unit' removed (was \"npm test\", timeout 10m)",
      "protect removed (was delete, replace of every resource: refuse)",
      "policy pack policies/baseline removed",
    ]);
  });

  it("names gates added", () => {
    expect(describeGatesChange({ windows: [], checks: [], policyPacks: [] }, PROD)).toEqual([
      "approval added (1 of anyone)",
      "promotion added (from stage, soak 10m)",
      "allow window '0 7 * * 1-5' (12h, Europe/Berlin) added",
      "deny window '0 0 24 12 *' (2d, UTC) added",
      "check 'unit' added (\"npm test\", timeout 10m)",
      "protect added (delete, replace of every resource: refuse)",
      "policy pack policies/baseline added",
    ]);
  });

  it("names each field that changes, old → new", () => {
    const proposed: Gates = {
      approval: { required: 2, approvers: ["alice@example.com"], allowSelfApproval: true },
      promotion: { from: "test", soakMs: 0 },
      windows: [PROD.windows[0], { ...PROD.windows[1], durationMs: 86_400_000 }],
      checks: [{ name: "unit", run: "npm run test:unit", timeoutMs: 300_000 }],
      protect: { operations: ["delete"], resources: ["prod-*"], action: "approve" },
      policyPacks: ["policies/strict"],
    };
    expect(describeGatesChange(PROD, proposed)).toEqual([
      "approval: required 1 → 2",
      "approval: approvers anyone → alice@example.com",
      "approval: self-approval not allowed → allowed",
      "promotion: from stage → test",
      "promotion: soak 10m → 0s",
      "deny window '0 0 24 12 *' (2d, UTC) removed",
      "deny window '0 0 24 12 *' (1d, UTC) added",
      'check \'unit\': run "npm test" → "npm run test:unit"',
      "check 'unit': timeout 10m → 5m",
      "protect: operations delete, replace → delete",
      "protect: resources every resource → prod-*",
      "protect: action refuse → approve",
      "policy pack policies/baseline removed",
      "policy pack policies/strict added",
    ]);
  });
});
