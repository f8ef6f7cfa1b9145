import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeEncryptionSalt, passphraseOpens } from "../../src/adapters/pulumi/secrets";
import type { Engine } from "../../src/app/engine";
import { createEngineFixture, type EngineFixture } from "../helpers/engine";

const sync = { kind: "sync", trigger: "test", allowSync: true } as const;

// A stack without secrets, deployed with one passphrase: Pulumi alone would accept any other
// passphrase and replace the stack's secrets provider in the next update.
describe("secrets fail closed", () => {
  let f: EngineFixture;
  let wrong: Engine;
  let stateFile: string;
  const salt = () =>
    (
      JSON.parse(fs.readFileSync(stateFile, "utf8")) as {
        checkpoint: { latest: { secrets_providers: { type: string; state: { salt: string } } } };
      }
    ).checkpoint.latest.secrets_providers;
  const bumpTimeout = async (to: number, extra: Record<string, string> = {}) => {
    const file = f.stackConfigFile("test");
    const config = (await f.readAt("test", file)).replace(
      /queueVisibilityTimeout: \d+/,
      `queueVisibilityTimeout: ${to}`,
    );
    return f.commitTo("test", { [file]: config, ...extra }, `Visibility timeout ${to}`);
  };

  beforeAll(async () => {
    f = await createEngineFixture([{ name: "test", sync: "auto", drift: "report" }]);
    const root = path.dirname(f.configPath);
    stateFile = path.join(root, "state", ".pulumi", "stacks", "platform-sdk", `${f.stackName("test")}.json`);
    wrong = await f.secondEngine({ passphrase: "not-the-stack-passphrase" });
  });
  afterAll(async () => {
    await f?.cleanup();
  });

  it("deploys the stack with its passphrase; the committed config has no encryptionsalt", async () => {
    expect(await f.readAt("test", f.stackConfigFile("test"))).not.toContain("encryptionsalt");
    const first = await f.engine.check("test", sync);
    expect(first.status).toBe("Synced");
    expect(salt().type).toBe("passphrase");
    expect(await passphraseOpens(f.passphrase, salt().state.salt)).toBe(true);
  });

  it("a wrong passphrase fails before any preview, naming the environment and its source; the state is untouched", async () => {
    await bumpTimeout(40);
    const before = fs.readFileSync(stateFile);
    const report = await wrong.check("test", sync);
    expect(report.status).toBe("Failed");
    const source = `file ${path.join(path.dirname(f.configPath), "passphrase")}`;
    expect(report.reason).toContain(
      `environment 'test' (stack ${f.stackName("test")}): the passphrase from ${source} does not open the deployed stack's secrets; nothing was run`,
    );
    expect(report.reason).not.toContain("not-the-stack-passphrase");
    expect(report.timings.preview).toBeUndefined();
    expect(report.timings.drift).toBeUndefined();
    expect(report.sync).toBeUndefined();
    expect(fs.readFileSync(stateFile).equals(before)).toBe(true);
    expect((await wrong.store.run(report.runId))?.error?.kind).toBe("unauthorized");
  });

  it("the right passphrase still opens the stack afterwards, and its update keeps the salt", async () => {
    const before = salt().state.salt;
    const report = await f.engine.check("test", sync);
    expect(report.status).toBe("Synced");
    expect(report.sync?.applied).toBe(true);
    expect(salt().state.salt).toBe(before);
  });

  it("a committed encryptionsalt that differs from the deployed stack's fails and runs nothing", async () => {
    const file = f.stackConfigFile("test");
    // Made with the right passphrase, as `pulumi config set --secret` does in a clone without the salt.
    const other = await makeEncryptionSalt(f.passphrase);
    const config = await f.readAt("test", file);
    await f.commitTo("test", { [file]: `encryptionsalt: ${other}\n${config}` }, "Commit a fresh salt");
    await bumpTimeout(50);
    const before = fs.readFileSync(stateFile);
    const report = await f.engine.check("test", sync);
    expect(report.status).toBe("Failed");
    expect(report.reason).toContain(
      `environment 'test' (stack ${f.stackName("test")}): the encryptionsalt committed in Pulumi.${f.stackName("test")}.yaml disagrees with the deployed stack's`,
    );
    expect(report.timings.preview).toBeUndefined();
    expect(fs.readFileSync(stateFile).equals(before)).toBe(true);

    // Committing the deployed salt mends it.
    const mended = (await f.readAt("test", file)).replace(other, salt().state.salt);
    await f.commitTo("test", { [file]: mended }, "Commit the deployed salt");
    const again = await f.engine.check("test", sync);
    expect(again.status).toBe("Synced");
    expect(salt().state.salt).not.toBe(other);
  });
});
