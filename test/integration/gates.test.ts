import { GetBucketTaggingCommand, PutBucketTaggingCommand } from "@aws-sdk/client-s3";
import { GetQueueUrlCommand } from "@aws-sdk/client-sqs";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { person } from "../../src/app/actor";
import { loadSqlite } from "../../src/adapters/store/load-sqlite";
import { dataPaths } from "../../src/config/paths";
import { programSelection } from "../../src/domain/program";
import type { RunReport } from "../../src/domain/model";
import { awsClients } from "../helpers/aws";
import { runCli } from "../helpers/cli";
import { createEngineFixture, PROJECT, reportTexts, type EngineFixture } from "../helpers/engine";
import { DEFAULT_AUTHOR } from "../helpers/git";
import { bubblewrapWorks } from "../helpers/sandbox";

// The gates on real branches, the real engine and the emulator: test → stage → prod, where stage
// needs promotion from test and a passing check, and prod needs promotion from stage, one approval
// from a list, a sync window, and refuses deletes. Each step builds on the last.

const ALICE = "alice@example.com";
// The gates' clock, moving forward only (the store keeps the newest status by its time).
const INSIDE_WINDOW = new Date("2026-11-28T10:00:00Z");
const OUTSIDE_WINDOW = new Date("2026-11-28T20:00:00Z");
const INSIDE_NEXT_DAY = new Date("2026-11-29T10:00:00Z");
const CLOSED_NEXT_DAY = new Date("2026-11-29T20:00:00Z");

const cli = (args: string[]) => runCli(args);

