import { HeadBucketCommand } from "@aws-sdk/client-s3";
import * as fs from "node:fs";
import * as net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Engine } from "../../src/app/engine";
import type { RunOptions } from "../../src/reconcile/run";
import { awsClients } from "../helpers/aws";
import { createEngineFixture, PROJECT, type EngineFixture } from "../helpers/engine";

// Mistakes in what a person commits or configures, against the real engine: each fails only its
// environment, with a status line that names the file and line, the passphrase source, the plugin
// and version, or the backend (never a raw command dump), destroys nothing and keeps the audit
// chain intact.

const SYNC: RunOptions = { kind: "sync", trigger: "fault", allowSync: true };
const DEPLOY_TIMEOUT = 420_000;
/** What the Automation API's CommandError text looks like; never in a status line. */
const RAW_DUMP = /code: -?\d+|stdout:|stderr:|Command failed with exit code|--non-interactive|\n/;

async function bucketExists(f: EngineFixture, env: string): Promise<boolean> {
  try {
    await awsClients().s3.send(
      new HeadBucketCommand({ Bucket: `platform-sdk-${f.stackName(env)}-artifacts` }),
    );
    return true;
  } catch {
    return false;
  }
}

/** A TCP port on 127.0.0.1 that nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe("configuration mistakes name the fix", () => {
  let f: EngineFixture;
  const engines: Engine[] = [];

  /** Nothing destroyed (both buckets there) and nothing lost (every engine's audit chain verifies). */
  const expectNothingLost = async (): Promise<void> => {
    for (const env of ["test", "stage"]) expect(await bucketExists(f, env), `${env}'s bucket`).toBe(true);
    for (const engine of [f.engine, ...engines]) {
      const verified = await engine.audit.verify();
      expect(verified.ok, JSON.stringify(verified)).toBe(true);
    }
  };

  beforeAll(async () => {
    f = await createEngineFixture([
      { name: "test", sync: "auto", drift: "report" },
      { name: "stage", sync: "auto", drift: "report" },
    ]);
    for (const env of ["test", "stage"]) {
      const report = await f.engine.check(env, SYNC);
      expect(report.status, report.reason).toBe("Synced");
    }
  }, DEPLOY_TIMEOUT);
  afterAll(async () => {
    await f?.cleanup();
  });

  it(
    "a malformed Pulumi.<stack>.yaml fails that environment only, naming the file and the line",
    async () => {
      const file = f.stackConfigFile("test");
      const good = await f.readAt("test", file);
      // A value with an unquoted ": " in it, on the line after the last one.
      const badLine = good.trimEnd().split("\n").length + 1;
      await f.commitTo(
        "test",
        { [file]: `${good.trimEnd()}\n  platform-sdk:owner: ops: platform\n` },
        "Break the stack file",
      );
      try {
        const report = await f.engine.check("test", SYNC);
        const name = file.split("/").pop() as string;
        expect(report.status).toBe("Failed");
        expect(report.reason).toMatch(
          new RegExp(`^${name.replace(/\./g, "\\.")}:${badLine}:\\d+: YAML syntax error`),
        );
        expect(report.reason).toContain(`what to do: fix ${name}`);
        expect(report.reason).not.toMatch(RAW_DUMP);
        expect(report.sync).toBeUndefined();
        const run = await f.engine.store.run(report.runId);
        expect(run?.error).toMatchObject({
          kind: "invalid",
          message: expect.stringContaining(`${name}:${badLine}:`),
        });
        const audited = (await f.engine.audit.entries({ environment: "test" })).at(-1);
        expect(audited).toMatchObject({ action: "failure", verdict: "Failed", reason: report.reason });

        const stage = await f.engine.check("stage", SYNC);
        expect(stage.status, stage.reason).toBe("Synced");
      } finally {
        await f.commitTo("test", { [file]: good }, "Mend the stack file");
      }
      const mended = await f.engine.check("test", SYNC);
      expect(mended.status, mended.reason).toBe("Synced");
      await expectNothingLost();
    },
    DEPLOY_TIMEOUT,
  );

  it("a wrong passphrase names the environment and the passphrase's source, never the value", async () => {
    const wrong = await f.secondEngine({ passphrase: "not-the-stack-passphrase" });
    engines.push(wrong);
    const report = await wrong.check("test", SYNC);
    expect(report.status).toBe("Failed");
    expect(report.reason).toContain(
      `environment 'test' (stack ${f.stackName("test")}): the passphrase from file `,
    );
    expect(report.reason).toContain("what to do: give the environment the passphrase");
    expect(report.reason).not.toContain("not-the-stack-passphrase");
    expect(report.reason).not.toMatch(RAW_DUMP);
    expect((await wrong.store.run(report.runId))?.error?.kind).toBe("unauthorized");
    await expectNothingLost();
  });

  it(
    "a provider plugin that is not installed and cannot be downloaded is named with its version",
    async () => {
      const index = `${PROJECT}/index.ts`;
      const program = await f.readAt("test", index);
      const missing = [
        program,
        "// A provider this machine does not have, at a version no one publishes.",
        "class RandomString extends pulumi.CustomResource {",
        "  constructor(name: string) {",
        '    super("random:index/randomString:RandomString", name, { length: 4 }, { version: "0.0.1-tidegate-missing" });',
        "  }",
        "}",
        'new RandomString("missing");',
        "",
      ].join("\n");
      await f.commitTo("test", { [index]: missing }, "Use a provider that is not installed");
      try {
        const report = await f.engine.check("test", SYNC);
        expect(report.status).toBe("Failed");
        expect(report.reason).toContain(
          "the provider plugin random v0.0.1-tidegate-missing is not installed",
        );
        expect(report.reason).toContain("pulumi plugin install resource random v0.0.1-tidegate-missing");
        expect(report.reason).not.toMatch(RAW_DUMP);
        expect((await f.engine.store.run(report.runId))?.error?.kind).toBe("unavailable");
      } finally {
        await f.commitTo("test", { [index]: program }, "Back to the installed providers");
      }
      await expectNothingLost();
    },
    DEPLOY_TIMEOUT,
  );

  it("a backend that does not answer is named, credentials masked", async () => {
    const port = await closedPort();
    const original = fs.readFileSync(f.configPath, "utf8");
    const url = `s3://tidegate-fault?endpoint=http://127.0.0.1:${port}&s3ForcePathStyle=true&region=us-east-1`;
    fs.writeFileSync(f.configPath, original.replace("file://./state", url));
    let away: Engine;
    try {
      away = await f.secondEngine();
    } finally {
      fs.writeFileSync(f.configPath, original);
    }
    engines.push(away);
    const report = await away.check("test", SYNC);
    expect(report.status).toBe("Failed");
    expect(report.reason).toContain(`the backend ${url} did not answer`);
    expect(report.reason).toContain("connection refused");
    expect(report.reason).not.toMatch(RAW_DUMP);
    expect((await away.store.run(report.runId))?.error?.kind).toBe("unavailable");
    await expectNothingLost();
  });
});
