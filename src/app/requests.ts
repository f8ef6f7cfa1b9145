import type { RequestStore, RunStore } from "../adapters/store/port";
import type { RunRecord } from "../domain/model";
import type { Actor } from "./actor";
import { NotFoundError, UnknownEnvironmentError } from "./errors";

// A request for the daemon to look at an environment now, from any process sharing the store (the
// HTTP API, like `tidegate approve`, leaves it in the store's requests; the daemon reads them every
// second). The daemon's look is a reconcile run: it checks, and syncs when the environment's policy
// and gates allow, so a "check" and a "sync" request differ only in what they say they are for.
// No run id exists when the request is made (the daemon may fold several requests into one run), so
// the request carries a unique reason that the run's trigger repeats, and requestProgress finds it.

export type LookKind = "check" | "sync";

export interface LookRequest {
  seq: number;
  environment: string;
  kind: LookKind;
  /** The run that answers it has this text in its trigger. */
  reason: string;
  actor: string;
  at: string;
}

export interface RequestPorts {
  store: Pick<RequestStore, "addRequest" | "requestsSince"> & Pick<RunStore, "runs">;
  environments: readonly { name: string }[];
  now(): Date;
  newId(): string;
}

/** Leaves a request for the daemon and returns it (with its seq, to follow). */
export async function requestLook(
  ports: RequestPorts,
  environment: string,
  kind: LookKind,
  actor: Actor,
): Promise<LookRequest> {
  assertKnown(ports, environment);
  const reason = `${kind} requested by ${actor.id} (request ${ports.newId()})`;
  const at = ports.now().toISOString();
  const seq = await ports.store.addRequest({
    environment,
    reason,
    priority: "person",
    actor: actor.id,
    look: kind,
    at,
  });
  return { seq, environment, kind, reason, actor: actor.id, at };
}

export interface RequestProgress {
  request: LookRequest | { seq: number; environment: string; reason: string; at: string };
  /**
   * waiting: no run has picked it up yet (a look that finds nothing new, its head unchanged and no
   * gate waiting, leaves no run: it stays waiting); running / finished: the run that answers it.
   */
  state: "waiting" | "running" | "finished";
  run?: RunRecord;
}

/** Where a request stands: waiting, or the run that answers it. NotFoundError for an unknown seq. */
export async function requestProgress(
  ports: Pick<RequestPorts, "store" | "environments">,
  environment: string,
  seq: number,
): Promise<RequestProgress> {
  assertKnown(ports, environment);
  const [request] = await ports.store.requestsSince(seq - 1, 1);
  if (!request || request.seq !== seq || request.environment !== environment) {
    throw new NotFoundError(`no request ${seq} for environment '${environment}' (requests are kept a day)`);
  }
  const runs = await ports.store.runs({ environment, limit: 100 });
  const run = runs.find((r) => r.trigger.includes(request.reason) && r.startedAt >= request.at);
  const { reason, at } = request;
  const shown = { seq, environment, reason, at };
  if (!run) return { request: shown, state: "waiting" };
  return { request: shown, state: run.endedAt === undefined ? "running" : "finished", run };
}

function assertKnown(ports: Pick<RequestPorts, "environments">, environment: string): void {
  if (ports.environments.some((env) => env.name === environment)) return;
  const known = ports.environments.map((env) => env.name).join(", ") || "none";
  throw new UnknownEnvironmentError(`unknown environment '${environment}' (known: ${known})`);
}
