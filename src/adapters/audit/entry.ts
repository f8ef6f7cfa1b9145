import { createHash } from "node:crypto";

import { z } from "zod";
import { canonicalJson } from "../../domain/canonical-json";

// One audit entry: its shape, its canonical form and its hash. Pure: no file, no clock.

export const AUDIT_ACTIONS = [
  "check",
  "gate",
  "approve",
  "revoke",
  "sync",
  "promote",
  "failure",
  "gates-change",
  "break-glass",
  "recover",
  /** The daemon stopped running an environment that failed the same way again and again, or resumed it. */
  "stall",
  /** The remote could not be polled (verdict "started"), or answered again ("ended"). */
  "outage",
  /** An API token was created or revoked (verdict "created" / "revoked"); never its secret. */
  "token",
  /** A person's restore of drift (tidegate sync --restore-drift): its verdict is the run's status. */
  "restore-drift",
  /** A person's accept of drift into the deployed state (tidegate sync --accept-drift). */
  "accept-drift",
] as const;

export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/** The `prev` of the first entry: there is no previous hash. */
export const GENESIS_HASH = "0".repeat(64);

const Sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, "a sha256 in lowercase hex (64 characters)");

/** One line of the log, as read back (the trust boundary: the file may have been edited). */
export const AuditEntry = z.looseObject({
  seq: z.number().int().min(1),
  time: z.iso.datetime({ offset: true }),
  actor: z.string().min(1),
  action: z.enum(AUDIT_ACTIONS),
  environment: z.string().optional(),
  commit: z.string().optional(),
  planDigest: z.string().optional(),
  verdict: z.string().optional(),
  reason: z.string().optional(),
  details: z.record(z.string(), z.unknown()).optional(),
  /** The hash of the previous entry; GENESIS_HASH for seq 1. */
  prev: Sha256Hex,
  /** sha256 over the canonical JSON of every other field, `prev` included. */
  hash: Sha256Hex,
});
export type AuditEntry = z.infer<typeof AuditEntry>;

/** What a caller records; the log adds seq, time, prev and hash. */
export interface AuditInput {
  actor: string;
  action: AuditAction;
  environment?: string;
  commit?: string;
  planDigest?: string;
  verdict?: string;
  reason?: string;
  details?: Record<string, unknown>;
}

/** The hash an entry must carry: sha256 (hex) of the canonical JSON of all its fields but `hash`. */
export function entryHash(entry: Record<string, unknown>): string {
  const { hash: _hash, ...content } = entry;
  return createHash("sha256").update(canonicalJson(content), "utf8").digest("hex");
}

/** An entry as one line of the file: fields in a fixed, readable order, then the hash. */
export function formatLine(entry: AuditEntry): string {
  const { seq, time, actor, action, hash, prev, ...rest } = entry;
  return `${JSON.stringify({ seq, time, actor, action, ...rest, prev, hash })}\n`;
}

/**
 * A line read back: the entry and the hash its content gives (`computedHash`; equal to `entry.hash`
 * unless the line was edited), or what is wrong with it, with its seq when that much could be read.
 */
export type ParsedLine =
  { ok: true; entry: AuditEntry; computedHash: string } | { ok: false; problem: string; seq?: number };

/** One line of the file → an entry (JSON and shape checked; the hash is computed, not compared). */
export function parseLine(text: string): ParsedLine {
  if (text.trim() === "") return { ok: false, problem: "empty line" };
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    return { ok: false, problem: `not valid JSON (${(error as Error).message})` };
  }
  const result = AuditEntry.safeParse(data);
  if (!result.success) {
    const issue = result.error.issues[0];
    const field = issue?.path.map(String).join(".") || "the line";
    const seq = (data as { seq?: unknown } | null)?.seq;
    return {
      ok: false,
      problem: `not an audit entry: ${field}: ${issue?.message ?? "invalid"}`,
      ...(Number.isInteger(seq) ? { seq: seq as number } : {}),
    };
  }
  // The hash covers what is in the file, unknown fields included, so nothing can be slipped in.
  return { ok: true, entry: result.data, computedHash: entryHash(data as Record<string, unknown>) };
}

/** The problem of an entry whose hash does not match its content. */
export function editedProblem(recorded: string, computed: string): string {
  return `its hash does not match its content (the entry was edited): recorded ${short(recorded)}, computed ${short(computed)}`;
}

export function short(hash: string): string {
  return hash.slice(0, 12);
}
