// Each measure of `npm run bench` beside its goal from issue 12: printed as a table, and written as
// JSON with `--json <file>` so a later run (or CI) can compare.
import * as fs from "node:fs";

export interface GoalRow {
  measure: string;
  value: number;
  /** The most `value` may be for the goal to be met. */
  goal: number;
  unit: "×" | "s" | "MB" | "%";
  /** What the value was measured against, shown under the table ("tidegate --help 31 ms / node -e 0 19 ms"). */
  detail?: string;
}

export interface GoalResult extends GoalRow {
  met: boolean;
}

export function judge(rows: readonly GoalRow[]): GoalResult[] {
  return rows.map((row) => ({ ...row, met: Number.isFinite(row.value) && row.value <= row.goal }));
}

function shown(value: number, unit: GoalRow["unit"]): string {
  if (!Number.isFinite(value)) return "n/a";
  if (unit === "×") return `${value.toFixed(2)}×`;
  if (unit === "s") return `${value.toFixed(2)} s`;
  if (unit === "%") return `${value.toFixed(1)}%`;
  return `${Math.round(value)} MB`;
}

/** A Markdown table: measure, value, goal (≤), met? — with each row's detail listed below it. */
export function formatGoalTable(results: readonly GoalResult[]): string {
  const lines = ["| measure | value | goal | met? |", "|---|---:|---:|:---:|"];
  for (const row of results) {
    lines.push(
      `| ${row.measure} | ${shown(row.value, row.unit)} | ≤ ${shown(row.goal, row.unit)} | ${row.met ? "yes" : "no"} |`,
    );
  }
  const details = results.filter((row) => row.detail !== undefined);
  if (details.length > 0) lines.push("", ...details.map((row) => `- ${row.measure}: ${row.detail}`));
  return `${lines.join("\n")}\n`;
}

/** The file named by `--json <file>` (or `--json=<file>`), if any. */
export function jsonTarget(argv: readonly string[]): string | undefined {
  for (const [i, arg] of argv.entries()) {
    if (arg.startsWith("--json=")) return arg.slice("--json=".length) || undefined;
    if (arg === "--json") {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith("--")) throw new Error("bench: --json needs a file name");
      return next;
    }
  }
  return undefined;
}

export function writeGoalJson(file: string, results: readonly GoalResult[], at = new Date()): void {
  const body = { measuredAt: at.toISOString(), node: process.version, results };
  fs.writeFileSync(file, `${JSON.stringify(body, null, 2)}\n`);
}

/**
 * A bench run alone (`npx tsx bench/<part>.ts [--json <file>]`): prints what `measure` says (its
 * own table first, if any), then the goals table, writes `--json`, and exits 1 on an error.
 */
export function runAlone(
  argv: readonly string[],
  measure: () => Promise<{ goals: readonly GoalRow[]; table?: string }>,
): void {
  const target = jsonTarget(argv);
  measure()
    .then(({ goals, table }) => {
      if (table !== undefined) console.log(table);
      const results = judge(goals);
      console.log(formatGoalTable(results));
      if (target) writeGoalJson(target, results);
    })
    .catch((error: unknown) => {
      console.error(error);
      process.exit(1);
    });
}
