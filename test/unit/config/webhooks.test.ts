import { describe, expect, it } from "vitest";
import { parseTidegateFile } from "../../../src/config/parse";
import { resolveSettings } from "../../../src/config/resolve";

// webhooks: in tidegate.yaml: a secret only from a variable or a file, a capped body, clear errors.

const parse = (...webhooks: string[]) =>
  parseTidegateFile("tidegate.yaml", ["repository:", "  url: .", "webhooks:", ...webhooks].join("\n"));

describe("webhooks in tidegate.yaml", () => {
  it("resolves each provider with a secret, the default cap, and a file against the config's folder", () => {
    const parsed = parse(
      "  github: { secret: { env: HOOK } }",
      "  gitea: { secret: { file: secrets/gitea }, maxBodyBytes: 2048 }",
      "  bitbucket: {}",
    );
    expect(parsed.issues).toEqual([]);
    expect(resolveSettings(parsed.value!, "/etc/tidegate").webhooks).toEqual({
      github: { secret: { kind: "env", name: "HOOK" }, maxBodyBytes: 1048576 },
      gitea: { secret: { kind: "file", path: "/etc/tidegate/secrets/gitea" }, maxBodyBytes: 2048 },
    });
  });

  it("names the field of a cap out of range, an inline secret, two sources and a signing secret outside gitlab", () => {
    expect(parse("  github: { secret: { env: HOOK }, maxBodyBytes: 26214401 }").issues).toMatchObject([
      {
        path: "webhooks.github.maxBodyBytes",
        message: "26214401 is out of range",
        expected: expect.stringContaining("25 MiB"),
      },
    ]);
    expect(parse("  github: { secret: hunter2 }").issues).toMatchObject([{ path: "webhooks.github.secret" }]);
    expect(parse("  github: { secret: { env: HOOK, file: /x } }").issues).toMatchObject([
      { path: expect.stringMatching(/^webhooks\.github\.secret/) },
    ]);
    expect(parse("  gitea: { signingSecret: { env: HOOK } }").issues).toMatchObject([
      { path: "webhooks.gitea.signingSecret", message: "is only for gitlab" },
    ]);
    expect(parse("  gitlab: { signingSecret: { env: HOOK } }").issues).toEqual([]);
    expect(parse("  svn: { secret: { env: HOOK } }").issues).toMatchObject([
      { path: expect.stringMatching(/^webhooks/) },
    ]);
  });
});
