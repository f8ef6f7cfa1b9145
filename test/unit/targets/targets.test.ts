import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  CredentialError,
  EnvironmentTarget,
  environmentProcessEnv,
  inheritedEnv,
  installProcessEnv,
  installSettings,
  readSource,
  type TargetEnvironment,
} from "../../../src/adapters/targets";
import { KnownSecrets, Redactor } from "../../../src/log/redact";

// tidegate's own environment as a test sees it: the allowlisted variables, and what must never
// reach a process started for an environment.
const ALLOWED = {
  PATH: "/usr/bin:/bin",
  HOME: "/home/tidegate",
  USER: "tidegate",
  LANG: "C.UTF-8",
  LC_ALL: "C.UTF-8",
  TZ: "UTC",
  HTTPS_PROXY: "http://proxy:3128",
  no_proxy: "localhost",
};

const OWN: NodeJS.ProcessEnv = {
  ...ALLOWED,
  npm_config_registry: "https://registry.example/",
  TIDEGATE_CANARY_SECRET: "canary-7f3e91",
  PROD_AWS_SECRET_ACCESS_KEY: "prod-secret-2b8c4d",
  PULUMI_CONFIG_PASSPHRASE: "engine-wide-passphrase",
  PULUMI_ACCESS_TOKEN: "pul-0123456789",
  AWS_PROFILE: "prod-admin",
  TEST_READ_KEY: "test-read-5a1f",
  TEST_DEPLOY_KEY: "test-deploy-9c2e",
  TEST_PASSPHRASE: "test-passphrase-44",
};

const NEVER = [
  "TIDEGATE_CANARY_SECRET",
  "PROD_AWS_SECRET_ACCESS_KEY",
  "PULUMI_CONFIG_PASSPHRASE",
  "PULUMI_ACCESS_TOKEN",
  "AWS_PROFILE",
];

function environment(overrides: Partial<TargetEnvironment> = {}): TargetEnvironment {
  return {
    name: "test",
    file: "environments/test.yaml",
    config: { AWS_REGION: "eu-west-1" },
    credentials: {
      read: { AWS_SECRET_ACCESS_KEY: { kind: "env", name: "TEST_READ_KEY" } },
      update: { AWS_SECRET_ACCESS_KEY: { kind: "env", name: "TEST_DEPLOY_KEY" } },
    },
    install: { scripts: false },
    ...overrides,
  };
}

function open(overrides: Partial<TargetEnvironment> = {}, known = new KnownSecrets()) {
  return EnvironmentTarget.open({
    environment: environment(overrides),
    engineBackendUrl: "file:///var/lib/tidegate/state",
    enginePassphrase: "engine-wide-passphrase",
    engineEnv: { AWS_ENDPOINT_URL: "http://127.0.0.1:5000" },
    knownSecrets: known,
    from: OWN,
  });
}

describe("the environment of a process started for an environment", () => {
  it("inherits only the allowlist: locale, home, user, time zone, proxies and PATH", () => {
    expect(inheritedEnv(OWN)).toEqual(ALLOWED);
  });

  it("adds the engine's declared variables, the config and the credentials, in that order", () => {
    const env = environmentProcessEnv(
      {
        engine: { AWS_REGION: "us-east-1", AWS_ENDPOINT_URL: "http://emulator" },
        config: { AWS_REGION: "eu-west-1" },
        credentials: { AWS_SECRET_ACCESS_KEY: "k" },
      },
      OWN,
    );
    expect(env).toMatchObject({
      AWS_REGION: "eu-west-1",
      AWS_ENDPOINT_URL: "http://emulator",
      AWS_SECRET_ACCESS_KEY: "k",
    });
    for (const name of NEVER) expect(env).not.toHaveProperty(name);
  });

  it("gives an install npm's settings and nothing of the environment's cloud", () => {
    const env = installProcessEnv(OWN);
    expect(env).toMatchObject({ PATH: "/usr/bin:/bin", npm_config_registry: "https://registry.example/" });
    for (const name of [...NEVER, "TEST_READ_KEY", "AWS_REGION"]) expect(env).not.toHaveProperty(name);
    expect(installSettings({ install: { scripts: false } }, OWN)).toEqual({ env, scripts: false });
  });
});

