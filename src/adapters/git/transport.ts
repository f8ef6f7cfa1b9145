import * as path from "node:path";
import type { GitTimeouts } from "../../config/resolve";
import { formatDuration } from "../../gates/duration";
import type { GitTimeoutLimit } from "./errors";

// How each transport is kept from hanging. Git over http(s) gets curl's low-speed limit; Git over
// ssh gets OpenSSH's connect timeout and keepalives. Everything, local paths too, also runs under
// a hard deadline that stops Git's whole process group (process.ts), since neither limit catches a
// remote that answers keepalives but never sends the pack.

/** Bytes per second below which a transfer counts as stalled (http.lowSpeedLimit). */
export const LOW_SPEED_BYTES = 1000;

export type Transport = "http" | "ssh" | "other";

/** The transport Git uses for a remote URL (as Git reads it: `host:path` is ssh). */
export function transportOf(url: string): Transport {
  if (/^https?:\/\//i.test(url)) return "http";
  if (/^(?:ssh|git\+ssh|ssh\+git):\/\//i.test(url)) return "ssh";
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) return "other";
  // scp-like `[user@]host:path`: a colon before any slash. A local path has none.
  const colon = url.indexOf(":");
  const slash = url.indexOf("/");
  return colon > 0 && (slash === -1 || colon < slash) ? "ssh" : "other";
}

/** `-c` settings for an http(s) remote. */
export function httpConfig(timeouts: GitTimeouts): string[] {
  return [`http.lowSpeedLimit=${LOW_SPEED_BYTES}`, `http.lowSpeedTime=${seconds(timeouts.lowSpeedMs)}`];
}

/**
 * GIT_SSH_COMMAND for an ssh remote: the user's own command (GIT_SSH_COMMAND given to tidegate, or
 * core.sshCommand) or `ssh`, with tidegate's limits appended. ssh takes the first value it sees
 * for an option, so limits the user's command sets itself win. A command that is not OpenSSH's
 * `ssh` (plink, a wrapper script) is left as it is, bounded by the deadline alone: undefined.
 */
export function sshCommand(timeouts: GitTimeouts, configured?: string): string | undefined {
  const base = configured?.trim() || "ssh";
  const program = base.split(/\s+/)[0].replace(/^["']|["']$/g, "");
  if (path.basename(program) !== "ssh") return undefined;
  const interval = Math.max(1, Math.ceil(seconds(timeouts.lowSpeedMs) / 2));
  return [
    base,
    `-o ConnectTimeout=${seconds(timeouts.connectMs)}`,
    `-o ServerAliveInterval=${interval}`,
    "-o ServerAliveCountMax=2",
    "-o BatchMode=yes",
  ].join(" ");
}

/** Which of the transport's own limits Git's (LC_ALL=C) stderr says fired, if any. */
export function timeoutIn(stderr: string): Exclude<GitTimeoutLimit, "deadline"> | undefined {
  // curl: "Operation too slow. Less than 1000 bytes/sec transferred the last 60 seconds";
  // ssh: "Timeout, server example.com not responding." (keepalives unanswered).
  if (/Operation too slow|Timeout, server .* not responding/i.test(stderr)) return "low-speed";
  // ssh: "Connection timed out during banner exchange", "connect to host h port 22: Connection
  // timed out"; curl: "Connection timed out after 300000 milliseconds", "Resolving timed out".
  if (/Connection timed out|Resolving timed out|Connection timeout/i.test(stderr)) return "connect";
  return undefined;
}

/** Git's words when the connection was cut before the transfer finished. */
export function remoteClosedIn(stderr: string): boolean {
  return /early EOF|remote end hung up unexpectedly|transfer closed with outstanding read data|Connection reset by peer|Connection closed by|Empty reply from server|unexpected disconnect|RPC failed; curl (?:18|52|56)/i.test(
    stderr,
  );
}

/** What happened, for a `GitTimeoutError`, with the limit as configured. */
export function timeoutWhat(limit: GitTimeoutLimit, transport: Transport, timeouts: GitTimeouts): string {
  if (limit === "connect") return `no connection was made within ${formatDuration(timeouts.connectMs)}`;
  if (limit === "no-answer")
    return `the remote did not answer at all within ${formatDuration(noAnswerMs(timeouts))}`;
  if (limit === "low-speed") {
    return transport === "ssh"
      ? `the ssh connection stopped answering keepalives for about ${formatDuration(timeouts.lowSpeedMs)}`
      : `the remote accepted the connection but sent less than ${LOW_SPEED_BYTES} bytes/s for ${formatDuration(timeouts.lowSpeedMs)}`;
  }
  return "it did not finish in time and was stopped";
}

/** How long a fetch or push may go without Git printing anything before the remote counts as silent. */
export function noAnswerMs(timeouts: GitTimeouts): number {
  return timeouts.connectMs + timeouts.lowSpeedMs;
}

/** Git's stderr without the progress updates each later one overwrote (`\r`). */
export function withoutProgress(stderr: string): string {
  return stderr.replace(/[^\n\r]*\r(?!\n)/g, "");
}

function seconds(ms: number): number {
  return Math.max(1, Math.round(ms / 1000));
}
