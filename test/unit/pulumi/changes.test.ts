import type { DiffKind, EngineEvent, StepEventMetadata } from "@pulumi/pulumi/automation";
import { describe, expect, it } from "vitest";
import { diffProperties, driftChanges, pendingChanges } from "../../../src/adapters/pulumi/changes";
import { SECRET_SIG, SIG_KEY, UNKNOWN } from "../../../src/domain/values";

const urn = (type: string, name: string) => `urn:pulumi:test::platform::${type}::${name}`;
const QUEUE = "pulumi-nodejs:dynamic/aws-sdk:Queue";
const DEPLOYMENT = "kubernetes:apps/v1:Deployment";

function step(meta: Partial<StepEventMetadata> & Pick<StepEventMetadata, "op" | "type">, name = "events") {
  return { provider: "", urn: urn(meta.type, name), ...meta } as StepEventMetadata;
}
const pre = (metadata: StepEventMetadata): EngineEvent =>
  ({ sequence: 0, timestamp: 0, resourcePreEvent: { metadata } }) as EngineEvent;
const outputs = (metadata: StepEventMetadata): EngineEvent =>
  ({ sequence: 0, timestamp: 0, resOutputsEvent: { metadata } }) as EngineEvent;
const state = (type: string, inputs: Record<string, unknown>, outs: Record<string, unknown> = inputs) => ({
  type,
  urn: urn(type, "x"),
  id: "x",
  parent: "",
  provider: "",
  inputs,
  outputs: outs,
});

describe("diffProperties", () => {
  it("lists leaf paths with old and new values and skips engine-internal keys", () => {
    const changes = diffProperties(
      { __provider: "code-v1", tags: { team: "a", gone: "x" }, size: 1 },
      { __provider: "code-v2", tags: { team: "b", owner: "c" }, size: 1 },
    );
    expect(changes).toEqual([
      { path: "tags.gone", kind: "delete", old: "x", replaces: false },
      { path: "tags.owner", kind: "add", new: "c", replaces: false },
      { path: "tags.team", kind: "update", old: "a", new: "b", replaces: false },
    ]);
  });

  it("masks secrets and marks unknowns", () => {
    const secret = (v: string) => ({ [SIG_KEY]: SECRET_SIG, plaintext: v });
    const changes = diffProperties(
      { password: secret("old-pw"), id: "1" },
      { password: secret("new-pw"), id: UNKNOWN },
    );
    expect(changes).toEqual([
      { path: "id", kind: "update", old: "1", new: "(known after apply)", replaces: false },
      { path: "password", kind: "update", old: "[secret]", new: "[secret]", replaces: false },
    ]);
    expect(JSON.stringify(changes)).not.toContain("pw");
  });

  it("quotes keys that are not identifiers", () => {
    expect(
      diffProperties(
        { labels: { "app.kubernetes.io/name": "a" } },
        { labels: { "app.kubernetes.io/name": "b" } },
      )[0]?.path,
    ).toBe('labels["app.kubernetes.io/name"]');
  });
});