describe("EnvironmentTarget", () => {
  it("gives read-only work the read credentials, and an update the update credentials", async () => {
    const target = await open();
    expect(target.readEnv).toMatchObject({
      AWS_SECRET_ACCESS_KEY: "test-read-5a1f",
      AWS_REGION: "eu-west-1",
      AWS_ENDPOINT_URL: "http://127.0.0.1:5000",
      PATH: "/usr/bin:/bin",
    });
    expect(Object.values(target.readEnv)).not.toContain("test-deploy-9c2e");
    const update = await target.updateEnv();
    expect(update.AWS_SECRET_ACCESS_KEY).toBe("test-deploy-9c2e");
    expect(Object.values(update)).not.toContain("test-read-5a1f");
    for (const env of [target.readEnv, update])
      for (const name of NEVER) expect(env).not.toHaveProperty(name);
  });

  it("reads the update credentials only when an update asks, once per run", async () => {
    const known = new KnownSecrets();
    const target = await open(
      { credentials: { read: {}, update: { KEY: { kind: "env", name: "NOT_SET_ANYWHERE" } } } },
      known,
    );
    expect(target.readEnv).not.toHaveProperty("KEY");
    const first = target.updateEnv();
    expect(target.updateEnv()).toBe(first);
    await expect(first).rejects.toThrow(
      "environment test (environments/test.yaml): credentials.update.KEY: environment variable NOT_SET_ANYWHERE is not set",
    );
  });

  it("registers every value it reads, so no sink shows it", async () => {
    const known = new KnownSecrets();
    const target = await open(
      { secrets: { kind: "passphrase", source: { kind: "env", name: "TEST_PASSPHRASE" } } },
      known,
    );
    await target.updateEnv();
    expect(target.passphrase).toBe("test-passphrase-44");
    const redacted = new Redactor({ secrets: known, stacks: false }).text(
      "read test-read-5a1f, deployed with test-deploy-9c2e, passphrase test-passphrase-44",
    );
    expect(redacted).toBe("read [secret], deployed with [secret], passphrase [secret]");
  });

  it("uses the environment's own passphrase, backend or provider, else the engine's", async () => {
    const own = await open({
      secrets: { kind: "passphrase", source: { kind: "env", name: "TEST_PASSPHRASE" } },
      backendUrl: "s3://state-test",
    });
    expect([own.passphrase, own.backendUrl, own.secretsProvider]).toEqual([
      "test-passphrase-44",
      "s3://state-test",
      undefined,
    ]);
    expect(own.stackOptions()).toMatchObject({
      backendUrl: "s3://state-test",
      passphrase: "test-passphrase-44",
      env: own.readEnv,
    });
    const kms = await open({ secrets: { kind: "provider", url: "awskms://alias/test" } });
    expect(kms.stackOptions()).not.toHaveProperty("passphrase");
    expect(kms.stackOptions()).toMatchObject({ secretsProvider: "awskms://alias/test" });
    expect([kms.passphrase, kms.secretsProvider]).toEqual([undefined, "awskms://alias/test"]);
    const engine = await open();
    expect([engine.passphrase, engine.backendUrl]).toEqual([
      "engine-wide-passphrase",
      "file:///var/lib/tidegate/state",
    ]);
  });

  it("fails naming the environment, the field and the source, never a value", async () => {
    const missing = open({
      secrets: {
        kind: "passphrase",
        source: { kind: "file", path: "/nonexistent/tidegate/test-passphrase" },
      },
    });
    await expect(missing).rejects.toBeInstanceOf(CredentialError);
    await expect(missing).rejects.toThrow(
      "environment test (environments/test.yaml): secrets.passphrase: file /nonexistent/tidegate/test-passphrase cannot be read (ENOENT)",
    );
    await expect(
      EnvironmentTarget.open({
        environment: environment(),
        engineBackendUrl: "file:///state",
        knownSecrets: new KnownSecrets(),
        from: OWN,
      }),
    ).rejects.toThrow(/has no secrets provider of its own, and the engine-wide passphrase is not set/);
  });
});

describe("readSource", () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "tidegate-source-"));
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("reads a variable, a file and a command's output, trimmed", async () => {
    const file = path.join(dir, "secret");
    fs.writeFileSync(file, "from-a-file\n");
    expect(await readSource({ kind: "env", name: "TEST_READ_KEY" }, { from: OWN })).toBe("test-read-5a1f");
    expect(await readSource({ kind: "file", path: file })).toBe("from-a-file");
    expect(await readSource({ kind: "command", argv: ["printf", "  from-a-command\\n"] })).toBe(
      "from-a-command",
    );
  });

  it("runs a command without a shell and with only the allowlist of tidegate's environment", async () => {
    const script = path.join(dir, "print-env");
    fs.writeFileSync(script, '#!/bin/sh\necho "canary=$TIDEGATE_CANARY_SECRET home=$HOME"\n', {
      mode: 0o755,
    });
    expect(await readSource({ kind: "command", argv: [script] }, { from: OWN })).toBe(
      "canary= home=/home/tidegate",
    );
    // No shell: `$HOME` and `;` are plain arguments.
    expect(await readSource({ kind: "command", argv: ["echo", "$HOME;", "x"] }, { from: OWN })).toBe(
      "$HOME; x",
    );
  });

  it("says why a source gave nothing", async () => {
    const empty = path.join(dir, "empty");
    fs.writeFileSync(empty, "\n");
    await expect(readSource({ kind: "file", path: empty })).rejects.toThrow(`file ${empty} is empty`);
    await expect(readSource({ kind: "command", argv: ["/nonexistent/credential-process"] })).rejects.toThrow(
      'command ["/nonexistent/credential-process"] was not found',
    );
    await expect(
      readSource({ kind: "command", argv: ["sh", "-c", "echo not logged in >&2; exit 3"] }),
    ).rejects.toThrow('command ["sh","-c","echo not logged in >&2; exit 3"] failed (exit 3): not logged in');
    await expect(readSource({ kind: "command", argv: ["sleep", "5"] }, { timeoutMs: 200 })).rejects.toThrow(
      "did not finish within 0.2s",
    );
  });
});
