import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { PulumiError } from "../../../src/adapters/pulumi/errors";
import {
  backendSecrets,
  isPassphraseSalt,
  makeEncryptionSalt,
  passphraseOpens,
  readStackSettings,
  verifyStackSecrets,
  writeEncryptionSalt,
  type SecretsCheck,
} from "../../../src/adapters/pulumi/secrets";

// Written by `pulumi stack init` (v3.274.1) with PULUMI_CONFIG_PASSPHRASE=A: proves the format.
const PULUMI_SALT_FOR_A = "v1:d7sfs6NKj0E=:v1:bHBHIphlFGmiGCxj:6UcRu6trVYAsKPYNHECJJg29C5bj3Q==";

describe("the passphrase secrets provider's salt", () => {
  it("opens a salt Pulumi made with the right passphrase, and not with another", async () => {
    expect(await passphraseOpens("A", PULUMI_SALT_FOR_A)).toBe(true);
    expect(await passphraseOpens("B", PULUMI_SALT_FOR_A)).toBe(false);
  });

  it("makes salts Pulumi's way: they open with their passphrase only", async () => {
    const salt = await makeEncryptionSalt("right horse");
    expect(salt).toMatch(/^v1:[A-Za-z0-9+/]{11}=:v1:[A-Za-z0-9+/]{16}:[A-Za-z0-9+/]+=*$/);
    expect(await passphraseOpens("right horse", salt)).toBe(true);
    expect(await passphraseOpens("wrong horse", salt)).toBe(false);
    expect(await makeEncryptionSalt("right horse")).not.toBe(salt);
  });

  it("refuses what is not a salt string", async () => {
    for (const bad of ["", "v1:abc", "v2:d7sfs6NKj0E=:v1:bHBHIphlFGmiGCxj:6UcR", "v1:!!:v1:x:y"]) {
      expect(isPassphraseSalt(bad)).toBe(false);
    }
    await expect(passphraseOpens("A", "v1:abc")).rejects.toThrow(/not a passphrase secrets provider salt/);
  });
});

describe("the secrets provider a stack export records", () => {
  it("reads the passphrase provider's salt, and other providers without one", () => {
    const passphrase = {
      version: 3,
      deployment: { secrets_providers: { type: "passphrase", state: { salt: PULUMI_SALT_FOR_A } } },
    };
    expect(backendSecrets(passphrase)).toEqual({ type: "passphrase", salt: PULUMI_SALT_FOR_A });
    expect(backendSecrets({ deployment: { secrets_providers: { type: "service" } } })).toEqual({
      type: "service",
    });
    expect(backendSecrets({ version: 3, deployment: {} })).toBeUndefined();
    expect(backendSecrets({ version: 3 })).toBeUndefined();
    expect(backendSecrets(null)).toBeUndefined();
  });
});

describe("a stack's settings file", () => {
  let dir: string;
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
  const project = (files: Record<string, string>) => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "tidegate-secrets-"));
    for (const [name, text] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
      fs.writeFileSync(path.join(dir, name), text);
    }
    return dir;
  };

  it("reads the salt and provider of Pulumi.<stack>.yaml, by the last part of a qualified name", () => {
    project({
      "Pulumi.yaml": "name: p\nruntime: nodejs\n",
      "Pulumi.test.yaml": `encryptionsalt: ${PULUMI_SALT_FOR_A}\nconfig:\n  p:a: 1\n`,
    });
    expect(readStackSettings(dir, "organization/p/test")).toEqual({
      file: path.join(dir, "Pulumi.test.yaml"),
      exists: true,
      encryptionSalt: PULUMI_SALT_FOR_A,
    });
    expect(readStackSettings(dir, "prod")).toEqual({
      file: path.join(dir, "Pulumi.prod.yaml"),
      exists: false,
    });
  });

  it("follows stackConfigDir", () => {
    project({
      "Pulumi.yaml": "name: p\nruntime: nodejs\nstackConfigDir: config\n",
      "config/Pulumi.test.yaml": "secretsprovider: awskms://alias/x\n",
    });
    expect(readStackSettings(dir, "test")).toMatchObject({
      file: path.join(dir, "config", "Pulumi.test.yaml"),
      secretsProvider: "awskms://alias/x",
    });
  });

  it("sets encryptionsalt keeping the config and comments as written, or creates the file", () => {
    project({ "Pulumi.test.yaml": "# the test stack\nconfig:\n  p:team: platform # owner\n" });
    writeEncryptionSalt(path.join(dir, "Pulumi.test.yaml"), PULUMI_SALT_FOR_A);
    const text = fs.readFileSync(path.join(dir, "Pulumi.test.yaml"), "utf8");
    expect(text).toContain("# the test stack");
    expect(text).toContain("p:team: platform # owner");
    expect(text).toContain(`encryptionsalt: ${PULUMI_SALT_FOR_A}`);
    writeEncryptionSalt(path.join(dir, "Pulumi.new.yaml"), PULUMI_SALT_FOR_A);
    expect(readStackSettings(dir, "new").encryptionSalt).toBe(PULUMI_SALT_FOR_A);
  });
});

