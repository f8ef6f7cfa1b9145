import * as os from "node:os";
import { describe, expect, it } from "vitest";

import { ConfigError } from "../../../src/config/errors";
import { parseEnvironmentFile, parseTidegateFile } from "../../../src/config/parse";
import {
  autoConcurrency,
  buildConfig,
  checkEnvironmentSet,
  environmentIdentity,
  environmentsSource,
  fileBaseName,
  resolveEnvironment,
  resolveRepository,
  resolveSettings,
} from "../../../src/config/resolve";
import { thrownBy } from "../../helpers/errors";

function yaml(...lines: string[]): string {
  return `${lines.join("\n")}\n`;
}

function env(name: string, ...lines: string[]) {
  return parseEnvironmentFile(`environments/${name}.yaml`, yaml(...lines));
}

/** The error buildConfig throws; fails the test when it throws none. */
const configError = (run: () => unknown): ConfigError => thrownBy(run, ConfigError);

const THREE = [
  env("test", "name: test", "order: 1", "sync:", "  policy: auto"),
  env("stage", "name: stage", "order: 2"),
  env("prod", "name: prod", "order: 3", "project: ./stacks/aws/", "config:", "  AWS_REGION: eu-west-1"),
];

// A daemon's limits: 15 s to connect, 60 s of near-silence, 60 s per poll, 10 minutes per fetch or push.
const DEFAULT_TIMEOUTS = { connectMs: 15_000, lowSpeedMs: 60_000, lsRemoteMs: 60_000, operationMs: 600_000 };
// Pulumi and npm: 30 minutes per preview or refresh, an hour per update, 5 minutes for the rest, 15 per install.
const PULUMI_TIMEOUTS = {
  previewMs: 1_800_000,
  updateMs: 3_600_000,
  refreshMs: 1_800_000,
  stackMs: 300_000,
  installMs: 900_000,
};

describe("resolveSettings", () => {
  it("fills every default, relative to the config file's folder", () => {
    expect(
      resolveSettings({ repository: { url: "." } }, "/etc/tidegate", "/etc/tidegate/tidegate.yaml"),
    ).toEqual({
      configFile: "/etc/tidegate/tidegate.yaml",
      repository: { url: "/etc/tidegate", timeouts: DEFAULT_TIMEOUTS },
      dataDir: "/etc/tidegate/.tidegate",
      backendUrl: "file:///etc/tidegate/.tidegate/state",
      sandbox: "auto",
      timeouts: PULUMI_TIMEOUTS,
      secrets: { kind: "env", name: "PULUMI_CONFIG_PASSPHRASE" },
      environmentsDir: "environments",
      configRef: "main",
      defaults: {
        schedule: { poll: "*/1 * * * *", drift: "*/15 * * * *" },
        syncPolicy: "gated",
        driftPolicy: "report",
      },
      daemon: {
        retryInitialMs: 30_000,
        retryMaxMs: 3_600_000,
        stallAfter: 5,
        concurrency: autoConcurrency(os.availableParallelism(), os.totalmem()),
        stackConcurrency: 2,
        startup: "check",
        ownershipTtlMs: 30_000,
        heartbeatMs: 5_000,
      },
      server: { host: "127.0.0.1", port: 7420, anonymousRead: false },
      telemetry: { metrics: { requireToken: false }, traces: {} },
      webhooks: {},
    });
  });

  it("keeps what the file says", () => {
    const settings = resolveSettings(
      {
        repository: { url: "https://github.com/acme/infra.git" },
        dataDir: "/var/lib/tidegate",
        backend: { url: "s3://acme-state" },
        sandbox: "off",
        timeouts: { update: "2h", install: "90s" },
        secrets: { passphraseFile: "secrets/passphrase" },
        environmentsDir: "./deploy/envs/",
        configRef: "release/config",
        defaults: { schedule: { drift: "0 * * * *" }, syncPolicy: "auto", driftPolicy: "remediate" },
        daemon: {
          retry: { initial: "10s", max: "5m" },
          stallAfter: 3,
          concurrency: 4,
          stackConcurrency: 3,
          startup: "poll",
          requestPoll: "45s",
          replicas: { ownershipTtl: "12s", heartbeat: "2s" },
        },
        server: {
          listen: "[::]:8443",
          tls: { cert: "tls/cert.pem", key: "/etc/tls/key.pem" },
          anonymousRead: true,
        },
        telemetry: { metrics: { requireToken: true }, traces: { endpoint: "http://collector:4318" } },
      },
      "/etc/tidegate",
    );
    expect(settings).toEqual({
      repository: { url: "https://github.com/acme/infra.git", timeouts: DEFAULT_TIMEOUTS },
      dataDir: "/var/lib/tidegate",
      backendUrl: "s3://acme-state",
      sandbox: "off",
      timeouts: { ...PULUMI_TIMEOUTS, updateMs: 7_200_000, installMs: 90_000 },
      secrets: { kind: "file", path: "/etc/tidegate/secrets/passphrase" },
      environmentsDir: "deploy/envs",
      configRef: "release/config",
      defaults: {
        schedule: { poll: "*/1 * * * *", drift: "0 * * * *" },
        syncPolicy: "auto",
        driftPolicy: "remediate",
      },
      daemon: {
        retryInitialMs: 10_000,
        retryMaxMs: 300_000,
        stallAfter: 3,
        concurrency: 4,
        stackConcurrency: 3,
        startup: "poll",
        ownershipTtlMs: 12_000,
        heartbeatMs: 2_000,
        requestPollMs: 45_000,
      },
      server: {
        host: "::",
        port: 8443,
        tls: { cert: "/etc/tidegate/tls/cert.pem", key: "/etc/tls/key.pem" },
        anonymousRead: true,
      },
      telemetry: { metrics: { requireToken: true }, traces: { endpoint: "http://collector:4318" } },
      webhooks: {},
    });
  });
});

