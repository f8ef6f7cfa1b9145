import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { prepareExample } from "../../src/compose";
import { passphraseOpens, readStackSettings } from "../../src/adapters/pulumi/secrets";
import { repoRoot } from "../../src/config/repo";

describe("the embedded default's example", () => {
  let dataDir: string;
  beforeAll(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "tidegate-example-"));
  });
  afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  it("commits each stack's encryptionsalt, made with the generated passphrase", async () => {
    const { repository } = await prepareExample(repoRoot(__dirname), dataDir);
    expect(repository.created).toBe(true);
    const passphrase = fs.readFileSync(path.join(dataDir, "passphrase"), "utf8");
    const project = path.join(repository.workClone, "stacks", "aws-sdk");
    for (const stack of ["test", "stage", "prod"]) {
      const salt = readStackSettings(project, stack).encryptionSalt;
      expect(salt, stack).toBeDefined();
      expect(await passphraseOpens(passphrase, salt as string)).toBe(true);
      expect(await passphraseOpens(`${passphrase}x`, salt as string)).toBe(false);
    }
    // The config beside the salt is the checkout's, as written.
    const seeded = fs.readFileSync(path.join(project, "Pulumi.test.yaml"), "utf8");
    const source = fs.readFileSync(path.join(repoRoot(__dirname), "stacks/aws-sdk/Pulumi.test.yaml"), "utf8");
    expect(seeded.replace(/^encryptionsalt: .*\n/m, "")).toBe(source);
  });

  it("reuses the passphrase on later runs", async () => {
    const before = fs.readFileSync(path.join(dataDir, "passphrase"), "utf8");
    const { repository } = await prepareExample(repoRoot(__dirname), dataDir);
    expect(repository.created).toBe(false);
    expect(fs.readFileSync(path.join(dataDir, "passphrase"), "utf8")).toBe(before);
  });

  it("a passphrase file deleted after seeding is an error naming it and the way back, never a new one", async () => {
    const file = path.join(dataDir, "passphrase");
    fs.rmSync(file);
    await expect(prepareExample(repoRoot(__dirname), dataDir)).rejects.toThrow(
      `the example's secrets passphrase file ${file} is missing`,
    );
    await expect(prepareExample(repoRoot(__dirname), dataDir)).rejects.toThrow(
      /Restore the file; or, to start the example afresh, delete/,
    );
    expect(fs.existsSync(file)).toBe(false);
  });
});
