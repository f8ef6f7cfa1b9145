import { shortSha } from "../domain/commit";
// Small helpers for the gates' reasons: short ids and lists in plain words.

/** "sha256:0123456789abcdef…" → "0123456789ab". */
export function shortDigest(digest: string): string {
  return digest.replace(/^sha256:/, "").slice(0, 12);
}

/** A commit sha as people read it. */
export function shortCommit(sha: string): string {
  return shortSha(sha);
}

/** ["a"] → "a"; ["a", "b", "c"] → "a, b or c" (or "and"). */
export function listOf(items: readonly string[], last: "or" | "and" = "and"): string {
  if (items.length <= 1) return items.join("");
  return `${items.slice(0, -1).join(", ")} ${last} ${items.at(-1)}`;
}

/** "1 approval", "2 approvals". */
export function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

/** Identities (emails, names) compare case-insensitively, surrounding blanks ignored. */
export function sameIdentity(a: string, b: string): boolean {
  return a.trim().toLowerCase() === b.trim().toLowerCase();
}
