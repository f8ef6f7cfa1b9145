import { createHmac } from "node:crypto";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { post, sign, SIGNATURE_HEADER } from "../../../src/adapters/notify/http";
import type { NotifyEvent } from "../../../src/app/notify/event";
import { render, slackMessage, teamsMessage } from "../../../src/app/notify/format";

const event: NotifyEvent = {
  key: "status:prod:Drifted:2025-03-04T09:00:00.000Z",
  name: "Drifted",
  environment: "prod",
  at: "2025-03-04T09:00:00.000Z",
  title: "prod is Drifted (was Synced)",
  status: "Drifted",
  previous: "Synced",
  reason: "1 resource drifted <outside> Git & more",
  commit: { sha: "4f1c2a9e0b7d3c5a6e8f", author: "Dana Ops", message: "Raise the timeout" },
  changes: {
    kind: "drift",
    resources: [
      {
        name: "assets",
        type: "aws:s3/bucket:Bucket",
        action: "drifted",
        properties: ['tags.team: "platform" → "intruders"'],
      },
    ],
    more: 2,
  },
  link: "https://tidegate.example.com/environments/prod",
};

describe("notification messages", () => {
  it("for Slack: a title, the details in mrkdwn (escaped) and a link to the dashboard", () => {
    expect(slackMessage(event)).toEqual({
      text: "prod is Drifted (was Synced)",
      blocks: [
        { type: "section", text: { type: "mrkdwn", text: "*prod is Drifted (was Synced)*" } },
        {
          type: "section",
          text: {
            type: "mrkdwn",
            text: [
              "Why: 1 resource drifted &lt;outside&gt; Git &amp; more",
              "Commit: 4f1c2a9e0b7d by Dana Ops — Raise the timeout",
              "Drifted resources:",
              "• drifted assets (aws:s3/bucket:Bucket)",
              '    tags.team: "platform" → "intruders"',
              "…and 2 more",
            ].join("\n"),
          },
        },
        {
          type: "context",
          elements: [
            {
              type: "mrkdwn",
              text: "<https://tidegate.example.com/environments/prod|Open prod in tidegate>",
            },
          ],
        },
      ],
    });
  });

  it("for Teams: an Adaptive Card in a Workflows message, with an Open action", () => {
    const message = teamsMessage(event) as {
      type: string;
      attachments: {
        contentType: string;
        content: { type: string; body: { text: string }[]; actions: unknown[] };
      }[];
    };
    expect(message.type).toBe("message");
    const [card] = message.attachments;
    expect(card?.contentType).toBe("application/vnd.microsoft.card.adaptive");
    expect(card?.content.type).toBe("AdaptiveCard");
    expect(card?.content.body.map((b) => b.text)).toContain("Why: 1 resource drifted <outside> Git & more");
    expect(card?.content.actions).toEqual([{ type: "Action.OpenUrl", title: "Open prod", url: event.link }]);
  });

  it("for a generic webhook: the event as JSON, versioned", () => {
    expect(JSON.parse(render("webhook", event))).toEqual({ version: 1, ...event });
  });
});

describe("the generic webhook's signature", () => {
  let server: http.Server | undefined;
  afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

  it("is the hex HMAC-SHA256 of the raw body, in Pulumi-Webhook-Signature", async () => {
    expect(sign("key", "The quick brown fox jumps over the lazy dog")).toBe(
      "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8",
    );
    const received: { headers: http.IncomingHttpHeaders; body: string }[] = [];
    server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        received.push({ headers: req.headers, body: Buffer.concat(chunks).toString("utf8") });
        res.writeHead(received.length === 1 ? 503 : 200).end();
      });
    });
    await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    const body = render("webhook", event);
    await expect(post({ url, body, id: event.key, kind: event.name, secret: "s3cret" })).rejects.toThrow(
      "the sink answered 503 Service Unavailable",
    );
    await post({ url, body, id: event.key, kind: event.name, secret: "s3cret" });
    const last = received[1]!;
    expect(last.body).toBe(body);
    const expected = createHmac("sha256", "s3cret").update(last.body).digest("hex");
    expect(last.headers[SIGNATURE_HEADER.toLowerCase()]).toBe(expected);
    expect(last.headers["tidegate-webhook-id"]).toBe(event.key);
  });

  it("names the failure, never the URL, when the sink cannot be reached", async () => {
    const error = await post({
      url: "http://127.0.0.1:1/secret-path-xyz",
      body: "{}",
      id: "k",
      kind: "Drifted",
    }).catch((err: Error) => err);
    expect(String(error)).toContain("could not be reached");
    expect(String(error)).not.toContain("secret-path-xyz");
  });
});
