import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { ConfigError } from "../../../src/config/errors";
import { loadConfig, loadEnvironmentsFromDir, type ReadEnvironmentFiles } from "../../../src/config/load";
import { parseTidegateFile } from "../../../src/config/parse";
import { environmentKey, localName } from "../../../src/config/repositories";

// Several repositories in one tidegate.yaml: each repository is a folder here, read through a
// reader that takes the repository's URL as its root.

let dir: string;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "tidegate-repos-"));
});

afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function write(relative: string, text: string): void {
  fs.mkdirSync(path.dirname(path.join(dir, relative)), { recursive: true });
  fs.writeFileSync(path.join(dir, relative), text);
}

/** Reads the environment files from the repository's folder, recording what it was asked for. */
function reader(calls: string[] = []): ReadEnvironmentFiles {
  return (envDir, ref, repository) => {
    calls.push(`${path.relative(dir, repository.url)}:${envDir}@${ref}`);
    return loadEnvironmentsFromDir(path.join(repository.url, envDir), envDir);
  };
}

async function load(tidegate: string[], calls?: string[], read = reader(calls)) {
  write("tidegate.yaml", `${tidegate.join("\n")}\n`);
  return loadConfig({ configPath: path.join(dir, "tidegate.yaml"), readEnvironmentFiles: read });
}

async function loadError(tidegate: string[]): Promise<ConfigError> {
  const error = await load(tidegate).then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(ConfigError);
  return error as ConfigError;
}

const TWO = [
  "repositories:",
  "  - name: payments",
  "    url: ./payments",
  "    backend:",
  "      url: file://./state/payments",
  "  - name: web",
  "    url: ./web",
  "    environmentsDir: deploy",
  "    configRef: config",
];