describe("resolveRepository", () => {
  const url = "https://git.example.com/acme/infra.git";

  it("names where the token comes from, with the default user name, a file made absolute", () => {
    expect(resolveRepository({ url, tokenFile: "secrets/token" }, "/etc/tidegate")).toEqual({
      url,
      token: { username: "x-access-token", source: { kind: "file", path: "/etc/tidegate/secrets/token" } },
      timeouts: DEFAULT_TIMEOUTS,
    });
    expect(resolveRepository({ url, tokenEnv: "REPO_TOKEN", username: "bot" }, "/etc/tidegate")).toEqual({
      url,
      token: { username: "bot", source: { kind: "env", name: "REPO_TOKEN" } },
      timeouts: DEFAULT_TIMEOUTS,
    });
  });

  it("has no token without a token source", () => {
    expect(resolveRepository({ url: "../infra" }, "/etc/tidegate")).toEqual({
      url: "/etc/infra",
      timeouts: DEFAULT_TIMEOUTS,
    });
  });

  it("bounds every Git call to the remote: the defaults, and what the file says", () => {
    const timeouts = { connect: "5s", lowSpeed: "2m", lsRemote: "30s", operation: "1h" };
    expect(resolveRepository({ url, timeouts }, "/etc/tidegate").timeouts).toEqual({
      connectMs: 5_000,
      lowSpeedMs: 120_000,
      lsRemoteMs: 30_000,
      operationMs: 3_600_000,
    });
    expect(resolveRepository({ url, timeouts: { operation: "20m" } }, "/").timeouts).toEqual({
      ...DEFAULT_TIMEOUTS,
      operationMs: 1_200_000,
    });
  });
});