describe("pendingChanges", () => {
  it("takes property changes from detailedDiff when the provider gives one", () => {
    const events = [
      pre(
        step(
          {
            op: "update",
            type: DEPLOYMENT,
            old: state(DEPLOYMENT, { spec: { replicas: 1 } }),
            new: state(DEPLOYMENT, { spec: { replicas: 3 } }),
            detailedDiff: { "spec.replicas": { diffKind: "update" as DiffKind, inputDiff: true } },
          },
          "web",
        ),
      ),
    ];
    expect(pendingChanges(events).resources).toEqual([
      {
        urn: urn(DEPLOYMENT, "web"),
        type: DEPLOYMENT,
        name: "web",
        action: "update",
        properties: [{ path: "spec.replicas", kind: "update", old: 1, new: 3, replaces: false }],
        unchanged: 0,
      },
    ]);
  });

  it("counts the leaf properties that did not change, not engine-internal ones", () => {
    const spec = { image: "web:1", ports: [80, 443] };
    const events = [
      pre(
        step(
          {
            op: "update",
            type: DEPLOYMENT,
            old: state(DEPLOYMENT, { __defaults: [], name: "web", spec: { ...spec, replicas: 1 } }),
            new: state(DEPLOYMENT, { __defaults: ["x"], name: "web", spec: { ...spec, replicas: 3 } }),
          },
          "web",
        ),
      ),
    ];
    // name, spec.image, spec.ports[0], spec.ports[1]
    expect(pendingChanges(events).resources[0]).toMatchObject({ unchanged: 4 });
  });

  it("collapses the steps of a replacement into one entry and flags the replacing property", () => {
    const old = state(QUEUE, { queueName: "a" });
    const next = state(QUEUE, { queueName: "b" });
    const events = [
      pre(step({ op: "create-replacement", type: QUEUE, old, new: next, keys: ["queueName"] })),
      pre(step({ op: "replace", type: QUEUE, old, new: next, keys: ["queueName"] })),
      pre(step({ op: "delete-replaced", type: QUEUE, old, new: next, keys: ["queueName"] })),
    ];
    const [change, ...rest] = pendingChanges(events).resources;
    expect(rest).toEqual([]);
    expect(change?.action).toBe("replace");
    expect(change?.properties).toEqual([
      { path: "queueName", kind: "update", old: "a", new: "b", replaces: true },
    ]);
  });

  it("ignores unchanged resources, the stack and providers", () => {
    const events = [
      pre(step({ op: "same", type: QUEUE })),
      pre(
        step({
          op: "update",
          type: "pulumi:providers:pulumi-nodejs",
          old: state("p", { a: 1 }),
          new: state("p", { a: 2 }),
        }),
      ),
      pre(step({ op: "update", type: "pulumi:pulumi:Stack" })),
    ];
    expect(pendingChanges(events).resources).toEqual([]);
  });

  it("reports creates and deletes without property noise", () => {
    const events = [
      pre(step({ op: "create", type: QUEUE, new: state(QUEUE, { queueName: "a" }) }, "new-queue")),
    ];
    expect(pendingChanges(events).resources).toMatchObject([
      { name: "new-queue", action: "create", properties: [] },
    ]);
  });
});