describe("repositories in tidegate.yaml", () => {
  it("reads each repository's environments and names them <repository>.<environment>", async () => {
    write("payments/environments/test.yaml", "name: test\norder: 1\n");
    write("payments/environments/prod.yaml", "name: prod\norder: 2\ngates:\n  promotion:\n    soak: 0s\n");
    write("web/deploy/test.yaml", "name: test\norder: 1\nbackend:\n  url: file:///srv/web-test\n");
    const calls: string[] = [];

    const config = await load(TWO, calls);

    expect(calls.sort()).toEqual(["payments:environments@main", "web:deploy@config"]);
    expect(
      config.environments.map((env) => [
        env.name,
        env.repository,
        env.file,
        env.branch,
        env.stack,
        env.backendUrl,
      ]),
    ).toEqual([
      [
        "payments.test",
        "payments",
        "payments:environments/test.yaml",
        "test",
        "test",
        `file://${dir}/state/payments`,
      ],
      ["web.test", "web", "web:deploy/test.yaml", "test", "test", "file:///srv/web-test"],
      [
        "payments.prod",
        "payments",
        "payments:environments/prod.yaml",
        "prod",
        "prod",
        `file://${dir}/state/payments`,
      ],
    ]);
    // A promotion stays within its repository, named by its key.
    expect(config.environments.find((env) => env.name === "payments.prod")?.gates.promotion?.from).toBe(
      "payments.test",
    );
    expect(
      config.repositories?.map((r) => [r.name, r.repository.url, r.environmentsDir, r.configRef]),
    ).toEqual([
      ["payments", path.join(dir, "payments"), "environments", "main"],
      ["web", path.join(dir, "web"), "deploy", "config"],
    ]);
    // The first repository stands in for the single one, so readers of config.repository still work.
    expect(config.repository.url).toBe(path.join(dir, "payments"));
  });

  it("keeps plain names with a single repository", async () => {
    write("one/environments/test.yaml", "name: test\norder: 1\n");
    const config = await load(["repository:", "  url: ./one"]);
    expect(config.repositories).toBeUndefined();
    expect(config.environments.map((env) => [env.name, env.repository, env.file])).toEqual([
      ["test", undefined, "environments/test.yaml"],
    ]);
  });

  it("gives each repository its own token", async () => {
    const seen: unknown[] = [];
    write("tidegate.yaml", "");
    const config = await load(
      [
        "repositories:",
        "  - name: a",
        "    url: https://git.example.com/a.git",
        "    tokenEnv: A_TOKEN",
        "  - name: b",
        "    url: https://git.example.com/b.git",
        "    tokenFile: secrets/b",
      ],
      [],
      async (_envDir, _ref, repository) => {
        seen.push([repository.url, repository.token?.source]);
        return [{ file: "environments/test.yaml", text: "name: test\norder: 1\n" }];
      },
    );
    expect(seen.sort()).toEqual([
      ["https://git.example.com/a.git", { kind: "env", name: "A_TOKEN" }],
      ["https://git.example.com/b.git", { kind: "file", path: path.join(dir, "secrets/b") }],
    ]);
    expect(config.repositories?.map((r) => r.repository.token?.source.kind)).toEqual(["env", "file"]);
    expect(config.environments.map((env) => env.name)).toEqual(["a.test", "b.test"]);
  });

  it("refuses both repository and repositories, or neither", async () => {
    const both = await loadError(["repository:", "  url: .", ...TWO]);
    expect(both.issues).toContainEqual(
      expect.objectContaining({
        file: path.join(dir, "tidegate.yaml"),
        path: "",
        message: "sets both repository and repositories",
        expected: "exactly one of repository or repositories",
      }),
    );
    const neither = await loadError(["dataDir: ."]);
    expect(neither.issues).toContainEqual(
      expect.objectContaining({ path: "", message: "sets neither repository nor repositories" }),
    );
  });

  it("refuses two repositories with one name", async () => {
    const error = await loadError([
      "repositories:",
      "  - name: app",
      "    url: ./a",
      "  - name: app",
      "    url: ./b",
    ]);
    expect(error.issues.map((issue) => [issue.path, issue.message, issue.expected])).toEqual([
      ["repositories[1].name", '"app" names another repository too', "a name no other repository has"],
    ]);
  });

  it("refuses a repository name that is not kebab-case (it is part of every environment's key)", async () => {
    const error = await loadError(["repositories:", "  - name: Web.Site", "    url: ./c"]);
    expect(error.issues.map((issue) => [issue.path, issue.message, issue.expected])).toEqual([
      [
        "repositories[0].name",
        '"Web.Site" is not a kebab-case name',
        'a kebab-case name (lower-case letters, digits, single hyphens), like "payments"',
      ],
    ]);
  });

  it("checks each repository's environments as a set of their own", async () => {
    // The same names and orders in two repositories are fine; a promotion from another repository is not.
    write("payments/environments/test.yaml", "name: test\norder: 1\n");
    write("web/deploy/test.yaml", "name: test\norder: 1\n");
    write("web/deploy/prod.yaml", "name: prod\norder: 2\ngates:\n  promotion:\n    from: stage\n");
    const error = await loadError(TWO);
    expect(error.issues.map((issue) => [issue.file, issue.path, issue.message])).toEqual([
      ["web:deploy/prod.yaml", "gates.promotion.from", '"stage" is not an environment'],
    ]);
  });

  it("names the repository whose folder holds no environment files", async () => {
    write("payments/environments/test.yaml", "name: test\norder: 1\n");
    const error = await loadError(TWO);
    expect(error.issues.map((issue) => [issue.file, issue.message])).toEqual([
      ["web:deploy/", "holds no environment files"],
    ]);
  });
});

describe("environment keys", () => {
  it("joins a repository and an environment with a dot, and splits them back", () => {
    expect(environmentKey(undefined, "test")).toBe("test");
    expect(environmentKey("payments", "test")).toBe("payments.test");
    expect(localName({ name: "payments.test", repository: "payments" })).toBe("test");
    expect(localName({ name: "test" })).toBe("test");
  });
});

describe("environment keys in tidegate.yaml", () => {
  it("lets notification routes name an environment of one of several repositories", () => {
    const routes = (environments: string[]) =>
      parseTidegateFile(
        "tidegate.yaml",
        [
          "repository:",
          "  url: .",
          "notifications:",
          "  sinks:",
          "    ops:",
          "      kind: webhook",
          "      url: { env: OPS_URL }",
          "  routes:",
          "    - sinks: [ops]",
          `      environments: [${environments.join(", ")}]`,
          "",
        ].join("\n"),
      ).issues.map((issue) => [issue.path, issue.message]);
    expect(routes(["prod", "payments.prod"])).toEqual([]);
    expect(routes(["a.b.prod", "Payments.prod"])).toEqual([
      ["notifications.routes[0].environments[0]", '"a.b.prod" has more than one dot'],
      ["notifications.routes[0].environments[1]", '"Payments.prod" is not a kebab-case name'],
    ]);
  });
});
