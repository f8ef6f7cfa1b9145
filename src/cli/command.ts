import type { ParseArgsOptionsConfig } from "node:util";
import { TidegateError } from "../domain/errors";

/** Process exit codes every command shares. */
export const ExitCode = { ok: 0, failure: 1, usage: 2 } as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** What `parseArgs` produced for a command's own options (after the command name). */
export interface CommandArgs {
  values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  positionals: string[];
}

/** Everything a command may touch of the outside world; main.ts builds it once. */
export interface CommandContext {
  repoRoot: string;
  env: NodeJS.ProcessEnv;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

/** One `tidegate <name>` command: a module under src/cli exporting `command`. */
export interface Command {
  /** Shown after `tidegate ` in usage lines, e.g. "doctor [--json]". */
  usage: string;
  /** Longer help for `tidegate <name> --help`. */
  description: string;
  options: ParseArgsOptionsConfig;
  /** Whether bare arguments are accepted; commands reject them by default. */
  allowPositionals?: boolean;
  run(args: CommandArgs, context: CommandContext): Promise<number>;
}

/** Bad command line: main prints the message with usage and exits with code 2. */
export class UsageError extends TidegateError {
  constructor(
    message: string,
    readonly command?: string,
  ) {
    super("invalid", message, { remoteSafe: true });
    this.name = "UsageError";
  }
}
