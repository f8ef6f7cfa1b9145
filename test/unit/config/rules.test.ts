import { describe, expect, it } from "vitest";

import {
  branchNameProblem,
  configKeyProblem,
  cronProblem,
  environmentNameProblem,
  normalizeRepoPath,
  repoPathProblem,
  stackNameProblem,
} from "../../../src/config/rules";

describe("cronProblem", () => {
  it.each(["*/1 * * * *", "*/15 * * * *", "0 6 * * 1-5", "30 2 1 * *", "0 0 29 2 *", " 5 4 * * sun "])(
    "accepts %j",
    (expression) => {
      expect(cronProblem(expression)).toBeUndefined();
    },
  );

  it.each([
    ["every 5 min", "is not a cron expression"],
    ["* * * *", "is not a cron expression"],
    // Six fields would schedule in seconds: tidegate schedules in minutes.
    ["* * * * * *", "is not a cron expression"],
    ["", "is not a cron expression"],
    ["60 * * * *", "is not a cron expression (field value (60) is out of range)"],
    ["*/0 * * * *", "is not a cron expression (field (minute) has a step of zero)"],
    ["0 0 31 2 *", "never fires"],
  ])("refuses %j: %s", (expression, problem) => {
    expect(cronProblem(expression)).toBe(problem);
  });
});

describe("branchNameProblem", () => {
  it.each(["main", "test", "release/prod", "feature/JIRA-12_fix.2", "v1.2"])("accepts %j", (name) => {
    expect(branchNameProblem(name)).toBeUndefined();
  });

  it.each([
    ["", "is empty"],
    ["my branch", 'is not a branch name (it contains " ")'],
    ["a~1", 'is not a branch name (it contains "~")'],
    ["a^", 'is not a branch name (it contains "^")'],
    ["a:b", 'is not a branch name (it contains ":")'],
    ["what?", 'is not a branch name (it contains "?")'],
    ["a*", 'is not a branch name (it contains "*")'],
    ["a[1]", 'is not a branch name (it contains "[")'],
    ["a\\b", 'is not a branch name (it contains "\\\\")'],
    ["a@{1}", 'is not a branch name (it contains "@")'],
    ["a..b", 'is not a branch name (it contains "..")'],
    ["a//b", 'is not a branch name (it contains "//")'],
    ["-x", 'is not a branch name (it starts with "-")'],
    ["/x", 'is not a branch name (it starts with "/")'],
    ["x/", 'is not a branch name (it ends with "/")'],
    ["x.", 'is not a branch name (it ends with ".")'],
    ["x.lock", 'is not a branch name (a part ends with ".lock")'],
    ["x.lock/y", 'is not a branch name (a part ends with ".lock")'],
    ["a/.hidden", 'is not a branch name (a part starts with ".")'],
    ["HEAD", "is not a branch name (HEAD is reserved)"],
  ])("refuses %j", (name, problem) => {
    expect(branchNameProblem(name)).toBe(problem);
  });
});

describe("repoPathProblem and normalizeRepoPath", () => {
  it.each([".", "stacks/aws", "./stacks/aws/", "stacks/../stacks/aws"])("accepts %j", (relative) => {
    expect(repoPathProblem(relative)).toBeUndefined();
  });

  it.each([
    ["..", "leaves the repository"],
    ["../other", "leaves the repository"],
    ["stacks/../../other", "leaves the repository"],
    ["/srv/infra", "is absolute"],
    ["C:/infra", "is absolute"],
    ["stacks\\aws", 'uses "\\"; separate folders with "/"'],
    ["", "is empty"],
  ])("refuses %j: %s", (relative, problem) => {
    expect(repoPathProblem(relative)).toBe(problem);
  });

  it("gives the plain form", () => {
    expect(normalizeRepoPath("./stacks/aws/")).toBe("stacks/aws");
    expect(normalizeRepoPath("stacks//x/../aws")).toBe("stacks/aws");
    expect(normalizeRepoPath(".")).toBe(".");
    expect(normalizeRepoPath("./")).toBe(".");
  });
});

describe("names", () => {
  it("takes kebab-case environment names only", () => {
    expect(environmentNameProblem("prod")).toBeUndefined();
    expect(environmentNameProblem("eu-west-1")).toBeUndefined();
    for (const name of ["Prod", "eu_west", "-prod", "prod-", "a--b", ""]) {
      expect(environmentNameProblem(name)).toBe("is not a kebab-case name");
    }
  });

  it("takes Pulumi stack names, fully qualified or not", () => {
    expect(stackNameProblem("prod")).toBeUndefined();
    expect(stackNameProblem("acme/platform/prod.eu_1")).toBeUndefined();
    expect(stackNameProblem("a/b/c/d")).toBe("is not a Pulumi stack name");
    expect(stackNameProblem("my stack")).toBe("is not a Pulumi stack name");
    expect(stackNameProblem("")).toBe("is not a Pulumi stack name");
  });

  it("takes upper-case, non-secret variable names for config", () => {
    expect(configKeyProblem("AWS_REGION")).toBeUndefined();
    expect(configKeyProblem("_X1")).toBeUndefined();
    expect(configKeyProblem("aws_region")).toBe("is not an environment variable name");
    expect(configKeyProblem("1X")).toBe("is not an environment variable name");
    for (const name of ["AWS_SECRET_ACCESS_KEY", "DB_PASSWORD", "GITHUB_TOKEN", "PULUMI_CONFIG_PASSPHRASE"]) {
      expect(configKeyProblem(name)).toBe("names a secret");
    }
  });
});
