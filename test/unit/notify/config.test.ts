import { describe, expect, it } from "vitest";
import { parseTidegateFile } from "../../../src/config/parse";
import { routeOf, staleTiming } from "../../../src/app/notify/service";
import type { NotificationsConfig } from "../../../src/config/schema";
import type { NotifyEvent } from "../../../src/app/notify/event";

const FILE = "tidegate.yaml";
const yaml = (...lines: string[]) => `repository:\n  url: /srv/git/infra\n${lines.join("\n")}\n`;
const paths = (text: string) => parseTidegateFile(FILE, text).issues.map((i) => `${i.path}: ${i.message}`);

describe("notifications in tidegate.yaml", () => {
  it("takes sinks with secrets from env or file, routes and staleness", () => {
    const parsed = parseTidegateFile(
      FILE,
      yaml(
        "notifications:",
        "  sinks:",
        "    chat: { kind: slack, url: { env: SLACK_URL } }",
        "    hook: { kind: webhook, url: { file: /etc/tidegate/hook-url }, secret: { env: HOOK_KEY } }",
        "  routes: [{ sinks: [hook], environments: [prod], events: [Drifted, stale] }]",
        "  stale: { after: 2h, statuses: { AwaitingApproval: { after: 4h } } }",
      ),
    );
    expect(parsed.issues).toEqual([]);
  });

  it("refuses an inline URL (never echoing it), a relative file, both sources and an unknown event, naming the field", () => {
    expect(
      paths(
        yaml(
          "notifications:",
          "  sinks:",
          "    chat: { kind: slack, url: https://hooks.slack.com/services/T/B/x }",
          "    hook: { kind: webhook, url: { file: hook-url } }",
          "    both: { kind: teams, url: { env: A, file: /a } }",
          "  routes: [{ sinks: [chat], events: [Exploded] }]",
        ),
      ),
    ).toEqual([
      "notifications.sinks.chat.url: is written inline, and it is a secret",
      expect.stringMatching(/^notifications\.sinks\.hook\.url\.file: "hook-url" is not an absolute path/),
      expect.stringMatching(/^notifications\.sinks\.both\.url: sets both env and file/),
      'notifications.routes[0].events[0]: "Exploded" is not allowed',
    ]);
  });
});

describe("routing and staleness", () => {
  const event = (name: NotifyEvent["name"], environment = "prod", status?: string): NotifyEvent => ({
    key: "k",
    name,
    environment,
    at: "2025-03-04T09:00:00.000Z",
    title: "t",
    link: "l",
    ...(status ? { status } : {}),
  });
  const config: NotificationsConfig = {
    sinks: { chat: { kind: "slack", url: { env: "A" } }, pager: { kind: "webhook", url: { env: "B" } } },
    routes: [{ sinks: ["chat"] }, { sinks: ["pager"], environments: ["prod"], events: ["AwaitingApproval"] }],
    stale: { after: "24h", statuses: { AwaitingApproval: { after: "4h", every: "8h" } } },
  };

  it("sends to every sink without routes; with routes, by environment and event (a status takes its reminders)", () => {
    expect(routeOf({ sinks: config.sinks }, ["chat", "pager"], event("Drifted"))).toEqual(["chat", "pager"]);
    expect(routeOf(config, ["chat", "pager"], event("AwaitingApproval"))).toEqual(["chat", "pager"]);
    expect(routeOf(config, ["chat", "pager"], event("AwaitingApproval", "stage"))).toEqual(["chat"]);
    expect(routeOf(config, ["chat", "pager"], event("stale", "prod", "AwaitingApproval"))).toEqual([
      "chat",
      "pager",
    ]);
    expect(routeOf(config, ["chat", "pager"], event("stale", "prod", "Drifted"))).toEqual(["chat"]);
  });

  it("times reminders per status, else globally (every defaults to 24h); none without stale", () => {
    expect(staleTiming(config, "AwaitingApproval")).toEqual({
      afterMs: 4 * 3_600_000,
      everyMs: 8 * 3_600_000,
    });
    expect(staleTiming(config, "Drifted")).toEqual({ afterMs: 24 * 3_600_000, everyMs: 24 * 3_600_000 });
    expect(staleTiming({ sinks: {} }, "Drifted")).toBeUndefined();
  });
});
