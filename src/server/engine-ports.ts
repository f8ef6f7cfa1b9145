import { randomUUID } from "node:crypto";
import type { Engine } from "../app/engine";
import { environmentsOverview, historyPage, pageOf } from "../app/overview";
import { auditEntries, latestReport, type ReadPorts, runReport, verifyAudit } from "../app/read";
import { requestLook, requestProgress } from "../app/requests";
import { runMarks } from "../app/watch";
import type { ApiPorts } from "./ports";

// The API's use cases over one Engine: the same calls the CLI makes. The read ports carry no data
// directory, so no message the API shows names a local path.

/** The ports that only read the store: what a page or GET needs. */
export type ReadApiPorts = Pick<
  ApiPorts,
  "environments" | "latestReport" | "runReport" | "history" | "runMarks"
>;

export function readApiPorts(read: ReadPorts): ReadApiPorts {
  return {
    environments: () => environmentsOverview(read),
    latestReport: (environment) => latestReport(read, environment),
    runReport: (environment, runId) => runReport(read, environment, runId),
    history: (environment, paging) => historyPage(read, environment, paging),
    runMarks: () => runMarks(read),
  };
}

export function enginePorts(engine: Engine): ApiPorts {
  const read = { store: engine.store, environments: engine.environments, isOwnerDead: engine.isOwnerDead };
  const requests = {
    store: engine.store,
    environments: engine.environments,
    now: () => new Date(),
    newId: () => randomUUID().slice(0, 8),
  };
  return {
    ...readApiPorts(read),
    approve: (environment, input, actor) =>
      engine.approve(environment, { actor, trigger: `api:${actor.id}`, ...input }),
    plan: (environment, input, actor) =>
      engine.plan(environment, { actor, trigger: `api:${actor.id}`, ...input }),
    resolveDrift: (environment, resolve, actor) =>
      engine.observe("sync", environment, { actor, trigger: `api:${actor.id}`, resolve }),
    revoke: (environment, input, actor) => engine.revoke(environment, { actor, ...input }),
    request: (environment, kind, actor) => requestLook(requests, environment, kind, actor),
    requestProgress: (environment, seq) => requestProgress(requests, environment, seq),
    promote: (from, to, input, actor) => engine.promote(from, to, { actor, ...input }),
    audit: async (filter, paging) => {
      const { entries, verification } = await auditEntries(engine.audit, filter);
      return { ...pageOf(entries.reverse(), paging), verification };
    },
    verifyAudit: () => verifyAudit(engine.audit),
    webhookDeliveries: () => engine.store.webhookDeliveries(),
  };
}