describe("resolveEnvironment", () => {
  const defaults = resolveSettings({ repository: { url: "." } }, "/repo").defaults;

  it("takes branch and stack from the name, the rest from the defaults", () => {
    expect(resolveEnvironment("environments/stage.yaml", { name: "stage", order: 2 }, defaults)).toEqual({
      name: "stage",
      file: "environments/stage.yaml",
      branch: "stage",
      stack: "stage",
      project: ".",
      // The one-stack form as a list of one, named after the environment.
      stacks: [{ name: "stage", project: ".", stack: "stage", dependsOn: [] }],
      order: 2,
      schedule: { poll: "*/1 * * * *", drift: "*/15 * * * *" },
      sync: { policy: "gated" },
      drift: { policy: "report", ignore: [] },
      config: {},
      credentials: { read: {}, update: {} },
      install: { scripts: false },
      // gated: one approval, from anyone but the change's authors.
      gates: {
        approval: { required: 1, approvers: [], allowSelfApproval: false },
        windows: [],
        checks: [],
        policyPacks: [],
      },
      // Only resolveConfig knows every environment's packs.
      programPolicyPacks: [],
    });
  });

  it("keeps what the file says", () => {
    const resolved = resolveEnvironment(
      "environments/prod.yaml",
      {
        name: "prod",
        branch: "production",
        stack: "acme/platform/prod",
        project: "stacks/aws",
        order: 3,
        schedule: { poll: "*/5 * * * *" },
        sync: { policy: "auto" },
        drift: { policy: "remediate" },
        config: { AWS_REGION: "eu-west-1" },
      },
      defaults,
    );
    expect(resolved).toMatchObject({
      branch: "production",
      stack: "acme/platform/prod",
      project: "stacks/aws",
      schedule: { poll: "*/5 * * * *", drift: "*/15 * * * *" },
      sync: { policy: "auto" },
      drift: { policy: "remediate", ignore: [] },
      config: { AWS_REGION: "eu-west-1" },
    });
  });
});

describe("buildConfig", () => {
  it("resolves valid files, environments in promotion order", () => {
    const tidegate = parseTidegateFile(
      "tidegate.yaml",
      yaml("repository:", "  url: ../infra", "defaults:", "  driftPolicy: remediate"),
    );
    const config = buildConfig({
      configDir: "/etc/tidegate",
      configFile: "/etc/tidegate/tidegate.yaml",
      tidegate,
      environments: [THREE[2], THREE[0], THREE[1]],
    });
    expect(config.repository).toEqual({ url: "/etc/infra", timeouts: DEFAULT_TIMEOUTS });
    expect(config).not.toHaveProperty("defaults");
    expect(
      config.environments.map((e) => [e.name, e.order, e.sync.policy, e.drift.policy, e.project]),
    ).toEqual([
      ["test", 1, "auto", "remediate", "."],
      ["stage", 2, "gated", "remediate", "."],
      ["prod", 3, "gated", "remediate", "stacks/aws"],
    ]);
    expect(config.environments[2].config).toEqual({ AWS_REGION: "eu-west-1" });
  });

  it("gives every environment the policy packs of all of them, for the program tree digest", () => {
    const config = buildConfig({
      configDir: "/etc/tidegate",
      environments: [
        THREE[0],
        env("stage", "name: stage", "order: 2", "gates:", "  policyPacks: [policies/base]"),
        env("prod", "name: prod", "order: 3", "gates:", "  policyPacks: [policies/prod, ./policies/base/]"),
      ],
    });
    expect(config.environments.map((e) => [e.name, e.gates.policyPacks, e.programPolicyPacks])).toEqual([
      ["test", [], ["policies/base", "policies/prod"]],
      ["stage", ["policies/base"], ["policies/base", "policies/prod"]],
      ["prod", ["policies/prod", "policies/base"], ["policies/base", "policies/prod"]],
    ]);
  });

  it("uses the embedded default without tidegate.yaml", () => {
    const config = buildConfig({ configDir: "/opt/tidegate", environments: THREE });
    expect(config.configFile).toBeUndefined();
    expect(config.repository.url).toBe("/opt/tidegate");
    expect(config.dataDir).toBe("/opt/tidegate/.tidegate");
    expect(config.environments).toHaveLength(3);
  });

  it("reports every problem of every file in one ConfigError, file by file, top to bottom", () => {
    const tidegate = parseTidegateFile(
      "tidegate.yaml",
      yaml("repository:", "  url: .", "secrets:", "  passphrase: hunter2", "hooks: {}"),
    );
    const error = configError(() =>
      buildConfig({
        configDir: "/etc/tidegate",
        tidegate,
        environments: [
          env("test", "name: test", "order: 1", "schedule:", "  poll: every 5 min"),
          env("stage", "name: staging", "order: 1", "project: ../elsewhere"),
          env("prod", "name: prod", "order: 3", "sync:", "  policy: manual", "gates: []"),
        ],
      }),
    );
    expect(error.issues.map((issue) => `${issue.file} ${issue.path}`)).toEqual([
      "tidegate.yaml secrets.passphrase",
      "tidegate.yaml hooks",
      "environments/test.yaml schedule.poll",
      "environments/stage.yaml name",
      "environments/stage.yaml order",
      "environments/stage.yaml project",
      "environments/prod.yaml sync.policy",
      "environments/prod.yaml gates",
    ]);
    expect(error.message.split("\n")).toHaveLength(8);
    expect(error.message).toContain(
      "environments/stage.yaml:2:1: order: 1 is also the order of environments/test.yaml; expected an order no other environment has",
    );
    expect(error.message).not.toContain("hunter2");
  });

  it("still checks the environments when tidegate.yaml is broken, reading them from where it says", () => {
    const tidegate = parseTidegateFile(
      "tidegate.yaml",
      yaml("repository:", "  url: gs://nope", "environmentsDir: deploy"),
    );
    expect(environmentsSource(tidegate.data)).toEqual({ dir: "deploy", ref: "main" });
    const error = configError(() =>
      buildConfig({ configDir: "/etc", tidegate, environments: [env("test", "name: test", "order: 0")] }),
    );
    expect(error.issues.map((issue) => issue.path)).toEqual(["repository.url", "order"]);
  });
});

