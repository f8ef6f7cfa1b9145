import type { CheckReport, RunRecord } from "../domain/model";
import { renderMarkdown } from "../render/markdown";
import type { Store } from "../adapters/store/port";
import { type Command, UsageError } from "./command";
import {
  CONFIG_HELP,
  CONFIG_OPTIONS,
  environmentArgument,
  flag,
  openForReading,
  type ReadContext,
  stringOption,
  withConfigErrors,
} from "./context";
import { formatHistory } from "../render/format";

// `tidegate report <env>`: a report from the store, as Markdown or JSON, or the list of runs.

const DEFAULT_LIMIT = 20;

export const command: Command = {
  usage: "report <env> [--json] [--run <id>] [--history [--limit <n>]] [--config <file>] [--data-dir <dir>]",
  description: [
    "Prints the latest check report of an environment as Markdown (the gates' verdicts, the plan digest",
    "and the approvals counted; pending changes and drift per resource and property, old → new; policy",
    "findings; the check commands with their output), or the report of one run, or the list of runs.",
    "",
    "Options:",
    "  --json              Print the report as JSON (schema version 1); with --history, the list",
    "  --run <id>          The report of this run instead of the latest",
    "  --history           List the runs: id, start time, kind, mode, trigger, commit, status (newest first)",
    `  --limit <n>         With --history: at most n runs (default ${DEFAULT_LIMIT})`,
    ...CONFIG_HELP,
  ].join("\n"),
  options: {
    ...CONFIG_OPTIONS,
    json: { type: "boolean" },
    run: { type: "string" },
    history: { type: "boolean" },
    limit: { type: "string" },
  },
  allowPositionals: true,
  run: (args, context) =>
    withConfigErrors(context, async () => {
      const name = environmentArgument(args, "report");
      const runId = stringOption(args, "run");
      const history = flag(args, "history");
      if (runId !== undefined && history)
        throw new UsageError("--run and --history exclude each other", "report");
      const limit = parseLimit(stringOption(args, "limit"));

      const read = await openForReading(args, "report", (message) =>
        context.stderr(`tidegate: warning: ${message}\n`),
      );
      try {
        assertKnown(read, name);
        const store = read.store;
        if (history) {
          const summaries = (await store?.reports(name, limit)) ?? [];
          const runs = await runsById(
            store,
            summaries.map((s) => s.runId),
          );
          if (flag(args, "json")) {
            const list = summaries.map((s) => {
              const run = runs.get(s.runId);
              const details = run && {
                kind: run.kind,
                mode: run.mode,
                trigger: run.trigger,
                commit: run.commit,
              };
              return { ...s, ...details };
            });
            context.stdout(`${JSON.stringify({ environment: name, runs: list }, null, 2)}\n`);
          } else {
            context.stdout(formatHistory(summaries, runs, new Date()));
          }
          return 0;
        }
        const report = await findReport(store, name, runId, read.dataDir);
        context.stdout(flag(args, "json") ? `${JSON.stringify(report, null, 2)}\n` : renderMarkdown(report));
        return 0;
      } finally {
        read.close();
      }
    }),
};

function parseLimit(text: string | undefined): number {
  if (text === undefined) return DEFAULT_LIMIT;
  const limit = Number(text);
  if (!Number.isInteger(limit) || limit < 1) {
    throw new UsageError(`--limit takes a whole number of at least 1, not '${text}'`, "report");
  }
  return limit;
}

function assertKnown(read: ReadContext, name: string): void {
  if (!read.environments || read.environments.some((env) => env.name === name)) return;
  const known = read.environments.map((env) => env.name).join(", ") || "none";
  throw new UsageError(`unknown environment '${name}' (known: ${known})`, "report");
}

async function findReport(
  store: Store | undefined,
  name: string,
  runId: string | undefined,
  dataDir: string,
): Promise<CheckReport> {
  if (runId !== undefined) {
    const report = await store?.report(runId);
    if (!report || report.environment !== name) {
      throw new Error(
        `no report of run '${runId}' for environment '${name}' (see tidegate report ${name} --history)`,
      );
    }
    return report;
  }
  const report = await store?.latestReport(name);
  if (!report) {
    throw new Error(
      `no report for '${name}' in ${dataDir} yet: run \`tidegate check ${name}\` (or \`tidegate run\`) first`,
    );
  }
  return report;
}

async function runsById(store: Store | undefined, ids: string[]): Promise<Map<string, RunRecord>> {
  const runs = new Map<string, RunRecord>();
  for (const id of ids) {
    const run = await store?.run(id);
    if (run) runs.set(id, run);
  }
  return runs;
}
