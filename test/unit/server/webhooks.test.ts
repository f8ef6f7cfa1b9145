import { createHmac, timingSafeEqual } from "node:crypto";
import { Webhook } from "standardwebhooks";
import { afterEach, describe, expect, it, vi } from "vitest";
import { openMemoryStore } from "../../../src/adapters/store/memory";
import { loadWebhookSecrets, WebhookIntake, webhookLines } from "../../../src/app/webhooks";
import { readCapped } from "../../../src/server/webhooks/body";
import { readDelivery } from "../../../src/server/webhooks/events";
import { equalSecrets, verifyDelivery, verifyHmac } from "../../../src/server/webhooks/verify";
import { createApp } from "../../../src/server/app";
import { fakeApi, principal } from "./fixture";

// Every comparison of a secret or a signature must go through crypto.timingSafeEqual: spied on here.
vi.mock("node:crypto", async (importOriginal) => {
  const crypto = await importOriginal<typeof import("node:crypto")>();
  return { ...crypto, timingSafeEqual: vi.fn(crypto.timingSafeEqual) };
});

// Webhooks in: each provider's signature, the body cap, what a push names, and the route's order of
// checks (configured, size, signature, then parsing) with the store as the only witness.

const SECRET = "s3cret-for-tests";
const hex = (body: string | Buffer, secret = SECRET) =>
  createHmac("sha256", secret).update(body).digest("hex");
const bytes = (text: string) => new TextEncoder().encode(text);
const headers =
  (values: Record<string, string>) =>
  (name: string): string | undefined =>
    values[name.toLowerCase()];

describe("signatures", () => {
  it("verify GitHub's documented example", () => {
    const given = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
    const ok = verifyDelivery(
      "github",
      { secret: "It's a Secret to Everybody" },
      headers({ "x-hub-signature-256": given }),
      bytes("Hello, World!"),
    );
    expect(ok).toBe(true);
    const tampered = verifyDelivery(
      "github",
      { secret: "It's a Secret to Everybody" },
      headers({ "x-hub-signature-256": given }),
      bytes("Hello, World?"),
    );
    expect(tampered).toBe(false);
  });

  const body = JSON.stringify({ ref: "refs/heads/main" });
  const cases = [
    ["github", { "x-hub-signature-256": `sha256=${hex(body)}` }],
    ["gitea", { "x-gitea-signature": hex(body) }],
    ["forgejo", { "x-forgejo-signature": hex(body) }],
    ["bitbucket", { "x-hub-signature": `sha256=${hex(body)}` }],
    ["generic", { "x-tidegate-signature": `sha256=${hex(body)}` }],
    ["gitlab", { "x-gitlab-token": SECRET }],
  ] as const;

  it.each(cases)(
    "verify %s as it signs, and refuse another secret, a missing header or a bad form",
    (provider, signed) => {
      expect(verifyDelivery(provider, { secret: SECRET }, headers(signed), bytes(body))).toBe(true);
      expect(verifyDelivery(provider, { secret: "another secret" }, headers(signed), bytes(body))).toBe(
        false,
      );
      expect(verifyDelivery(provider, { secret: SECRET }, headers({}), bytes(body))).toBe(false);
      const [key] = Object.keys(signed);
      const mangled = { [key as string]: `${Object.values(signed)[0]}x` };
      expect(verifyDelivery(provider, { secret: SECRET }, headers(mangled), bytes(body))).toBe(false);
      expect(verifyDelivery(provider, {}, headers(signed), bytes(body))).toBe(false);
    },
  );

  it("verify GitLab's signed scheme (Standard Webhooks), and require every scheme configured", () => {
    const signingSecret = `whsec_${Buffer.from("a signing key of 24 bytes").toString("base64")}`;
    // One instant for the signature and its header (read twice, a second could pass in between).
    const seconds = Math.floor(Date.now() / 1000);
    const signature = new Webhook(signingSecret).sign("msg_1", new Date(seconds * 1000), body);
    const signed = {
      "webhook-id": "msg_1",
      "webhook-timestamp": String(seconds),
      "webhook-signature": signature,
    };
    expect(verifyDelivery("gitlab", { signingSecret }, headers(signed), bytes(body))).toBe(true);
    expect(verifyDelivery("gitlab", { signingSecret }, headers(signed), bytes(`${body} `))).toBe(false);
    const old = { ...signed, "webhook-timestamp": String(Math.floor(Date.now() / 1000) - 3600) };
    expect(verifyDelivery("gitlab", { signingSecret }, headers(old), bytes(body))).toBe(false);
    // Both configured: the token alone is not enough.
    const both = { secret: SECRET, signingSecret };
    expect(verifyDelivery("gitlab", both, headers({ "x-gitlab-token": SECRET }), bytes(body))).toBe(false);
    expect(
      verifyDelivery("gitlab", both, headers({ ...signed, "x-gitlab-token": SECRET }), bytes(body)),
    ).toBe(true);
  });

  it("compare in constant time: crypto.timingSafeEqual on equal-length digests, whatever the input", () => {
    const compare = vi.mocked(timingSafeEqual);
    compare.mockClear();
    // Different lengths would make timingSafeEqual throw: both sides are hashed first.
    expect(equalSecrets("short", SECRET)).toBe(false);
    expect(equalSecrets(`${SECRET}x`, SECRET)).toBe(false);
    expect(equalSecrets(SECRET, SECRET)).toBe(true);
    expect(compare).toHaveBeenCalledTimes(3);
    compare.mockClear();
    expect(verifyHmac(SECRET, bytes(body), `sha256=${hex(body, "other")}`, "sha256=")).toBe(false);
    expect(verifyHmac(SECRET, bytes(body), `sha256=${hex(body)}`, "sha256=")).toBe(true);
    expect(compare).toHaveBeenCalledTimes(2);
    // A signature of the wrong form is refused before any comparison.
    expect(verifyHmac(SECRET, bytes(body), "sha256=zz", "sha256=")).toBe(false);
    expect(compare).toHaveBeenCalledTimes(2);
  });
});

