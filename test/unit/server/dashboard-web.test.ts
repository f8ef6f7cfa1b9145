import { describe, expect, it, vi } from "vitest";
import type { RunMark } from "../../../src/app/watch";
import { createApp } from "../../../src/server";
import { safeNext } from "../../../src/server/dashboard";
import { startServer } from "../../../src/server/listen";
import type { ApiPorts } from "../../../src/server/ports";
import { sampleReport } from "../report/fixture";
import { DIGEST, fakeApi, NEWER, principal } from "./fixture";

// The dashboard's routes with fake use cases and a fake token store: sessions, CSRF, scopes, the
// flash after a form, security headers, and the server-sent events.

const ORIGIN = "http://localhost";

function setup(
  options: {
    api?: Partial<ApiPorts>;
    anonymousRead?: boolean;
    secureCookies?: boolean;
    closed?: AbortSignal;
  } = {},
) {
  const api = fakeApi(options.api);
  const revoked = new Set<string>();
  const app = createApp({
    api,
    authenticate: async (secret) => (revoked.has(secret) ? undefined : principal(secret)),
    anonymousRead: options.anonymousRead ?? false,
    log: { error: vi.fn() },
    dashboard: {
      pollMs: 10,
      keepAliveMs: 20,
      clientAddress: () => "203.0.113.9",
      ...(options.secureCookies ? { secureCookies: true } : {}),
      ...(options.closed ? { closed: options.closed } : {}),
    },
  });
  const get = (path: string, cookie?: string, headers: Record<string, string> = {}) =>
    app.request(path, { headers: { ...headers, ...(cookie ? { cookie } : {}) } });
  const post = (path: string, fields: Record<string, string>, cookie?: string, origin = ORIGIN) =>
    app.request(path, {
      method: "POST",
      headers: { origin, ...(cookie ? { cookie } : {}) },
      body: new URLSearchParams(fields),
    });
  /** Signs in with `secret`; the session cookie and the CSRF token its pages carry. */
  const signIn = async (secret: string) => {
    const response = await post("/login", { token: secret });
    expect(response.status).toBe(303);
    const cookie = cookieOf(response, "tidegate_session");
    const page = await (await get("/", cookie)).text();
    const csrf = /<meta name="csrf-token" content="([^"]+)"/.exec(page)?.[1];
    if (!csrf) throw new Error(`no csrf-token meta in ${page}`);
    return { cookie, csrf };
  };
  return { api, app, get, post, signIn, revoke: (secret: string) => revoked.add(secret) };
}

/** `name=value` of the response's Set-Cookie for `name`. */
function cookieOf(response: Response, name: string): string {
  const line = response.headers.getSetCookie().find((c) => c.startsWith(`${name}=`));
  if (!line) throw new Error(`no ${name} cookie in ${response.headers.getSetCookie().join(" | ")}`);
  return line.split(";")[0] ?? "";
}

function setCookieLine(response: Response, name: string): string | undefined {
  return response.headers.getSetCookie().find((c) => c.startsWith(`${name}=`));
}

