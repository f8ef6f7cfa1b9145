import { describe, expect, it } from "vitest";
import {
  envSecrets,
  redactor,
  redactorFor,
  urlSecrets,
  withoutCredentials,
} from "../../../src/adapters/git/redact";

describe("redactorFor", () => {
  const url = "https://user:secret-token@git.example.com/org/repo.git";
  const redact = redactorFor(url);

  it.each([
    ["the URL itself", url, "https://***@git.example.com/org/repo.git"],
    [
      "a command line holding the URL",
      `git fetch --prune ${url} +refs/heads/main:refs/heads/main`,
      "git fetch --prune https://***@git.example.com/org/repo.git +refs/heads/main:refs/heads/main",
    ],
    [
      "the URL quoted in a Git message",
      `fatal: unable to access '${url}/': 403`,
      "fatal: unable to access 'https://***@git.example.com/org/repo.git/': 403",
    ],
    ["the token alone, wherever it appears", "password secret-token rejected", "password *** rejected"],
    ["any other URL with userinfo", "see ssh://deploy:other-pass@host:22/x", "see ssh://***@host:22/x"],
    ["a password containing @", "https://u:p@ss@host/x", "https://***@host/x"],
    [
      "an Authorization header",
      "http.extraHeader=Authorization: Bearer abc.def.ghi",
      "http.extraHeader=Authorization: Bearer ***",
    ],
  ])("masks %s", (_name, text, expected) => {
    expect(redact(text)).toBe(expected);
  });

  it("leaves text without credentials as it is", () => {
    const text = "fatal: couldn't find remote ref refs/heads/prod at https://git.example.com/org/repo.git";
    expect(redact(text)).toBe(text);
  });

  it("masks the URL-decoded form of an encoded token", () => {
    const encoded = redactorFor("https://x-access-token:p%40ss%2Fw0rd-long@host/x");
    expect(encoded("credential p@ss/w0rd-long refused")).toBe("credential *** refused");
  });

  it("masks secret-looking values of the extra environment, not the others", () => {
    const withEnv = redactorFor("/srv/repo.git", {
      GIT_CONFIG_VALUE_0: "Basic dXNlcjpzZWNyZXQ=",
      GITHUB_TOKEN: "ghp_0123456789abcdef",
      GIT_SSH_COMMAND: "ssh -o BatchMode=yes",
    });
    expect(withEnv("sent Basic dXNlcjpzZWNyZXQ= and ghp_0123456789abcdef via ssh -o BatchMode=yes")).toBe(
      "sent *** and *** via ssh -o BatchMode=yes",
    );
  });
});

describe("redactor", () => {
  it("ignores short secrets, which would garble every line", () => {
    expect(redactor(["git"])("git fetch failed")).toBe("git fetch failed");
  });

  it("masks a secret containing another one whole", () => {
    expect(redactor(["secret-token", "secret-token-extended"])("x secret-token-extended y")).toBe("x *** y");
  });
});

describe("urlSecrets", () => {
  it.each([
    ["user and password", "https://user:pw-123456@host/x", ["pw-123456", "pw-123456"]],
    ["a token as the user name", "https://ghp_token123456@host/x", ["ghp_token123456", "ghp_token123456"]],
    ["no userinfo", "https://host/x", []],
    ["a local path", "/srv/git/repo.git", []],
    ["an scp-like address", "git@github.com:org/repo.git", []],
  ])("%s", (_name, url, expected) => {
    expect(urlSecrets(url)).toEqual(expected);
  });
});

describe("envSecrets", () => {
  it("picks credentials and config values", () => {
    expect(
      envSecrets({
        GIT_ASKPASS: "/usr/local/bin/askpass",
        GIT_CONFIG_VALUE_3: "v",
        HOME: "/root",
        NPM_TOKEN: "",
      }),
    ).toEqual(["/usr/local/bin/askpass", "v"]);
  });
});

describe("withoutCredentials", () => {
  it.each([
    ["https://user:secret@host/x.git", "https://host/x.git"],
    ["ssh://git@host:22/x.git", "ssh://host:22/x.git"],
    ["/srv/git/x.git", "/srv/git/x.git"],
  ])("%s → %s", (url, expected) => {
    expect(withoutCredentials(url)).toBe(expected);
  });
});