describe("driftChanges", () => {
  it("compares deployed and live outputs of refreshed resources", () => {
    const events = [
      pre(step({ op: "refresh", type: QUEUE })),
      outputs(
        step({
          op: "update",
          type: QUEUE,
          old: state(QUEUE, { v: 30 }, { visibilityTimeoutSeconds: 30, queueUrl: "u" }),
          new: state(QUEUE, { v: 30 }, { visibilityTimeoutSeconds: 99, queueUrl: "u" }),
        }),
      ),
    ];
    expect(driftChanges(events).resources).toEqual([
      {
        urn: urn(QUEUE, "events"),
        type: QUEUE,
        name: "events",
        action: "drifted",
        properties: [{ path: "visibilityTimeoutSeconds", kind: "update", old: 30, new: 99, replaces: false }],
        unchanged: 1,
      },
    ]);
  });

  it("reports a resource deleted outside Pulumi as missing", () => {
    const events = [outputs(step({ op: "delete", type: QUEUE, old: state(QUEUE, {}) }))];
    expect(driftChanges(events).resources).toMatchObject([{ name: "events", action: "missing" }]);
  });

  it("adds output-only drift to a provider's detailedDiff, without server-maintained fields", () => {
    const old = state(
      DEPLOYMENT,
      { metadata: { labels: { app: "web" } }, spec: { replicas: 1 } },
      {
        metadata: { labels: { app: "web" }, resourceVersion: "218", managedFields: [{ manager: "pulumi" }] },
        spec: { replicas: 1 },
        status: { observedGeneration: 1 },
      },
    );
    const live = state(
      DEPLOYMENT,
      { metadata: { labels: { app: "web" } }, spec: { replicas: 1 } },
      {
        metadata: {
          labels: { app: "web", hotfix: "by-hand" },
          resourceVersion: "219",
          managedFields: [
            { manager: "pulumi" },
            { manager: "kubectl-edit", fieldsV1: { "f:metadata": { "f:labels": { "f:hotfix": {} } } } },
          ],
        },
        spec: { replicas: 3 },
        status: { observedGeneration: 2 },
      },
    );
    const events = [
      outputs(
        step(
          {
            op: "update",
            type: DEPLOYMENT,
            old,
            new: live,
            detailedDiff: { "spec.replicas": { diffKind: "update" as DiffKind, inputDiff: false } },
          },
          "web",
        ),
      ),
    ];
    // The label is not the program's: the report says who set it, and that kubectl's is taken over.
    expect(driftChanges(events).resources[0]?.properties).toEqual([
      {
        path: "metadata.labels.hotfix",
        kind: "add",
        new: "by-hand",
        replaces: false,
        notRestorable:
          'set by field manager "kubectl-edit", not declared by the program: a remediation takes it over from kubectl and removes it (read back after the update)',
        fieldManager: "kubectl-edit",
      },
      { path: "spec.replicas", kind: "update", old: 1, new: 3, replaces: false },
    ]);
  });

  it("reports a label added by hand to a Kubernetes object the provider calls the same", () => {
    const deployed = { metadata: { labels: { app: "web" }, resourceVersion: "218" }, spec: { replicas: 1 } };
    const declared = { metadata: { labels: { app: "web" } }, spec: { replicas: 1 } };
    const old = state(DEPLOYMENT, declared, deployed);
    const live = state(DEPLOYMENT, declared, {
      metadata: { labels: { app: "web", hotfix: "by-hand" }, resourceVersion: "219" },
      spec: { replicas: 1 },
    });
    const same = (next: typeof live, type = DEPLOYMENT) =>
      driftChanges([
        pre(step({ op: "refresh", type, old, new: old }, "web")),
        outputs(step({ op: "same", type, old, new: next, detailedDiff: {} }, "web")),
      ]).resources;
    expect(same(live)).toMatchObject([
      {
        name: "web",
        action: "drifted",
        properties: [
          {
            path: "metadata.labels.hotfix",
            kind: "add",
            new: "by-hand",
            replaces: false,
            notRestorable: expect.stringContaining("set by another field manager") as string,
          },
        ],
      },
    ]);
    // Only what the server maintains changed: no drift. Nor for other providers, whose outputs may move.
    const touched = state(DEPLOYMENT, declared, {
      ...deployed,
      metadata: { ...deployed.metadata, resourceVersion: "300" },
    });
    expect(same(touched)).toEqual([]);
    expect(same(live, QUEUE)).toEqual([]);
  });

  it("keeps reporting a label the program does not declare after a refresh took it into the state", () => {
    const declared = { metadata: { name: "web", labels: { app: "web" } } };
    const deployed = {
      metadata: {
        name: "web",
        labels: { app: "web", hotfix: "by-hand", "kubernetes.io/metadata.name": "web" },
        annotations: { "deployment.kubernetes.io/revision": "2", team: "ops" },
      },
    };
    const s = state(DEPLOYMENT, declared, deployed);
    const drift = driftChanges([outputs(step({ op: "same", type: DEPLOYMENT, old: s, new: s }, "web"))]);
    expect(drift.resources[0]?.properties.map((p) => [p.path, p.new, p.notRestorable !== undefined])).toEqual(
      [
        ["metadata.annotations.team", "ops", true],
        ["metadata.labels.hotfix", "by-hand", true],
      ],
    );
    // Declaring it in the program ends the drift.
    const both = state(DEPLOYMENT, deployed, deployed);
    expect(
      driftChanges([outputs(step({ op: "same", type: DEPLOYMENT, old: both, new: both }))]).resources,
    ).toEqual([]);
  });

  it("keeps reporting any other field a client's update set that the program does not declare", () => {
    const declared = { metadata: { name: "web" }, spec: { replicas: 2 } };
    const live = {
      metadata: {
        name: "web",
        managedFields: [
          { manager: "pulumi", operation: "Apply", fieldsV1: { "f:spec": { "f:replicas": {} } } },
          {
            manager: "kubectl-edit",
            operation: "Update",
            fieldsV1: {
              "f:spec": { "f:replicas": {}, "f:minReadySeconds": {}, "f:template": { "k:{}": {} } },
            },
          },
          {
            manager: "kube-controller-manager",
            operation: "Update",
            subresource: "status",
            fieldsV1: { "f:status": { "f:replicas": {} } },
          },
        ],
      },
      spec: { replicas: 5, minReadySeconds: 30 },
      status: { replicas: 5 },
    };
    const s = state(DEPLOYMENT, declared, live);
    // spec.replicas is declared (an update takes it back: detailedDiff drift, not this); status is the server's.
    expect(
      driftChanges([outputs(step({ op: "same", type: DEPLOYMENT, old: s, new: s }, "web"))]).resources,
    ).toMatchObject([
      {
        properties: [
          {
            path: "spec.minReadySeconds",
            kind: "add",
            new: 30,
            notRestorable: expect.stringContaining(
              'set by field manager "kubectl-edit", not declared by the program: a remediation takes it over',
            ) as string,
            fieldManager: "kubectl-edit",
          },
        ],
      },
    ]);
  });

  it("reports nothing when live equals deployed", () => {
    const s = state(QUEUE, { a: 1 });
    expect(driftChanges([outputs(step({ op: "refresh", type: QUEUE, old: s, new: s }))]).resources).toEqual(
      [],
    );
  });
});
