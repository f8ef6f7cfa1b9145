import { createHmac } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { awsEnvVars } from "../../src/devenv/emulator";
import type { RunRecord } from "../../src/domain/model";
import { emulatorDefinition } from "../helpers/aws";
import { apiUrlOf } from "../helpers/api";
import { runCli } from "../helpers/cli";
import { configureServed, createEngineFixture, type EngineFixture } from "../helpers/engine";
import { eventually, killTidegate, startTidegate, type TidegateProcess } from "../helpers/process";

// Webhooks into a real `tidegate run` over real HTTP on loopback: a push delivered and signed the way
// each provider signs it makes the daemon poll the right environment (which finds the commit pushed
// just before); refused deliveries cause no run; a burst of 200 deliveries is one run.

const SECRET = "hook-secret-for-the-integration-test";
const SIGNING = `whsec_${Buffer.from("a 24-byte gitlab signing key").toString("base64")}`;
const GENERIC_CAP = 4096;

const hmac = (body: string) => createHmac("sha256", SECRET).update(body).digest("hex");

type Provider = "github" | "gitlab" | "gitea" | "bitbucket" | "generic";

/** A push of `branch` as each provider sends it: its body and its headers, signed with its scheme. */
function delivery(provider: Provider, branch: string): { body: string; headers: Record<string, string> } {
  const ref = `refs/heads/${branch}`;
  const repository = { full_name: "acme/infra" };
  const after = "0".repeat(40);
  switch (provider) {
    case "github": {
      const body = JSON.stringify({ ref, after, repository });
      return { body, headers: { "x-github-event": "push", "x-hub-signature-256": `sha256=${hmac(body)}` } };
    }
    case "gitlab": {
      const body = JSON.stringify({
        object_kind: "push",
        ref,
        after,
        project: { path_with_namespace: "acme/infra" },
      });
      const id = `msg_${Date.now()}`;
      const at = new Date();
      return {
        body,
        headers: {
          "x-gitlab-event": "Push Hook",
          "x-gitlab-token": SECRET,
          "webhook-id": id,
          "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
          "webhook-signature": new Webhook(SIGNING).sign(id, at, body),
        },
      };
    }
    case "gitea": {
      const body = JSON.stringify({ ref, after, repository });
      return { body, headers: { "x-gitea-event": "push", "x-gitea-signature": hmac(body) } };
    }
    case "bitbucket": {
      const body = JSON.stringify({
        push: { changes: [{ new: { type: "branch", name: branch } }] },
        repository,
      });
      return { body, headers: { "x-event-key": "repo:push", "x-hub-signature": `sha256=${hmac(body)}` } };
    }
    case "generic": {
      const body = JSON.stringify({ ref, repository: "acme/infra" });
      return { body, headers: { "x-tidegate-signature": `sha256=${hmac(body)}` } };
    }
  }
}

