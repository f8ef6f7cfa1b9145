import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { readToken, splitUrlCredentials } from "../../../src/adapters/git/credentials";
import { GitCredentialsError } from "../../../src/adapters/git/errors";

describe("splitUrlCredentials", () => {
  it.each([
    [
      "user and token",
      "https://x-access-token:ghs_abc@github.com/acme/infra.git",
      "https://github.com/acme/infra.git",
      { username: "x-access-token", password: "ghs_abc" },
    ],
    [
      "a token alone, as the user name",
      "https://glpat-123@gitlab.com/acme/infra.git",
      "https://gitlab.com/acme/infra.git",
      { username: "glpat-123", password: "" },
    ],
    [
      "percent-encoded parts, decoded as Git does",
      "https://bot%40acme:p%40ss%2Fword@host/x",
      "https://host/x",
      { username: "bot@acme", password: "p@ss/word" },
    ],
    [
      "a password holding an unencoded @",
      "http://u:p@ss@127.0.0.1:8080/r",
      "http://127.0.0.1:8080/r",
      { username: "u", password: "p@ss" },
    ],
  ])("takes %s out of the URL", (_name, url, bare, credentials) => {
    expect(splitUrlCredentials(url)).toEqual({ url: bare, credentials });
  });

  it.each([
    ["an https URL without userinfo", "https://github.com/acme/infra.git"],
    ["an ssh URL, whose user name is no secret", "ssh://git@github.com/acme/infra.git"],
    ["an scp-like URL", "git@github.com:acme/infra.git"],
    ["a local path", "/srv/git/infra.git"],
  ])("leaves %s as it is", (_name, url) => {
    expect(splitUrlCredentials(url)).toEqual({ url });
  });
});

describe("readToken", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tidegate-token-"));
  const file = (name: string, text: string): string => {
    const target = path.join(dir, name);
    fs.writeFileSync(target, text);
    return target;
  };

  it("reads a variable of tidegate's environment", () => {
    const token = { username: "bot", source: { kind: "env" as const, name: "REPO_TOKEN" } };
    expect(readToken(token, { REPO_TOKEN: "s3cret-value" })).toEqual({
      username: "bot",
      password: "s3cret-value",
    });
    expect(() => readToken(token, {})).toThrow(
      new GitCredentialsError(
        "the repository token is not set: export REPO_TOKEN (repository.tokenEnv in tidegate.yaml)",
      ),
    );
  });

  it("reads a file, trimmed, afresh on each call", () => {
    const tokenFile = file("token", "first-token\n");
    const token = { username: "bot", source: { kind: "file" as const, path: tokenFile } };
    expect(readToken(token).password).toBe("first-token");
    fs.writeFileSync(tokenFile, "rotated-token");
    expect(readToken(token).password).toBe("rotated-token");
  });

  it("names the file and the key when the file is missing or empty, never its content", () => {
    const missing = path.join(dir, "absent");
    expect(() => readToken({ username: "bot", source: { kind: "file", path: missing } })).toThrow(
      `cannot read the repository token file ${missing} (repository.tokenFile in tidegate.yaml): ENOENT`,
    );
    const empty = file("empty", "\n");
    expect(() => readToken({ username: "bot", source: { kind: "file", path: empty } })).toThrow(
      `the repository token file ${empty} (repository.tokenFile in tidegate.yaml) is empty`,
    );
  });

  it("refuses a token that would break Git's line-based credential protocol", () => {
    const token = { username: "bot", source: { kind: "env" as const, name: "T" } };
    const error = (() => {
      try {
        return readToken(token, { T: "abc\nusername=evil" });
      } catch (err) {
        return err;
      }
    })();
    expect(error).toBeInstanceOf(GitCredentialsError);
    expect((error as Error).message).toBe("the repository token from T holds a line break or NUL");
  });
});
