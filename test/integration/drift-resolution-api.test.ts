import { GetBucketTaggingCommand } from "@aws-sdk/client-s3";
import { PassThrough } from "node:stream";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { person } from "../../src/app/actor";
import { TokenService } from "../../src/app/tokens";
import { parseScope } from "../../src/domain/token";
import { createLogger } from "../../src/log";
import { type RunningServer, serveApi } from "../../src/server";
import { apiCall } from "../helpers/api";
import { awsClients, plantTagDrift } from "../helpers/aws";
import { launchBrowser } from "../helpers/browser";
import { createEngineFixture, type EngineFixture } from "../helpers/engine";

// The ways out of drift through the HTTP API and the dashboard, over real HTTP on loopback, on the
// real engine, real Git and the emulator: a restore asked by a token with sync:<env> waits for an
// approval of exactly the restore (approve:<env>), then runs as a restore and is audited with the
// tokens' names; a token without the scope gets 403, a bad resolve a 400 naming it. In a browser,
// a drifted environment shows Restore and Accept, and Accept leads to its preview and approval.

const RUN_MS = 180_000;

describe("restoring and accepting drift through the API and the dashboard", () => {
  const { s3 } = awsClients();
  let f: EngineFixture;
  let server: RunningServer | undefined;
  let browser: Browser | undefined;
  const tokens: Record<string, string> = {};
  const liveTeam = async () => {
    const bucket = `platform-sdk-${f.stackName("stage")}-artifacts`;
    const tags = await s3.send(new GetBucketTaggingCommand({ Bucket: bucket }));
    return tags.TagSet?.find((t) => t.Key === "team")?.Value;
  };

  beforeAll(async () => {
    f = await createEngineFixture([{ name: "stage", sync: "gated", drift: "report" }]);
    const admin = person("alice@example.com");
    expect((await f.engine.approve("stage", { actor: admin })).approval).toBeDefined();
    expect((await f.engine.observe("sync", "stage", { actor: admin })).status).toBe("Synced");

    const service = new TokenService({ store: f.engine.store, audit: f.engine.audit });
    const make = async (name: string, scopes: string[]) => {
      const made = await service.create(
        { name, owner: `${name}@example.com`, scopes: scopes.map(parseScope) },
        admin,
      );
      tokens[name] = made.secret;
    };
    await make("operator", ["read", "sync:stage"]);
    await make("approver", ["read", "approve:stage"]);
    await make("reader", ["read"]);
    server = await serveApi({
      engine: f.engine,
      settings: { host: "127.0.0.1", port: 0, anonymousRead: false },
      authenticate: (secret) => service.authenticate(secret),
      log: createLogger({ mode: "json", level: "error", stream: new PassThrough() }),
    });
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await f?.cleanup();
  });

  it("runs a restore asked through the API as a restore, once its own plan is approved", async () => {
    const api = (server as RunningServer).url;
    await plantTagDrift(f.stackName("stage"));

    // Bad input and missing scopes: refused before anything runs.
    const bad = await apiCall(api, tokens.operator, "POST", "/environments/stage/resolve-drift", {
      resolve: "ignore-drift",
    });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ kind: "invalid", field: "resolve" });
    const reader = await apiCall(api, tokens.reader, "POST", "/environments/stage/resolve-drift", {
      resolve: "restore-drift",
    });
    expect(reader.status).toBe(403);
    expect(reader.body.detail).toBe("token 'reader' lacks the scope sync:stage");

    // stage is gated: the restore waits for an approval of its own plan, and the operator may not give it.
    const waiting = await apiCall(api, tokens.operator, "POST", "/environments/stage/resolve-drift", {
      resolve: "restore-drift",
    });
    expect(waiting.status, JSON.stringify(waiting.body)).toBe(200);
    expect(waiting.body).toMatchObject({ status: "AwaitingApproval", plan: { resolve: "restore-drift" } });
    const digest = (waiting.body.plan as { digest: string }).digest;
    expect(await liveTeam()).toBe("intruders");
    const selfApproved = await apiCall(api, tokens.operator, "POST", "/environments/stage/approve", {
      digest,
      resolve: "restore-drift",
    });
    expect(selfApproved.status).toBe(403);

    const approved = await apiCall(api, tokens.approver, "POST", "/environments/stage/approve", {
      digest,
      resolve: "restore-drift",
    });
    expect(approved.status, JSON.stringify(approved.body)).toBe(201);
    const restored = await apiCall(api, tokens.operator, "POST", "/environments/stage/resolve-drift", {
      resolve: "restore-drift",
    });
    expect(restored.body).toMatchObject({ status: "Synced", sync: { applied: true } });
    expect(await liveTeam()).toBe("platform");

    const audited = await f.engine.audit.entries({ environment: "stage", action: "restore-drift" });
    expect(audited.map((e) => [e.actor, e.verdict, e.planDigest])).toEqual([
      ["operator", "AwaitingApproval", digest],
      ["operator", "Synced", digest],
    ]);
    const approvals = await f.engine.audit.entries({ environment: "stage", action: "approve" });
    expect(approvals.at(-1)).toMatchObject({ actor: "approver", planDigest: digest, verdict: "approved" });
  });

  it("shows Restore and Accept on the drifted environment's page; Accept previews its own plan and approves it", async () => {
    const base = (server as RunningServer).url.replace(/\/api\/v1$/, "");
    await plantTagDrift(f.stackName("stage"));
    expect((await f.engine.observe("check", "stage", { actor: person("alice@example.com") })).status).toBe(
      "Drifted",
    );

    const context = await (browser as Browser).newContext();
    const page = await context.newPage();
    await page.goto(`${base}/login?next=/environments/stage`);
    await page.locator("#token").fill(tokens.approver ?? "");
    await Promise.all([
      page.waitForURL((url) => url.pathname === "/environments/stage"),
      page.getByRole("button", { name: "Sign in" }).click(),
    ]);
    expect(await page.getByRole("button", { name: "Restore drift" }).count()).toBe(1);
    await page.getByRole("button", { name: "Accept drift" }).click();
    // The preview runs Pulumi before the page answers.
    await page.getByTestId("resolution").waitFor({ timeout: RUN_MS });
    expect(await page.getByTestId("resolution").getAttribute("data-resolve")).toBe("accept-drift");
    const digest = (await page.getByTestId("digest").textContent())?.trim() ?? "";
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    // An approver approves it; running it needs sync:stage, so no button for that.
    expect(await page.getByTestId("resolve").count()).toBe(0);
    await page.getByRole("button", { name: "Approve this accept" }).click();
    await page.getByTestId("flash").waitFor({ timeout: RUN_MS });
    expect(await page.getByTestId("flash").textContent()).toContain(
      `approved the accept-drift plan ${digest}`,
    );
    const approvals = await f.engine.store.approvals("stage");
    expect(approvals.map((a) => [a.approver, a.planDigest])).toContainEqual(["approver", digest]);
    await context.close();
  });
});
