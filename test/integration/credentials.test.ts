import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { ensureDependencies } from "../../src/adapters/pulumi/dependencies";
import { createEngineFixture, PROJECT, reportTexts, type EngineFixture } from "../helpers/engine";

// What a program committed to an environment's branch can see: nothing of tidegate's own
// environment beyond the allowlist, and only its environment's credentials for the mode at hand.

const CANARY = "canary-3c9d0e7a5b";
const PROD_SECRET = "prod-aws-secret-81f2c6d4";
const READ_TOKEN = "test-read-token-5e0a9b";
const DEPLOY_TOKEN = "test-deploy-token-c47d1f";
const STACK_PASSPHRASE = "test-stack-passphrase-6b1e";

interface Probe {
  keys: string[];
  values: string[];
  token?: string;
  passphrase?: string;
}

/**
 * A program module that writes what its process sees into its own folder, one file per mode (the
 * sandbox lets a program write nowhere else).
 */
const PROBE_MODULE = `import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";

const mode = pulumi.runtime.isDryRun() ? "preview" : "update";
const seen = {
  keys: Object.keys(process.env),
  values: Object.values(process.env),
  token: process.env.TEST_CLOUD_TOKEN,
  passphrase: process.env.PULUMI_CONFIG_PASSPHRASE,
};
fs.writeFileSync("probe-" + mode + ".json", JSON.stringify(seen));
`;

describe("an environment's processes see only what the environment declares", () => {
  let f: EngineFixture;
  let probeDir: string;
  const marker = () => path.join(probeDir, "preinstall-ran");
  const probe = (mode: string) =>
    JSON.parse(
      fs.readFileSync(
        path.join(path.dirname(f.configPath), "data", "workspaces", "test", PROJECT, `probe-${mode}.json`),
        "utf8",
      ),
    ) as Probe;

  beforeAll(async () => {
    probeDir = fs.mkdtempSync(path.join(os.tmpdir(), "tidegate-probe-"));
    vi.stubEnv("TIDEGATE_CANARY_SECRET", CANARY);
    vi.stubEnv("PROD_AWS_SECRET_ACCESS_KEY", PROD_SECRET);
    vi.stubEnv("TEST_READ_TOKEN", READ_TOKEN);
    vi.stubEnv("TEST_DEPLOY_TOKEN", DEPLOY_TOKEN);
    vi.stubEnv("TEST_STACK_PASSPHRASE", STACK_PASSPHRASE);
    f = await createEngineFixture([
      {
        name: "test",
        sync: "auto",
        drift: "report",
        gates: { checks: [{ name: "env", run: 'env > "$PROBE_DIR/check.env"' }] },
        definition: {
          config: { PROBE_DIR: probeDir },
          credentials: {
            read: { TEST_CLOUD_TOKEN: { env: "TEST_READ_TOKEN" } },
            update: { TEST_CLOUD_TOKEN: { env: "TEST_DEPLOY_TOKEN" } },
          },
          secrets: { passphrase: { env: "TEST_STACK_PASSPHRASE" } },
        },
      },
    ]);
    // The branch's program records what it sees, and its package.json has a preinstall script.
    const program = (file: string) =>
      fs.readFileSync(path.join(__dirname, "..", "..", PROJECT, file), "utf8");
    const manifest = JSON.parse(program("package.json")) as Record<string, unknown>;
    manifest.scripts = {
      preinstall: `node -e "require('fs').writeFileSync('${marker()}', 'ran')"`,
    };
    await f.commitTo(
      "test",
      {
        [`${PROJECT}/probe.ts`]: PROBE_MODULE,
        [`${PROJECT}/index.ts`]: `import "./probe";\n${program("index.ts")}`,
        [`${PROJECT}/package.json`]: `${JSON.stringify(manifest, null, 2)}\n`,
      },
      "Record what the program sees",
    );
  });
  afterAll(async () => {
    vi.unstubAllEnvs();
    await f?.cleanup();
    fs.rmSync(probeDir, { recursive: true, force: true });
  });

  it("installs without lifecycle scripts, previews with the read credentials and updates with the update ones", async () => {
    const report = await f.engine.check("test", { kind: "sync", trigger: "test", allowSync: true });
    expect(report.reason ?? "").toBe("");
    expect(report.status).toBe("Synced");
    expect(report.sync?.applied).toBe(true);
    expect(report.dependencies?.installed).toBe(true);
    expect(fs.existsSync(marker())).toBe(false);

    const preview = probe("preview");
    const update = probe("update");
    expect(preview.token).toBe(READ_TOKEN);
    expect(update.token).toBe(DEPLOY_TOKEN);
    for (const seen of [preview, update]) {
      // The stack's own passphrase, never the engine-wide one.
      expect(seen.passphrase).toBe(STACK_PASSPHRASE);
      expect(seen.values).not.toContain(f.passphrase);
      expect(seen.keys).toContain("PROBE_DIR");
      expect(seen.keys).toContain("AWS_ENDPOINT_URL"); // declared by the engine (the emulator)
      expect(seen.keys).not.toContain("TIDEGATE_CANARY_SECRET");
      expect(seen.keys).not.toContain("PROD_AWS_SECRET_ACCESS_KEY");
      expect(seen.keys).not.toContain("TEST_READ_TOKEN");
      expect(seen.keys).not.toContain("TEST_DEPLOY_TOKEN");
      const values = seen.values.join("\n");
      expect(values).not.toContain(CANARY);
      expect(values).not.toContain(PROD_SECRET);
    }
    expect(preview.values.join("\n")).not.toContain(DEPLOY_TOKEN);
    expect(update.values.join("\n")).not.toContain(READ_TOKEN);

    const checkEnv = fs.readFileSync(path.join(probeDir, "check.env"), "utf8");
    expect(checkEnv).toContain(`TEST_CLOUD_TOKEN=${READ_TOKEN}`);
    expect(checkEnv).not.toContain(CANARY);
    expect(checkEnv).not.toContain(PROD_SECRET);
    expect(checkEnv).not.toContain(DEPLOY_TOKEN);
  });

  it("masks a credential and the passphrase the program prints in its error, in every sink", async () => {
    await f.commitTo(
      "test",
      {
        [`${PROJECT}/probe.ts`]:
          'throw new Error("cannot log in with " + process.env.TEST_CLOUD_TOKEN + " and " + process.env.PULUMI_CONFIG_PASSPHRASE);\n',
      },
      "A program that prints its credential and its passphrase",
    );
    const report = await f.engine.check("test", { kind: "check", trigger: "test", allowSync: true });
    expect(report.status).toBe("Failed");
    expect(report.reason).toContain("cannot log in with [secret] and [secret]");
    const stored = [
      (await f.engine.store.status("test"))?.reason,
      JSON.stringify(await f.engine.store.latestReport("test")),
    ];
    expect(stored.join("\n")).toContain("[secret]");
    expect(stored.join("\n")).not.toContain(READ_TOKEN);
    // The store's file (and its write-ahead log), the audit log, the report files and the logs, as bytes.
    const dataDir = path.join(path.dirname(f.configPath), "data");
    const files = fs
      .readdirSync(dataDir)
      .filter((name) => name.startsWith("tidegate.db") || name.startsWith("audit"))
      .map((name) => fs.readFileSync(path.join(dataDir, name)).toString("latin1"));
    expect(files.length).toBeGreaterThanOrEqual(2);
    const sinks = [...files, ...reportTexts(dataDir), ...f.logs].join("\n");
    for (const secret of [READ_TOKEN, STACK_PASSPHRASE]) expect(sinks).not.toContain(secret);
  });

  it("never writes a credential it read to a log line or a report", () => {
    const sinks = [...f.logs, ...reportTexts(path.join(path.dirname(f.configPath), "data"))].join("\n");
    expect(sinks.length).toBeGreaterThan(0);
    expect(sinks).not.toContain(READ_TOKEN);
    expect(sinks).not.toContain(DEPLOY_TOKEN);
    expect(sinks).not.toContain(STACK_PASSPHRASE);
    expect(sinks).toContain("[secret]");
  });
});