describe("checkEnvironmentSet", () => {
  it("finds duplicate orders, branches and stacks, naming the first file", () => {
    const issues = checkEnvironmentSet(
      [
        { file: "environments/a.yaml", name: "a", order: 1, branch: "main", stack: "shared" },
        { file: "environments/b.yaml", name: "b", order: 1, branch: "main", stack: "shared" },
        { file: "environments/c.yaml", name: "c", order: 2, branch: "c", stack: "c" },
      ],
      "environments",
    );
    expect(issues).toEqual([
      {
        file: "environments/b.yaml",
        path: "order",
        value: 1,
        message: "1 is also the order of environments/a.yaml",
        expected: "an order no other environment has",
      },
      {
        file: "environments/b.yaml",
        path: "branch",
        value: "main",
        message: '"main" is also the branch of environments/a.yaml',
        expected: "a branch no other environment has",
      },
      {
        file: "environments/b.yaml",
        path: "stack",
        value: "shared",
        message: '"shared" is also the stack of environments/a.yaml',
        expected: "a stack no other environment has",
      },
    ]);
  });

  it("wants each environment named after its file", () => {
    expect(
      checkEnvironmentSet([{ file: "environments/prod.yaml", name: "production" }], "environments"),
    ).toEqual([
      {
        file: "environments/prod.yaml",
        path: "name",
        value: "production",
        message: '"production" is not the file\'s name',
        expected: '"prod", the file name without its extension (or rename the file)',
      },
    ]);
  });

  it("wants at least one environment", () => {
    expect(checkEnvironmentSet([], "deploy")).toMatchObject([
      { file: "deploy/", path: "", message: "holds no environment files" },
    ]);
  });

  it("takes part of a file that has other problems", () => {
    const data = { name: "prod", order: "three", branch: "a..b" };
    // The order is invalid and the branch too: neither is compared, and the branch does not fall back to the name.
    expect(environmentIdentity("environments/prod.yaml", data)).toEqual({
      file: "environments/prod.yaml",
      name: "prod",
      order: undefined,
      branch: undefined,
      stack: "prod",
      pulumiStacks: [JSON.stringify([".", "prod"])],
    });
  });

  it("reads the base name of .yaml and .yml files", () => {
    expect(fileBaseName("environments/prod.yaml")).toBe("prod");
    expect(fileBaseName("C:\\repo\\environments\\eu-west.yml")).toBe("eu-west");
  });
});

describe("daemon.concurrency 'auto'", () => {
  it("runs one environment per core, at most one per GiB of memory, and always one", () => {
    const gib = 1024 ** 3;
    expect(autoConcurrency(2, 24 * gib)).toBe(2);
    expect(autoConcurrency(16, 4 * gib)).toBe(4);
    expect(autoConcurrency(8, 0.5 * gib)).toBe(1);
  });
});
