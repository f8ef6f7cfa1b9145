import type { EmulatorKind } from "../devenv/emulator";

// The pure half of `tidegate doctor`: check results, version arithmetic, parsing of tool output and
// formatting. Nothing here starts a process or reads a file, so it is unit-tested directly.

export interface Finding {
  name: string;
  ok: boolean;
  /** A failing required check makes doctor exit 1; optional ones only inform. */
  required: boolean;
  detail: string;
  fix?: string;
}

export interface DoctorReport {
  ok: boolean;
  checks: Finding[];
}

/** The command that installs everything doctor checks for. */
export const SETUP_FIX = "bash scripts/setup.sh";

/** The first dotted number in a tool's output: "go version go1.26.8 linux/amd64" gives [1, 26, 8]. */
export function parseVersion(text: string): number[] | undefined {
  const match = /(\d+)\.(\d+)(?:\.(\d+))?/.exec(text);
  if (!match) return undefined;
  return match.slice(1).map((part) => Number(part ?? 0));
}

/** Compares two version strings numerically (pre-release suffixes are ignored). */
export function compareVersions(a: string, b: string): number {
  const left = parseVersion(a);
  const right = parseVersion(b);
  if (!left || !right) throw new Error(`cannot compare versions '${a}' and '${b}'`);
  for (let i = 0; i < Math.max(left.length, right.length); i++) {
    const diff = (left[i] ?? 0) - (right[i] ?? 0);
    if (diff !== 0) return Math.sign(diff);
  }
  return 0;
}

/** False too when `actual` holds no version at all (a tool that printed garbage is not new enough). */
export function isAtLeast(actual: string, minimum: string): boolean {
  return parseVersion(actual) !== undefined && compareVersions(actual, minimum) >= 0;
}

/** The pinned Pulumi release: the pkg/v3 requirement in toolchain/pulumi/go.mod (as scripts/toolchain.sh reads it). */
export function pinnedPulumiVersion(goMod: string): string | undefined {
  for (const line of goMod.split("\n")) {
    const fields = line.trim().split(/\s+/);
    const [module, version] = fields[0] === "require" ? fields.slice(1) : fields;
    if (module === "github.com/pulumi/pulumi/pkg/v3" && version?.startsWith("v")) return version;
  }
  return undefined;
}

export interface PluginInfo {
  name: string;
  kind: string;
  version: string;
}

/** Resource plugins from `pulumi plugin ls --json` (an array, or `null` when none are installed). */
export function parsePluginList(json: string): PluginInfo[] {
  const parsed: unknown = JSON.parse(json || "[]");
  if (!Array.isArray(parsed)) return [];
  return parsed.flatMap((entry: unknown) => {
    if (typeof entry !== "object" || entry === null) return [];
    const { name, kind, version } = entry as Record<string, unknown>;
    if (typeof name !== "string") return [];
    return [{ name, kind: String(kind ?? ""), version: String(version ?? "") }];
  });
}

/** Why chooseEmulator picked `kind`, in words, for doctor's emulator line. */
export function emulatorReason(kind: EmulatorKind): string {
  switch (kind) {
    case "external":
      return "AWS_ENDPOINT_URL is set";
    case "localstack-container":
      return "a Docker engine is reachable";
    case "localstack-host":
      return "no AWS_ENDPOINT_URL and no Docker engine; LocalStack runs on the host";
    case "moto":
      return "no AWS_ENDPOINT_URL and no Docker engine";
  }
}

export function summarize(checks: Finding[]): DoctorReport {
  return { ok: checks.every((check) => check.ok || !check.required), checks };
}

export function exitCode(report: DoctorReport): 0 | 1 {
  return report.ok ? 0 : 1;
}

const MARK = { ok: "✔", failed: "✖", optional: "•" } as const;

function mark(check: Finding): string {
  if (check.ok) return MARK.ok;
  return check.required ? MARK.failed : MARK.optional;
}

/**
 * One aligned line per check, the fix indented under anything not ok, then a verdict line that
 * names the fixes for the required failures.
 */
export function formatHuman(report: DoctorReport): string {
  const width = Math.max(0, ...report.checks.map((check) => check.name.length)) + 2;
  const indent = " ".repeat(2 + width);
  const lines: string[] = [];
  for (const check of report.checks) {
    lines.push(`${mark(check)} ${check.name.padEnd(width)}${check.detail}`);
    if (!check.ok && check.fix) lines.push(`${indent}fix: ${check.fix}`);
  }
  lines.push("");
  const failed = report.checks.filter((check) => check.required && !check.ok);
  const optional = report.checks.filter((check) => !check.required && !check.ok);
  const optionalNote = optional.length > 0 ? ` (${optional.length} optional not available)` : "";
  if (failed.length === 0) {
    lines.push(`All required checks passed${optionalNote}.`);
  } else {
    const names = failed.map((check) => check.name).join(", ");
    const fixes = [...new Set(failed.flatMap((check) => (check.fix ? [check.fix] : [])))];
    const noun = failed.length === 1 ? "check" : "checks";
    lines.push(`${failed.length} required ${noun} failed: ${names}.`);
    if (fixes.length > 0) lines.push(`Fix: ${fixes.join("; ")}`);
  }
  return `${lines.join("\n")}\n`;
}

export function formatJson(report: DoctorReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}
