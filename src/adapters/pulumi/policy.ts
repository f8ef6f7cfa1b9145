import type { EngineEvent } from "@pulumi/pulumi/automation";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import type { PolicyViolation } from "../../domain/gates";
import { DependencyError, ensureDependencies, type DependencyResult } from "./dependencies";

// Policy packs on the preview: the engine reports each violation as a policyEvent; these are
// read into PolicyViolations here, so the stack adapter and its tests share one reading.

/** A policyEvent as the engine writes it (the fields tidegate reads). */
export const PolicyEvent = z.looseObject({
  resourceUrn: z.string().optional(),
  message: z.string(),
  policyName: z.string(),
  policyPackName: z.string(),
  /** "mandatory", "advisory"; "remediate" reaches the engine as mandatory. */
  enforcementLevel: z.string(),
  /** Policy exceptions that matched: an excepted violation does not fail the operation. */
  exceptions: z.array(z.looseObject({ id: z.string(), reason: z.string() })).optional(),
});
export type PolicyEvent = z.infer<typeof PolicyEvent>;

// Pulumi's color directives, e.g. <{%reset%}>, in case the engine was asked for colors.
const COLOR_TAGS = /<\{%[^%]*%\}>/g;

/** One policyEvent as a violation; throws when the event does not have the expected shape. */
export function policyViolation(event: unknown): PolicyViolation {
  const parsed = PolicyEvent.safeParse(event);
  if (!parsed.success) {
    throw new Error(`unexpected policyEvent from the Pulumi engine: ${z.prettifyError(parsed.error)}`);
  }
  const e = parsed.data;
  const excepted = (e.exceptions ?? []).length > 0;
  return {
    pack: e.policyPackName,
    policy: e.policyName,
    level: e.enforcementLevel === "mandatory" && !excepted ? "mandatory" : "advisory",
    ...(e.resourceUrn ? { urn: e.resourceUrn } : {}),
    // The engine sends the policy's description, then what the policy reported.
    message: e.message.replace(COLOR_TAGS, "").trim(),
  };
}

/** Every policy violation among an operation's engine events, in the order the engine reported them. */
export function policyViolations(events: readonly EngineEvent[]): PolicyViolation[] {
  return events.flatMap((e) => (e.policyEvent ? [policyViolation(e.policyEvent)] : []));
}

/**
 * Whether a failed preview failed only because of mandatory policy violations: the engine ran to
 * its summary, found a mandatory violation, and reported no error of its own about a resource or
 * the program (its one closing error, "preview failed", names no resource). Such a preview is
 * complete, and its changes and violations are what a gate needs.
 */
export function failedOnlyOnPolicy(events: readonly EngineEvent[]): boolean {
  if (!events.some((e) => e.summaryEvent)) return false;
  if (!policyViolations(events).some((v) => v.level === "mandatory")) return false;
  const errors = events.flatMap((e) => (e.diagnosticEvent?.severity === "error" ? [e.diagnosticEvent] : []));
  return errors.length <= 1 && errors.every((d) => !d.urn);
}

/** Resource counts by operation from the engine's summary event (what the CLI's result carries). */
export function summaryOf(events: readonly EngineEvent[]): Record<string, number> {
  const summary = events.find((e) => e.summaryEvent)?.summaryEvent;
  return { ...(summary?.resourceChanges ?? {}) };
}

export interface PolicyPackDependencyOptions {
  /** Absolute folder of the pack: PulumiPolicy.yaml and package.json (with its lockfile). */
  packDir: string;
  /** The same content-addressed cache programs' dependencies use. */
  cacheDir: string;
  /** npm's whole environment; default: the install allowlist of tidegate's own. */
  env?: Record<string, string>;
  /** Run npm lifecycle scripts; default false. */
  scripts?: boolean;
  onOutput?: (line: string) => void;
  timeoutMs?: number;
}

/**
 * Makes a policy pack runnable: checks it is a Node.js pack (the only kind our language host
 * runs) and installs its dependencies through the lockfile-keyed cache, so an unchanged pack
 * costs no install.
 */
export async function ensurePolicyPackDependencies(
  options: PolicyPackDependencyOptions,
): Promise<DependencyResult> {
  const { packDir } = options;
  if (!path.isAbsolute(packDir)) {
    throw new DependencyError(`policy pack folder must be an absolute path, got '${packDir}'`);
  }
  const file = path.join(packDir, "PulumiPolicy.yaml");
  if (!fs.existsSync(file)) {
    throw new DependencyError(`${file} does not exist: a policy pack folder needs a PulumiPolicy.yaml`);
  }
  const runtime = packRuntime(file);
  if (runtime !== "nodejs") {
    throw new DependencyError(
      `${file}: runtime is '${runtime}', expected 'nodejs' (tidegate runs Node.js packs)`,
    );
  }
  return ensureDependencies({
    projectDir: packDir,
    cacheDir: options.cacheDir,
    ...(options.env ? { env: options.env } : {}),
    ...(options.scripts ? { scripts: true } : {}),
    ...(options.onOutput ? { onOutput: options.onOutput } : {}),
    ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
  });
}

/** `runtime: nodejs` or `runtime: { name: nodejs, options: ... }`. */
function packRuntime(file: string): string {
  const project = (parseYaml(fs.readFileSync(file, "utf8")) ?? {}) as { runtime?: unknown };
  const runtime = project.runtime;
  if (typeof runtime === "string") return runtime;
  if (runtime !== null && typeof runtime === "object" && "name" in runtime) return String(runtime.name);
  return "(none)";
}
