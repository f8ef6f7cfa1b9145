import * as path from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { awsEnvVars } from "../../src/devenv/emulator";
import { apiCall, createApiToken } from "../helpers/api";
import { emulatorDefinition, plantTagDrift } from "../helpers/aws";
import { launchBrowser, screenshotDir } from "../helpers/browser";
import { configureServed, createEngineFixture, type EngineFixture } from "../helpers/engine";
import { eventually, killTidegate, startTidegate, type TidegateProcess } from "../helpers/process";

// The dashboard of a real `tidegate run` (real engine, real Git, the emulator) in a real headless
// Chromium: the pipeline shows what the engine computed, a drifted property reads old → new, a
// person with an approve token approves prod's plan and watches it sync, and a read-only token sees
// no Approve button and has its forged POST refused. Each page's screenshot goes to the test output.

/** A check or a sync of one stack on 2 shared cores, with room to spare. */
const RUN_MS = 180_000;

describe("the dashboard of tidegate run, in a browser", () => {
  let f: EngineFixture;
  let daemon: TidegateProcess | undefined;
  let browser: Browser | undefined;

  beforeAll(async () => {
    f = await createEngineFixture([
      { name: "test", sync: "auto", drift: "report", definition: emulatorDefinition() },
      { name: "stage", sync: "auto", drift: "report", definition: emulatorDefinition() },
      { name: "prod", sync: "gated", drift: "report", definition: emulatorDefinition() },
    ]);
    configureServed(f.configPath);
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await killTidegate(daemon);
    await f?.cleanup();
  });

  it("shows the pipeline, a drifted property, an approval that syncs prod, and refuses a reader's POST", async () => {
    const dataDir = path.join(path.dirname(f.configPath), "data");
    const reader = await createApiToken(dataDir, "auditor", ["read"]);
    const approver = await createApiToken(dataDir, "release-manager", [
      "read",
      "approve:prod",
      "sync:prod",
      "sync:test",
    ]);
    daemon = startTidegate(
      ["run", "--config", f.configPath, "--log-format", "json"],
      awsEnvVars(inject("aws")),
    );
    const d = daemon;
    const logs = () => `daemon stderr:\n${d.stderr().slice(-4000)}`;
    const api = await eventually(
      () => `the API's URL (${logs()})`,
      120_000,
      async () => {
        if (d.child.exitCode !== null) throw new Error(`tidegate run exited: ${logs()}`);
        return /API: (http:\/\/127\.0\.0\.1:\d+\/api\/v1)/.exec(d.stdout())?.[1];
      },
    );
    const base = api.replace(/\/api\/v1$/, "");
    type Row = { environment: string; status: string };
    const statuses = async () => {
      const { body } = await apiCall(api, reader, "GET", "/environments");
      return Object.fromEntries((body.environments as Row[]).map((r) => [r.environment, r.status]));
    };
    const computed = await eventually(
      () => `test and stage Synced, prod AwaitingApproval (${logs()})`,
      2 * RUN_MS,
      async () => {
        const now = await statuses();
        return now.test === "Synced" && now.stage === "Synced" && now.prod === "AwaitingApproval"
          ? now
          : undefined;
      },
    );

    const shots = screenshotDir();
    const shoot = (page: Page, name: string) =>
      page.screenshot({ path: path.join(shots, `dashboard-${name}.png`), fullPage: true });
    const b = browser as Browser;
    // Waits for the page to show `status` by itself (it reloads when a run ends); on a timeout, says
    // what the page and the API showed and keeps a screenshot.
    const showsStatus = async (page: Page, status: string) => {
      try {
        await page
          .getByTestId("status")
          .filter({ hasText: new RegExp(`^${status}$`) })
          .waitFor({ timeout: RUN_MS });
      } catch (error) {
        await shoot(page, "timeout");
        const shown = await page.getByTestId("status").first().textContent();
        throw new Error(
          `${page.url()} shows ${shown}, not ${status}; the API says ${JSON.stringify(await statuses())} (${logs()})`,
          { cause: error },
        );
      }
    };

    // A reader: signed out, the pipeline sends them to sign in; signed in, it shows what the engine computed.
    const readerContext = await b.newContext();
    const asReader = await readerContext.newPage();
    await asReader.goto(`${base}/`);
    expect(new URL(asReader.url()).pathname).toBe("/login");
    await shoot(asReader, "login");
    await signIn(asReader, reader);
    expect(new URL(asReader.url()).pathname).toBe("/");
    for (const env of ["test", "stage", "prod"]) {
      await expect
        .poll(() => asReader.getByTestId(`env-${env}`).getByTestId("status").textContent())
        .toBe(computed[env]);
    }
    const order = await asReader
      .locator('[data-testid^="env-"]')
      .evaluateAll((cards) => cards.map((card) => card.getAttribute("data-testid")));
    expect(order).toEqual(["env-test", "env-stage", "env-prod"]);
    await shoot(asReader, "pipeline");

    // The page is usable by keyboard: Tab reaches a link or a button.
    await asReader.keyboard.press("Tab");
    expect(await asReader.evaluate("document.activeElement?.tagName")).toMatch(/^(A|BUTTON|INPUT)$/);

    // A reader sees prod's plan but no Approve button, and a forged POST with their session is refused.
    await asReader.goto(`${base}/environments/prod`);
    expect(await asReader.getByTestId("status").textContent()).toBe("AwaitingApproval");
    expect(await asReader.getByTestId("approve").count()).toBe(0);
    const plan = await apiCall(api, reader, "GET", "/environments/prod/plan");
    const digest = (plan.body.plan as { digest: string }).digest;
    const csrf = (await asReader.locator('meta[name="csrf-token"]').getAttribute("content")) ?? "";
    expect(csrf).not.toBe("");
    const forged = await asReader.evaluate(
      async ({ digest, csrf }) => {
        const post = async (body: Record<string, string>) =>
          (
            await fetch("/environments/prod/approve", {
              method: "POST",
              body: new URLSearchParams(body),
              redirect: "manual",
            })
          ).status;
        return { withCsrf: await post({ _csrf: csrf, digest }), withoutCsrf: await post({ digest }) };
      },
      { digest, csrf },
    );
    expect(forged).toEqual({ withCsrf: 403, withoutCsrf: 403 });
    expect(await f.engine.store.approvals("prod")).toEqual([]);
    await readerContext.close();

    // A release manager: an out-of-band tag change, a check asked from the page, and the page
    // updates by itself when the run ends, showing the drifted property old → new.
    const managerContext = await b.newContext();
    const page = await managerContext.newPage();
    await page.goto(`${base}/environments/test`);
    await signIn(page, approver);
    expect(new URL(page.url()).pathname).toBe("/environments/test");
    await plantTagDrift(f.stackName("test"));
    await page.getByRole("button", { name: "Check" }).click();
    await page.getByTestId("flash").waitFor();
    await showsStatus(page, "Drifted");
    const tag = page.getByTestId("drift").locator('[data-testid="property"][data-property="tags.team"]');
    expect(await tag.locator(".old").textContent()).toContain("platform");
    expect(await tag.locator(".new").textContent()).toContain("intruders");
    expect(await page.getByTestId("pending").textContent()).toMatch(/none/i);
    expect(await page.getByTestId("drift").getByTestId("unchanged").textContent()).toMatch(
      /\d+ unchanged propert(y|ies) hidden/,
    );
    await shoot(page, "environment-drifted");

    // prod: the digest on the page is the plan's; Approve, and prod syncs.
    await page.goto(`${base}/environments/prod`);
    const approve = page.getByTestId("approve");
    expect(await approve.locator('input[name="digest"]').inputValue()).toBe(digest);
    expect(await page.textContent("body")).toContain(digest);
    await shoot(page, "environment-awaiting");
    // The approval checks the plan again (a preview) before it answers.
    await approve.getByRole("button", { name: "Approve" }).click();
    await page
      .getByTestId("flash")
      .waitFor({ timeout: RUN_MS })
      .catch((err: unknown) => {
        throw new Error(`no answer to the approval: ${String(err)}\n${logs()}`);
      });
    expect(await page.getByTestId("flash").textContent()).toMatch(/approved/i);
    await showsStatus(page, "Synced");
    expect((await f.engine.store.approvals("prod")).map((a) => a.approver)).toEqual(["release-manager"]);
    await shoot(page, "environment-synced");

    // History: the runs, each opening as its report.
    await page.goto(`${base}/environments/prod/runs`);
    const runs = page.getByTestId("run");
    expect(await runs.count()).toBeGreaterThanOrEqual(2);
    expect(await runs.first().textContent()).toMatch(/Synced/);
    await shoot(page, "history");
    await runs.first().getByRole("link").first().click();
    expect(new URL(page.url()).pathname).toMatch(/^\/environments\/prod\/runs\/[^/]+$/);
    expect(await page.getByTestId("status").textContent()).toBe("Synced");
    await shoot(page, "run");

    // The audit log: the approval by the token's name, and the chain verified.
    await page.goto(`${base}/audit?environment=prod&action=approve`);
    expect(await page.getByTestId("audit-verify").textContent()).toMatch(/verified/);
    const entries = page.getByTestId("audit-entry");
    expect(await entries.count()).toBe(1);
    expect(await entries.first().textContent()).toContain("release-manager");
    await shoot(page, "audit");
    await managerContext.close();

    d.child.kill("SIGTERM");
    expect(await d.exit).toEqual({ code: 0, signal: null });
  });
});

async function signIn(page: Page, token: string): Promise<void> {
  await page.locator("#token").fill(token);
  await Promise.all([
    page.waitForURL((url) => url.pathname !== "/login"),
    page.getByRole("button", { name: "Sign in" }).click(),
  ]);
}