describe("verifying a stack's secrets before the engine runs", () => {
  let other: string;
  beforeAll(async () => {
    other = await makeEncryptionSalt("A");
  });
  const check = (overrides: Partial<SecretsCheck>): SecretsCheck => ({
    passphrase: "A",
    source: "file /etc/tidegate/test-passphrase",
    subject: "environment 'test' (stack test)",
    backend: { type: "passphrase", salt: PULUMI_SALT_FOR_A },
    settings: { file: "/w/stacks/p/Pulumi.test.yaml", exists: true },
    ...overrides,
  });
  const failure = async (input: SecretsCheck): Promise<PulumiError> => {
    const err = await verifyStackSecrets(input).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(PulumiError);
    return err as PulumiError;
  };

  it("pins the deployed salt when the committed file has none", async () => {
    expect(await verifyStackSecrets(check({}))).toEqual({ salt: PULUMI_SALT_FOR_A, writeSalt: true });
  });

  it("accepts a committed salt equal to the deployed one, and a committed salt alone", async () => {
    const settings = { file: "/w/Pulumi.test.yaml", exists: true, encryptionSalt: PULUMI_SALT_FOR_A };
    expect(await verifyStackSecrets(check({ settings }))).toEqual({
      salt: PULUMI_SALT_FOR_A,
      writeSalt: false,
    });
    expect(await verifyStackSecrets(check({ settings, backend: undefined }))).toEqual({
      salt: PULUMI_SALT_FOR_A,
      writeSalt: false,
    });
  });

  it("a wrong passphrase names the environment and the source, never the value", async () => {
    const err = await failure(check({ passphrase: "B-is-wrong" }));
    expect(err.failure).toBe("passphrase");
    expect(err.message).toBe(
      "environment 'test' (stack test): the passphrase from file /etc/tidegate/test-passphrase does not open the deployed stack's secrets; nothing was run",
    );
    expect(`${err.message} ${err.recovery}`).not.toContain("B-is-wrong");
  });

  it("a wrong passphrase against the committed salt names the file", async () => {
    const settings = { file: "/w/Pulumi.test.yaml", exists: true, encryptionSalt: PULUMI_SALT_FOR_A };
    const err = await failure(check({ passphrase: "B", backend: undefined, settings }));
    expect(err.failure).toBe("passphrase");
    expect(err.message).toMatch(/does not open the encryptionsalt committed in Pulumi\.test\.yaml/);
  });

  it("an empty passphrase is refused", async () => {
    const err = await failure(check({ passphrase: "" }));
    expect(err.failure).toBe("passphrase");
    expect(err.message).toMatch(/passphrase from file \/etc\/tidegate\/test-passphrase is empty/);
  });

  it("a committed salt that differs from the deployed one fails, even when both open", async () => {
    const settings = { file: "/w/Pulumi.test.yaml", exists: true, encryptionSalt: other };
    const err = await failure(check({ settings }));
    expect(err.failure).toBe("secrets-mismatch");
    expect(err.message).toMatch(
      /encryptionsalt committed in Pulumi\.test\.yaml disagrees with the deployed stack's/,
    );
  });

  it("a malformed committed salt names the file and the expected form", async () => {
    const settings = { file: "/w/Pulumi.test.yaml", exists: true, encryptionSalt: "v1:oops" };
    const err = await failure(check({ settings }));
    expect(err.failure).toBe("secrets-mismatch");
    expect(err.message).toMatch(/encryptionsalt in Pulumi\.test\.yaml is not a passphrase provider salt/);
  });

  it("leaves stacks of other secrets providers alone", async () => {
    const kms = { file: "/w/Pulumi.test.yaml", exists: true, secretsProvider: "awskms://alias/x" };
    expect(await verifyStackSecrets(check({ passphrase: "B", settings: kms }))).toEqual({ writeSalt: false });
    expect(await verifyStackSecrets(check({ passphrase: "B", backend: { type: "service" } }))).toEqual({
      writeSalt: false,
    });
    expect(await verifyStackSecrets(check({ passphrase: "B", backend: undefined }))).toEqual({
      writeSalt: false,
    });
  });
});