describe("pushes", () => {
  const read = (provider: Parameters<typeof readDelivery>[0], h: Record<string, string>, payload: unknown) =>
    readDelivery(provider, headers(h), bytes(JSON.stringify(payload)));

  it("name the branches of each provider's push event, and none for other events", () => {
    const repo = { full_name: "acme/infra" };
    expect(
      read("github", { "x-github-event": "push" }, { ref: "refs/heads/prod", repository: repo }),
    ).toEqual({
      event: "push",
      repository: "acme/infra",
      branches: ["prod"],
    });
    expect(read("github", { "x-github-event": "ping" }, { zen: "hi" })?.branches).toEqual([]);
    expect(read("github", { "x-github-event": "push" }, { ref: "refs/tags/v1" })?.branches).toEqual([]);
    expect(
      read(
        "gitlab",
        { "x-gitlab-event": "Push Hook" },
        { ref: "refs/heads/stage", project: { path_with_namespace: "g/p" } },
      ),
    ).toEqual({ event: "Push Hook", repository: "g/p", branches: ["stage"] });
    expect(
      read("gitea", { "x-gitea-event": "push" }, { ref: "refs/heads/dev", repository: repo })?.branches,
    ).toEqual(["dev"]);
    const cloud = {
      push: { changes: [{ new: { type: "branch", name: "prod" } }, { new: null }] },
      repository: repo,
    };
    expect(read("bitbucket", { "x-event-key": "repo:push" }, cloud)?.branches).toEqual(["prod"]);
    const dc = {
      changes: [
        { ref: { id: "refs/heads/stage", type: "BRANCH" }, type: "UPDATE" },
        { ref: { id: "refs/heads/old", type: "BRANCH" }, type: "DELETE" },
      ],
      repository: { slug: "infra", project: { key: "OPS" } },
    };
    expect(read("bitbucket", { "x-event-key": "repo:refs_changed" }, dc)).toEqual({
      event: "repo:refs_changed",
      repository: "OPS/infra",
      branches: ["stage"],
    });
    expect(read("generic", {}, { branch: "main" })?.branches).toEqual(["main"]);
    expect(read("generic", {}, { ref: "refs/heads/main" })?.branches).toEqual(["main"]);
    expect(read("generic", {}, { hello: 1 })?.branches).toEqual([]);
  });

  it("are undefined for a body that is not a JSON object", () => {
    expect(readDelivery("generic", headers({}), bytes("{nope"))).toBeUndefined();
    expect(readDelivery("generic", headers({}), bytes("[1]"))).toBeUndefined();
  });
});

describe("the body cap", () => {
  const streamed = (chunks: number, size: number) => {
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ >= chunks) controller.close();
        else controller.enqueue(new Uint8Array(size));
      },
    });
    return {
      request: new Request("http://x/", { method: "POST", body: stream, duplex: "half" } as RequestInit),
      sent: () => sent,
    };
  };

  it("refuses a declared length over the cap without reading", async () => {
    const request = new Request("http://x/", {
      method: "POST",
      body: "x".repeat(11),
      headers: { "content-length": "11" },
    });
    expect(await readCapped(request, 10)).toEqual({ ok: false, reason: "too-large" });
  });

  it("stops reading a stream as soon as it passes the cap", async () => {
    const { request, sent } = streamed(1000, 1024);
    expect(await readCapped(request, 4 * 1024)).toEqual({ ok: false, reason: "too-large" });
    expect(sent()).toBeLessThan(10);
  });

  it("reads a body up to the cap whole", async () => {
    const { request } = streamed(4, 1024);
    const read = await readCapped(request, 4 * 1024);
    expect(read.ok && read.body.byteLength).toBe(4096);
  });
});

