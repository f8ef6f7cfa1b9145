import { createHash, randomBytes } from "node:crypto";
import type { TokenRecord, TokenStore } from "../adapters/store/port";
import { TidegateError } from "../domain/errors";
import { isScope, type Scope, SCOPE_FORMS } from "../domain/token";
import { DURATION_FORMS, parseDuration } from "../gates/duration";
import type { Logger } from "../log";
import { type Actor, token } from "./actor";
import type { AuditPort } from "./ports";

// API tokens: created (the secret shown once), listed, revoked, and checked on each HTTP request.
//
// Only `sha256:<hex>` of a secret is stored. The secret is 32 random bytes, so nobody can guess it
// and a slow hash (bcrypt, argon2) buys nothing: those slow down guessing a low-entropy password,
// and would cost every API request tens of milliseconds. Authentication looks the hash up by
// index: an attacker cannot steer the hash of what they send, so the lookup's timing says nothing
// about a stored secret.

/** A token as shown: never its secret nor its hash. */
export interface TokenInfo extends TokenRecord {
  state: "active" | "expired" | "revoked";
}

/** Who a valid token stands for, as the HTTP API acts for it. */
export interface Principal {
  name: string;
  owner: string;
  scopes: Scope[];
  actor: Actor;
}

export interface NewTokenInput {
  name: string;
  /** The person behind the token (an email). */
  owner: string;
  scopes: Scope[];
  /** ISO 8601; never expires when absent. */
  expiresAt?: string;
}

export interface TokenServiceDeps {
  store: TokenStore;
  audit: Pick<AuditPort, "append">;
  now?: () => Date;
  /** Where a failure to record a token's last use is reported (it never refuses the request). */
  log?: Logger;
}

/** Every secret starts with this, so a leaked one is recognisable (secret scanners, logs). */
export const SECRET_PREFIX = "tg_";
const SECRET_BYTES = 32;
/** A secret's length: the prefix and 32 bytes in base64url (43 characters). */
const SECRET_LENGTH = SECRET_PREFIX.length + Math.ceil((SECRET_BYTES * 4) / 3);
/** Last use is written at most this often per token: not one write per request. */
export const LAST_USE_RESOLUTION_MS = 60_000;

