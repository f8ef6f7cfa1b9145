import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PassThrough } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { person, token } from "../../../src/app/actor";
import { expiryFrom, LAST_USE_RESOLUTION_MS, secretHash, TokenService } from "../../../src/app/tokens";
import { openAuditLog } from "../../../src/compose";
import { openMemoryStore } from "../../../src/adapters/store/memory";
import type { Store } from "../../../src/adapters/store/port";
import type { AuditLog } from "../../../src/adapters/audit";
import { createLogger } from "../../../src/log";

const LEAD = person("lead@example.com");
const T0 = Date.parse("2025-03-04T09:00:00.000Z");
const DAY = 86_400_000;

describe("TokenService", () => {
  let dir: string;
  let clock: number;
  let store: Store;
  let audit: AuditLog;
  let touches: number;
  let logged: string;
  let tokens: TokenService;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "tidegate-tokens-"));
    clock = T0;
    const now = () => new Date(clock);
    const memory = openMemoryStore(undefined, { now });
    touches = 0;
    store = {
      ...memory,
      touchToken: (name, at) => {
        touches++;
        return memory.touchToken(name, at);
      },
    };
    audit = openAuditLog(dir, { now });
    logged = "";
    const stream = new PassThrough();
    stream.on("data", (chunk: Buffer) => (logged += chunk.toString("utf8")));
    const log = createLogger({ mode: "json", level: "debug", stream });
    tokens = new TokenService({ store, audit, now, log });
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  // null: never expires.
  const create = (name = "ci-bot", expiresAt: string | null = new Date(T0 + 30 * DAY).toISOString()) =>
    tokens.create(
      {
        name,
        owner: "ada@example.com",
        scopes: ["read", "approve:prod"],
        ...(expiresAt ? { expiresAt } : {}),
      },
      LEAD,
    );

  it("creates a token whose secret is shown once and stored only as its SHA-256", async () => {
    const { secret, token: info } = await create();
    expect(secret).toMatch(/^tg_[A-Za-z0-9_-]{43}$/);
    expect(info).toEqual({
      name: "ci-bot",
      owner: "ada@example.com",
      scopes: ["read", "approve:prod"],
      createdAt: new Date(T0).toISOString(),
      createdBy: LEAD.id,
      expiresAt: new Date(T0 + 30 * DAY).toISOString(),
      state: "active",
    });
    expect(await store.tokenByHash(secretHash(secret))).toMatchObject({ name: "ci-bot" });
    // Two tokens never share a secret.
    expect((await create("other")).secret).not.toBe(secret);
  });

  it("never shows the secret nor its hash: not in list, not in the audit log, not in logs", async () => {
    const { secret } = await create();
    const hash = secretHash(secret).replace("sha256:", "");
    await tokens.authenticate(secret);
    await tokens.revoke("ci-bot", LEAD);
    const sinks = [
      JSON.stringify(await tokens.list()),
      fs.readFileSync(audit.file, "utf8"),
      JSON.stringify(await audit.entries()),
      logged,
    ];
    for (const sink of sinks) {
      expect(sink).not.toContain(secret);
      expect(sink).not.toContain(secret.slice(3));
      expect(sink).not.toContain(hash);
    }
    // The sinks are not empty: they were looked at, not skipped.
    expect(sinks[1]).toContain("ci-bot");
  });

  it("audits creation and revocation with the actor, the token's name and its scopes", async () => {
    await create();
    await tokens.revoke("ci-bot", person("sec@example.com"));
    await tokens.revoke("ci-bot", person("sec@example.com")); // already revoked: nothing new
    expect(await audit.entries({ action: "token" })).toMatchObject([
      {
        actor: LEAD.id,
        verdict: "created",
        reason: "token ci-bot for ada@example.com: read, approve:prod",
        details: { token: "ci-bot", owner: "ada@example.com", scopes: ["read", "approve:prod"] },
      },
      {
        actor: "sec@example.com",
        verdict: "revoked",
        details: { token: "ci-bot", scopes: ["read", "approve:prod"] },
      },
    ]);
    expect(await audit.entries({ action: "token" })).toHaveLength(2);
  });

  it("authenticates a valid secret as the token, with its owner behind it", async () => {
    const { secret } = await create();
    expect(await tokens.authenticate(secret)).toEqual({
      name: "ci-bot",
      owner: "ada@example.com",
      scopes: ["read", "approve:prod"],
      actor: token("ci-bot", "ada@example.com"),
    });
  });

  it("refuses unknown, malformed, expired and revoked secrets", async () => {
    const { secret } = await create();
    const other = `tg_${"A".repeat(43)}`;
    for (const bad of [other, "", "tg_", secret.slice(0, -1), `${secret}x`, secret.replace("tg_", "xx_")]) {
      expect(await tokens.authenticate(bad)).toBeUndefined();
    }

    clock = T0 + 30 * DAY; // the moment it expires
    expect(await tokens.authenticate(secret)).toBeUndefined();
    expect((await tokens.list())[0]?.state).toBe("expired");

    clock = T0;
    const never = await create("forever", null);
    expect(await tokens.authenticate(never.secret)).toMatchObject({ name: "forever" });
    clock = T0 + 3650 * DAY;
    expect(await tokens.authenticate(never.secret)).toMatchObject({ name: "forever" });
    const revoked = await tokens.revoke("forever", LEAD);
    expect(revoked).toMatchObject({ state: "revoked", revokedBy: LEAD.id });
    expect(await tokens.authenticate(never.secret)).toBeUndefined();
  });

  it("records the last use at most once a minute, not on every request", async () => {
    const { secret } = await create();
    await tokens.authenticate(secret);
    expect(touches).toBe(1);
    expect((await tokens.list())[0]?.lastUsedAt).toBe(new Date(T0).toISOString());

    clock = T0 + LAST_USE_RESOLUTION_MS - 1;
    await tokens.authenticate(secret);
    await tokens.authenticate(secret);
    expect(touches).toBe(1);

    clock = T0 + LAST_USE_RESOLUTION_MS;
    await tokens.authenticate(secret);
    expect(touches).toBe(2);
    expect((await tokens.list())[0]?.lastUsedAt).toBe(new Date(clock).toISOString());
  });

  it("still authenticates when the last use cannot be recorded, and logs it without the secret", async () => {
    const { secret } = await create();
    store.touchToken = () => Promise.reject(new Error("the store is busy"));
    expect(await tokens.authenticate(secret)).toMatchObject({ name: "ci-bot" });
    expect(logged).toContain("could not record the token's last use");
    expect(logged).not.toContain(secret);
  });

  it("refuses a bad token with every problem named, and a taken name (revoked or not)", async () => {
    await expect(
      tokens.create(
        { name: "Bob@example.com", owner: "ada", scopes: [], expiresAt: new Date(T0 - 1).toISOString() },
        LEAD,
      ),
    ).rejects.toMatchObject({
      kind: "invalid",
      message:
        'cannot create the token: name \'Bob@example.com\' is not a token name: lower-case letters, digits, ".", "_" and "-", at most 64, e.g. ci-bot; ' +
        "owner 'ada' is not an email: name the person behind the token, e.g. ada@example.com; " +
        "no scope: give at least one of read, admin, approve:<env>, sync:<env> or promote:<env>; " +
        "expiresAt 2025-03-04T08:59:59.999Z is not in the future",
    });
    await create();
    await tokens.revoke("ci-bot", LEAD);
    await expect(create()).rejects.toMatchObject({ kind: "conflict" });
    await expect(tokens.revoke("nobody", LEAD)).rejects.toMatchObject({ kind: "not-found" });
    expect((await audit.entries({ action: "token" })).map((e) => e.verdict)).toEqual(["created", "revoked"]);
  });
});

describe("expiryFrom", () => {
  const now = new Date(T0);

  it("reads a duration from now, or never", () => {
    expect(expiryFrom("30d", now)).toBe(new Date(T0 + 30 * DAY).toISOString());
    expect(expiryFrom("12h", now)).toBe(new Date(T0 + 12 * 3_600_000).toISOString());
    expect(expiryFrom("never", now)).toBeUndefined();
  });

  it.each(["0s", "30", "1 month", ""])("refuses %j, naming it and the forms expected", (text) => {
    expect(() => expiryFrom(text, now)).toThrow(`--expires '${text}' is not a duration like`);
  });
});
