import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import {
  RunReportSchema,
  InvalidReportError,
  parseRunReport,
  reportJsonSchema,
} from "../../../src/domain/report-schema";
import { gatedReport, sampleReport } from "./fixture";

const SCHEMA_FILE = path.join(__dirname, "..", "..", "..", "schema", "report.schema.json");

function invalid(value: unknown): InvalidReportError {
  try {
    parseRunReport(value, "test report");
  } catch (error) {
    if (error instanceof InvalidReportError) return error;
    throw error;
  }
  throw new Error("the report was accepted");
}

describe("RunReportSchema", () => {
  it("accepts a report and gives back the same document after a JSON round trip", () => {
    const report = sampleReport();
    expect(parseRunReport(JSON.parse(JSON.stringify(report)))).toEqual(report);
  });

  it("accepts a minimal report (a check that failed before any preview)", () => {
    const { desired: _d, deployed: _p, pending: _q, drift: _r, reason: _s, ...minimal } = sampleReport();
    expect(RunReportSchema.safeParse({ ...minimal, status: "Failed", timings: {} }).success).toBe(true);
  });

  it("accepts the gates' fields (plan, verdicts, approvals, checks, policy, gates change, window note)", () => {
    const report = gatedReport({
      gatesChange: { changes: ["approval: required 1 → 0"] },
      sync: { applied: true, windowClosedDuringUpdate: "the sync window closed while the update ran" },
    });
    expect(parseRunReport(JSON.parse(JSON.stringify(report)))).toEqual(report);
    const killed = gatedReport({
      checks: [{ ...gatedReport().checks![0]!, exitCode: null, timedOut: true }],
    });
    expect(parseRunReport(killed)).toEqual(killed);
  });

  it("names the bad path in the gates' fields", () => {
    const bad = JSON.parse(JSON.stringify(gatedReport()));
    bad.plan.digest = "3f9a0c1d2e4b";
    bad.gates[1].verdict = "maybe";
    bad.approvals[0].scope = "everything";
    bad.checks[0].exitCode = 1.5;
    bad.policy[0].level = "fatal";
    bad.sync = { applied: true, windowClosedDuringUpdate: 1 };
    expect(invalid(bad).issues.map((i) => i.path)).toEqual([
      "sync.windowClosedDuringUpdate",
      "plan.digest",
      "gates[1].verdict",
      "approvals[0].scope",
      "checks[0].exitCode",
      "policy[0].level",
    ]);
    expect(invalid(bad).issues[1]?.message).toBe('expected "sha256:" and 64 hex digits');
  });

  it("names the missing field when runId is absent", () => {
    const { runId: _omitted, ...withoutRunId } = sampleReport();
    const error = invalid(withoutRunId);
    expect(error.issues).toEqual([{ path: "runId", message: expect.stringContaining("expected string") }]);
    expect(error.message).toMatch(/^test report is not a valid check report: runId: /);
  });

  it("gives the full path of a bad nested value", () => {
    const bad = JSON.parse(JSON.stringify(sampleReport()));
    bad.drift.resources[0].properties[0].replaces = "no";
    expect(invalid(bad).issues.map((i) => i.path)).toEqual(["drift.resources[0].properties[0].replaces"]);
  });

  it("rejects another schema version, unknown statuses and times that are no ISO 8601", () => {
    expect(invalid({ ...sampleReport(), schemaVersion: 2 }).issues[0]?.path).toBe("schemaVersion");
    expect(invalid({ ...sampleReport(), status: "Fine" }).issues[0]?.path).toBe("status");
    expect(invalid({ ...sampleReport(), startedAt: "yesterday" }).issues[0]?.path).toBe("startedAt");
  });

  it("matches the checked-in schema/report.schema.json (run npm run report:schema after a change)", () => {
    const checkedIn: unknown = JSON.parse(fs.readFileSync(SCHEMA_FILE, "utf8"));
    expect(checkedIn, "schema/report.schema.json is out of date: run npm run report:schema").toEqual(
      reportJsonSchema(),
    );
  });

  it("publishes a JSON Schema that documents secrets and keeps pending and drift apart", () => {
    const schema = reportJsonSchema() as { required: string[]; $defs: Record<string, unknown> };
    expect(schema.required).toContain("runId");
    expect(Object.keys(schema.$defs).sort()).toEqual([
      "ChangeSet",
      "CommandResult",
      "CommitInfo",
      "CountedApproval",
      "GateVerdict",
      "IgnoredDrift",
      "PolicyViolation",
      "PropertyChange",
      "ResourceChange",
    ]);
    expect(JSON.stringify(schema.$defs.PropertyChange)).toContain("[secret]");
  });
});
