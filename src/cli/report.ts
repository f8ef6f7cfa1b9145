import { UnknownEnvironmentError } from "../app/errors";
import { history as runHistory, latestReport, runReport } from "../app/read";
import { renderMarkdown } from "../render/markdown";
import { type Command, UsageError } from "./command";
import {
  CONFIG_HELP,
  CONFIG_OPTIONS,
  environmentArgument,
  flag,
  openForReading,
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
        if (history) {
          const runs = await asUsage(() => runHistory(read, name, limit));
          if (flag(args, "json")) {
            context.stdout(`${JSON.stringify({ environment: name, runs }, null, 2)}\n`);
          } else {
            context.stdout(formatHistory(runs, new Date()));
          }
          return 0;
        }
        const report = await asUsage(() =>
          runId === undefined ? latestReport(read, name) : runReport(read, name, runId),
        );
        context.stdout(flag(args, "json") ? `${JSON.stringify(report, null, 2)}\n` : renderMarkdown(report));
        return 0;
      } finally {
        await read.close();
      }
    }),
};

/** An unknown environment is a bad command line here (exit code 2, with the command's help). */
async function asUsage<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof UnknownEnvironmentError) throw new UsageError(error.message, "report");
    throw error;
  }
}

function parseLimit(text: string | undefined): number {
  if (text === undefined) return DEFAULT_LIMIT;
  const limit = Number(text);
  if (!Number.isInteger(limit) || limit < 1) {
    throw new UsageError(`--limit takes a whole number of at least 1, not '${text}'`, "report");
  }
  return limit;
}
