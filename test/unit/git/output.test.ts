import { describe, expect, it } from "vitest";
import {
  isBranchName,
  isMissingRemoteRef,
  isObjectId,
  parseCommit,
  parseCommits,
  parseLsRemote,
  parseLsTree,
  parseNameList,
  parsePushStatus,
} from "../../../src/adapters/git/output";

const A = "a".repeat(40);
const B = "b".repeat(40);

describe("parseLsRemote", () => {
  it("keeps exactly the branches asked for", () => {
    const stdout = `${A}\trefs/heads/main\n${B}\trefs/heads/feature/refs/heads/main\n${B}\trefs/heads/test\n`;
    expect(parseLsRemote(stdout, ["main", "prod"])).toEqual({ main: A });
  });

  it("reads empty output as no branches", () => {
    expect(parseLsRemote("", ["main"])).toEqual({});
  });
});

describe("parseLsTree", () => {
  it("reads -z records, a path with a space included", () => {
    const stdout = `100644 blob ${A}\tenvironments/test.yaml\x00100755 blob ${B}\tbin/run me\x00160000 commit ${A}\tvendor/lib\x00`;
    expect(parseLsTree(stdout)).toEqual([
      { mode: "100644", type: "blob", oid: A, path: "environments/test.yaml" },
      { mode: "100755", type: "blob", oid: B, path: "bin/run me" },
      { mode: "160000", type: "commit", oid: A, path: "vendor/lib" },
    ]);
  });
});

describe("parseCommit", () => {
  it("reads the fields, normalises the date to UTC and keeps the message's lines", () => {
    const stdout = `${A}\x00Ada Lovelace\x00ada@example.com\x002024-05-01T12:34:56+02:00\x00Subject\n\nBody line\n\n`;
    expect(parseCommit(stdout)).toEqual({
      sha: A,
      author: "Ada Lovelace",
      authorEmail: "ada@example.com",
      date: "2024-05-01T10:34:56.000Z",
      message: "Subject\n\nBody line",
    });
  });
});

describe("parseNameList", () => {
  it("splits on NUL", () => {
    expect(parseNameList("a.txt\x00dir/b c.txt\x00")).toEqual(["a.txt", "dir/b c.txt"]);
    expect(parseNameList("")).toEqual([]);
  });
});

describe("isObjectId", () => {
  it.each([
    [A, true],
    ["c".repeat(64), true],
    ["abc1234", false],
    [A.toUpperCase(), false],
    [`${A}^{commit}`, false],
    ["-".repeat(40), false],
  ])("%s: %s", (text, expected) => {
    expect(isObjectId(text)).toBe(expected);
  });
});

describe("isBranchName", () => {
  it.each(["main", "test", "release/2024-05", "feature/x_y.z", "env@prod"])("accepts %s", (name) => {
    expect(isBranchName(name)).toBe(true);
  });

  it.each([
    "",
    "-x",
    "--upload-pack=evil",
    "a..b",
    "a b",
    "a:b",
    "a~1",
    "a^",
    "a*",
    "a[b",
    "a\\b",
    "a/",
    "/a",
    "a//b",
    "a.lock",
    "a.",
    ".hidden",
    "x/.hidden",
    "a@{1}",
    "@",
    "a\nb",
  ])("refuses %j", (name) => {
    expect(isBranchName(name)).toBe(false);
  });
});

describe("isMissingRemoteRef", () => {
  it("recognises Git's message for a missing branch", () => {
    expect(isMissingRemoteRef("fatal: couldn't find remote ref refs/heads/gone\n")).toBe(true);
    expect(isMissingRemoteRef("fatal: unable to access 'https://host/x.git/': Could not resolve host")).toBe(
      false,
    );
  });
});

describe("parseCommits", () => {
  it("reads -z log output five fields at a time, multi-line and empty messages included", () => {
    const stdout =
      `${A}\x00Ada\x00ada@example.com\x002024-05-01T12:00:00+02:00\x00Subject\n\nBody\n\x00` +
      `${B}\x00Bob\x00bob@example.com\x002024-04-30T00:00:00Z\x00\n\x00`;
    expect(parseCommits(stdout)).toEqual([
      {
        sha: A,
        author: "Ada",
        authorEmail: "ada@example.com",
        date: "2024-05-01T10:00:00.000Z",
        message: "Subject\n\nBody",
      },
      {
        sha: B,
        author: "Bob",
        authorEmail: "bob@example.com",
        date: "2024-04-30T00:00:00.000Z",
        message: "",
      },
    ]);
    expect(parseCommits("")).toEqual([]);
  });
});

describe("parsePushStatus", () => {
  it("finds the pushed branch's line and splits the reason off", () => {
    const stdout = [
      "To /tmp/remote.git",
      "!\tHEAD:refs/heads/stage\t[rejected] (non-fast-forward)",
      "Done",
    ].join("\n");
    expect(parsePushStatus(stdout, "stage")).toEqual({
      flag: "!",
      summary: "[rejected]",
      reason: "non-fast-forward",
    });
    expect(parsePushStatus(stdout, "prod")).toBeUndefined();
  });

  it("reads a fast-forward, an up-to-date push and a hook's refusal", () => {
    expect(parsePushStatus(" \tHEAD:refs/heads/stage\tabc1234..def5678\n", "stage")).toEqual({
      flag: " ",
      summary: "abc1234..def5678",
    });
    expect(parsePushStatus("=\tHEAD:refs/heads/stage\t[up to date]\n", "stage")).toMatchObject({ flag: "=" });
    expect(
      parsePushStatus("!\tHEAD:refs/heads/stage\t[remote rejected] (pre-receive hook declined)\n", "stage"),
    ).toEqual({ flag: "!", summary: "[remote rejected]", reason: "pre-receive hook declined" });
  });
});
