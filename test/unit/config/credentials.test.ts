import { describe, expect, it } from "vitest";

import { parseEnvironmentFile, parseTidegateFile } from "../../../src/config/parse";
import { resolveEnvironment, resolveSettings } from "../../../src/config/resolve";

const TEST = "environments/test.yaml";

function yaml(...lines: string[]): string {
  return `${lines.join("\n")}\n`;
}

function parse(...lines: string[]) {
  return parseEnvironmentFile(TEST, yaml("name: test", "order: 1", ...lines));
}

const defaults = resolveSettings({ repository: { url: "." } }, "/repo").defaults;

describe("an environment's credentials, secrets provider, backend and install", () => {
  it("resolves every kind of source; update defaults to read", () => {
    const parsed = parse(
      "credentials:",
      "  read:",
      "    AWS_ACCESS_KEY_ID: { env: TEST_READ_KEY_ID }",
      "    AWS_SECRET_ACCESS_KEY: { file: /etc/tidegate/test/secret }",
      "    VAULT_TOKEN: { command: [vault, print, token] }",
      "secrets:",
      "  passphrase: { env: TEST_PASSPHRASE }",
      "backend:",
      "  url: s3://state-test",
      "install:",
      "  scripts: true",
    );
    expect(parsed.issues).toEqual([]);
    const resolved = resolveEnvironment(TEST, parsed.value!, defaults);
    const read = {
      AWS_ACCESS_KEY_ID: { kind: "env", name: "TEST_READ_KEY_ID" },
      AWS_SECRET_ACCESS_KEY: { kind: "file", path: "/etc/tidegate/test/secret" },
      VAULT_TOKEN: { kind: "command", argv: ["vault", "print", "token"] },
    };
    expect(resolved).toMatchObject({
      credentials: { read, update: read },
      secrets: { kind: "passphrase", source: { kind: "env", name: "TEST_PASSPHRASE" } },
      backendUrl: "s3://state-test",
      install: { scripts: true },
    });
  });

  it("keeps update apart from read when given, and takes a cloud secrets provider", () => {
    const parsed = parse(
      "credentials:",
      "  read: { AWS_PROFILE: { env: PROD_READONLY_PROFILE } }",
      "  update: { AWS_PROFILE: { env: PROD_DEPLOY_PROFILE } }",
      "secrets:",
      "  provider: awskms://alias/tidegate-prod?region=eu-central-1",
    );
    expect(parsed.issues).toEqual([]);
    const resolved = resolveEnvironment(TEST, parsed.value!, defaults);
    expect(resolved.credentials).toEqual({
      read: { AWS_PROFILE: { kind: "env", name: "PROD_READONLY_PROFILE" } },
      update: { AWS_PROFILE: { kind: "env", name: "PROD_DEPLOY_PROFILE" } },
    });
    expect(resolved.secrets).toEqual({
      kind: "provider",
      url: "awskms://alias/tidegate-prod?region=eu-central-1",
    });
  });

  it("takes a kubeconfig source, and refuses KUBECONFIG set beside it", () => {
    const parsed = parse("credentials:", "  kubeconfig: { env: TEST_KUBECONFIG }");
    expect(parsed.issues).toEqual([]);
    expect(resolveEnvironment(TEST, parsed.value!, defaults).credentials).toEqual({
      read: {},
      update: {},
      kubeconfig: { kind: "env", name: "TEST_KUBECONFIG" },
    });
    const inConfig = parse(
      "config: { KUBECONFIG: /etc/kube/config }",
      "credentials:",
      "  kubeconfig: { file: /etc/tidegate/test/kubeconfig }",
    );
    const inUpdate = parse(
      "credentials:",
      "  kubeconfig: { file: /etc/tidegate/test/kubeconfig }",
      "  update: { KUBECONFIG: { env: TEST_KUBECONFIG } }",
    );
    expect([...inConfig.issues, ...inUpdate.issues].map((i) => `${i.path}: ${i.message}`)).toEqual([
      "config.KUBECONFIG: KUBECONFIG is also set by credentials.kubeconfig",
      "credentials.update.KUBECONFIG: KUBECONFIG is also set by credentials.kubeconfig",
    ]);
  });

  it("leaves them out by default: the engine-wide passphrase and backend, no scripts", () => {
    const resolved = resolveEnvironment(TEST, parse().value!, defaults);
    expect(resolved.credentials).toEqual({ read: {}, update: {} });
    expect(resolved.secrets).toBeUndefined();
    expect(resolved.backendUrl).toBeUndefined();
    expect(resolved.install).toEqual({ scripts: false });
  });

  it("names the file, line, field and what was expected for a source with no kind or two", () => {
    const parsed = parse(
      "credentials:",
      "  read:",
      "    AWS_ACCESS_KEY_ID: {}",
      "    AWS_SECRET_ACCESS_KEY: { env: A_KEY, file: /etc/key }",
    );
    expect(parsed.issues).toMatchObject([
      {
        file: TEST,
        path: "credentials.read.AWS_ACCESS_KEY_ID",
        message: "names no source",
        expected: expect.stringContaining("exactly one of { env: VARIABLE }"),
        line: 5,
      },
      {
        file: TEST,
        path: "credentials.read.AWS_SECRET_ACCESS_KEY",
        message: "names 2 sources (env, file)",
        line: 6,
      },
    ]);
  });

  it("refuses a value written in place of a source: the file is committed", () => {
    const parsed = parse("credentials:", "  read:", "    AWS_SECRET_ACCESS_KEY: wJalrXUtnFEMI");
    expect(parsed.issues).toMatchObject([
      {
        path: "credentials.read.AWS_SECRET_ACCESS_KEY",
        message: "the value written is not a mapping",
        expected: "a mapping",
        line: 5,
      },
    ]);
    expect(JSON.stringify(parsed.issues)).not.toContain("wJalrXUtnFEMI");
  });

  it("refuses a relative file, an empty command, a reserved or lower-case name, and a name also in config", () => {
    const parsed = parse(
      "config:",
      "  AWS_REGION: eu-west-1",
      "credentials:",
      "  read:",
      "    A_KEY: { file: secrets/key }",
      "    B_KEY: { command: [] }",
      "    PULUMI_CONFIG_PASSPHRASE: { env: X_PASSPHRASE }",
      "    aws_key: { env: X }",
      "  update:",
      "    AWS_REGION: { env: PROD_REGION }",
    );
    expect(parsed.issues.map((issue) => [issue.path, issue.message, issue.line])).toEqual([
      ["credentials.read.A_KEY.file", "the value written is not an absolute path", 7],
      ["credentials.read.B_KEY.command", "a list is empty", 8],
      [
        "credentials.read.PULUMI_CONFIG_PASSPHRASE",
        '"PULUMI_CONFIG_PASSPHRASE" is set by tidegate itself',
        9,
      ],
      ["credentials.read.aws_key", '"aws_key" is not an environment variable name', 10],
      ["credentials.update.AWS_REGION", "AWS_REGION is also set in config", 12],
    ]);
  });

  it("wants exactly one of passphrase or provider, and a provider URL Pulumi knows", () => {
    expect(parse("secrets: {}").issues).toMatchObject([
      {
        path: "secrets",
        message: "sets neither passphrase nor provider",
        expected: "exactly one of passphrase or provider",
      },
    ]);
    expect(
      parse("secrets:", "  passphrase: { env: P_PASS }", "  provider: awskms://alias/x").issues,
    ).toMatchObject([{ path: "secrets", message: "sets both passphrase and provider" }]);
    expect(parse("secrets:", "  provider: vault://x").issues).toMatchObject([
      { path: "secrets.provider", message: "the value written is not a secrets provider URL", line: 4 },
    ]);
    const inline = parse("secrets:", "  passphrase: hunter2-inline").issues;
    expect(inline).toMatchObject([{ path: "secrets.passphrase", line: 4 }]);
    expect(JSON.stringify(inline)).not.toContain("hunter2-inline");
  });

  it("checks the environment's backend like the engine's, and wants a file:// path absolute", () => {
    expect(parse("backend:", "  url: ftp://state").issues).toMatchObject([
      { path: "backend.url", message: '"ftp://state" uses the unsupported scheme "ftp://"', line: 4 },
    ]);
    expect(parse("backend:", "  url: file://./state").issues).toMatchObject([
      { path: "backend.url", message: '"file://./state" is a relative file:// path', line: 4 },
    ]);
    expect(parse("backend:", "  url: file:///var/lib/tidegate/test").issues).toEqual([]);
  });

  it("leaves tidegate.yaml as it was: the engine-wide passphrase stays the default", () => {
    const parsed = parseTidegateFile("tidegate.yaml", yaml("repository:", "  url: ."));
    expect(resolveSettings(parsed.value!, "/etc/tidegate").secrets).toEqual({
      kind: "env",
      name: "PULUMI_CONFIG_PASSPHRASE",
    });
  });
});
