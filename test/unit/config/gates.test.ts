import { describe, expect, it } from "vitest";

import { ConfigError } from "../../../src/config/errors";
import { parseEnvironmentFile } from "../../../src/config/parse";
import {
  buildConfig,
  resolveEnvironment,
  resolveGatesAt,
  resolveSettings,
} from "../../../src/config/resolve";
import {
  canonicalTimeZone,
  cronInZoneProblem,
  durationProblem,
  positiveDurationProblem,
  timeZoneProblem,
} from "../../../src/config/rules";
import { thrownBy } from "../../helpers/errors";

const PROD = "environments/prod.yaml";

function yaml(...lines: string[]): string {
  return `${lines.join("\n")}\n`;
}

function env(name: string, ...lines: string[]) {
  return parseEnvironmentFile(`environments/${name}.yaml`, yaml(...lines));
}

const configError = (run: () => unknown): ConfigError => thrownBy(run, ConfigError);

const defaults = resolveSettings({ repository: { url: "." } }, "/repo").defaults;

const FULL = yaml(
  "name: prod",
  "order: 3",
  "sync:",
  "  policy: auto",
  "gates:",
  "  approval: { required: 2, approvers: [alice@example.com, bob@example.com], allowSelfApproval: true }",
  "  promotion: { from: stage, soak: 30m }",
  "  windows:",
  '    - { kind: allow, schedule: "0 9 * * 1-5", duration: 8h, timezone: europe/berlin }',
  '    - { kind: deny, schedule: "0 0 24 12 *", duration: 2d }',
  "  checks:",
  '    - { name: unit, run: "npm test", timeout: 1h30m }',
  '    - { name: e2e, run: "npm run e2e" }',
  '  protect: { operations: [delete], resources: ["aws:s3/bucket:Bucket", "prod-*"], action: approve }',
  "  policyPacks: [./policies/baseline/]",
);

