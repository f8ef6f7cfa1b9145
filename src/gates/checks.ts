import { formatDuration } from "./duration";
import { count, listOf, shortCommit } from "./text";
import type { GateCommand, CommandResult, GateVerdict } from "../domain/gates";

// The checks gate: every configured command passed at the commit being deployed. The commands are
// run elsewhere (I/O); this only reads their results.

/**
 * Pass when each command has a result at `commit` (same name) that exited 0. The name, not the
 * command text, identifies a result: the text kept in a result has secrets masked.
 */
export function evaluateCommands(
  commands: readonly GateCommand[],
  results: readonly CommandResult[],
  commit: string,
): GateVerdict {
  const at = shortCommit(commit);
  if (commands.length === 0) return { gate: "checks", verdict: "pass", reason: "no checks" };
  const problems: string[] = [];
  for (const command of commands) {
    const latest = results
      .filter((r) => r.name === command.name && r.commit === commit)
      .sort((a, b) => b.at.localeCompare(a.at))[0];
    if (!latest) problems.push(`check '${command.name}' has not run`);
    else if (latest.timedOut)
      problems.push(`check '${command.name}' timed out after ${formatDuration(command.timeoutMs)}`);
    else if (latest.exitCode === null) problems.push(`check '${command.name}' was killed`);
    else if (latest.exitCode !== 0) {
      const last = lastLine(latest.output);
      problems.push(`check '${command.name}' failed (exit ${latest.exitCode})${last ? `: ${last}` : ""}`);
    }
  }
  if (problems.length > 0) {
    return { gate: "checks", verdict: "block", reason: `${problems.join("; ")} (at commit ${at})` };
  }
  const names = commands.map((command) => `'${command.name}'`);
  return {
    gate: "checks",
    verdict: "pass",
    reason: `${count(commands.length, "check")} passed at commit ${at}: ${listOf(names)}`,
  };
}

/** The last non-blank line of a check's output, shortened: usually the failure's summary. */
function lastLine(output: string): string | undefined {
  const line = output
    .split("\n")
    .map((text) => text.trim())
    .filter((text) => text !== "")
    .at(-1);
  if (line === undefined) return undefined;
  return line.length > 160 ? `${line.slice(0, 157)}...` : line;
}
