import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import {
  fieldsToTakeOver,
  jsonPointer,
  kubeClient,
  kubernetesKind,
  locateObjects,
  moveFields,
  takeOverFields,
  type ManagedFieldsEntry,
} from "../../../src/adapters/targets/kubernetes-owners";
import { OVERRIDDEN_MANAGERS } from "../../../src/domain/restorable";
import type { ChangeSet, PropertyChange } from "../../../src/domain/changes";

const DEPLOYMENT = "kubernetes:apps/v1:Deployment";
const URN = `urn:pulumi:test::app::${DEPLOYMENT}::web`;

const pulumiEntry = (): ManagedFieldsEntry => ({
  manager: "pulumi-kubernetes-8e2f1a0c",
  operation: "Apply",
  apiVersion: "apps/v1",
  fieldsType: "FieldsV1",
  fieldsV1: { "f:metadata": { "f:labels": { "f:app": {} } }, "f:spec": { "f:replicas": {} } },
});
const kubectlEntry = (manager = "kubectl-edit"): ManagedFieldsEntry => ({
  manager,
  operation: "Update",
  apiVersion: "apps/v1",
  fieldsType: "FieldsV1",
  fieldsV1: { "f:metadata": { "f:labels": { "f:hotfix": {} } } },
});
const statusEntry = (): ManagedFieldsEntry => ({
  manager: "kube-controller-manager",
  operation: "Update",
  subresource: "status",
  fieldsV1: { "f:status": { "f:replicas": {} } },
});

describe("kubernetesKind", () => {
  it("reads the group/version and kind off a Pulumi type token; core is the legacy group", () => {
    expect(kubernetesKind(DEPLOYMENT)).toEqual({ apiVersion: "apps/v1", kind: "Deployment" });
    expect(kubernetesKind("kubernetes:core/v1:Service")).toEqual({ apiVersion: "v1", kind: "Service" });
    expect(kubernetesKind("kubernetes:networking.k8s.io/v1:Ingress")).toEqual({
      apiVersion: "networking.k8s.io/v1",
      kind: "Ingress",
    });
  });

  it("is undefined for components and other providers' types", () => {
    expect(kubernetesKind("kubernetes:helm.sh/v3:Release")).toBeUndefined();
    expect(kubernetesKind("kubernetes:yaml/v2:ConfigGroup")).toBeUndefined();
    expect(kubernetesKind("pulumi:providers:kubernetes")).toBeUndefined();
    expect(kubernetesKind("aws:s3/bucket:Bucket")).toBeUndefined();
  });
});

describe("jsonPointer", () => {
  it("escapes a key holding a slash or a tilde", () => {
    expect(jsonPointer("metadata.labels.hotfix")).toBe("/metadata/labels/hotfix");
    expect(jsonPointer('metadata.annotations["example.com/a~b"]')).toBe(
      "/metadata/annotations/example.com~1a~0b",
    );
  });
});

describe("OVERRIDDEN_MANAGERS", () => {
  it("names kubectl's field managers only", () => {
    for (const m of [
      "kubectl",
      "kubectl-edit",
      "kubectl-label",
      "kubectl-client-side-apply",
      "before-first-apply",
    ])
      expect(OVERRIDDEN_MANAGERS.test(m), m).toBe(true);
    for (const m of ["kube-controller-manager", "helm", "pulumi-kubernetes-1", "kubectlx", "ops-script"])
      expect(OVERRIDDEN_MANAGERS.test(m), m).toBe(false);
  });
});

describe("fieldsToTakeOver", () => {
  const property = (path: string, extra: Partial<PropertyChange> = {}): PropertyChange => ({
    path,
    kind: "add",
    new: "x",
    replaces: false,
    notRestorable: "set by field manager",
    ...extra,
  });

  it("takes the drift an update leaves on Kubernetes objects, not what it restores or removals", () => {
    const drift: ChangeSet = {
      kind: "drift",
      resources: [
        {
          urn: URN,
          type: DEPLOYMENT,
          name: "web",
          action: "drifted",
          properties: [
            property("metadata.labels.hotfix"),
            property("spec.replicas", { kind: "update", notRestorable: undefined }),
            property("metadata.labels.gone", { kind: "delete" }),
          ],
        },
        { urn: "u2", type: "kubernetes:core/v1:Service", name: "web", action: "missing", properties: [] },
        {
          urn: "u3",
          type: "aws:s3/bucket:Bucket",
          name: "b",
          action: "drifted",
          properties: [property("tags.a")],
        },
      ],
    };
    expect(fieldsToTakeOver(drift)).toEqual([
      { urn: URN, type: DEPLOYMENT, name: "web", paths: ["metadata.labels.hotfix"] },
    ]);
    expect(fieldsToTakeOver(undefined)).toEqual([]);
  });
});

