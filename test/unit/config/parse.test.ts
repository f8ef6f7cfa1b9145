import { describe, expect, it } from "vitest";

import { formatConfigIssues } from "../../../src/config/errors";
import { parseEnvironmentFile, parseTidegateFile } from "../../../src/config/parse";

const PROD = "environments/prod.yaml";

function yaml(...lines: string[]): string {
  return `${lines.join("\n")}\n`;
}

describe("parseEnvironmentFile", () => {
  it("takes a minimal file as written, defaults left to resolve", () => {
    const parsed = parseEnvironmentFile(PROD, yaml("name: prod", "order: 3"));
    expect(parsed.issues).toEqual([]);
    expect(parsed.value).toEqual({ name: "prod", order: 3 });
  });

  it("reports a bad cron expression with the file, key, value, expectation and position", () => {
    const parsed = parseEnvironmentFile(
      PROD,
      yaml("name: prod", "order: 3", "schedule:", '  poll: "every 5 min"', '  drift: "*/15 * * * *"'),
    );
    expect(parsed.value).toBeUndefined();
    expect(parsed.issues).toEqual([
      {
        file: PROD,
        path: "schedule.poll",
        value: "every 5 min",
        message: '"every 5 min" is not a cron expression',
        expected: 'five fields like "*/5 * * * *" (minute hour day-of-month month day-of-week)',
        line: 4,
        column: 3,
      },
    ]);
    expect(formatConfigIssues(parsed.issues)).toBe(
      'environments/prod.yaml:4:3: schedule.poll: "every 5 min" is not a cron expression; ' +
        'expected five fields like "*/5 * * * *" (minute hour day-of-month month day-of-week)',
    );
  });

  it("refuses unknown keys and lists the allowed ones", () => {
    const parsed = parseEnvironmentFile(PROD, yaml("name: prod", "order: 3", "approvals: 2"));
    expect(parsed.issues).toEqual([
      {
        file: PROD,
        path: "approvals",
        message: "unknown key",
        expected:
          "one of the keys name, branch, stack, project, stacks, order, schedule, sync, drift, config, credentials, secrets, backend, install, gates",
        line: 3,
        column: 1,
      },
    ]);
  });

  it("refuses unknown keys in nested objects with that object's keys", () => {
    const parsed = parseEnvironmentFile(
      PROD,
      yaml("name: prod", "order: 3", "schedule:", '  every: "* * * * *"'),
    );
    expect(parsed.issues).toMatchObject([
      { path: "schedule.every", message: "unknown key", expected: "one of the keys poll, drift", line: 4 },
    ]);
  });

  it("reports a policy outside the allowed values", () => {
    const parsed = parseEnvironmentFile(PROD, yaml("name: prod", "order: 3", "sync:", "  policy: manual"));
    expect(parsed.issues).toMatchObject([
      {
        path: "sync.policy",
        value: "manual",
        message: '"manual" is not allowed',
        expected: 'one of "auto", "gated"',
      },
    ]);
  });

  it("reports missing, empty and mistyped values", () => {
    const parsed = parseEnvironmentFile(PROD, yaml("branch:", "order: first", "sync: auto"));
    expect(parsed.issues).toMatchObject([
      { path: "name", message: "is missing", expected: "a string" },
      { path: "branch", value: null, message: "is empty", expected: "a string", line: 1 },
      { path: "order", value: "first", message: '"first" is not a number', line: 2 },
      { path: "sync", value: "auto", message: '"auto" is not a mapping', expected: "a mapping", line: 3 },
    ]);
  });

  it("wants a positive whole number for order", () => {
    expect(parseEnvironmentFile(PROD, yaml("name: prod", "order: 0")).issues).toMatchObject([
      { path: "order", value: 0, message: "0 is out of range", expected: "a number of at least 1" },
    ]);
    expect(parseEnvironmentFile(PROD, yaml("name: prod", "order: 1.5")).issues).toMatchObject([
      { path: "order", value: 1.5, message: "1.5 is not a whole number", expected: "a whole number" },
    ]);
  });

  it("refuses a project folder that leaves the repository", () => {
    const parsed = parseEnvironmentFile(PROD, yaml("name: prod", "order: 3", "project: ../../elsewhere"));
    expect(parsed.issues).toEqual([
      {
        file: PROD,
        path: "project",
        value: "../../elsewhere",
        message: '"../../elsewhere" leaves the repository',
        expected: 'a relative path inside the repository, like "." or "stacks/aws"',
        line: 3,
        column: 1,
      },
    ]);
  });

  it("checks names, branches and stacks", () => {
    const parsed = parseEnvironmentFile(
      PROD,
      yaml("name: Prod_1", "branch: release..prod", "stack: my stack", "order: 3"),
    );
    expect(parsed.issues).toMatchObject([
      { path: "name", value: "Prod_1", message: '"Prod_1" is not a kebab-case name' },
      {
        path: "branch",
        value: "release..prod",
        message: '"release..prod" is not a branch name (it contains "..")',
      },
      { path: "stack", value: "my stack", message: '"my stack" is not a Pulumi stack name' },
    ]);
  });

  it("checks config keys and values", () => {
    const parsed = parseEnvironmentFile(
      PROD,
      yaml(
        "name: prod",
        "order: 3",
        "config:",
        "  aws_region: us-east-1",
        "  DB_PASSWORD: x",
        "  PORT: 8080",
      ),
    );
    expect(parsed.issues).toMatchObject([
      {
        path: "config.aws_region",
        value: "aws_region",
        message: '"aws_region" is not an environment variable name',
      },
      { path: "config.DB_PASSWORD", value: "DB_PASSWORD", message: '"DB_PASSWORD" names a secret', line: 5 },
      { path: "config.PORT", value: 8080, expected: 'a string (write it in quotes: "8080")', line: 6 },
    ]);
  });

  it("names the file, line and column of a YAML syntax error", () => {
    const parsed = parseEnvironmentFile(PROD, yaml("name: prod", "order: 3", "  sync: auto"));
    expect(parsed.value).toBeUndefined();
    expect(parsed.issues.length).toBeGreaterThan(0);
    expect(parsed.issues[0]).toMatchObject({
      file: PROD,
      path: "",
      line: 2,
      column: 8,
      message: expect.stringMatching(/^YAML syntax error: /),
      expected: expect.stringContaining("YAML"),
    });
    expect(formatConfigIssues(parsed.issues)).toMatch(/^environments\/prod\.yaml:2:8: YAML syntax error: /);
  });

  it("refuses a key written twice", () => {
    const parsed = parseEnvironmentFile(PROD, yaml("name: prod", "order: 3", "order: 4"));
    expect(parsed.issues).toMatchObject([{ file: PROD, line: 3, message: expect.stringMatching(/unique/) }]);
  });

  it("treats an empty file as an empty mapping and a list as no mapping", () => {
    expect(parseEnvironmentFile(PROD, "# nothing yet\n").issues.map((issue) => issue.path)).toEqual([
      "name",
      "order",
    ]);
    expect(parseEnvironmentFile(PROD, "- a\n").issues).toMatchObject([
      { path: "", message: "a list is not a mapping", expected: "a mapping" },
    ]);
  });
});