describe("gated updates and promotion", () => {
  const { s3, sqs } = awsClients();
  let f: EngineFixture;
  const sync = (env: string) => f.engine.check(env, { kind: "sync", trigger: "test", allowSync: true });
  const bucketOf = (env: string) => `platform-sdk-${f.stackName(env)}-artifacts`;
  const latestMarkdown = (env: string) =>
    fs.readFileSync(path.join(dataPaths(dataDir()).reports, env, "latest.md"), "utf8");
  const dataDir = () => path.join(path.dirname(f.configPath), "data");
  /** Edits an environment's stack config on its branch and pushes it. */
  const editConfig = async (env: string, edit: (yaml: string) => string, message: string) => {
    const file = f.stackConfigFile(env);
    return f.commitTo(env, { [file]: edit(await f.readAt(env, file)) }, message);
  };
  const expectReason = async (report: RunReport, pattern: RegExp) => {
    expect(report.reason).toMatch(pattern);
    expect((await f.engine.store.status(report.environment))?.reason).toMatch(pattern);
    expect(latestMarkdown(report.environment)).toMatch(pattern);
  };

  beforeAll(async () => {
    f = await createEngineFixture([
      { name: "test", sync: "auto", drift: "report" },
      {
        name: "stage",
        sync: "auto",
        drift: "report",
        gates: {
          promotion: { from: "test" },
          checks: [{ name: "guard", run: "test ! -e CHECK_FAILS && echo guard ok", timeout: "1m" }],
        },
      },
      {
        name: "prod",
        sync: "auto",
        drift: "report",
        gates: {
          promotion: { from: "stage" },
          approval: { required: 1, approvers: [ALICE, "bob@example.com", DEFAULT_AUTHOR.email] },
          windows: [{ kind: "allow", schedule: "0 9 * * *", duration: "8h", timezone: "UTC" }],
          protect: { operations: ["delete"], action: "refuse" },
        },
      },
    ]);
    f.setNow(INSIDE_WINDOW);
  });
  afterAll(async () => {
    await f?.cleanup();
  });

  it("syncs test, then stage once the same program has succeeded in test and its check passes", async () => {
    expect((await sync("test")).status).toBe("Synced");
    const stage = await sync("stage");
    expect(stage.status).toBe("Synced");
    expect(stage.gates?.map((g) => [g.gate, g.verdict])).toEqual([
      ["promotion", "pass"],
      ["checks", "pass"],
    ]);
    expect(stage.checks?.[0]).toMatchObject({ name: "guard", exitCode: 0 });
    expect(stage.checks?.[0]?.output).toContain("guard ok");
  });

  it("a prod sync without an approval is refused, with the reason in status and report", async () => {
    const prod = await sync("prod");
    expect(prod.status).toBe("AwaitingApproval");
    expect(prod.sync).toBeUndefined();
    await expectReason(prod, /approval/);
    expect(prod.plan?.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    await expect(s3.send(new GetBucketTaggingCommand({ Bucket: bucketOf("prod") }))).rejects.toThrow();
  });

  it("refuses self-approval and approvers outside the list", async () => {
    const self = await f.engine.approve("prod", { actor: person(DEFAULT_AUTHOR.email) });
    expect(self.approval).toBeUndefined();
    expect(self.refused).toMatch(/self-approval/i);
    const stranger = await f.engine.approve("prod", { actor: person("mallory@example.com") });
    expect(stranger.approval).toBeUndefined();
    expect(stranger.refused).toMatch(/mallory@example\.com/);
    expect(await f.engine.store.approvals("prod")).toEqual([]);
  });

  it("a closed window blocks an approved plan; an open one lets exactly that plan through", async () => {
    f.setNow(OUTSIDE_WINDOW);
    const approved = await f.engine.approve("prod", { actor: person(ALICE) });
    expect(approved.approval?.planDigest).toBe(approved.report.plan?.digest);
    const closed = await sync("prod");
    expect(closed.status).toBe("Blocked");
    await expectReason(closed, /window/);
    expect(closed.gates?.find((g) => g.gate === "approval")?.verdict).toBe("pass");

    f.setNow(INSIDE_NEXT_DAY);
    const open = await sync("prod");
    expect(open.status).toBe("Synced");
    expect(open.sync?.applied).toBe(true);
    expect(open.plan?.digest).toBe(approved.report.plan?.digest);
    expect(open.approvals?.map((a) => a.approver)).toEqual([ALICE]);
    // sandbox: auto: where bubblewrap works, prod's runs (this approved one too) go through its wrapper.
    const wrapper = path.join(
      dataPaths(dataDir()).sandbox,
      "prod",
      "projects",
      "platform-sdk",
      "bin",
      "pulumi",
    );
    expect(fs.existsSync(wrapper)).toBe(bubblewrapWorks());
    const tags = await s3.send(new GetBucketTaggingCommand({ Bucket: bucketOf("prod") }));
    expect(tags.TagSet).toContainEqual({ Key: "team", Value: "platform" });
  });

  it("an approval of an old plan is refused after a new commit, and after new drift", async () => {
    await editConfig(
      "prod",
      (y) => y.replace("queueVisibilityTimeout: 120", "queueVisibilityTimeout: 150"),
      "Slow consumers: 150 s",
    );
    const first = await f.engine.approve("prod", { actor: person(ALICE) });
    expect(first.approval).toBeDefined();
    await editConfig(
      "prod",
      (y) => y.replace("queueVisibilityTimeout: 150", "queueVisibilityTimeout: 180"),
      "Slower still: 180 s",
    );
    const afterCommit = await sync("prod");
    expect(afterCommit.status).toBe("AwaitingApproval");
    await expectReason(afterCommit, /not the current plan/);

    // An approver who reviewed the old plan cannot approve the new one by its old digest.
    const reviewed = await f.engine.approve("prod", {
      actor: person(ALICE),
      digest: first.approval?.planDigest as string,
    });
    expect(reviewed.approval).toBeUndefined();
    expect(reviewed.refused).toMatch(/plan changed/);

    const second = await f.engine.approve("prod", { actor: person(ALICE) });
    expect(second.approval?.commit).toBe(afterCommit.desired?.sha);
    const { TagSet = [] } = await s3.send(new GetBucketTaggingCommand({ Bucket: bucketOf("prod") }));
    await s3.send(
      new PutBucketTaggingCommand({
        Bucket: bucketOf("prod"),
        Tagging: { TagSet: TagSet.map((t) => (t.Key === "team" ? { Key: "team", Value: "intruders" } : t)) },
      }),
    );
    const afterDrift = await sync("prod");
    expect(afterDrift.status).toBe("AwaitingApproval");
    expect(afterDrift.drift?.resources.map((r) => r.name)).toContain("artifacts");
    await expectReason(afterDrift, /not the current plan/);
    expect(afterDrift.plan?.commit).toBe(second.approval?.commit);
    expect(afterDrift.plan?.digest).not.toBe(second.approval?.planDigest);
  });

  it("a delete in prod is blocked, approval or not", async () => {
    const deleting = await editConfig(
      "prod",
      (y) => y.replace("deadLetterQueue: true", "deadLetterQueue: false"),
      "Drop the dead-letter queue",
    );
    await f.engine.approve("prod", { actor: person(ALICE) });
    const blocked = await sync("prod");
    expect(blocked.status).toBe("Blocked");
    expect(blocked.desired?.sha).toBe(deleting);
    await expectReason(blocked, /dead-letters/);
    expect(blocked.gates?.find((g) => g.gate === "protected")?.verdict).toBe("block");
    const queue = `platform-sdk-${f.stackName("prod")}-dead-letters`;
    await expect(sqs.send(new GetQueueUrlCommand({ QueueName: queue }))).resolves.toBeDefined();
    // Put it back: nothing protected pending any more.
    await editConfig(
      "prod",
      (y) => y.replace("deadLetterQueue: false", "deadLetterQueue: true"),
      "Keep the dead-letter queue",
    );
  });

  it("a commit that removes prod's gates is reported, and still goes through them", async () => {
    const envFile = "environments/prod.yaml";
    const definition = await f.readAt("prod", envFile);
    const ungated = definition.slice(0, definition.indexOf("gates:"));
    expect(ungated).not.toMatch(/approval/);
    await f.commitTo("prod", { [envFile]: ungated }, "Remove prod's gates");
    const report = await sync("prod");
    expect(report.status).toBe("AwaitingApproval");
    expect(report.sync).toBeUndefined();
    expect(report.gatesChange?.changes.join("\n")).toMatch(/approval/);
    expect(latestMarkdown("prod")).toMatch(/gates/i);
    expect(
      (await f.engine.audit.entries({ environment: "prod", action: "gates-change" })).length,
    ).toBeGreaterThan(0);
  });

  it("a failing check blocks stage, with its output in the report", async () => {
    await f.commitTo(
      "test",
      {
        [`${PROJECT}/CHECK_FAILS`]: "the guard check fails while this file exists\n",
        [f.stackConfigFile("stage")]: (await f.readAt("test", f.stackConfigFile("stage"))).replace(
          "queueVisibilityTimeout: 60",
          "queueVisibilityTimeout: 45",
        ),
      },
      "Stage consumers need 45 s (and a file the guard check rejects)",
    );
    expect((await sync("test")).status).toBe("Synced");
    expect((await f.engine.promote("test", "stage", { actor: person(ALICE) })).outcome).toBe("promoted");
    const stage = await sync("stage");
    expect(stage.status).toBe("Blocked");
    expect(stage.gates?.find((g) => g.gate === "promotion")?.verdict).toBe("pass");
    await expectReason(stage, /guard/);
    expect(stage.checks?.[0]).toMatchObject({ name: "guard", exitCode: 1 });
    expect(latestMarkdown("stage")).toMatch(/guard/);

    await f.removeFrom("test", [`${PROJECT}/CHECK_FAILS`], "Let the guard pass again");
    expect((await sync("test")).status).toBe("Synced");
    expect((await f.engine.promote("test", "stage", { actor: person(ALICE) })).outcome).toBe("promoted");
    expect((await sync("stage")).status).toBe("Synced");
  });

  it("a commit that failed in test is not promoted", async () => {
    const index = `${PROJECT}/index.ts`;
    const program = await f.readAt("test", index);
    await f.commitTo(
      "test",
      { [index]: `${program}\nthrow new Error("broken on purpose");\n` },
      "Break the program",
    );
    expect((await sync("test")).status).toBe("Failed");
    const refused = await f.engine.promote("test", "stage", { actor: person(ALICE) });
    expect(refused.outcome).toBe("refused");
    expect(refused.reason).toMatch(/test/);
    await f.commitTo("test", { [index]: program }, "Repair the program");
    expect((await sync("test")).status).toBe("Synced");
  });

  it("promotes test → stage → prod on real branches and deploys the same program tree in all three", async () => {
    const index = `${PROJECT}/index.ts`;
    const program = await f.readAt("test", index);
    await f.commitTo(
      "test",
      {
        [index]: program.replace('"managed-by": "pulumi",', '"managed-by": "pulumi",\n  release: "2026.11",'),
      },
      "Tag every resource with its release",
    );
    expect((await sync("test")).status).toBe("Synced");
    expect((await f.engine.promote("test", "stage", { actor: person(ALICE) })).outcome).toBe("promoted");
    expect((await sync("stage")).status).toBe("Synced");
    const toProd = await f.engine.promote("stage", "prod", { actor: person(ALICE) });
    expect(toProd.outcome).toBe("promoted");
    expect(toProd.kind).toBe("merge");
    expect((await sync("prod")).status).toBe("AwaitingApproval");
    // A revoked approval no longer counts.
    expect((await f.engine.approve("prod", { actor: person(ALICE) })).approval).toBeDefined();
    const revoked = await f.engine.revoke("prod", { actor: person(ALICE) });
    expect(new Set(revoked.map((a) => a.approver))).toEqual(new Set([ALICE]));
    expect(await f.engine.store.approvals("prod")).toEqual([]);
    expect((await sync("prod")).status).toBe("AwaitingApproval");
    expect((await f.engine.approve("prod", { actor: person(ALICE) })).approval).toBeDefined();
    // The window closes while the update runs: it is let finish, and the report says so.
    // The clock is synchronous: it reads the status straight from the store's file.
    const db = new (loadSqlite().DatabaseSync)(dataPaths(dataDir()).store);
    const progressing = () =>
      db.prepare("SELECT status FROM statuses WHERE environment = 'prod'").get()?.status === "Progressing";
    f.setNow(() => (progressing() ? CLOSED_NEXT_DAY : INSIDE_NEXT_DAY));
    const prod = await sync("prod");
    db.close();
    f.setNow(CLOSED_NEXT_DAY);
    expect(prod.status).toBe("Synced");
    expect(prod.sync?.windowClosedDuringUpdate).toMatch(/let finish/);
    expect(latestMarkdown("prod")).toMatch(/let finish/);

    const heads = await f.engine.git.heads(["test", "stage", "prod"]);
    const trees = await Promise.all(
      ["test", "stage", "prod"].map((env) =>
        f.engine.git.treeHash(heads[env] as string, programSelection(PROJECT)),
      ),
    );
    expect(new Set(trees).size).toBe(1);
    for (const env of ["test", "stage", "prod"]) {
      expect((await f.engine.store.status(env))?.deployedCommit).toBe(heads[env]);
    }
    const { TagSet = [] } = await s3.send(new GetBucketTaggingCommand({ Bucket: bucketOf("prod") }));
    expect(TagSet).toContainEqual({ Key: "release", Value: "2026.11" });
  });

  it("a program change pushed straight to stage, never run in test, is blocked by the promotion gate", async () => {
    const index = `${PROJECT}/index.ts`;
    const program = await f.readAt("stage", index);
    await f.commitTo(
      "stage",
      { [index]: program.replace('release: "2026.11"', 'release: "hotfix"') },
      "Hotfix straight to stage",
    );
    const stage = await sync("stage");
    expect(stage.status).toBe("Blocked");
    await expectReason(stage, /promotion/);
  });

  it("keeps every decision in a hash-chained audit log, and `audit verify` names a tampered entry", async () => {
    const actions = new Set((await f.engine.audit.entries()).map((e) => e.action));
    for (const action of [
      "check",
      "gate",
      "approve",
      "revoke",
      "sync",
      "promote",
      "gates-change",
      "failure",
    ]) {
      expect(actions).toContain(action);
    }
    expect((await f.engine.audit.verify()).ok).toBe(true);
    const intact = await cli(["audit", "verify", "--config", f.configPath]);
    expect(intact.code).toBe(0);

    const file = dataPaths(dataDir()).audit;
    const lines = fs.readFileSync(file, "utf8").split("\n");
    const index = lines.findIndex(
      (line) => line.includes('"action":"approve"') && line.includes('"verdict":"refused"'),
    );
    expect(index).toBeGreaterThanOrEqual(0);
    lines[index] = (lines[index] as string).replace('"verdict":"refused"', '"verdict":"approved"');
    fs.writeFileSync(file, lines.join("\n"));
    const tampered = await cli(["audit", "verify", "--config", f.configPath]);
    expect(tampered.code).toBe(1);
    expect(`${tampered.stdout}${tampered.stderr}`).toMatch(new RegExp(`\\b${index + 1}\\b`));
    // No report or audit entry holds the stacks' passphrase.
    expect(fs.readFileSync(file, "utf8")).not.toContain(f.passphrase);
    expect(reportTexts(dataDir()).join("\n")).not.toContain(f.passphrase);
  });
});