describe("the dashboard's sessions", () => {
  it("signs in with a token: an HttpOnly, SameSite=Strict session cookie, then the page asked for", async () => {
    const { post } = setup();
    const response = await post("/login", { token: "tg_read", next: "/environments/prod" });
    expect(response.status).toBe(303);
    expect(response.headers.get("location")).toBe("/environments/prod");
    const line = setCookieLine(response, "tidegate_session") ?? "";
    expect(line).toMatch(/^tidegate_session=[A-Za-z0-9_-]{43};/);
    expect(line).toContain("HttpOnly");
    expect(line).toContain("SameSite=Strict");
    expect(line).toContain("Path=/");
    expect(line).toContain("Max-Age=43200");
    expect(line).not.toContain("Secure");
    expect(line).not.toContain("tg_read");
  });

  it("marks the cookie Secure when the server speaks HTTPS", async () => {
    const { post } = setup({ secureCookies: true });
    const response = await post("/login", { token: "tg_read" });
    expect(setCookieLine(response, "tidegate_session")).toContain("Secure");
    expect(response.headers.get("strict-transport-security")).toContain("max-age=");
  });

  it("refuses an unknown token with 401 and the login page, saying nothing more than that", async () => {
    const { post } = setup();
    const response = await post("/login", { token: "tg_nope", next: "/audit" });
    expect(response.status).toBe(401);
    expect(setCookieLine(response, "tidegate_session")).toBeUndefined();
    const page = await response.text();
    expect(page).toContain("the token is unknown, expired or revoked");
    expect(page).toContain('name="token"');
  });

  it("slows guessing: after 10 failed sign-ins from an address, even a good token waits", async () => {
    const { post } = setup();
    for (let i = 0; i < 10; i++) expect((await post("/login", { token: `tg_guess${i}` })).status).toBe(401);
    const blocked = await post("/login", { token: "tg_read" });
    expect(blocked.status).toBe(429);
    expect(await blocked.text()).toContain("too many failed sign-ins");
  });

  it("sends a signed-out browser to the login page, with where it was going", async () => {
    const { get } = setup();
    const response = await get("/environments/prod/runs?page=2");
    expect(response.status).toBe(303);
    expect(response.headers.get("location")).toBe(
      `/login?next=${encodeURIComponent("/environments/prod/runs?page=2")}`,
    );
    expect((await get("/login?next=%2Faudit")).status).toBe(200);
  });

  it("lets anonymous browsers read when anonymousRead is on, but not act", async () => {
    const { get, post, api } = setup({ anonymousRead: true });
    expect((await get("/")).status).toBe(200);
    const response = await post("/environments/prod/approve", { digest: DIGEST });
    expect(response.status).toBe(303);
    expect(response.headers.get("location")).toBe("/login?next=%2Fenvironments%2Fprod");
    expect(api.approve).not.toHaveBeenCalled();
  });

  it("never redirects off the site after signing in", async () => {
    const { post, get } = setup();
    for (const next of [
      "//evil.example/x",
      "https://evil.example/",
      "/\\evil.example",
      "javascript:alert(1)",
    ]) {
      const response = await post("/login", { token: "tg_read", next });
      expect(response.headers.get("location")).toBe("/");
    }
    expect(safeNext("/environments/prod?page=2")).toBe("/environments/prod?page=2");
    expect(safeNext("/\t/evil.example")).toBeUndefined();
    const signedIn = await post("/login", { token: "tg_read" });
    const again = await get("/login?next=%2F%2Fevil.example", cookieOf(signedIn, "tidegate_session"));
    expect(again.status).toBe(303);
    expect(again.headers.get("location")).toBe("/");
  });

  it("ends the session when its token is revoked or expires", async () => {
    const { get, signIn, revoke } = setup();
    const { cookie } = await signIn("tg_read");
    expect((await get("/", cookie)).status).toBe(200);
    revoke("tg_read");
    const response = await get("/", cookie);
    expect(response.status).toBe(303);
    expect(response.headers.get("location")).toMatch(/^\/login/);
    expect(setCookieLine(response, "tidegate_session")).toMatch(/Max-Age=0/);
  });

  it("signs out: the session is gone on the server, not only its cookie", async () => {
    const { get, post, signIn } = setup();
    const { cookie, csrf } = await signIn("tg_read");
    expect((await post("/logout", { _csrf: "wrong" }, cookie)).status).toBe(403);
    const response = await post("/logout", { _csrf: csrf }, cookie);
    expect(response.status).toBe(303);
    expect(response.headers.get("location")).toBe("/login");
    expect(setCookieLine(response, "tidegate_session")).toMatch(/Max-Age=0/);
    expect((await get("/", cookie)).status).toBe(303);
  });
});