describe("parseTidegateFile", () => {
  it("takes the smallest file: just the repository", () => {
    const parsed = parseTidegateFile("tidegate.yaml", yaml("repository:", "  url: ."));
    expect(parsed.issues).toEqual([]);
    expect(parsed.value).toEqual({ repository: { url: "." } });
  });

  it("refuses an inline passphrase, says why and what to use, and never keeps or prints it", () => {
    const parsed = parseTidegateFile(
      "tidegate.yaml",
      yaml("repository:", "  url: .", "secrets:", "  passphrase: hunter2"),
    );
    expect(parsed.issues).toHaveLength(1);
    const [issue] = parsed.issues;
    expect(issue).toMatchObject({ file: "tidegate.yaml", path: "secrets.passphrase", line: 4 });
    expect(issue).not.toHaveProperty("value");
    expect(issue.message).toMatch(/committed/);
    expect(issue.expected).toMatch(/passphraseEnv.*passphraseFile/);
    expect(JSON.stringify(parsed.issues)).not.toContain("hunter2");
    expect(formatConfigIssues(parsed.issues)).not.toContain("hunter2");
  });

  it("takes telemetry settings, and refuses a collector endpoint with credentials without echoing it", () => {
    const ok = parseTidegateFile(
      "tidegate.yaml",
      yaml(
        "repository:",
        "  url: .",
        "telemetry:",
        "  metrics: { requireToken: true }",
        "  traces:",
        "    endpoint: https://otel.example.com",
      ),
    );
    expect(ok.issues).toEqual([]);
    const bad = parseTidegateFile(
      "tidegate.yaml",
      yaml(
        "repository:",
        "  url: .",
        "telemetry:",
        "  traces:",
        "    endpoint: https://user:s3cr3t@otel.example.com",
        "  metrics: { requireToken: yes }",
      ),
    );
    expect(bad.issues).toMatchObject([
      { path: "telemetry.metrics.requireToken", line: 6 },
      { path: "telemetry.traces.endpoint", message: expect.stringMatching(/carries credentials/), line: 5 },
    ]);
    expect(JSON.stringify(bad.issues)).not.toContain("s3cr3t");
    expect(
      parseTidegateFile(
        "tidegate.yaml",
        yaml("repository:", "  url: .", "telemetry:", "  traces: { endpoint: ftp://x }"),
      ).issues,
    ).toMatchObject([{ path: "telemetry.traces.endpoint", message: expect.stringMatching(/not http/) }]);
  });

  it("takes Git timeouts as durations, and names the key of a bad one", () => {
    const parsed = parseTidegateFile(
      "tidegate.yaml",
      yaml(
        "repository:",
        "  url: .",
        "  timeouts:",
        "    connect: 0s",
        "    lowSpeed: soon",
        "    fetch: 1m",
      ),
    );
    expect(parsed.issues).toMatchObject([
      { path: "repository.timeouts.connect", message: '"0s" is zero', line: 4 },
      {
        path: "repository.timeouts.lowSpeed",
        expected: expect.stringMatching(/a duration like "90s"/),
        line: 5,
      },
      {
        path: "repository.timeouts.fetch",
        message: "unknown key",
        expected: "one of the keys connect, lowSpeed, lsRemote, operation",
      },
    ]);
    const good = parseTidegateFile(
      "tidegate.yaml",
      yaml("repository:", "  url: .", "  timeouts:", "    connect: 5s", "    operation: 30m"),
    );
    expect(good.issues).toEqual([]);
  });

  it("takes the daemon's retry and stall settings, and names the key of a bad one", () => {
    const parsed = parseTidegateFile(
      "tidegate.yaml",
      yaml(
        "repository:",
        "  url: .",
        "daemon:",
        "  retry:",
        "    initial: 10m",
        "    max: 1m",
        "  stallAfter: 0",
        "  concurrency: none",
      ),
    );
    expect(parsed.issues).toMatchObject([
      {
        path: "daemon.retry.max",
        message: '"1m" is shorter than retry.initial',
        expected: "a duration at least as long as retry.initial",
      },
      { path: "daemon.stallAfter", line: 7 },
      { path: "daemon.concurrency", line: 8 },
    ]);
    const good = parseTidegateFile(
      "tidegate.yaml",
      yaml("repository:", "  url: .", "daemon:", "  retry: { initial: 5s, max: 10m }", "  stallAfter: 2"),
    );
    expect(good.issues).toEqual([]);
  });

  it("wants a replica heartbeat shorter than the ownership TTL", () => {
    const parsed = parseTidegateFile(
      "tidegate.yaml",
      yaml("repository:", "  url: .", "daemon:", "  replicas: { ownershipTtl: 10s, heartbeat: 10s }"),
    );
    expect(parsed.issues).toMatchObject([
      {
        path: "daemon.replicas.heartbeat",
        message: '"10s" is not shorter than ownershipTtl',
        expected: "a duration shorter than replicas.ownershipTtl (a few heartbeats per TTL)",
      },
    ]);
    const defaults = parseTidegateFile(
      "tidegate.yaml",
      yaml("repository:", "  url: .", "daemon:", "  replicas: { heartbeat: 31s }"),
    );
    expect(defaults.issues.map((i) => i.path)).toEqual(["daemon.replicas.heartbeat"]);
    const good = parseTidegateFile(
      "tidegate.yaml",
      yaml("repository:", "  url: .", "daemon:", "  replicas: { ownershipTtl: 6s, heartbeat: 1s }"),
    );
    expect(good.issues).toEqual([]);
  });

  it("wants exactly one passphrase source", () => {
    const both = parseTidegateFile(
      "tidegate.yaml",
      yaml("repository:", "  url: .", "secrets:", "  passphraseEnv: PASS", "  passphraseFile: /etc/pass"),
    );
    expect(both.issues).toMatchObject([
      { path: "secrets", message: "sets both passphraseEnv and passphraseFile", line: 3 },
    ]);
    const neither = parseTidegateFile("tidegate.yaml", yaml("repository:", "  url: .", "secrets: {}"));
    expect(neither.issues).toMatchObject([
      {
        path: "secrets",
        message: "sets neither passphraseEnv nor passphraseFile",
        expected: expect.stringMatching(/exactly one/),
      },
    ]);
  });

  it("lists the allowed keys for an unknown one, without the refused passphrase", () => {
    const parsed = parseTidegateFile(
      "tidegate.yaml",
      yaml("repository:", "  url: .", "secrets:", "  passwordEnv: X", "hooks:", "  port: 8080"),
    );
    expect(parsed.issues).toMatchObject([
      { path: "secrets.passwordEnv", expected: "one of the keys passphraseEnv, passphraseFile", line: 4 },
      { path: "secrets", message: "sets neither passphraseEnv nor passphraseFile" },
      {
        path: "hooks",
        message: "unknown key",
        expected:
          "one of the keys repository, repositories, dataDir, backend, sandbox, timeouts, secrets, environmentsDir, configRef, defaults, daemon, server, telemetry, webhooks, notifications, store",
        line: 5,
      },
    ]);
  });

  it("names the sandbox modes", () => {
    const parsed = parseTidegateFile("tidegate.yaml", yaml("repository:", "  url: .", "sandbox: docker"));
    expect(parsed.issues).toMatchObject([
      { path: "sandbox", expected: 'one of "auto", "bubblewrap", "off"', line: 3 },
    ]);
  });

  it("names the accepted backend forms", () => {
    const parsed = parseTidegateFile(
      "tidegate.yaml",
      yaml("repository:", "  url: .", "backend:", "  url: gs://state"),
    );
    expect(parsed.issues).toMatchObject([
      {
        path: "backend.url",
        value: "gs://state",
        message: '"gs://state" uses the unsupported scheme "gs://"',
        expected: "file://<path>, s3://<bucket>[/<prefix>] or https://api.pulumi.com (Pulumi Cloud)",
      },
    ]);
  });

  it("redacts credentials of a refused repository URL", () => {
    const parsed = parseTidegateFile(
      "tidegate.yaml",
      yaml("repository:", "  url: http://bot:s3cret@git.example.com/infra"),
    );
    expect(parsed.issues).toMatchObject([
      {
        path: "repository.url",
        value: "http://***@git.example.com/infra",
        message: '"http://***@git.example.com/infra" uses the unsupported scheme "http://"',
      },
    ]);
    expect(JSON.stringify(parsed.issues)).not.toContain("s3cret");
  });

  it("takes a token source for an https repository, the value never in the file", () => {
    const parsed = parseTidegateFile(
      "tidegate.yaml",
      yaml(
        "repository:",
        "  url: https://git.example.com/acme/infra.git",
        "  tokenFile: secrets/token",
        "  username: bot",
      ),
    );
    expect(parsed.issues).toEqual([]);
    expect(parsed.value?.repository).toEqual({
      url: "https://git.example.com/acme/infra.git",
      tokenFile: "secrets/token",
      username: "bot",
    });
  });

  it.each([
    [
      "two token sources",
      ["  url: https://git.example.com/x.git", "  tokenEnv: REPO_TOKEN", "  tokenFile: /run/token"],
      { path: "repository.tokenFile", message: "is set as well as tokenEnv", line: 4 },
    ],
    [
      "a user name without a token",
      ["  url: https://git.example.com/x.git", "  username: bot"],
      { path: "repository.username", message: "is set without a token", line: 3 },
    ],
    [
      "a token for an ssh URL",
      ["  url: git@github.com:acme/x.git", "  tokenEnv: REPO_TOKEN"],
      { path: "repository.url", message: "is not an https URL, so a token cannot be used" },
    ],
    [
      "a token beside credentials in the URL, which stay masked",
      ["  url: https://bot:s3cretvalue@git.example.com/x.git", "  tokenEnv: REPO_TOKEN"],
      {
        path: "repository.url",
        value: "https://***@git.example.com/x.git",
        message: "holds credentials as well as a token source",
        expected:
          "either credentials in the URL or a token source (repository.tokenEnv or repository.tokenFile), not both",
      },
    ],
    [
      "a user name Basic auth cannot carry",
      ["  url: https://git.example.com/x.git", "  tokenEnv: REPO_TOKEN", "  username: 'bot:x'"],
      { path: "repository.username", message: `"bot:x" holds a space, ':' or a control character` },
    ],
  ])("refuses %s, naming the key", (_name, lines, issue) => {
    const parsed = parseTidegateFile("tidegate.yaml", yaml("repository:", ...lines));
    expect(parsed.issues).toMatchObject([issue]);
    expect(JSON.stringify(parsed.issues)).not.toContain("s3cretvalue");
  });

  it("checks the defaults", () => {
    const parsed = parseTidegateFile(
      "tidegate.yaml",
      yaml(
        "repository:",
        "  url: .",
        "defaults:",
        "  schedule:",
        '    drift: "0 0 31 2 *"',
        "  driftPolicy: fix",
      ),
    );
    expect(parsed.issues).toMatchObject([
      { path: "defaults.schedule.drift", message: '"0 0 31 2 *" never fires', line: 5 },
      { path: "defaults.driftPolicy", expected: 'one of "report", "remediate"', line: 6 },
    ]);
  });
});

