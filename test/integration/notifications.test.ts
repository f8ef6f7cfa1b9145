import { createHmac } from "node:crypto";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { awsEnvVars } from "../../src/devenv/emulator";
import { emulatorDefinition, plantTagDrift } from "../helpers/aws";
import { configureServed, createEngineFixture, type EngineFixture } from "../helpers/engine";
import { eventually, killTidegate, startTidegate, type TidegateProcess } from "../helpers/process";

// Notifications of a real `tidegate run` to a real HTTP receiver on loopback: drift planted in the
// emulator gives one Slack message and one signed JSON message; a repeated poll sends nothing new; a
// staleness reminder follows after the configured age; a sink answering 503 gets its message once
// after it recovers, across a restart of tidegate.

const HOOK_SECRET = "notify-hook-secret-5d1e7a";

interface Received {
  sink: string;
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  json: Record<string, unknown>;
}

describe("notifications of tidegate run", () => {
  let f: EngineFixture;
  let daemon: TidegateProcess | undefined;
  let receiver: http.Server;
  let base = "";
  let flakyDown = true;
  const received: Received[] = [];

  beforeAll(async () => {
    receiver = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const sink = (req.url ?? "").slice(1);
        const status = sink === "flaky" && flakyDown ? 503 : 200;
        const body = Buffer.concat(chunks).toString("utf8");
        received.push({
          sink,
          status,
          headers: req.headers,
          body,
          json: JSON.parse(body) as Record<string, unknown>,
        });
        res.writeHead(status).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;

    f = await createEngineFixture([
      { name: "prod", sync: "auto", drift: "report", definition: emulatorDefinition() },
    ]);
    configureServed(f.configPath, {
      server: { publicUrl: "https://tidegate.example.com" },
      notifications: {
        sinks: {
          chat: { kind: "slack", url: { env: "NOTIFY_SLACK_URL" } },
          hook: { kind: "webhook", url: { env: "NOTIFY_HOOK_URL" }, secret: { env: "NOTIFY_HOOK_SECRET" } },
          flaky: { kind: "webhook", url: { env: "NOTIFY_FLAKY_URL" } },
        },
        routes: [{ sinks: ["chat", "hook"] }, { sinks: ["flaky"], events: ["Drifted"] }],
        stale: { after: "2s", every: "1h" },
      },
    });
  });
  afterAll(async () => {
    await killTidegate(daemon);
    await f?.cleanup();
    await new Promise<void>((resolve) => receiver?.close(() => resolve()));
  });

  const start = () =>
    startTidegate(["run", "--config", f.configPath, "--log-format", "json"], {
      ...awsEnvVars(inject("aws")),
      NOTIFY_SLACK_URL: `${base}/chat`,
      NOTIFY_HOOK_URL: `${base}/hook`,
      NOTIFY_HOOK_SECRET: HOOK_SECRET,
      NOTIFY_FLAKY_URL: `${base}/flaky`,
    });
  const of = (sink: string, name: string, status = 200) =>
    received.filter(
      (r) => r.sink === sink && r.status === status && r.headers["tidegate-webhook-kind"] === name,
    );
  const slackTitles = () => received.filter((r) => r.sink === "chat").map((r) => String(r.json.text));

  it("sends each transition once per sink, a reminder when it stays, and a held message once its sink is back", async () => {
    daemon = start();
    const d = daemon;
    const logs = () =>
      `received: ${JSON.stringify(slackTitles())}\ndaemon stderr:\n${d.stderr().slice(-4000)}`;
    await eventually(
      () => `prod Synced (${logs()})`,
      400_000,
      async () => ((await f.engine.store.status("prod"))?.status === "Synced" ? true : undefined),
    );

    // Drift planted outside Pulumi; a person asks for a check.
    await plantTagDrift(f.stackName("prod"));
    await f.engine.store.addRequest({
      environment: "prod",
      reason: "notifications test",
      priority: "person",
      look: "check",
      at: new Date().toISOString(),
    });

    const [slack] = await eventually(
      () => `a Slack message for Drifted (${logs()})`,
      200_000,
      async () => (of("chat", "Drifted").length > 0 ? of("chat", "Drifted") : undefined),
    );
    expect(slack!.json.text).toBe("prod is Drifted (was Synced)");
    const details = JSON.stringify(slack!.json.blocks);
    expect(details).toContain("artifacts");
    expect(details).toContain('tags.team: \\"platform\\" → \\"intruders\\"');
    expect(details).toContain("https://tidegate.example.com/environments/prod");

    const [signed] = await eventually(
      () => `a signed message for Drifted (${logs()})`,
      30_000,
      async () => (of("hook", "Drifted").length > 0 ? of("hook", "Drifted") : undefined),
    );
    const expected = createHmac("sha256", HOOK_SECRET).update(signed!.body).digest("hex");
    expect(signed!.headers["pulumi-webhook-signature"]).toBe(expected);
    expect(signed!.json).toMatchObject({
      version: 1,
      name: "Drifted",
      environment: "prod",
      status: "Drifted",
    });

    // The reminder after 2s; only one, as the next is an hour away.
    await eventually(
      () => `a staleness reminder (${logs()})`,
      30_000,
      async () => (slackTitles().some((t) => t.startsWith("prod has been Drifted for")) ? true : undefined),
    );
    // The sink that is down has been tried and answered 503; nothing was delivered to it.
    await eventually(
      () => `a 503 from the flaky sink (${logs()})`,
      30_000,
      async () => (of("flaky", "Drifted", 503).length > 0 ? true : undefined),
    );
    expect(of("flaky", "Drifted")).toEqual([]);
    d.child.kill("SIGTERM");
    expect(await d.exit).toEqual({ code: 0, signal: null });
    // Held for it: the transition and its reminder (a route naming a status takes its reminders).
    const held = (await f.engine.store.notifications(100)).filter((n) => n.sink === "flaky");
    expect(held.map((n) => n.key.split(":")[0]).sort()).toEqual(["stale", "status"]);
    for (const n of held) {
      expect(n.lastError).toContain("503");
      expect(n.deliveredAt).toBeUndefined();
    }
    expect(JSON.stringify(await f.engine.store.notifications(100))).not.toContain(HOOK_SECRET);

    // The sink comes back; tidegate starts again on the same data directory (and checks again).
    flakyDown = false;
    const restartedAt = Date.now();
    daemon = start();
    const again = daemon;
    await eventually(
      () => `the held message delivered (${logs()})`,
      200_000,
      async () => (of("flaky", "Drifted").length > 0 ? true : undefined),
    );
    // The startup check finds it Drifted still: no news. Give the pollers a few rounds after it.
    await eventually(
      () => `the restarted daemon's startup check (${logs()})`,
      200_000,
      async () => {
        const [latest] = await f.engine.store.runs({ environment: "prod", limit: 1 });
        return latest && Date.parse(latest.startedAt) >= restartedAt && latest.endedAt ? true : undefined;
      },
    );
    await new Promise((resolve) => setTimeout(resolve, 6000));
    expect(of("flaky", "Drifted")).toHaveLength(1);
    expect(of("flaky", "stale")).toHaveLength(1);
    expect(of("chat", "Drifted")).toHaveLength(1);
    expect(of("hook", "Drifted")).toHaveLength(1);
    expect(slackTitles().filter((t) => t.startsWith("prod has been Drifted for"))).toHaveLength(1);
    for (const r of received) expect(r.body).not.toContain(HOOK_SECRET);
    again.child.kill("SIGTERM");
    expect(await again.exit).toEqual({ code: 0, signal: null });
  }, 900_000);
});