describe("the dashboard's forms", () => {
  it("refuses a post without the session's CSRF token, or from another origin, with 403", async () => {
    const { post, signIn, api } = setup();
    const { cookie, csrf } = await signIn("tg_approver");
    expect((await post("/environments/prod/approve", { digest: DIGEST }, cookie)).status).toBe(403);
    const wrong = await post(
      "/environments/prod/approve",
      { _csrf: `${csrf.slice(1)}x`, digest: DIGEST },
      cookie,
    );
    expect(wrong.status).toBe(403);
    expect(await wrong.text()).toContain("CSRF token");
    const foreign = await post(
      "/environments/prod/approve",
      { _csrf: csrf, digest: DIGEST },
      cookie,
      "https://evil.example",
    );
    expect(foreign.status).toBe(403);
    expect((await post("/login", { token: "tg_read" }, undefined, "https://evil.example")).status).toBe(403);
    expect(api.approve).not.toHaveBeenCalled();
  });

  it("refuses an approval from a read-only session with 403, without calling the use case", async () => {
    const { post, signIn, api } = setup();
    const { cookie, csrf } = await signIn("tg_read");
    const response = await post("/environments/prod/approve", { _csrf: csrf, digest: DIGEST }, cookie);
    expect(response.status).toBe(403);
    expect(await response.text()).toContain("lacks the scope approve:prod");
    expect(api.approve).not.toHaveBeenCalled();
  });

  it("approves the digest shown for the token's actor, and says so once on the page", async () => {
    const { get, post, signIn, api } = setup();
    const { cookie, csrf } = await signIn("tg_approver");
    const response = await post(
      "/environments/prod/approve",
      { _csrf: csrf, digest: DIGEST, protected: "1", comment: "looks right" },
      cookie,
    );
    expect(response.status).toBe(303);
    expect(response.headers.get("location")).toBe("/environments/prod");
    expect(api.approve).toHaveBeenCalledWith(
      "prod",
      { digest: DIGEST, protected: true, comment: "looks right" },
      principal("tg_approver")?.actor,
    );
    const flash = cookieOf(response, "tidegate_flash");
    // The approver lacks read: the flash is shown by the next page a reader sees; here, read it with admin.
    const admin = await signIn("tg_admin");
    const page = await get("/environments/prod", `${admin.cookie}; ${flash}`);
    expect(page.status).toBe(200);
    const shown = await page.text();
    expect(shown).toMatch(/data-testid="flash"[^>]*>[^<]*approved plan/);
    expect(setCookieLine(page, "tidegate_flash")).toMatch(/Max-Age=0/);
  });

  it("turns a stale digest into an error flash naming the current digest", async () => {
    const stale = sampleReport({
      environment: "prod",
      plan: { commit: "c2", digest: NEWER, remediate: false },
    });
    const { get, post, signIn } = setup({
      api: {
        approve: vi.fn(async () => ({ report: stale, refused: "stale plan", refusal: "stale" as const })),
      },
    });
    const { cookie, csrf } = await signIn("tg_admin");
    const response = await post("/environments/prod/approve", { _csrf: csrf, digest: DIGEST }, cookie);
    expect(response.status).toBe(303);
    const page = await (
      await get("/environments/prod", `${cookie}; ${cookieOf(response, "tidegate_flash")}`)
    ).text();
    expect(page).toMatch(/class="flash flash-error"\s+data-testid="flash"/);
    expect(page).toContain(`now ${NEWER}`);
  });

  it("names the bad field of a form in an error flash, without calling the use case", async () => {
    const { get, post, signIn, api } = setup();
    const { cookie, csrf } = await signIn("tg_admin");
    const response = await post("/environments/prod/approve", { _csrf: csrf, digest: "short" }, cookie);
    expect(response.status).toBe(303);
    const page = await (
      await get("/environments/prod", `${cookie}; ${cookieOf(response, "tidegate_flash")}`)
    ).text();
    expect(page).toContain("digest: not a plan digest");
    expect(api.approve).not.toHaveBeenCalled();
  });

  it("requests a check and promotes with the scopes the API asks for", async () => {
    const { post, signIn, api } = setup();
    const syncer = await signIn("tg_syncer");
    const check = await post("/environments/prod/check", { _csrf: syncer.csrf }, syncer.cookie);
    expect(check.status).toBe(303);
    expect(api.request).toHaveBeenCalledWith("prod", "check", principal("tg_syncer")?.actor);
    const denied = await post(
      "/environments/prod/promote",
      { _csrf: syncer.csrf, from: "stage" },
      syncer.cookie,
    );
    expect(denied.status).toBe(403);
    const promoter = await signIn("tg_promoter");
    const promote = await post(
      "/environments/prod/promote",
      { _csrf: promoter.csrf, from: "stage", dryRun: "1" },
      promoter.cookie,
    );
    expect(promote.status).toBe(303);
    expect(api.promote).toHaveBeenCalledWith(
      "stage",
      "prod",
      { dryRun: true },
      principal("tg_promoter")?.actor,
    );
  });
});

