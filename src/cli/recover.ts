import * as readline from "node:readline/promises";
import { cliActor } from "./actor";
import type { Confirmation, RecoverResult, RecoveryPlan } from "../app/recover";
import { type Command, ExitCode } from "./command";
import { CONFIG_HELP, CONFIG_OPTIONS, flag, withConfigErrors } from "./context";
import { withEnvironmentEngine } from "./environment-session";
import { formatCheckSummary } from "../render/format";

// `tidegate recover <env>`: what an update killed mid-way left on the stack, and, once a person
// confirms, Pulumi's cancel and a refresh that clears pending creates (see src/app/recover.ts).

export const command: Command = {
  usage: "recover <env> [--stack <name>] [--yes] [--approve] [--json] [--config <file>] [--data-dir <dir>]",
  description: [
    "Shows what an interrupted update (tidegate killed, a crash) left on the environment's stack: its",
    "pending operations (type and URN) and whether Pulumi's lock is still held. Once you confirm, runs",
    "`pulumi cancel` (releases the lock) and `pulumi refresh --clear-pending-creates` with the",
    "environment's backend, passphrase, plugins and sandbox, holding the environment as a sync does;",
    "then checks it (report only), so the status is current. Every step is in the audit log.",
    "",
    "It changes no cloud resource, only the state: a pending create is forgotten (if the resource was",
    "created, it is no longer managed: import it or delete it by hand), other pending operations are",
    "read back from the cloud. So confirm the listed resources in the cloud first. Where the",
    "environment protects operations on a listed resource, `refuse` means tidegate does not clear it",
    "(do it by hand with the commands shown), `approve` means another person approves exactly these",
    "pending operations first with `tidegate recover <env> --approve`.",
    "",
    "Options:",
    "  --stack <name>      The stack to recover, for an environment of several (its name in the file)",
    "  --yes               Confirm without asking (needed when stdin is not a terminal)",
    "  --approve           Approve this recovery of protected resources (for another person to run)",
    "  --json              Print the result (JSON)",
    "  --emulator          Point the stacks at the AWS emulator (always so for the embedded default)",
    ...CONFIG_HELP,
    "",
    "Exit codes: 0 recovered, approved or nothing to recover; 1 declined or refused (the reason says",
    "why) or the recovery failed; 2 bad command line or configuration.",
  ].join("\n"),
  options: {
    ...CONFIG_OPTIONS,
    yes: { type: "boolean", short: "y" },
    approve: { type: "boolean" },
    json: { type: "boolean" },
    emulator: { type: "boolean" },
    stack: { type: "string" },
  },
  allowPositionals: true,
  run: (args, context) =>
    withConfigErrors(context, () =>
      withEnvironmentEngine(args, context, "recover", async (name, session) => {
        const json = flag(args, "json");
        const approve = flag(args, "approve");
        session.progress.begin(`inspecting ${name}`, "check");
        const result = await session.engine.recover(name, {
          actor: cliActor(context.env),
          approve,
          ...(typeof args.values.stack === "string" ? { stack: args.values.stack } : {}),
          confirm: async (plan) => {
            session.progress.end();
            if (!json) context.stdout(formatRecoveryPlan(plan));
            const answer = await confirm(
              flag(args, "yes"),
              approve ? "Approve this recovery?" : "Clear them?",
            );
            if (answer.ok) session.progress.begin(`recovering ${name}`, "sync");
            return answer;
          },
        });
        session.progress.end();
        if (json) {
          context.stdout(`${JSON.stringify(result, null, 2)}\n`);
        } else {
          context.stdout(formatOutcome(name, result));
        }
        const ok =
          result.outcome === "recovered" || result.outcome === "clean" || result.outcome === "approved";
        return ok ? ExitCode.ok : ExitCode.failure;
      }),
    ),
};

/** --yes, else a y/N prompt on a terminal, else no: a script must say --yes. */
async function confirm(yes: boolean, question: string): Promise<Confirmation> {
  if (yes) return { ok: true };
  if (!process.stdin.isTTY) {
    return {
      ok: false,
      reason: "not confirmed: stdin is not a terminal, so tidegate cannot ask; run it again with --yes",
    };
  }
  const prompt = readline.createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = (await prompt.question(`${question} [y/N] `)).trim().toLowerCase();
    return answer === "y" || answer === "yes"
      ? { ok: true }
      : { ok: false, reason: "declined at the prompt" };
  } finally {
    prompt.close();
  }
}

export function formatRecoveryPlan(plan: RecoveryPlan): string {
  const out = [
    `Recovery of environment '${plan.environment}' (stack ${plan.stack}), program at ${plan.commit.slice(0, 7)}`,
  ];
  const run = plan.interrupted;
  if (run) {
    out.push(
      `  Interrupted: ${run.kind} run ${run.id}${run.commit ? ` of ${run.commit.slice(0, 7)}` : ""}, started ${run.startedAt}; its process is gone`,
    );
  }
  const ops = plan.pendingOperations;
  out.push(`  Pending operations: ${ops.length === 0 ? "none" : ops.length}`);
  for (const op of ops) out.push(`    ${op.operation} ${op.urn}`);
  out.push(`  Pulumi's lock: ${lockLine(plan)}`);
  const p = plan.protection;
  if (p.needs === "refused") out.push(`  Protected (refuse): ${p.resources.join(", ")}`);
  if (p.needs === "approval")
    out.push(`  Protected (needs an approval of this recovery): ${p.resources.join(", ")}`);
  out.push(
    "  Recovery changes no cloud resource: a pending create is forgotten (if it was created, import or",
    "  delete it by hand), other pending operations are read back. Confirm them in the cloud first.",
    "",
    "By hand, the same (in a shell):",
    ...plan.manual.map((line) => `  ${line}`),
    "",
  );
  return `${out.join("\n")}\n`;
}

function lockLine(plan: RecoveryPlan): string {
  if (plan.locks === undefined) return "not shown by this backend (`pulumi cancel` is run anyway)";
  if (plan.locks.length === 0) return "not held";
  const holders = plan.locks.map(
    (lock) => `${lock.user ?? "?"}@${lock.host ?? "?"} pid ${lock.pid ?? "?"} since ${lock.since ?? "?"}`,
  );
  return `held (${holders.join("; ")})`;
}

function formatOutcome(name: string, result: RecoverResult): string {
  switch (result.outcome) {
    case "clean":
      return `Nothing to recover: no pending operations and no lock on '${name}'.\n\n${formatCheckSummary(result.report)}`;
    case "recovered":
      return `Recovered '${name}': the lock is released and the pending operations are cleared.\n\n${formatCheckSummary(result.report)}`;
    case "approved":
      return `Approved by ${result.approval.approver}: recovery ${result.approval.planDigest} of exactly these pending operations.\nAnother person (or you, where the environment allows self-approval) may now run \`tidegate recover ${name} --yes\`.\n`;
    case "declined":
    case "refused":
      return `Not recovered: ${result.reason}\n`;
  }
}
