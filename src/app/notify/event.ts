import type { NotifyEventName } from "../../config/schema";

// One notification as queued in the outbox (JSON) and rendered per sink when sent.

export interface ChangedResource {
  name: string;
  type: string;
  action: string;
  /** "path: old → new", values masked as in reports and shortened. */
  properties: string[];
}

export interface NotifyEvent {
  /** Stable identity: queued once per sink. */
  key: string;
  name: NotifyEventName;
  environment: string;
  /** ISO 8601: when it happened (or was seen). */
  at: string;
  /** One line: what changed ("prod is Drifted", "prod has been AwaitingApproval for 26h"). */
  title: string;
  status?: string;
  previous?: string;
  /** Why: the gate's reason, the error, the comment. */
  reason?: string;
  actor?: string;
  commit?: { sha: string; author?: string; message?: string };
  /** The top resources that differ (pending or drifted), from the latest report. */
  changes?: { kind: "pending" | "drift"; resources: ChangedResource[]; more: number };
  /** What a sync applied, by operation. */
  applied?: Record<string, number>;
  /** Staleness: since when, and for how long (ms). */
  since?: string;
  ageMs?: number;
  /** The environment's dashboard page. */
  link: string;
}

/** "26h", "3d 2h", "45m 10s", "2s": days only from two days on, so a day and a bit reads "26h". */
export function formatAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const [d, h, m] = [Math.floor(s / 86_400), Math.floor(s / 3600), Math.floor(s / 60)];
  const pair = (big: number, bigUnit: string, small: number, smallUnit: string) =>
    small > 0 ? `${big}${bigUnit} ${small}${smallUnit}` : `${big}${bigUnit}`;
  if (d >= 2) return pair(d, "d", h % 24, "h");
  if (h >= 1) return pair(h, "h", m % 60, "m");
  if (m >= 1) return pair(m, "m", s % 60, "s");
  return `${s}s`;
}
