import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";

import { type Command, type CommandContext, ExitCode, UsageError } from "./cli/command";
import { repoRoot } from "./config/repo";
import { errorKind, errorRecord, EXIT_CODES } from "./domain/errors";

// `tidegate <command> [options]`: the composition root. Each command is a module under src/cli,
// loaded only when it runs (later commands pull in the Pulumi SDK, which help and doctor never need).

interface CommandEntry {
  summary: string;
  load: () => Promise<{ command: Command }>;
}

// One line per command; its module exports `command`.
const commands: Record<string, CommandEntry> = {
  run: { summary: "Check every environment, then poll on schedule", load: () => import("./cli/run.js") },
  serve: { summary: "Serve the HTTP API alone, on the same store", load: () => import("./cli/serve.js") },
  status: { summary: "Show every environment's last status", load: () => import("./cli/status.js") },
  check: { summary: "Check one environment now: changes and drift", load: () => import("./cli/check.js") },
  drift: { summary: "Check one environment for drift now", load: () => import("./cli/drift.js") },
  sync: { summary: "Check one environment; sync it if policy allows", load: () => import("./cli/sync.js") },
  plan: {
    summary: "Show the plan a sync would apply, with the gates' verdicts",
    load: () => import("./cli/plan.js"),
  },
  approve: { summary: "Approve exactly the plan a sync would apply", load: () => import("./cli/approve.js") },
  revoke: { summary: "Revoke approvals of an environment", load: () => import("./cli/revoke.js") },
  promote: {
    summary: "Merge one environment's branch into the next",
    load: () => import("./cli/promote.js"),
  },
  report: { summary: "Print an environment's report, or its runs", load: () => import("./cli/report.js") },
  doctor: { summary: "Check what tidegate needs on this machine", load: () => import("./cli/doctor.js") },
  audit: { summary: "Show, filter or verify the audit log", load: () => import("./cli/audit.js") },
  recover: {
    summary: "Show and clear what an interrupted update left on a stack",
    load: () => import("./cli/recover.js"),
  },
  token: { summary: "Create, list or revoke the HTTP API's tokens", load: () => import("./cli/token.js") },
};

const helpOption = { help: { type: "boolean", short: "h" } } as const;

export function usage(): string {
  const width = Math.max(...Object.keys(commands).map((name) => name.length), "help".length) + 2;
  const lines = Object.entries(commands).map(([name, entry]) => `  ${name.padEnd(width)}${entry.summary}`);
  return [
    "Usage: tidegate <command> [options]",
    "",
    "GitOps engine for Pulumi: environment branches, drift and change reports, gated promotion.",
    "",
    "Commands:",
    ...lines,
    `  ${"help".padEnd(width)}Show this help, or a command's help: tidegate help <command>`,
    "",
    "Options:",
    "  -h, --help     Show help",
    "  --version      Print the tidegate version",
    "",
    `Exit codes: 0 ok, 1 failure, 2 usage error, ${kindCodes()}.`,
    "Set TIDEGATE_DEBUG=1 for stack traces.",
    "",
  ].join("\n");
}

/** "3 invalid, 4 not-found, …": the exit code of each kind of error, from EXIT_CODES. */
function kindCodes(): string {
  return Object.entries(EXIT_CODES)
    .filter(([kind]) => kind !== "internal")
    .sort(([, a], [, b]) => a - b)
    .map(([kind, code]) => `${code} ${kind}`)
    .join(", ");
}

function commandHelp(command: Command): string {
  return `Usage: tidegate ${command.usage}\n\n${command.description.trimEnd()}\n`;
}

async function loadCommand(name: string): Promise<Command> {
  const entry = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (!entry) throw new UsageError(`unknown command '${name}'`);
  return (await entry.load()).command;
}

function version(root: string): string {
  const manifest = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as {
    version?: string;
  };
  return manifest.version ?? "unknown";
}

/** Node's parseArgs throws TypeErrors with ERR_PARSE_ARGS_* codes for bad command lines. */
function parse<T>(name: string | undefined, run: () => T): T {
  try {
    return run();
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === "string" && code.startsWith("ERR_PARSE_ARGS")) {
      throw new UsageError((error as Error).message, name);
    }
    throw error;
  }
}

/** Runs one command line and returns the exit code; throws UsageError for bad command lines. */
export async function main(argv: string[], context: CommandContext): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined) {
    context.stderr(usage());
    return ExitCode.usage;
  }

  if (first.startsWith("-")) {
    const options = { ...helpOption, version: { type: "boolean" } } as const;
    const { values } = parse(undefined, () => parseArgs({ args: argv, options, strict: true }));
    if (values.version) context.stdout(`${version(context.repoRoot)}\n`);
    else context.stdout(usage());
    return ExitCode.ok;
  }

  if (first === "help") {
    const topic = rest[0];
    if (topic === undefined) context.stdout(usage());
    else context.stdout(commandHelp(await loadCommand(topic)));
    return ExitCode.ok;
  }

  const command = await loadCommand(first);
  const { values, positionals } = parse(first, () =>
    parseArgs({
      args: rest,
      options: { ...command.options, ...helpOption },
      allowPositionals: command.allowPositionals ?? false,
      strict: true,
    }),
  );
  if (values.help === true) {
    context.stdout(commandHelp(command));
    return ExitCode.ok;
  }
  return command.run({ values, positionals }, context);
}

/** Turns any error into one clean line on stderr (the stack only with TIDEGATE_DEBUG=1). */
export function reportError(error: unknown, context: Pick<CommandContext, "env" | "stderr">): number {
  const debug = context.env.TIDEGATE_DEBUG === "1";
  if (error instanceof UsageError) {
    context.stderr(`tidegate: ${error.message}\n\n`);
    if (error.command && Object.hasOwn(commands, error.command)) {
      context.stderr(`Run 'tidegate help ${error.command}' for its options.\n`);
    } else {
      context.stderr(usage());
    }
    return ExitCode.usage;
  }
  const { message, recovery } = errorRecord(error);
  const [firstLine = "", ...more] = message.trim().split("\n");
  if (debug) {
    context.stderr(`tidegate: ${error instanceof Error ? (error.stack ?? message) : message}\n`);
  } else {
    const hint = more.length > 0 ? " (TIDEGATE_DEBUG=1 shows the rest)" : "";
    context.stderr(`tidegate: ${firstLine}${hint}\n`);
  }
  if (recovery) context.stderr(`what to do: ${recovery}\n`);
  return EXIT_CODES[errorKind(error)];
}

/** The process entry point used by bin/tidegate.js and `tsx src/main.ts`. */
export async function runCli(argv: string[] = process.argv.slice(2)): Promise<void> {
  const io = {
    env: process.env,
    stdout: (text: string) => void process.stdout.write(text),
    stderr: (text: string) => void process.stderr.write(text),
  };
  try {
    process.exitCode = await main(argv, { ...io, repoRoot: repoRoot() });
  } catch (error) {
    process.exitCode = reportError(error, io);
  }
}

if (require.main === module) void runCli();
