import { describe, expect, it } from "vitest";

import { evaluateCommands } from "../../../src/gates/checks";
import type { GateCommand, CommandResult } from "../../../src/domain/gates";
import { COMMIT } from "./fixtures";

const UNIT: GateCommand = { name: "unit", run: "npm test", timeoutMs: 600_000 };
const E2E: GateCommand = { name: "e2e", run: "npm run e2e", timeoutMs: 300_000 };

function result(command: GateCommand, overrides: Partial<CommandResult> = {}): CommandResult {
  return {
    name: command.name,
    command: command.run,
    commit: COMMIT,
    exitCode: 0,
    timedOut: false,
    durationMs: 1_000,
    output: "ok\n",
    at: "2025-06-02T10:00:00.000Z",
    ...overrides,
  };
}

describe("evaluateCommands", () => {
  it("passes when every command exited 0 at the commit", () => {
    expect(evaluateCommands([UNIT, E2E], [result(UNIT), result(E2E)], COMMIT)).toEqual({
      gate: "checks",
      verdict: "pass",
      reason: "2 checks passed at commit 1234567890ab: 'unit' and 'e2e'",
    });
  });

  it("blocks naming the failed, timed-out and missing ones", () => {
    const verdict = evaluateCommands(
      [UNIT, E2E, { name: "lint", run: "npm run lint", timeoutMs: 60_000 }],
      [
        result(UNIT, { exitCode: 1, output: "running\n  FAIL  test/a.test.ts > adds\n\n" }),
        result(E2E, { exitCode: null, timedOut: true }),
      ],
      COMMIT,
    );
    expect(verdict).toEqual({
      gate: "checks",
      verdict: "block",
      reason:
        "check 'unit' failed (exit 1): FAIL  test/a.test.ts > adds; check 'e2e' timed out after 5m; check 'lint' has not run (at commit 1234567890ab)",
    });
  });

  it("only takes results at the plan's commit, of the same check, the latest first", () => {
    const other = result(UNIT, { commit: "ffffffffffffffff" });
    const renamed = result(UNIT, { name: "unit-old" });
    expect(evaluateCommands([UNIT], [other, renamed], COMMIT).verdict).toBe("block");
    // The kept command text has secrets masked; the name identifies the result.
    const masked = result(UNIT, { command: "npm [secret]" });
    expect(evaluateCommands([UNIT], [masked], COMMIT).verdict).toBe("pass");
    const failedThenPassed = [
      result(UNIT, { exitCode: 1, at: "2025-06-02T09:00:00.000Z" }),
      result(UNIT, { exitCode: 0, at: "2025-06-02T10:00:00.000Z" }),
    ];
    expect(evaluateCommands([UNIT], failedThenPassed, COMMIT).verdict).toBe("pass");
  });

  it("says a killed check was killed", () => {
    expect(evaluateCommands([UNIT], [result(UNIT, { exitCode: null })], COMMIT).reason).toContain(
      "check 'unit' was killed",
    );
  });
});