describe("gates in an environment file", () => {
  it("resolves every gate, defaults filled in", () => {
    const parsed = parseEnvironmentFile(PROD, FULL);
    expect(parsed.issues).toEqual([]);
    const resolved = resolveEnvironment(PROD, parsed.value!, defaults, [
      { name: "test", order: 1 },
      { name: "stage", order: 2 },
      { name: "prod", order: 3 },
    ]);
    expect(resolved.gates).toEqual({
      approval: { required: 2, approvers: ["alice@example.com", "bob@example.com"], allowSelfApproval: true },
      promotion: { from: "stage", soakMs: 30 * 60_000 },
      windows: [
        { kind: "allow", schedule: "0 9 * * 1-5", durationMs: 8 * 3_600_000, timezone: "Europe/Berlin" },
        { kind: "deny", schedule: "0 0 24 12 *", durationMs: 2 * 86_400_000, timezone: "UTC" },
      ],
      checks: [
        { name: "unit", run: "npm test", timeoutMs: 90 * 60_000 },
        { name: "e2e", run: "npm run e2e", timeoutMs: 10 * 60_000 },
      ],
      protect: { operations: ["delete"], resources: ["aws:s3/bucket:Bucket", "prod-*"], action: "approve" },
      policyPacks: ["policies/baseline"],
    });
  });

  it("gives an auto environment without gates none, and a gated one a single approval", () => {
    const auto = resolveEnvironment(PROD, { name: "prod", order: 3, sync: { policy: "auto" } }, defaults);
    expect(auto.gates).toEqual({ windows: [], checks: [], policyPacks: [] });
    const gated = resolveEnvironment(PROD, { name: "prod", order: 3, sync: { policy: "gated" } }, defaults);
    expect(gated.gates.approval).toEqual({ required: 1, approvers: [], allowSelfApproval: false });
  });

  it("keeps a written approval gate over the one gated implies", () => {
    const resolved = resolveEnvironment(
      PROD,
      { name: "prod", order: 3, sync: { policy: "gated" }, gates: { approval: { required: 2 } } },
      defaults,
    );
    expect(resolved.gates.approval).toEqual({ required: 2, approvers: [], allowSelfApproval: false });
  });

  it("defaults protect to refusing every delete and replacement", () => {
    const resolved = resolveEnvironment(PROD, { name: "prod", order: 3, gates: { protect: {} } }, defaults);
    expect(resolved.gates.protect).toEqual({
      operations: ["delete", "replace"],
      resources: [],
      action: "refuse",
    });
  });

  it("reports an invalid window as a config error with the file, the field and the line", () => {
    const parsed = parseEnvironmentFile(
      PROD,
      yaml(
        "name: prod",
        "order: 3",
        "gates:",
        "  windows:",
        '    - { kind: allow, schedule: "every day", duration: 8h }',
        '    - { kind: allow, schedule: "0 9 * * *", duration: 8h, timezone: Mars/Olympus }',
        '    - { kind: deny, schedule: "0 9 * * *", duration: 0s }',
        '    - { kind: deny, schedule: "0 9 * * *", duration: "8 hours" }',
        '    - { kind: deny, schedule: "0 0 31 2 *", duration: 1h }',
        '    - { kind: never, schedule: "0 9 * * *", duration: 1h }',
      ),
    );
    expect(parsed.value).toBeUndefined();
    expect(parsed.issues.map((i) => [i.path, i.message, i.line])).toEqual([
      ["gates.windows[0].schedule", '"every day" is not a cron expression', 5],
      ["gates.windows[1].timezone", '"Mars/Olympus" is not a known time zone', 6],
      ["gates.windows[2].duration", '"0s" is zero', 7],
      ["gates.windows[3].duration", '"8 hours" is not a duration', 8],
      ["gates.windows[4].schedule", '"0 0 31 2 *" never fires', 9],
      ["gates.windows[5].kind", '"never" is not allowed', 10],
    ]);
    expect(parsed.issues.every((issue) => issue.file === PROD)).toBe(true);
    expect(parsed.issues[1].expected).toContain("IANA time zone");
    expect(parsed.issues[2].expected).toContain("not zero");
  });

  it("refuses a check name used twice, a bad timeout, and unknown keys", () => {
    const parsed = parseEnvironmentFile(
      PROD,
      yaml(
        "name: prod",
        "order: 3",
        "gates:",
        "  checks:",
        "    - { name: unit, run: npm test }",
        "    - { name: unit, run: npm run unit, timeout: 0s }",
        "    - { name: lint, command: npm run lint }",
      ),
    );
    expect(parsed.issues.map((i) => [i.path, i.message, i.line])).toEqual([
      ["gates.checks[1].timeout", '"0s" is zero', 6],
      ["gates.checks[2].run", "is missing", 7],
      ["gates.checks[2].command", "unknown key", 7],
      ["gates.checks[1].name", '"unit" is listed twice (first at [0])', 6],
    ]);
    expect(parsed.issues[3].expected).toBe("each check name once");
  });

  it("refuses an approver, an operation or a policy pack listed twice", () => {
    const parsed = parseEnvironmentFile(
      PROD,
      yaml(
        "name: prod",
        "order: 3",
        "gates:",
        "  approval: { approvers: [alice@example.com, Alice@Example.com] }",
        "  protect: { operations: [delete, delete] }",
        "  policyPacks: [policies/a, ./policies/a/]",
      ),
    );
    expect(parsed.issues.map((i) => [i.path, i.message, i.expected])).toEqual([
      [
        "gates.approval.approvers[1]",
        '"Alice@Example.com" is listed twice (first at [0])',
        "each approver once",
      ],
      ["gates.protect.operations[1]", '"delete" is listed twice (first at [0])', "each operation once"],
      ["gates.policyPacks[1]", '"./policies/a/" is listed twice (first at [0])', "each policy pack once"],
    ]);
  });

  it("refuses an approval count the approvers can never reach", () => {
    const parsed = parseEnvironmentFile(
      PROD,
      yaml("name: prod", "order: 3", "gates:", "  approval:", "    required: 3", "    approvers: [a, b]"),
    );
    expect(parsed.issues).toMatchObject([
      {
        path: "gates.approval.required",
        message: "3 approvals can never be met by 2 approvers",
        expected: "at most 2, the number of approvers listed",
        line: 5,
      },
    ]);
  });
});

