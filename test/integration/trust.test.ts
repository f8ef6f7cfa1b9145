import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { BWRAP_REASON, bubblewrapWorks } from "../helpers/sandbox";
import { createEngineFixture, PROJECT, type EngineFixture } from "../helpers/engine";

// The trust boundary, tried as a hostile author of the ungated `test` branch would: a program that
// goes after everything of `prod`'s it can think of, in a report-only preview and in an update.
// Every claim of the README's trust model about what such a program can reach is checked here.

const PROD_KEY = "prod-cloud-key-6f1d93a2c8";
const PROD_PASSPHRASE = "prod-stack-passphrase-2b7e41";
const TEST_KEY = "test-cloud-key-0c5a8e";
const TEST_PASSPHRASE = "test-stack-passphrase-93d0f7";

/**
 * A program module that records what its process can reach into `loot-<mode>.json` in its own
 * folder (the one place it may write): its environment, every file under the targets it is given,
 * and what `pulumi config get --stack <prod>` says.
 */
const LOOT_MODULE = `import * as cp from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";

// The program runs in <root>/data/workspaces/test/stacks/aws-sdk: tidegate's folders are above it.
const root = path.resolve(process.cwd(), "../../../../..");
const prodStack = pulumi.getStack().replace(/-test$/, "-prod");
const targets: Record<string, string> = {
  prodPassphraseFile: process.env.LOOT_TARGET ?? "",
  enginePassphraseFile: path.join(root, "passphrase"),
  backend: path.join(root, "state"),
  dataDir: path.join(root, "data"),
  store: path.join(root, "data", "tidegate.db"),
  audit: path.join(root, "data", "audit.jsonl"),
  prodWorktree: path.join(root, "data", "workspaces", "prod"),
  mirror: path.join(root, "data", "git"),
};
const read = (p: string, depth = 0): string => {
  try {
    const stat = fs.statSync(p);
    if (!stat.isDirectory()) return fs.readFileSync(p).subarray(0, 1_000_000).toString("latin1");
    if (depth > 6) return "";
    return fs
      .readdirSync(p)
      .filter((name) => name !== "node_modules")
      .map((name) => name + "\\n" + read(path.join(p, name), depth + 1))
      .join("\\n");
  } catch (error) {
    return "error:" + String((error as NodeJS.ErrnoException).code);
  }
};
const pulumiSays = (args: string[]): string => {
  const result = cp.spawnSync("pulumi", args, { encoding: "utf8", timeout: 60_000 });
  return "exit " + result.status + ": " + (result.stdout ?? "") + (result.stderr ?? "");
};
const loot = {
  env: process.env,
  files: Object.fromEntries(Object.entries(targets).map(([name, p]) => [name, read(p)])),
  configGet: pulumiSays(["config", "get", "--stack", prodStack, "token"]),
  stackLs: pulumiSays(["stack", "ls", "--all"]),
  dataDirEntries: (() => {
    try {
      return fs.readdirSync(path.join(root, "data"));
    } catch (error) {
      return ["error:" + String((error as NodeJS.ErrnoException).code)];
    }
  })(),
};
const mode = pulumi.runtime.isDryRun() ? "preview" : "update";
fs.writeFileSync("loot-" + mode + ".json", JSON.stringify(loot));
`;

/** prod's own program records the one credential it should see. */
const PROD_MODULE = `import * as fs from "fs";
fs.writeFileSync("own-key.txt", process.env.CLOUD_KEY ?? "(none)");
`;