describe("npm installs", () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "tidegate-install-"));
  });
  afterAll(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** A program with no dependencies whose preinstall script writes what it sees to `ran`. */
  function project(name: string): { projectDir: string; ran: string } {
    const projectDir = path.join(dir, name);
    const ran = path.join(projectDir, "ran");
    fs.mkdirSync(projectDir);
    fs.writeFileSync(path.join(projectDir, "Pulumi.yaml"), `name: ${name}\nruntime: nodejs\n`);
    const script = `node -e "require('fs').writeFileSync('${ran}', Object.keys(process.env).join(' '))"`;
    fs.writeFileSync(
      path.join(projectDir, "package.json"),
      JSON.stringify({ name, private: true, scripts: { preinstall: script } }),
    );
    return { projectDir, ran };
  }

  it("run no lifecycle script unless the environment opts in, and then with no credentials", async () => {
    vi.stubEnv("TIDEGATE_CANARY_SECRET", CANARY);
    try {
      const off = project("scripts-off");
      const skipped = await ensureDependencies({
        projectDir: off.projectDir,
        cacheDir: path.join(dir, "cache"),
      });
      expect(skipped.installed).toBe(true);
      expect(fs.existsSync(off.ran)).toBe(false);

      const on = project("scripts-on");
      const ran = await ensureDependencies({
        projectDir: on.projectDir,
        cacheDir: path.join(dir, "cache"),
        scripts: true,
      });
      expect(ran.installed).toBe(true);
      const seen = fs.readFileSync(on.ran, "utf8").split(" ");
      expect(seen).toContain("PATH");
      expect(seen).not.toContain("TIDEGATE_CANARY_SECRET");
    } finally {
      vi.unstubAllEnvs();
    }
  });
});
