import { context, propagation } from "@opentelemetry/api";

// Pulumi's own spans under the run's: the pinned CLI (3.274) exports OpenTelemetry spans with
// --otel-traces <endpoint> and takes its parent from TRACEPARENT. Only previews and updates get
// them, and only when traces are configured.

const TRACED_COMMANDS = new Set(["preview", "up"]);

/** The CLI's arguments and variables with tracing added for a preview or an update. */
export function withPulumiTracing<Env extends Record<string, string | undefined>>(
  endpoint: string | undefined,
  args: string[],
  env: Env,
): { args: string[]; env: Env } {
  if (!endpoint || !TRACED_COMMANDS.has(args[0] ?? "")) return { args, env };
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return {
    args: [...args, "--otel-traces", endpoint],
    env: { ...env, ...(carrier.traceparent ? { TRACEPARENT: carrier.traceparent } : {}) },
  };
}