describe.skipIf(!bubblewrapWorks())(`a hostile program on the ungated test branch${BWRAP_REASON}`, () => {
  let f: EngineFixture;
  let secretsDir: string;
  let dataDir: string;
  const loot = (mode: string) =>
    fs.readFileSync(path.join(dataDir, "workspaces", "test", PROJECT, `loot-${mode}.json`), "utf8");

  beforeAll(async () => {
    vi.stubEnv("PROD_CLOUD_KEY", PROD_KEY);
    vi.stubEnv("TEST_CLOUD_KEY", TEST_KEY);
    vi.stubEnv("TEST_PASSPHRASE", TEST_PASSPHRASE);
    // prod's passphrase comes from a file outside everything tidegate hands a program.
    secretsDir = fs.mkdtempSync(path.join(os.tmpdir(), "tidegate-it-trust-"));
    const prodPassphraseFile = path.join(secretsDir, "prod-passphrase");
    fs.writeFileSync(prodPassphraseFile, PROD_PASSPHRASE);
    f = await createEngineFixture([
      {
        name: "test",
        sync: "auto",
        drift: "report",
        definition: {
          // Where prod's passphrase file is, as a hostile author would know from the repository.
          config: { LOOT_TARGET: prodPassphraseFile },
          credentials: { read: { CLOUD_KEY: { env: "TEST_CLOUD_KEY" } } },
          secrets: { passphrase: { env: "TEST_PASSPHRASE" } },
        },
      },
      {
        name: "prod",
        sync: "auto",
        drift: "report",
        definition: {
          credentials: { read: { CLOUD_KEY: { env: "PROD_CLOUD_KEY" } } },
          secrets: { passphrase: { file: prodPassphraseFile } },
        },
      },
    ]);
    dataDir = path.join(path.dirname(f.configPath), "data");
    const program = await f.readAt("prod", `${PROJECT}/index.ts`);
    await f.commitTo(
      "prod",
      { [`${PROJECT}/own-key.ts`]: PROD_MODULE, [`${PROJECT}/index.ts`]: `import "./own-key";\n${program}` },
      "prod records its own key",
    );
  });
  afterAll(async () => {
    vi.unstubAllEnvs();
    await f?.cleanup();
    fs.rmSync(secretsDir, { recursive: true, force: true });
  });

  it("prod's own program gets prod's credential", async () => {
    const prod = await f.engine.check("prod", { kind: "sync", trigger: "test", allowSync: true });
    expect(prod.reason ?? "").toBe("");
    expect(prod.status).toBe("Synced");
    expect(fs.readFileSync(path.join(dataDir, "workspaces", "prod", PROJECT, "own-key.txt"), "utf8")).toBe(
      PROD_KEY,
    );
  });

  it("finds nothing of prod's, in a report-only preview and in an update", async () => {
    const program = await f.readAt("test", `${PROJECT}/index.ts`);
    const manifest = JSON.parse(await f.readAt("test", `${PROJECT}/package.json`)) as Record<string, unknown>;
    const marker = path.join(path.dirname(f.configPath), "preinstall-loot");
    manifest.scripts = { preinstall: `env > ${marker}; cat ${secretsDir}/prod-passphrase >> ${marker}` };
    const prodConfig = await f.readAt("prod", f.stackConfigFile("prod"));
    await f.commitTo(
      "test",
      {
        [`${PROJECT}/loot.ts`]: LOOT_MODULE,
        [`${PROJECT}/index.ts`]: `import "./loot";\n${program}`,
        [`${PROJECT}/package.json`]: `${JSON.stringify(manifest, null, 2)}\n`,
        // prod's stack settings, so that \`pulumi config get --stack prod\` has something to decrypt.
        [f.stackConfigFile("prod")]: prodConfig,
      },
      "Take everything of prod's",
    );

    const previewed = await f.engine.check("test", { kind: "check", trigger: "test", allowSync: false });
    expect(previewed.status, previewed.reason).not.toBe("Failed");
    const synced = await f.engine.check("test", { kind: "sync", trigger: "test", allowSync: true });
    expect(synced.status, synced.reason).toBe("Synced");

    for (const mode of ["preview", "update"]) {
      const found = loot(mode);
      const parsed = JSON.parse(found) as { env: Record<string, string>; files: Record<string, string> };
      // It did look: it ran, and it saw its own environment's credential and passphrase.
      expect(parsed.env.CLOUD_KEY).toBe(TEST_KEY);
      expect(parsed.env.PULUMI_CONFIG_PASSPHRASE).toBe(TEST_PASSPHRASE);
      // Nothing of prod's: its credential, its passphrase (file or value), its state, its worktree.
      expect(found).not.toContain(PROD_KEY);
      expect(found).not.toContain(PROD_PASSPHRASE);
      expect(found).not.toContain(f.passphrase);
      expect(found).not.toContain(f.stackName("prod") + ".json");
      for (const target of [
        "prodPassphraseFile",
        "enginePassphraseFile",
        "store",
        "audit",
        "prodWorktree",
        "mirror",
      ]) {
        expect(parsed.files[target], target).toBe("error:ENOENT");
      }
      // Of tidegate's data directory it sees only the way down to its own worktree and Pulumi home.
      const entries = (JSON.parse(found) as { dataDirEntries: string[] }).dataDirEntries;
      expect(entries.length).toBeGreaterThan(0);
      for (const entry of entries) expect(["sandbox", "workspaces"]).toContain(entry);
      // No other environment's variables reached it.
      expect(Object.keys(parsed.env)).not.toContain("PROD_CLOUD_KEY");
      expect(Object.keys(parsed.env)).not.toContain("TEST_CLOUD_KEY");
    }
    const configGet = (JSON.parse(loot("update")) as { configGet: string }).configGet;
    expect(configGet).not.toMatch(/^exit 0/);
    // The install script never ran: npm installs without lifecycle scripts for a sandboxed branch.
    expect(fs.existsSync(marker)).toBe(false);
  });
});
