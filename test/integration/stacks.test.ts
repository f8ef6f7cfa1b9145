import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { person } from "../../src/app/actor";
import type { RunReport } from "../../src/domain/model";
import { createEngineFixture, PROJECT, type EngineFixture } from "../helpers/engine";
import { exampleRepositoryFiles } from "../helpers/example";
import { programFiles } from "../helpers/program-repo";
import { DEFAULT_AUTHOR } from "../helpers/git";

// An environment of three stacks on the real engine, real Git and the emulator: cloud (the AWS SDK
// example) → cluster → app, each reading the one before through a stack reference. One run
// previews them all, the gates judge one plan, and the updates go in order; a failing middle stack
// stops the last and leaves the first applied; a first deployment previews each dependent once
// what it reads is deployed; the promotion gate covers every stack's program.

/**
 * A stack of one plain setting (a dynamic resource: no provider plugin, and JavaScript, so no
 * compile) made from `upstream`'s `output`, which it reads through a stack reference.
 */
function settingsProgram(upstream: { project: string; output: string }, own: string): string {
  return `const pulumi = require("@pulumi/pulumi");

const config = new pulumi.Config();
const upstream = new pulumi.StackReference(\`organization/${upstream.project}/\${pulumi.getStack()}\`);

const provider = {
  async create(inputs) {
    if (inputs.fail) throw new Error(\`\${inputs.name} refused: quota exceeded\`);
    return { id: inputs.name, outs: inputs };
  },
  async diff(_id, olds, news) {
    return { changes: JSON.stringify(olds) !== JSON.stringify(news) };
  },
  async update(_id, _olds, news) {
    if (news.fail) throw new Error(\`\${news.name} refused: quota exceeded\`);
    return { outs: news };
  },
};

class Setting extends pulumi.dynamic.Resource {}

// Made once the upstream output is read: a resource given an input that fails (the upstream not
// deployed yet) keeps the program from exiting for about 45 s (see pulumi/pulumi#14980).
const from = upstream.requireOutput("${upstream.output}");
from.apply(
  (value) =>
    new Setting(provider, "${own}", {
      name: "${own}",
      from: value,
      size: config.getNumber("size") ?? 1,
      fail: config.getBoolean("fail") ?? false,
    }),
);
exports.${own}Name = \`${own}-\${pulumi.getStack()}\`;
exports.reads = from;
`;
}

/** `project/` holding a JavaScript `program` as Pulumi project `name`, with the example's dependencies. */
function javascriptProject(project: string, name: string, program: string): Record<string, string> {
  const typescript = programFiles(project, name, program);
  return {
    [`${project}/Pulumi.yaml`]: `name: ${name}\nruntime:\n  name: nodejs\n  options:\n    typescript: false\nmain: index.js\n`,
    [`${project}/package.json`]: typescript[`${project}/package.json`]!,
    [`${project}/package-lock.json`]: typescript[`${project}/package-lock.json`]!,
    [`${project}/index.js`]: program,
  };
}

const CLOUD = { name: "cloud", project: PROJECT, pulumiProject: "platform-sdk", output: "queueUrl" };
const CLUSTER = { name: "cluster", project: "stacks/cluster", pulumiProject: "stacks-cluster" };
const APP = { name: "app", project: "stacks/app", pulumiProject: "stacks-app" };

