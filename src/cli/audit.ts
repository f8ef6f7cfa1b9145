import { AUDIT_ACTIONS, type AuditAction, type AuditEntry } from "../adapters/audit/entry";
import type { AuditFilter } from "../adapters/audit/content";
import { type AuditReader, auditEntries, auditHead, verifyAudit } from "../app/read";
import type { VerifyResult } from "../adapters/audit/verify";
import { type Command, type CommandArgs, ExitCode, UsageError } from "./command";
import { CONFIG_HELP, CONFIG_OPTIONS, flag, storeSettings, stringOption, withConfigErrors } from "./context";
import { alignColumns, clean, reasonLine } from "../render/format";

// `tidegate audit`: the audit log of the data directory, shown, filtered, verified. It needs only
// the data directory: no Git, no Pulumi, no store.

const SUBCOMMANDS = ["verify", "head"] as const;
const FILTER_OPTIONS = ["env", "action", "actor", "since", "until", "commit", "limit"] as const;

export const command: Command = {
  usage:
    "audit [verify | head] [--env <env>] [--action <a>] [--actor <who>] [--since <t>] [--limit <n>] [--json]",
  description: [
    "Shows the audit log: every decision (check, gate verdict, approval, revocation, sync, promotion,",
    "failure), oldest first, with its actor, environment, commit, plan digest, verdict and reason.",
    "Each entry carries the hash of the one before it, and the head anchor (audit.head.json) the",
    "hash of the last one, so an edited, removed, reordered or cut-off entry shows.",
    "",
    "  tidegate audit           the entries (filtered by the options below)",
    "  tidegate audit verify    check the whole chain: exit 0 when intact, 1 naming the first bad entry",
    "  tidegate audit head      the last entry's hash, once verified: publish it (a ticket, a chat",
    "                           channel, a commit) so even a rewrite of the log and its anchor shows",
    "",
    "Options:",
    "  --env <env>         Only this environment's entries",
    `  --action <a>        Only this action: ${AUDIT_ACTIONS.join(", ")}`,
    "  --actor <who>       Only this actor (an email or user name; case does not matter)",
    "  --since <t>         Only entries at or after t: an ISO time (2025-05-01, 2025-05-01T12:00Z)",
    "                      or an age (90m, 1h, 2d, 1w)",
    "  --until <t>         Only entries before t (same forms)",
    "  --commit <sha>      Only entries of this commit (a prefix will do)",
    "  --limit <n>         Only the newest n matching entries",
    "  --json              Print JSON: { entries: [...] }; for verify and head, the result",
    ...CONFIG_HELP,
  ].join("\n"),
  options: {
    ...CONFIG_OPTIONS,
    env: { type: "string" },
    action: { type: "string" },
    actor: { type: "string" },
    since: { type: "string" },
    until: { type: "string" },
    commit: { type: "string" },
    limit: { type: "string" },
    json: { type: "boolean" },
  },
  allowPositionals: true,
  run: (args, context) =>
    withConfigErrors(context, async () => {
      const sub = subcommand(args);
      const json = flag(args, "json");
      if (sub === undefined) {
        const filter = parseFilter(args, new Date());
        const log = await openAudit(args);
        const { entries, verification } = await auditEntries(log, filter).finally(() => log.close());
        if (json) {
          context.stdout(`${JSON.stringify({ entries }, null, 2)}\n`);
        } else {
          context.stdout(formatAuditTable(entries));
        }
        if (!verification.ok) {
          context.stderr(`tidegate: warning: the audit log does not verify: ${badLine(verification)}\n`);
        }
        return ExitCode.ok;
      }

      const given = FILTER_OPTIONS.filter((name) => args.values[name] !== undefined);
      if (given.length > 0) {
        throw new UsageError(`audit ${sub} takes no filters (got --${given.join(", --")})`, "audit");
      }
      const log = await openAudit(args);
      const result = await (sub === "head" ? auditHead(log) : verifyAudit(log)).finally(() => log.close());
      if (json) {
        // The head is printed bare: { file, seq, head }; a verdict whole.
        const out = "seq" in result ? { seq: result.seq, head: result.head } : result;
        context.stdout(`${JSON.stringify({ file: log.file, ...out }, null, 2)}\n`);
      } else if (!result.ok) {
        const intact = `${count(result.entries)} before it ${result.entries === 1 ? "is" : "are"} intact`;
        context.stdout(`${log.file}: ${badLine(result)}\n${intact}.\n`);
      } else if ("seq" in result) {
        context.stdout(`seq ${result.seq} head ${result.head}\n`);
      } else {
        context.stdout(`${count(result.entries)}, chain intact, head ${result.head}\n`);
      }
      return result.ok ? ExitCode.ok : ExitCode.failure;
    }),
};