// A token's name becomes the audit log's actor and an approval's approver: no "@", so it never
// passes for a person's email in an approvers list.
const NAME = /^[a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?$/;
const EMAIL = /^[^\s@]+@[^\s@]+$/;

export class TokenService {
  private readonly now: () => Date;

  constructor(private readonly deps: TokenServiceDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  /** Makes a token; the secret is in the result only, shown once. Audited (without the secret). */
  async create(input: NewTokenInput, actor: Actor): Promise<{ secret: string; token: TokenInfo }> {
    const { name, owner, scopes, expiresAt } = checkInput(input, this.now());
    if ((await this.deps.store.tokens()).some((t) => t.name === name)) {
      throw new TidegateError("conflict", `a token named '${name}' exists already`, {
        recovery: "choose another name (names are never reused, even after a revocation)",
        remoteSafe: true,
      });
    }
    const secret = `${SECRET_PREFIX}${randomBytes(SECRET_BYTES).toString("base64url")}`;
    const record: TokenRecord = {
      name,
      owner,
      scopes,
      createdAt: this.now().toISOString(),
      createdBy: actor.id,
      ...(expiresAt ? { expiresAt } : {}),
    };
    // Audited first: a token the log cannot record is not made at all.
    await this.deps.audit.append({
      actor: actor.id,
      action: "token",
      verdict: "created",
      reason: `token ${name} for ${owner}: ${scopes.join(", ")}`,
      details: { token: name, owner, scopes, ...(expiresAt ? { expiresAt } : {}) },
    });
    await this.deps.store.addToken({ ...record, secretHash: secretHash(secret) });
    return { secret, token: this.info(record) };
  }

  /** Every token, revoked and expired ones too, by name. */
  async list(): Promise<TokenInfo[]> {
    return (await this.deps.store.tokens()).map((t) => this.info(t));
  }

  /**
   * Revokes a token at once; revoking a revoked one changes nothing. Returns the token; fails with
   * "not-found" when there is none of that name.
   */
  async revoke(name: string, actor: Actor): Promise<TokenInfo> {
    const before = (await this.deps.store.tokens()).find((t) => t.name === name);
    if (!before) {
      throw new TidegateError("not-found", `no token named '${name}'`, {
        recovery: "list the tokens with `tidegate token list`",
        remoteSafe: true,
      });
    }
    if (before.revokedAt !== undefined) return this.info(before);
    // Revoked before it is audited: taking access away never waits for the log.
    const after = await this.deps.store.revokeToken(name, actor.id, this.now().toISOString());
    await this.deps.audit.append({
      actor: actor.id,
      action: "token",
      verdict: "revoked",
      reason: `token ${name} of ${before.owner} revoked`,
      details: { token: name, owner: before.owner, scopes: before.scopes },
    });
    return this.info(after ?? before);
  }

  /** The principal of a valid secret; undefined for an unknown, expired or revoked one. */
  async authenticate(secret: string): Promise<Principal | undefined> {
    if (typeof secret !== "string" || secret.length !== SECRET_LENGTH || !secret.startsWith(SECRET_PREFIX)) {
      return undefined;
    }
    const found = await this.deps.store.tokenByHash(secretHash(secret));
    const now = this.now();
    if (!found || this.info(found).state !== "active") return undefined;
    await this.recordUse(found, now);
    return {
      name: found.name,
      owner: found.owner,
      scopes: found.scopes,
      actor: token(found.name, found.owner),
    };
  }

  private async recordUse(found: TokenRecord, now: Date): Promise<void> {
    const last = found.lastUsedAt === undefined ? Number.NaN : Date.parse(found.lastUsedAt);
    if (now.getTime() - last < LAST_USE_RESOLUTION_MS) return;
    try {
      await this.deps.store.touchToken(found.name, now.toISOString());
    } catch (error) {
      this.deps.log?.warn({ token: found.name, err: error }, "could not record the token's last use");
    }
  }

  private info(record: TokenRecord): TokenInfo {
    const expired = record.expiresAt !== undefined && Date.parse(record.expiresAt) <= this.now().getTime();
    const state = record.revokedAt !== undefined ? "revoked" : expired ? "expired" : "active";
    return { ...record, state };
  }
}

/** `sha256:<hex>` of a secret: what the store keeps and looks up. */
export function secretHash(secret: string): string {
  return `sha256:${createHash("sha256").update(secret, "utf8").digest("hex")}`;
}

/**
 * When a token given `--expires <text>` expires: `text` after `now` ("30d", "12h"), or undefined
 * for "never". TidegateError "invalid" naming the text otherwise.
 */
export function expiryFrom(text: string, now: Date): string | undefined {
  if (text.trim() === "never") return undefined;
  const ms = parseDuration(text.trim());
  if (ms === undefined || ms <= 0) {
    throw new TidegateError(
      "invalid",
      `--expires '${text}' is not ${DURATION_FORMS} (longer than zero), or "never"`,
      {
        remoteSafe: true,
      },
    );
  }
  return new Date(now.getTime() + ms).toISOString();
}

function checkInput(input: NewTokenInput, now: Date): NewTokenInput {
  const problems: string[] = [];
  if (!NAME.test(input.name)) {
    problems.push(
      `name '${input.name}' is not a token name: lower-case letters, digits, ".", "_" and "-", at most 64, e.g. ci-bot`,
    );
  }
  if (!EMAIL.test(input.owner)) {
    problems.push(
      `owner '${input.owner}' is not an email: name the person behind the token, e.g. ada@example.com`,
    );
  }
  if (input.scopes.length === 0) problems.push(`no scope: give at least one of ${SCOPE_FORMS}`);
  const bad = input.scopes.filter((scope) => !isScope(scope));
  if (bad.length > 0) problems.push(`scopes ${bad.join(", ")} are not ${SCOPE_FORMS}`);
  if (input.expiresAt !== undefined) {
    const ms = Date.parse(input.expiresAt);
    if (Number.isNaN(ms)) problems.push(`expiresAt '${input.expiresAt}' is not an ISO 8601 time`);
    else if (ms <= now.getTime()) problems.push(`expiresAt ${input.expiresAt} is not in the future`);
  }
  if (problems.length > 0) {
    throw new TidegateError("invalid", `cannot create the token: ${problems.join("; ")}`, {
      remoteSafe: true,
    });
  }
  return {
    name: input.name,
    owner: input.owner,
    scopes: [...new Set(input.scopes)],
    ...(input.expiresAt === undefined ? {} : { expiresAt: new Date(input.expiresAt).toISOString() }),
  };
}