describe("an environment of three stacks", () => {
  let f: EngineFixture;
  const sync = (env: string) => f.engine.check(env, { kind: "sync", trigger: "test", allowSync: true });
  const check = (env: string) => f.engine.check(env, { kind: "check", trigger: "test", allowSync: false });
  const outcomes = (report: RunReport) => report.stacks?.map((s) => [s.name, s.outcome, s.status]);
  const configFile = (project: string, env: string) => `${project}/Pulumi.${f.stackName(env)}.yaml`;
  /** Sets stack config keys of each project on `env`'s branch, in one commit. */
  const configure = async (
    env: string,
    changes: { project: string; name: string; values: Record<string, unknown> }[],
    message: string,
  ) => {
    const files: Record<string, string> = {};
    for (const change of changes) {
      const config = Object.fromEntries(
        Object.entries(change.values).map(([key, value]) => [`${change.name}:${key}`, value]),
      );
      files[configFile(change.project, env)] = stringify({ config });
    }
    return f.commitTo(env, files, message);
  };

  beforeAll(async () => {
    const environments = [
      { name: "test", sync: "auto" as const, drift: "report" as const },
      {
        name: "stage",
        sync: "auto" as const,
        drift: "report" as const,
        gates: { promotion: { from: "test" } } as Record<string, unknown>,
      },
    ];
    f = await createEngineFixture(environments, {
      files: (stackName) => {
        const files = exampleRepositoryFiles(
          environments.map((env) => ({ ...env, stack: stackName(env.name) })),
        );
        Object.assign(
          files,
          javascriptProject(
            CLUSTER.project,
            CLUSTER.pulumiProject,
            settingsProgram({ project: CLOUD.pulumiProject, output: CLOUD.output }, "cluster"),
          ),
          javascriptProject(
            APP.project,
            APP.pulumiProject,
            settingsProgram({ project: CLUSTER.pulumiProject, output: "clusterName" }, "app"),
          ),
        );
        environments.forEach((env, i) => {
          for (const project of [CLUSTER.project, APP.project]) {
            files[`${project}/Pulumi.${stackName(env.name)}.yaml`] = "config: {}\n";
          }
          files[`environments/${env.name}.yaml`] = stringify({
            name: env.name,
            branch: env.name,
            order: i + 1,
            stacks: [
              { name: CLOUD.name, project: CLOUD.project, stack: stackName(env.name) },
              {
                name: CLUSTER.name,
                project: CLUSTER.project,
                stack: stackName(env.name),
                dependsOn: ["cloud"],
              },
              { name: APP.name, project: APP.project, stack: stackName(env.name), dependsOn: ["cluster"] },
            ],
            sync: { policy: env.sync },
            drift: { policy: env.drift },
            ...(env.gates ? { gates: env.gates } : {}),
          });
        });
        return files;
      },
    });
  });
  afterAll(async () => {
    await f?.cleanup();
  });

  it("deploys a first time in order, each dependent previewed once what it reads is deployed", async () => {
    const report = await sync("test");
    expect(report.status, report.reason).toBe("Synced");
    expect(outcomes(report)).toEqual([
      ["cloud", "applied", "Synced"],
      ["cluster", "applied", "Synced"],
      ["app", "applied", "Synced"],
    ]);
    // app read cluster's output, which cluster made from the queue cloud created.
    const again = await check("test");
    expect(again.status, again.reason).toBe("Synced");
    expect(again.stacks?.every((s) => s.pending === 0)).toBe(true);
    const markdown = fs.readFileSync(
      path.join(path.dirname(f.configPath), "data", "reports", "test", "latest.md"),
      "utf8",
    );
    expect(markdown).toContain("## Stacks");
  });

  it("a failing middle stack stops the last one and leaves the first applied, and says which did what", async () => {
    await configure(
      "test",
      [
        { project: CLUSTER.project, name: CLUSTER.pulumiProject, values: { size: 3, fail: true } },
        { project: APP.project, name: APP.pulumiProject, values: { size: 2 } },
      ],
      "Grow the cluster and the app",
    );
    const cloudConfig = await f.readAt("test", configFile(CLOUD.project, "test"));
    await f.commitTo(
      "test",
      {
        [configFile(CLOUD.project, "test")]: cloudConfig.replace(
          /messageRetentionDays: \d+/,
          "messageRetentionDays: 2",
        ),
      },
      "Keep messages two days",
    );
    const report = await sync("test");
    expect(report.status).toBe("Failed");
    expect(report.reason).toMatch(/stack cluster.*quota exceeded/);
    expect(outcomes(report)).toEqual([
      ["cloud", "applied", "Synced"],
      ["cluster", "failed", "Failed"],
      ["app", "skipped", "OutOfSync"],
    ]);
    expect(report.stacks?.[2]?.reason).toContain("depends on stack cluster");
    const head = report.desired!.sha;
    expect(report.stacks?.[0]?.deployedCommit).toBe(head);
    expect(report.deployed?.commit).not.toBe(head);

    await configure(
      "test",
      [
        { project: CLUSTER.project, name: CLUSTER.pulumiProject, values: { size: 3 } },
        { project: APP.project, name: APP.pulumiProject, values: { size: 2 } },
      ],
      "The quota is raised",
    );
    const fixed = await sync("test");
    expect(fixed.status, fixed.reason).toBe("Synced");
    expect(outcomes(fixed)).toEqual([
      ["cloud", "unchanged", "Synced"],
      ["cluster", "applied", "Synced"],
      ["app", "applied", "Synced"],
    ]);
  });

  it("on a gated environment: one approval covers the plan of every stack, applied in order", async () => {
    expect((await sync("stage")).status).toBe("Synced");
    // stage's team adds an approval gate on its branch: it holds once that commit is deployed.
    const definition = parse(await f.readAt("stage", "environments/stage.yaml")) as Record<string, unknown>;
    const gates = {
      ...(definition.gates as object),
      approval: { required: 1, approvers: [], allowSelfApproval: true },
    };
    const retention = (days: number) => async () => {
      const text = await f.readAt("stage", configFile(CLOUD.project, "stage"));
      return text.replace(/messageRetentionDays: \d+/, `messageRetentionDays: ${days}`);
    };
    await f.commitTo(
      "stage",
      {
        "environments/stage.yaml": stringify({ ...definition, gates }),
        [configFile(CLOUD.project, "stage")]: await retention(2)(),
      },
      "stage: every update needs an approval from now on",
    );
    expect((await sync("stage")).status).toBe("Synced");

    // A change to all three stacks: one plan, one approval, three updates in order.
    await f.commitTo(
      "stage",
      {
        [configFile(CLOUD.project, "stage")]: await retention(3)(),
        [configFile(CLUSTER.project, "stage")]: stringify({
          config: { [`${CLUSTER.pulumiProject}:size`]: 4 },
        }),
        [configFile(APP.project, "stage")]: stringify({ config: { [`${APP.pulumiProject}:size`]: 5 } }),
      },
      "Retention, cluster and app sizes for stage",
    );
    const waiting = await sync("stage");
    expect(waiting.status, waiting.reason).toBe("AwaitingApproval");
    expect(waiting.stacks?.map((s) => [s.name, s.outcome, s.pending])).toEqual([
      ["cloud", "unchanged", 1],
      ["cluster", "unchanged", 1],
      ["app", "unchanged", 1],
    ]);
    const approved = await f.engine.approve("stage", { actor: person(DEFAULT_AUTHOR.email) });
    expect(approved.approval?.planDigest, approved.refused).toBe(waiting.plan?.digest);
    const applied = await sync("stage");
    expect(applied.status, applied.reason).toBe("Synced");
    expect(applied.plan?.digest).toBe(waiting.plan?.digest);
    expect(outcomes(applied)).toEqual([
      ["cloud", "applied", "Synced"],
      ["cluster", "applied", "Synced"],
      ["app", "applied", "Synced"],
    ]);
  });

  it("the promotion gate refuses when one stack's program differs from what succeeded below", async () => {
    const program = await f.readAt("stage", `${APP.project}/index.js`);
    await f.commitTo(
      "stage",
      {
        [`${APP.project}/index.js`]: program.replace('  name: "app",', '  name: "app",\n  tier: "gold",'),
      },
      "A change to app made on stage alone",
    );
    const report = await check("stage");
    expect(report.status).toBe("Blocked");
    expect(report.reason).toMatch(/promotion/);
    expect(report.stacks?.map((s) => s.pending)).toEqual([0, 0, 1]);
  });
});