describe("webhooks into tidegate run", () => {
  let f: EngineFixture;
  let daemon: TidegateProcess | undefined;

  beforeAll(async () => {
    f = await createEngineFixture([
      { name: "test", sync: "auto", drift: "report", definition: emulatorDefinition() },
      { name: "prod", sync: "auto", drift: "report", definition: emulatorDefinition() },
    ]);
    const secretFile = path.join(path.dirname(f.configPath), "gitea-hook-secret");
    fs.writeFileSync(secretFile, `${SECRET}\n`, { mode: 0o600 });
    configureServed(f.configPath, {
      webhooks: {
        github: { secret: { env: "HOOK_SECRET" } },
        gitlab: { secret: { env: "HOOK_SECRET" }, signingSecret: { env: "GITLAB_SIGNING" } },
        gitea: { secret: { file: secretFile } },
        bitbucket: { secret: { env: "HOOK_SECRET" } },
        generic: { secret: { env: "HOOK_SECRET" }, maxBodyBytes: GENERIC_CAP },
      },
    });
  });
  afterAll(async () => {
    await killTidegate(daemon);
    await f?.cleanup();
  });

  it("runs the pushed environment for each provider, refuses bad deliveries, and folds a burst into one run", async () => {
    daemon = startTidegate(["run", "--config", f.configPath, "--log-format", "json"], {
      ...awsEnvVars(inject("aws")),
      HOOK_SECRET: SECRET,
      GITLAB_SIGNING: SIGNING,
    });
    const d = daemon;
    const logs = () => `daemon stderr:\n${d.stderr().slice(-4000)}`;
    const base = await apiUrlOf(d);
    const post = async (provider: string, body: string, headers: Record<string, string>) => {
      const started = Date.now();
      const response = await fetch(`${base}/webhooks/${provider}`, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body,
      });
      return { status: response.status, text: await response.text(), ms: Date.now() - started };
    };
    const runs = (env: string) => f.engine.store.runs({ environment: env });
    const finishedRunOf = (env: string, trigger: string, commit: string) =>
      eventually(
        () => `a run of ${env} by '${trigger}' at ${commit.slice(0, 7)} (${logs()})`,
        120_000,
        async () =>
          (await runs(env)).find((r) => r.trigger.includes(trigger) && r.commit === commit && r.endedAt),
      );

    await eventually(
      () => `both environments Synced at startup (${logs()})`,
      400_000,
      async () => {
        const statuses = await Promise.all(["test", "prod"].map((env) => f.engine.store.status(env)));
        return statuses.every((s) => s?.status === "Synced") ? true : undefined;
      },
    );

    // Each provider, alternating environments: the pushed one runs within seconds, the other not.
    const plan: [Provider, string][] = [
      ["github", "test"],
      ["gitlab", "prod"],
      ["gitea", "test"],
      ["bitbucket", "prod"],
      ["generic", "test"],
    ];
    for (const [provider, env] of plan) {
      const other = env === "test" ? "prod" : "test";
      const otherRuns = (await runs(other)).length;
      const sha = await f.commitTo(
        env,
        { [`notes/${provider}.txt`]: `${provider}\n` },
        `A note for ${provider}`,
      );
      const { body, headers } = delivery(provider, env);
      const sent = Date.now();
      const answer = await post(provider, body, headers);
      expect(answer.status, `${provider}: ${answer.text}`).toBe(202);
      expect(answer.ms).toBeLessThan(1_000);
      const run: RunRecord = await finishedRunOf(env, `webhook ${provider} push`, sha);
      // The daemon reads requests every second: the run starts within about that.
      expect(Date.parse(run.startedAt) - sent, `${provider}'s run started late`).toBeLessThan(4_000);
      expect((await runs(other)).length).toBe(otherRuns);
    }

    // Refused: a wrong signature, a provider without a secret, an oversized and a malformed body.
    // A commit waits on test's branch, so any request would show as a run.
    const before = (await runs("test")).length;
    const sha = await f.commitTo("test", { "notes/burst.txt": "burst\n" }, "A note for the burst");
    const good = delivery("github", "test");
    const refusals = [
      await post("github", good.body, { ...good.headers, "x-hub-signature-256": `sha256=${"0".repeat(64)}` }),
      await post("github", good.body, { "x-github-event": "push" }),
      await post("forgejo", good.body, { "x-gitea-signature": hmac(good.body) }),
      await post("generic", "x".repeat(GENERIC_CAP + 1), { "x-tidegate-signature": `sha256=${hmac("x")}` }),
      await post("generic", "{not json", { "x-tidegate-signature": `sha256=${hmac("{not json")}` }),
    ];
    expect(refusals.map((r) => r.status)).toEqual([401, 401, 404, 413, 400]);
    // No detail that helps an attacker.
    expect(refusals.map((r) => r.text)).toEqual(["", "", "", "", ""]);
    await sleep(4_000);
    expect((await runs("test")).length).toBe(before);

    // 200 deliveries for one branch at once: one run (and at most two requests in the store).
    const lastSeq = (await f.engine.store.requestsSince(0)).at(-1)?.seq ?? 0;
    const answers = await Promise.all(
      Array.from({ length: 200 }, () => post("github", good.body, good.headers)),
    );
    expect(answers.every((a) => a.status === 202)).toBe(true);
    await finishedRunOf("test", "webhook github push", sha);
    await sleep(5_000);
    const after = await runs("test");
    expect(after.length, after.map((r) => r.trigger).join("; ")).toBe(before + 1);
    expect((await f.engine.store.requestsSince(lastSeq)).length).toBeLessThanOrEqual(2);

    // What status and the dashboard show: per provider and repository.
    const stats = await f.engine.store.webhookDeliveries();
    const github = stats.filter((s) => s.provider === "github");
    expect(github.find((s) => s.repository === "acme/infra")?.lastVerifiedAt).toEqual(expect.any(String));
    expect(github.find((s) => s.repository === "")?.refused).toBe(2);
    expect(stats.find((s) => s.provider === "generic" && s.repository === "")?.refused).toBe(2);
    expect(stats.some((s) => s.provider === "forgejo")).toBe(false);
    const status = await runCli(["status", "--config", f.configPath]);
    expect(status.stdout).toMatch(/Webhooks: github acme\/infra: last verified delivery .*, 0 refused/);
    expect(status.stdout).toContain("Webhooks: github: no verified delivery, 2 refused");
    // The secret never reaches the logs.
    expect(d.stderr()).not.toContain(SECRET);
  });
});