describe("promotion across environment files", () => {
  const files = (prodGates: string[], testGates: string[] = []) => [
    env("test", "name: test", "order: 1", ...testGates),
    env("stage", "name: stage", "order: 2"),
    env("prod", "name: prod", "order: 3", ...prodGates),
  ];

  it("promotes from the environment just below unless told", () => {
    const config = buildConfig({
      configDir: "/repo",
      environments: files(["gates:", "  promotion: { soak: 1h }"]),
    });
    expect(config.environments[2].gates.promotion).toEqual({ from: "stage", soakMs: 3_600_000 });
  });

  it("refuses a promotion in the first environment, from itself, from above, or from nowhere", () => {
    const error = configError(() =>
      buildConfig({
        configDir: "/repo",
        environments: [
          env("test", "name: test", "order: 1", "gates:", "  promotion: {}"),
          env("stage", "name: stage", "order: 2", "gates:", "  promotion:", "    from: prod"),
          env("prod", "name: prod", "order: 3", "gates:", "  promotion:", "    from: prod"),
          env("edge", "name: edge", "order: 4", "gates:", "  promotion:", "    from: qa"),
        ],
      }),
    );
    expect(error.issues.map((i) => [i.file, i.path, i.message, i.line])).toEqual([
      [
        "environments/test.yaml",
        "gates.promotion",
        "has no environment to promote from: test is first in the promotion order",
        4,
      ],
      ["environments/stage.yaml", "gates.promotion.from", '"prod" has order 3, not below 2', 5],
      ["environments/prod.yaml", "gates.promotion.from", '"prod" is this environment itself', 5],
      ["environments/edge.yaml", "gates.promotion.from", '"qa" is not an environment', 5],
    ]);
    expect(error.issues[3].expected).toBe(
      'the name of an environment with an order below 4: "test", "stage", "prod"',
    );
    expect(error.message).toContain(
      'environments/stage.yaml:5:5: gates.promotion.from: "prod" has order 3, not below 2; expected the name of an environment with an order below 2: "test"',
    );
  });
});

describe("resolveGatesAt", () => {
  const context = {
    environments: [
      { name: "test", order: 1 },
      { name: "stage", order: 2 },
      { name: "prod", order: 3 },
    ],
    defaultSyncPolicy: "gated" as const,
  };

  it("resolves one file's gates on its own, with the defaults of the rest", () => {
    const result = resolveGatesAt(PROD, yaml("name: prod", "order: 3", "gates:", "  promotion: {}"), context);
    expect(result).toEqual({
      gates: {
        approval: { required: 1, approvers: [], allowSelfApproval: false },
        promotion: { from: "stage", soakMs: 0 },
        windows: [],
        checks: [],
        policyPacks: [],
      },
    });
  });

  it("uses the file's own sync policy over the default", () => {
    const result = resolveGatesAt(PROD, yaml("name: prod", "order: 3", "sync: { policy: auto }"), context);
    expect(result).toEqual({ gates: { windows: [], checks: [], policyPacks: [] } });
  });

  it("gives the issues of an invalid file, promotion included, with lines", () => {
    const broken = resolveGatesAt(
      PROD,
      yaml(
        "name: prod",
        "order: 3",
        "gates:",
        "  windows:",
        "    - { kind: allow, schedule: x, duration: 1h }",
      ),
      context,
    );
    expect(broken).toMatchObject({ issues: [{ file: PROD, path: "gates.windows[0].schedule", line: 5 }] });
    const badFrom = resolveGatesAt(
      PROD,
      yaml("name: prod", "order: 3", "gates:", "  promotion:", "    from: nowhere"),
      context,
    );
    expect(badFrom).toMatchObject({
      issues: [{ path: "gates.promotion.from", message: '"nowhere" is not an environment', line: 5 }],
    });
  });

  it("takes the file's own order when it differs from the current set", () => {
    // At an older commit prod was order 2, right above test.
    const result = resolveGatesAt(PROD, yaml("name: prod", "order: 2", "gates:", "  promotion: {}"), {
      environments: [
        { name: "test", order: 1 },
        { name: "prod", order: 3 },
      ],
      defaultSyncPolicy: "auto",
    });
    expect(result).toMatchObject({ gates: { promotion: { from: "test" } } });
  });
});

describe("the gate rules", () => {
  it("reads durations", () => {
    expect(durationProblem("1h30m")).toBeUndefined();
    expect(durationProblem("0")).toBeUndefined();
    expect(durationProblem("30m1h")).toBe("is not a duration");
    expect(durationProblem("")).toBe("is not a duration");
    expect(positiveDurationProblem("0s")).toBe("is zero");
    expect(positiveDurationProblem("1s")).toBeUndefined();
  });

  it("knows time zones by their IANA names, in any case", () => {
    expect(timeZoneProblem("Europe/Berlin")).toBeUndefined();
    expect(timeZoneProblem("Europe/Atlantis")).toBe("is not a known time zone");
    expect(timeZoneProblem("")).toBe("is not a known time zone");
    expect(canonicalTimeZone("utc")).toBe("UTC");
    expect(canonicalTimeZone("america/new_york")).toBe("America/New_York");
  });

  it("finds a cron that never fires in its zone, and leaves other problems to the other rules", () => {
    expect(cronInZoneProblem("0 9 * * *", "Asia/Tokyo")).toBeUndefined();
    expect(cronInZoneProblem("not cron", "UTC")).toBeUndefined();
    expect(cronInZoneProblem("0 9 * * *", "Nowhere/Here")).toBeUndefined();
  });
});