describe("the route", () => {
  afterEach(() => vi.useRealTimers());

  const setup = (maxBodyBytes = 1024) => {
    const store = openMemoryStore();
    const intake = new WebhookIntake({
      store,
      environments: [
        { name: "stage", branch: "stage" },
        { name: "prod", branch: "prod" },
      ],
      now: () => new Date(),
      onError: (error) => {
        throw error;
      },
    });
    const app = createApp({
      api: fakeApi(),
      authenticate: async (secret) => principal(secret),
      anonymousRead: false,
      log: { error: vi.fn() },
      webhooks: { providers: { github: { secret: SECRET, maxBodyBytes } }, intake },
    });
    const post = (provider: string, body: string, extra: Record<string, string> = {}) =>
      app.request(`/api/v1/webhooks/${provider}`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-github-event": "push", ...extra },
        body,
      });
    const signed = (body: string) => ({ "x-hub-signature-256": `sha256=${hex(body)}` });
    return { store, intake, post, signed };
  };
  const push = (branch: string) =>
    JSON.stringify({ ref: `refs/heads/${branch}`, repository: { full_name: "acme/infra" } });

  it("enqueues a poll of the branch's environment for a verified push, needing no token", async () => {
    const { store, post, signed, intake } = setup();
    const response = await post("github", push("prod"), signed(push("prod")));
    expect(response.status).toBe(202);
    const requests = await store.requestsSince(0);
    expect(requests).toMatchObject([
      { environment: "prod", reason: "webhook github push", priority: "schedule" },
    ]);
    expect(requests[0]?.look).toBeUndefined();
    const [stats] = await store.webhookDeliveries();
    expect(stats).toMatchObject({ provider: "github", repository: "acme/infra", refused: 0 });
    intake.close();
  });

  it("answers a ping with nothing enqueued", async () => {
    const { store, post, signed, intake } = setup();
    const ping = JSON.stringify({ zen: "Design for failure." });
    expect((await post("github", ping, { ...signed(ping), "x-github-event": "ping" })).status).toBe(202);
    expect(await store.requestsSince(0)).toEqual([]);
    intake.close();
  });

  it("refuses an unconfigured provider, a wrong signature, an oversized and a malformed body, with no detail and no work", async () => {
    const { store, post, signed, intake } = setup(90);
    const body = push("prod");
    const gitea = await post("gitea", body, { "x-gitea-signature": hex(body) });
    expect(gitea.status).toBe(404);
    expect(await gitea.text()).toBe("");
    const wrong = await post("github", body, { "x-hub-signature-256": `sha256=${hex(body, "wrong")}` });
    expect(wrong.status).toBe(401);
    expect(await wrong.text()).toBe("");
    expect((await post("github", body)).status).toBe(401);
    const big = JSON.stringify({ ref: "refs/heads/prod", pad: "x".repeat(100) });
    expect((await post("github", big, signed(big))).status).toBe(413);
    expect((await post("github", "{not json", signed("{not json"))).status).toBe(400);
    expect(await store.requestsSince(0)).toEqual([]);
    // Only a counter: the unconfigured provider leaves nothing at all.
    expect(await store.webhookDeliveries()).toMatchObject([
      { provider: "github", repository: "", refused: 4 },
    ]);
    intake.close();
  });

  it("coalesces a burst for one environment: one request at once, one at the window's end", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    const { store, post, signed, intake } = setup();
    const body = push("prod");
    for (let i = 0; i < 200; i++) expect((await post("github", body, signed(body))).status).toBe(202);
    expect(await store.requestsSince(0)).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(await store.requestsSince(0)).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(await store.requestsSince(0)).toHaveLength(2);
    intake.close();
  });
});

describe("secrets and status", () => {
  it("are read from a variable or a file and registered for redaction; a missing one names the field", () => {
    const registered: string[] = [];
    const providers = loadWebhookSecrets(
      { github: { secret: { kind: "env", name: "HOOK" }, maxBodyBytes: 10 } },
      (s) => registered.push(s),
      { HOOK: " abc-secret \n" },
    );
    expect(providers).toEqual({ github: { secret: "abc-secret", maxBodyBytes: 10 } });
    expect(registered).toEqual(["abc-secret"]);
    expect(() =>
      loadWebhookSecrets(
        { gitea: { secret: { kind: "env", name: "NOPE" }, maxBodyBytes: 10 } },
        () => {},
        {},
      ),
    ).toThrow("tidegate.yaml webhooks.gitea.secret: the variable NOPE is not set or empty");
    expect(() =>
      loadWebhookSecrets(
        { gitea: { secret: { kind: "file", path: "/nonexistent/hook" }, maxBodyBytes: 10 } },
        () => {},
      ),
    ).toThrow("webhooks.gitea.secret: cannot read /nonexistent/hook");
  });

  it("show one line per provider and repository", () => {
    const now = new Date("2026-01-01T00:10:00.000Z");
    expect(
      webhookLines(
        [
          { provider: "github", repository: "", refused: 3 },
          {
            provider: "github",
            repository: "acme/infra",
            refused: 0,
            lastVerifiedAt: "2026-01-01T00:05:00.000Z",
          },
        ],
        now,
      ),
    ).toEqual([
      "Webhooks: github: no verified delivery, 3 refused",
      "Webhooks: github acme/infra: last verified delivery 5m ago, 0 refused",
    ]);
  });
});
