import { describe, expect, it } from "vitest";
import { GitInputError } from "../../../src/adapters/git/errors";
import {
  digestEntries,
  globPathspecs,
  matchesPattern,
  normalizePath,
  selectPaths,
  type TreeEntry,
} from "../../../src/adapters/git/paths";

describe("matchesPattern", () => {
  it.each([
    ["Pulumi.test.yaml", "Pulumi.test.yaml", true],
    ["Pulumi.test.yaml", "Pulumi.*.yaml", true],
    ["stacks/aws/Pulumi.test.yaml", "Pulumi.*.yaml", false],
    ["stacks/aws/Pulumi.test.yaml", "**/Pulumi.*.yaml", true],
    ["Pulumi.test.yaml", "**/Pulumi.*.yaml", true],
    ["Pulumi.yaml", "Pulumi.*.yaml", false],
    ["stacks/aws/index.ts", "stacks/aws", true],
    ["stacks/aws/index.ts", "stacks/aws/", true],
    ["stacks/aws-sdk/index.ts", "stacks/aws", false],
    ["stacks/aws/index.ts", "stacks/*", true],
    ["stacks/aws/lib/a.ts", "stacks/**/*.ts", true],
    ["a.ts", "?.ts", true],
    ["ab.ts", "?.ts", false],
    ["a+b(1).ts", "a+b(1).ts", true],
    ["anything/at/all", "", true],
  ])("%s against %s: %s", (path, pattern, expected) => {
    expect(matchesPattern(path, pattern)).toBe(expected);
  });
});

describe("normalizePath", () => {
  it("drops a trailing slash and reads . as the root", () => {
    expect(normalizePath("environments/")).toBe("environments");
    expect(normalizePath(".")).toBe("");
  });

  it.each(["/etc", "../x", "a/../b", "a//b", "./a"])("refuses %s", (path) => {
    expect(() => normalizePath(path)).toThrow(GitInputError);
  });
});

describe("selectPaths", () => {
  const items = [
    "Pulumi.yaml",
    "Pulumi.test.yaml",
    "stacks/aws/index.ts",
    "stacks/aws/Pulumi.prod.yaml",
    "README.md",
  ].map((path) => ({ path }));
  const select = (include?: string[], exclude?: string[]) =>
    selectPaths(items, { include, exclude }).map((i) => i.path);

  it("keeps everything by default", () => {
    expect(select()).toHaveLength(items.length);
  });

  it("applies include, then exclude", () => {
    expect(select(["stacks"], ["**/Pulumi.*.yaml"])).toEqual(["stacks/aws/index.ts"]);
    expect(select(undefined, ["**/Pulumi.*.yaml", "README.md"])).toEqual([
      "Pulumi.yaml",
      "stacks/aws/index.ts",
    ]);
  });
});

describe("digestEntries", () => {
  const entry = (path: string, oid = "a".repeat(40), mode = "100644"): TreeEntry => ({
    mode,
    type: "blob",
    oid,
    path,
  });

  it("does not depend on order", () => {
    expect(digestEntries([entry("a"), entry("b")])).toBe(digestEntries([entry("b"), entry("a")]));
  });

  it("depends on every path, content and mode", () => {
    const base = digestEntries([entry("a"), entry("b")]);
    expect(digestEntries([entry("a"), entry("c")])).not.toBe(base);
    expect(digestEntries([entry("a"), entry("b", "b".repeat(40))])).not.toBe(base);
    expect(digestEntries([entry("a"), entry("b", "a".repeat(40), "100755")])).not.toBe(base);
    expect(digestEntries([entry("a")])).not.toBe(base);
  });
});

describe("globPathspecs", () => {
  it("gives the pattern and everything under it, with glob magic", () => {
    expect(globPathspecs("stacks/aws/")).toEqual([":(glob)stacks/aws", ":(glob)stacks/aws/**"]);
    expect(globPathspecs("stacks/aws/Pulumi.*.yaml", { exclude: true })).toEqual([
      ":(glob,exclude)stacks/aws/Pulumi.*.yaml",
      ":(glob,exclude)stacks/aws/Pulumi.*.yaml/**",
    ]);
  });

  it("reads the root as everything, escapes Git's own glob characters and refuses escapes", () => {
    expect(globPathspecs(".")).toEqual([":(glob)**"]);
    expect(globPathspecs("a[1]")).toEqual([":(glob)a\\[1]", ":(glob)a\\[1]/**"]);
    expect(() => globPathspecs("../etc")).toThrow(GitInputError);
  });
});