function subcommand(args: CommandArgs): (typeof SUBCOMMANDS)[number] | undefined {
  const [first, ...extra] = args.positionals;
  if (first === undefined) return undefined;
  if (extra.length > 0)
    throw new UsageError(`audit takes one subcommand, got ${args.positionals.length}`, "audit");
  const known = SUBCOMMANDS.find((name) => name === first);
  if (!known) {
    throw new UsageError(
      `unknown audit subcommand '${first}' (expected ${SUBCOMMANDS.join(" or ")})`,
      "audit",
    );
  }
  return known;
}

/** The audit log beside the configured store (see storeSettings). */
async function openAudit(args: CommandArgs): Promise<AuditReader & { close(): Promise<void> }> {
  const { auditFor, storeSpec } = await import("../compose.js");
  const settings = storeSettings(args, "audit");
  const { audit, close } = auditFor(storeSpec(settings), settings.dataDir);
  return Object.assign(audit, { close });
}

function count(entries: number): string {
  return `${entries} ${entries === 1 ? "entry" : "entries"}`;
}

function badLine(result: Extract<VerifyResult, { ok: false }>): string {
  const { seq, line, problem } = result.firstBad;
  return `line ${line}${seq === undefined ? "" : ` (seq ${seq})`}: ${problem}`;
}

/** The filter the options ask for; a bad value is a usage error naming it and what is accepted. */
export function parseFilter(args: CommandArgs, now: Date): AuditFilter {
  const filter: AuditFilter = {};
  const env = stringOption(args, "env");
  if (env !== undefined) filter.environment = env;
  const action = stringOption(args, "action");
  if (action !== undefined) {
    if (!(AUDIT_ACTIONS as readonly string[]).includes(action)) {
      throw new UsageError(`--action takes one of ${AUDIT_ACTIONS.join(", ")}, not '${action}'`, "audit");
    }
    filter.action = action as AuditAction;
  }
  const actor = stringOption(args, "actor");
  if (actor !== undefined) filter.actor = actor;
  const commit = stringOption(args, "commit");
  if (commit !== undefined) filter.commit = commit;
  for (const name of ["since", "until"] as const) {
    const text = stringOption(args, name);
    if (text === undefined) continue;
    const time = parseTime(text, now);
    if (!time) {
      throw new UsageError(
        `--${name} takes an ISO time (2025-05-01, 2025-05-01T12:00Z) or an age (90m, 1h, 2d, 1w), not '${text}'`,
        "audit",
      );
    }
    filter[name] = time;
  }
  const limit = stringOption(args, "limit");
  if (limit !== undefined) {
    const n = Number(limit);
    if (!Number.isInteger(n) || n < 1) {
      throw new UsageError(`--limit takes a whole number of at least 1, not '${limit}'`, "audit");
    }
    filter.limit = n;
  }
  return filter;
}

const UNIT_MS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** An age ("90m", "1h30m", "2d", "1w": that long before `now`) or an ISO date or time. */
export function parseTime(text: string, now: Date): Date | undefined {
  const trimmed = text.trim();
  if (/^(\d+[smhdw])+$/.test(trimmed)) {
    let ms = 0;
    for (const [, amount, unit] of trimmed.matchAll(/(\d+)([smhdw])/g)) {
      ms += Number(amount) * (UNIT_MS[unit ?? ""] ?? 0);
    }
    return new Date(now.getTime() - ms);
  }
  // Only ISO forms: Date.parse accepts much else ("1", "May"), which would filter silently wrong.
  if (!/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(trimmed)) {
    return undefined;
  }
  const ms = Date.parse(trimmed);
  return Number.isNaN(ms) ? undefined : new Date(ms);
}

/** SEQ, TIME, ACTOR, ACTION, ENV, COMMIT, DIGEST, VERDICT, REASON; one line each, oldest first. */
export function formatAuditTable(entries: readonly AuditEntry[]): string {
  if (entries.length === 0) return "No audit entries.\n";
  const header = ["SEQ", "TIME", "ACTOR", "ACTION", "ENV", "COMMIT", "DIGEST", "VERDICT", "REASON"];
  const cells = entries.map((entry) => [
    String(entry.seq),
    clean(entry.time).replace(/\.\d+Z$/, "Z"),
    clean(entry.actor),
    entry.action,
    cell(entry.environment),
    cell(entry.commit, 12),
    cell(entry.planDigest?.replace(/^sha256:/, ""), 12),
    cell(entry.verdict),
    reasonLine(entry.reason, 100) ?? "-",
  ]);
  return `${alignColumns([header, ...cells]).join("\n")}\n`;
}

function cell(text: string | undefined, width?: number): string {
  if (text === undefined || text === "") return "-";
  const line = clean(text);
  return width === undefined ? line : line.slice(0, width);
}