describe("drift.ignore rules", () => {
  const TEST = "environments/test.yaml";
  const rules = (...lines: string[]) =>
    parseEnvironmentFile(TEST, yaml("name: test", "order: 1", "drift:", "  ignore:", ...lines));

  it("takes a rule as written; the policy may be left to the defaults", () => {
    const parsed = rules(
      "    - resource: { type: 'aws:s3/*', name: artifacts }",
      "      property: tags.team",
      "      reason: the cost tool re-tags team",
      "      owner: finops",
      '      expires: "2026-12-31"',
    );
    expect(parsed.issues).toEqual([]);
    expect(parsed.value?.drift).toEqual({
      ignore: [
        {
          resource: { type: "aws:s3/*", name: "artifacts" },
          property: "tags.team",
          reason: "the cost tool re-tags team",
          owner: "finops",
          expires: "2026-12-31",
        },
      ],
    });
  });

  it("names the file, the field and what was expected for each bad rule", () => {
    const parsed = rules("    - resource: {}", "      property: tags[team", "      expires: next week");
    expect(parsed.value).toBeUndefined();
    expect(parsed.issues).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          file: TEST,
          path: "drift.ignore[0].resource",
          expected: "type, name or both",
        }),
        expect.objectContaining({
          file: TEST,
          path: "drift.ignore[0].property",
          expected: expect.stringMatching(/property path like "tags.team"/),
        }),
        expect.objectContaining({
          file: TEST,
          path: "drift.ignore[0].expires",
          message: '"next week" is not a date',
          expected: 'a date like "2026-12-31"',
        }),
        expect.objectContaining({ file: TEST, path: "drift.ignore[0].reason" }),
      ]),
    );
  });
});