describe("moveFields", () => {
  it("moves a field kubectl's manager owns to Pulumi's apply entry and drops the emptied entry", () => {
    const entries = [pulumiEntry(), kubectlEntry(), statusEntry()];
    const { entries: next, moved, left } = moveFields(entries, ["metadata.labels.hotfix"]);
    expect(moved).toEqual(["metadata.labels.hotfix"]);
    expect(left).toEqual([]);
    expect(next.map((e) => e.manager)).toEqual(["pulumi-kubernetes-8e2f1a0c", "kube-controller-manager"]);
    expect(next[0]!.fieldsV1).toEqual({
      "f:metadata": { "f:labels": { "f:app": {}, "f:hotfix": {} } },
      "f:spec": { "f:replicas": {} },
    });
    // The input is not changed.
    expect(entries[1]!.fieldsV1).toEqual(kubectlEntry().fieldsV1);
  });

  it("keeps the rest of kubectl's entry, and what a drift.ignore rule left out of the drift", () => {
    const both = kubectlEntry("kubectl-label");
    both.fieldsV1 = { "f:metadata": { "f:labels": { "f:hotfix": {}, "f:ignored": {} } } };
    const { entries: next } = moveFields([pulumiEntry(), both], ['metadata.labels["hotfix"]']);
    expect(next[1]!.fieldsV1).toEqual({ "f:metadata": { "f:labels": { "f:ignored": {} } } });
  });

  it("leaves a field another manager holds too, a list item, and everything without Pulumi's entry", () => {
    const other: ManagedFieldsEntry = { ...kubectlEntry(), manager: "ops-script" };
    const withOther = moveFields([pulumiEntry(), kubectlEntry(), other], ["metadata.labels.hotfix"]);
    expect(withOther.moved).toEqual([]);
    expect(withOther.left).toEqual(['metadata.labels.hotfix (held by "ops-script")']);
    expect(moveFields([pulumiEntry(), other], ["metadata.labels.hotfix"]).left).toEqual([
      'metadata.labels.hotfix (held by "ops-script")',
    ]);
    expect(moveFields([pulumiEntry()], ["metadata.labels.none"]).left).toEqual([
      "metadata.labels.none (held by no kubectl field manager)",
    ]);
    expect(moveFields([pulumiEntry()], ["spec.containers[0].image"]).left).toEqual([
      "spec.containers[0].image (a list item)",
    ]);
    expect(moveFields([kubectlEntry()], ["metadata.labels.hotfix"]).left).toEqual([
      "metadata.labels.hotfix (no field manager of Pulumi's)",
    ]);
  });
});

describe("kubeClient", () => {
  const kubeconfig = (user: string) => `apiVersion: v1
kind: Config
current-context: b
clusters:
  - name: a
    cluster: { server: "https://a.example:6443" }
  - name: b
    cluster:
      server: "https://b.example:6443"
      certificate-authority-data: ${Buffer.from("CA PEM").toString("base64")}
contexts:
  - name: a
    context: { cluster: a, user: a }
  - name: b
    context: { cluster: b, user: b }
users:
  - name: b
    user:
${user}
`;

  it("follows the current context to its server, CA and client certificate", () => {
    const config = kubeconfig(
      `      client-certificate-data: ${Buffer.from("CERT").toString("base64")}\n      client-key-data: ${Buffer.from("KEY").toString("base64")}`,
    );
    expect(kubeClient(config)).toEqual({
      server: "https://b.example:6443",
      credentials: { ca: "CA PEM", cert: "CERT", key: "KEY" },
    });
    expect(kubeClient(kubeconfig("      token: abc")).credentials).toEqual({ ca: "CA PEM", token: "abc" });
  });

  it("refuses a user that authenticates with a plugin, and a config without a server", () => {
    expect(() => kubeClient(kubeconfig("      exec: { command: aws }"))).toThrow(
      "the kubeconfig's user authenticates with a plugin",
    );
    expect(() => kubeClient("apiVersion: v1\nclusters: []\n")).toThrow("names no cluster server");
  });
});

describe("locateObjects", () => {
  it("finds each object's namespace and name in the state's outputs, and names those it cannot", () => {
    const wanted = [
      { urn: URN, type: DEPLOYMENT, name: "web", paths: ["metadata.labels.hotfix"] },
      { urn: "urn:x", type: "kubernetes:core/v1:Namespace", name: "ns", paths: ["metadata.labels.a"] },
    ];
    const state = [{ urn: URN, outputs: { metadata: { name: "web-1a2b", namespace: "platform" } } }];
    expect(locateObjects(wanted, state)).toEqual({
      objects: [
        {
          apiVersion: "apps/v1",
          kind: "Deployment",
          namespace: "platform",
          name: "web-1a2b",
          paths: ["metadata.labels.hotfix"],
        },
      ],
      unknown: ["kubernetes:core/v1:Namespace ns: its name is not in the stack's state"],
    });
  });
});

describe("takeOverFields", () => {
  it("never throws: an unreadable kubeconfig is a warning naming the problem, not its contents", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "owners-"));
    const file = path.join(dir, "config");
    fs.writeFileSync(file, "users:\n  - name: x\n    user: { token: s3cret }\n");
    const result = await takeOverFields(file, []);
    expect(result.moved).toEqual([]);
    expect(result.warnings).toEqual([
      "the fields kubectl set were not taken over: the kubeconfig's current context names no cluster server",
    ]);
    expect(result.warnings.join()).not.toContain("s3cret");
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("names the object it could not reach", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "owners-"));
    const file = path.join(dir, "config");
    // A port nothing listens on: the request fails at once.
    fs.writeFileSync(
      file,
      "clusters:\n  - name: c\n    cluster: { server: 'https://127.0.0.1:1' }\ncontexts:\n  - name: c\n    context: { cluster: c, user: u }\nusers:\n  - name: u\n    user: { token: t }\ncurrent-context: c\n",
    );
    const result = await takeOverFields(file, [
      {
        apiVersion: "apps/v1",
        kind: "Deployment",
        namespace: "p",
        name: "web",
        paths: ["metadata.labels.a"],
      },
    ]);
    expect(result.moved).toEqual([]);
    expect(result.warnings).toHaveLength(1);
    expect(result.warnings[0]).toMatch(/^Deployment p\/web: the fields kubectl set were not taken over: /);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