describe("the dashboard's ways out of drift", () => {
  it("shows Restore and Accept on a drifted environment to a token that may sync or approve it, and to no other", async () => {
    const { get, signIn } = setup();
    const admin = await signIn("tg_admin");
    const page = await (await get("/environments/prod", admin.cookie)).text();
    for (const resolve of ["restore-drift", "accept-drift"]) {
      expect(page).toMatch(
        new RegExp(`action="/environments/prod/resolve-drift/preview" data-testid="${resolve}"`),
      );
    }
    expect(page).toContain(`<input type="hidden" name="_csrf" value="${admin.csrf}" />`);
    const reader = await signIn("tg_read");
    expect(await (await get("/environments/prod", reader.cookie)).text()).not.toContain("resolve-drift");

    const synced = setup({
      api: { latestReport: vi.fn(async () => sampleReport({ environment: "prod", drift: undefined })) },
    });
    const admin2 = await synced.signIn("tg_admin");
    const quiet = await (await synced.get("/environments/prod", admin2.cookie)).text();
    expect(quiet).not.toContain("resolve-drift");
  });

  it("previews the accept with its own digest, then approves exactly it, for an approver", async () => {
    const { post, signIn, api } = setup();
    const approver = await signIn("tg_approver");
    const preview = await post(
      "/environments/prod/resolve-drift/preview",
      { _csrf: approver.csrf, resolve: "accept-drift" },
      approver.cookie,
    );
    expect(preview.status).toBe(200);
    const shown = await preview.text();
    expect(api.plan).toHaveBeenCalledWith(
      "prod",
      { resolve: "accept-drift" },
      principal("tg_approver")?.actor,
    );
    expect(shown).toContain(`data-testid="digest" title="`);
    expect(shown).toContain(NEWER);
    // The approver may approve it, not run it.
    expect(shown).toMatch(/action="\/environments\/prod\/approve" data-testid="approve"/);
    expect(shown).toContain('<input type="hidden" name="resolve" value="accept-drift" />');
    expect(shown).not.toContain('data-testid="resolve"');

    const approved = await post(
      "/environments/prod/approve",
      { _csrf: approver.csrf, digest: NEWER, resolve: "accept-drift" },
      approver.cookie,
    );
    expect(approved.status).toBe(303);
    expect(api.approve).toHaveBeenCalledWith(
      "prod",
      { digest: NEWER, resolve: "accept-drift" },
      principal("tg_approver")?.actor,
    );
    const run = await post(
      "/environments/prod/resolve-drift",
      { _csrf: approver.csrf, resolve: "accept-drift" },
      approver.cookie,
    );
    expect(run.status).toBe(403);
    expect(await run.text()).toContain("lacks the scope sync:prod");
    expect(api.resolveDrift).not.toHaveBeenCalled();
  });

  it("runs the restore for a token with sync, refuses a bad resolve, a missing CSRF token and a reader", async () => {
    const { get, post, signIn, api } = setup();
    const syncer = await signIn("tg_syncer");
    const restored = await post(
      "/environments/prod/resolve-drift",
      { _csrf: syncer.csrf, resolve: "restore-drift" },
      syncer.cookie,
    );
    expect(restored.status).toBe(303);
    expect(api.resolveDrift).toHaveBeenCalledWith("prod", "restore-drift", principal("tg_syncer")?.actor);
    const admin = await signIn("tg_admin");
    const page = await (
      await get("/environments/prod", `${admin.cookie}; ${cookieOf(restored, "tidegate_flash")}`)
    ).text();
    expect(page).toContain("restore-drift: prod is Synced");

    const bad = await post(
      "/environments/prod/resolve-drift/preview",
      { _csrf: syncer.csrf, resolve: "ignore-drift" },
      syncer.cookie,
    );
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain(
      "resolve: expected &quot;restore-drift&quot; or &quot;accept-drift&quot;",
    );
    const forged = await post(
      "/environments/prod/resolve-drift/preview",
      { resolve: "restore-drift" },
      syncer.cookie,
    );
    expect(forged.status).toBe(403);
    const reader = await signIn("tg_read");
    const denied = await post(
      "/environments/prod/resolve-drift/preview",
      { _csrf: reader.csrf, resolve: "restore-drift" },
      reader.cookie,
    );
    expect(denied.status).toBe(403);
    expect(await denied.text()).toContain("lacks the scope sync:prod or approve:prod");
    expect(api.plan).not.toHaveBeenCalled();
    expect(api.resolveDrift).toHaveBeenCalledTimes(1);
  });
});

describe("the dashboard's responses", () => {
  const CSP =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

  it("carry a restrictive CSP, nosniff, no referrer and no-store, pages and API alike", async () => {
    const { app, get, signIn } = setup();
    const { cookie } = await signIn("tg_read");
    const page = await get("/", cookie);
    const api = await app.request("/api/v1/environments", { headers: { authorization: "Bearer tg_read" } });
    for (const response of [page, api, await get("/login")]) {
      expect(response.status).toBe(200);
      expect(response.headers.get("content-security-policy")).toBe(CSP);
      expect(response.headers.get("x-content-type-options")).toBe("nosniff");
      expect(response.headers.get("referrer-policy")).toBe("no-referrer");
      expect(response.headers.get("cache-control")).toBe("no-store");
      expect(response.headers.get("strict-transport-security")).toBeNull();
    }
    const asset = await get("/assets/dashboard.js");
    expect(asset.status).toBe(200);
    expect(asset.headers.get("content-type")).toContain("javascript");
    expect(asset.headers.get("cache-control")).toContain("max-age");
    expect(asset.headers.get("content-security-policy")).toBe(CSP);
  });

  it("keeps the API on Bearer tokens: a session cookie does not authorize /api/v1", async () => {
    const { app, signIn } = setup();
    const { cookie } = await signIn("tg_admin");
    const response = await app.request("/api/v1/environments", { headers: { cookie } });
    expect(response.status).toBe(401);
  });

  it("answers an unknown page with a 404 page, and the API with problem+json", async () => {
    const { get } = setup();
    const page = await get("/nope", undefined, { accept: "text/html" });
    expect(page.status).toBe(404);
    expect(page.headers.get("content-type")).toContain("text/html");
    expect(await page.text()).toContain("no page /nope");
    const api = await get("/api/v1/nope", undefined, {
      accept: "text/html",
      authorization: "Bearer tg_read",
    });
    expect(api.status).toBe(404);
    expect(api.headers.get("content-type")).toContain("application/problem+json");
  });

  it("shows a use case's error as an error page with its status", async () => {
    const { get, signIn } = setup();
    const { cookie } = await signIn("tg_read");
    const response = await get("/environments/prod/runs/nope", cookie);
    expect(response.status).toBe(404);
    expect(await response.text()).toContain("no report of run");
    const unknown = await get("/environments/qa", cookie);
    expect(unknown.status).toBe(404);
    expect(await unknown.text()).toContain("unknown environment");
    const badPage = await get("/environments/prod/runs?page=0", cookie);
    expect(badPage.status).toBe(400);
    expect(await badPage.text()).toContain("page:");
  });
});

describe("the dashboard's events", () => {
  const decoder = new TextDecoder();
  async function readUntil(reader: ReadableStreamDefaultReader<Uint8Array>, text: string): Promise<string> {
    let seen = "";
    while (!seen.includes(text)) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`the stream ended before ${text}: ${seen}`);
      seen += decoder.decode(value);
    }
    return seen;
  }

  it("sends a run event when an environment's latest run changes in the store, and stops watching", async () => {
    let marks: RunMark[] = [{ environment: "prod", runId: "r1", status: "Synced" }];
    const runMarks = vi.fn(async () => marks);
    const { get, signIn } = setup({ api: { runMarks } });
    const { cookie } = await signIn("tg_read");
    const response = await get("/events", cookie);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("text/event-stream");
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    await readUntil(reader, ": connected");
    await vi.waitFor(() => expect(runMarks).toHaveBeenCalled());
    marks = [{ environment: "prod", runId: "r2", status: "Drifted" }];
    const seen = await readUntil(reader, "event: run");
    expect(seen).toContain(
      `data: ${JSON.stringify({ environment: "prod", runId: "r2", status: "Drifted" })}`,
    );
    expect(await readUntil(reader, ": keep-alive")).toBeTruthy();
    await reader.cancel();
    await new Promise((resolve) => setTimeout(resolve, 30));
    const calls = runMarks.mock.calls.length;
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(runMarks.mock.calls.length).toBe(calls);
  });

  it("needs read access, and ends its streams when the server closes", async () => {
    const closed = new AbortController();
    const { get, signIn } = setup({ closed: closed.signal });
    expect((await get("/events")).status).toBe(303);
    const { cookie } = await signIn("tg_read");
    const reader = ((await get("/events", cookie)).body as ReadableStream<Uint8Array>).getReader();
    await readUntil(reader, ": connected");
    closed.abort();
    let done = false;
    while (!done) done = (await reader.read()).done;
    expect(done).toBe(true);
  });

  it("lets a real server close at once while a page listens (no waiting out the grace period)", async () => {
    const closed = new AbortController();
    const { app, signIn } = setup({ closed: closed.signal });
    const { cookie } = await signIn("tg_read");
    const server = await startServer(app.fetch, { host: "127.0.0.1", port: 0, anonymousRead: false });
    const response = await fetch(new URL("/events", server.url), { headers: { cookie } });
    expect(response.status).toBe(200);
    await readUntil((response.body as ReadableStream<Uint8Array>).getReader(), ": connected");
    const started = Date.now();
    closed.abort();
    await server.close();
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});
