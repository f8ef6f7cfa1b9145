import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ControlPlane } from "../../../src/devenv/kubernetes/control-plane";
import type { ResourceChange } from "../../../src/domain/changes";
import { type KubeApi, openKubernetesStack, startLocalCluster } from "../../helpers/kubernetes";
import type { TestStack } from "../../helpers/stacks";

// The real engine, the locally built Kubernetes provider and a real kube-apiserver: every claim is
// checked through the Kubernetes API, not taken from Pulumi's word.

const REPLICAS = 1;
const IMAGE = "nginxinc/nginx-unprivileged:1.27-alpine";
const SETTINGS = { LOG_LEVEL: "debug", FEATURE_FLAGS: "new-checkout" };

/** Logs how long each engine operation took, for the report. */
async function timed<T>(what: string, run: () => Promise<T>): Promise<T> {
  const started = Date.now();
  try {
    return await run();
  } finally {
    process.stderr.write(`[kubernetes stack] ${what}: ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  }
}

describe("stacks/kubernetes against a real API server", () => {
  let plane: ControlPlane | undefined;
  let api: KubeApi;
  let t: TestStack | undefined;
  let namespace: string;
  let paths: { namespace: string; configMap: string; deployment: string; service: string };

  beforeAll(async () => {
    const cluster = await startLocalCluster();
    ({ plane, api } = cluster);
    t = await openKubernetesStack("stacks/kubernetes", {
      k8sBinDir: cluster.binDir,
      kubeconfigPath: plane.kubeconfigPath,
      config: { replicas: String(REPLICAS), image: IMAGE, settings: JSON.stringify(SETTINGS) },
    });
    namespace = `platform-${t.stackName}`;
    paths = {
      namespace: `/api/v1/namespaces/${namespace}`,
      configMap: `/api/v1/namespaces/${namespace}/configmaps/web-settings`,
      deployment: `/apis/apps/v1/namespaces/${namespace}/deployments/web`,
      service: `/api/v1/namespaces/${namespace}/services/web`,
    };
  }, 3_600_000);

  afterAll(async () => {
    try {
      await t?.cleanup();
    } finally {
      await plane?.stop();
    }
  }, 600_000);

  const find = (resources: ResourceChange[], name: string): ResourceChange | undefined =>
    resources.find((r) => r.name === name);

  it("up creates the namespace, the ConfigMap, the Deployment and the Service", async () => {
    const result = await timed("first up", () => t!.stack.up());
    // The stack, the provider and the four objects.
    expect(result.summary.create).toBe(6);
    expect(result.outputs).toEqual({
      namespaceName: namespace,
      configMapName: "web-settings",
      deploymentName: "web",
      serviceName: "web",
    });

    expect((await api.require(paths.namespace)).status.phase).toBe("Active");
    expect((await api.require(paths.configMap)).data).toEqual(SETTINGS);
    const deployment = await api.require(paths.deployment);
    expect(deployment.spec.replicas).toBe(REPLICAS);
    expect(deployment.spec.template.spec.containers[0].image).toBe(IMAGE);
    expect(deployment.metadata.labels).toMatchObject({
      "app.kubernetes.io/name": "web",
      environment: t!.stackName,
    });
    const service = await api.require(paths.service);
    expect(service.spec.type).toBe("ClusterIP");
    expect(service.spec.ports[0]).toMatchObject({ port: 80, targetPort: "http" });
  });

  it("a second preview shows no changes", async () => {
    const preview = await timed("preview after up", () => t!.stack.preview());
    expect(preview.changes.resources).toEqual([]);
    expect(Object.keys(preview.summary)).toEqual(["same"]);
  });

  it("reports out-of-band changes as drift on that object and field, old → new", async () => {
    await api.edit(paths.deployment, (d) => {
      d.spec.replicas = 3;
      d.metadata.labels["hotfix"] = "by-hand";
    });
    await api.edit(paths.configMap, (c) => {
      c.data.LOG_LEVEL = "trace";
    });
    await api.delete(paths.service);

    const drift = await timed("drift preview", () => t!.stack.previewDrift());
    expect(drift.changes.kind).toBe("drift");
    expect(find(drift.changes.resources, "web-settings")).toBeUndefined(); // logical names, not object names
    expect(find(drift.changes.resources, "settings")).toMatchObject({
      type: "kubernetes:core/v1:ConfigMap",
      action: "drifted",
      // The provider replaces a ConfigMap whose data changes (it treats them as immutable), and says so.
      properties: [{ path: "data.LOG_LEVEL", kind: "update", old: "debug", new: "trace", replaces: true }],
    });
    const deployment = drift.changes.resources.find((r) => r.type === "kubernetes:apps/v1:Deployment");
    expect(deployment?.name).toBe("web");
    expect(deployment?.action).toBe("drifted");
    // The label is not the program's: marked as drift an update may leave (the remediation below
    // updates the object for spec.replicas and does take it away; tidegate reads back to know).
    expect(deployment?.properties).toEqual([
      {
        path: "metadata.labels.hotfix",
        kind: "add",
        new: "by-hand",
        replaces: false,
        notRestorable: expect.stringContaining("not declared by the program") as string,
        // The test's client names no field manager: the API server records "unknown", not kubectl's.
        fieldManager: "unknown",
      },
      { path: "spec.replicas", kind: "update", old: 1, new: 3, replaces: false },
    ]);
    const service = drift.changes.resources.find((r) => r.type === "kubernetes:core/v1:Service");
    expect(service).toMatchObject({ name: "web", action: "missing", properties: [] });
    // Nothing else drifted: the namespace is as deployed.
    expect(drift.changes.resources).toHaveLength(3);

    // Drift is not a pending change: Git still matches what is deployed.
    const pending = await timed("preview with drift", () => t!.stack.preview());
    expect(pending.changes.resources).toEqual([]);
  });

  // The provider's detailedDiff names only spec.replicas (the inputs it manages); the label shows
  // only in the live outputs, which the change model adds, less server-maintained fields.
  it("reports a label added out of band as drift on metadata.labels.<key>", async () => {
    const drift = await timed("drift preview (label)", () => t!.stack.previewDrift());
    const deployment = drift.changes.resources.find((r) => r.type === "kubernetes:apps/v1:Deployment");
    expect(deployment?.properties).toContainEqual({
      path: "metadata.labels.hotfix",
      kind: "add",
      new: "by-hand",
      replaces: false,
      notRestorable: expect.stringContaining("not declared by the program") as string,
      fieldManager: "unknown",
    });
  });

  it("up with refresh restores the drifted fields and recreates the deleted Service", async () => {
    await timed("remediating up", () => t!.stack.up({ refresh: true }));

    const deployment = await api.require(paths.deployment);
    expect(deployment.spec.replicas).toBe(REPLICAS);
    expect(deployment.metadata.labels).not.toHaveProperty("hotfix");
    expect((await api.require(paths.configMap)).data).toEqual(SETTINGS);
    expect((await api.require(paths.service)).spec.ports[0]).toMatchObject({ port: 80 });

    const drift = await timed("drift preview after remediation", () => t!.stack.previewDrift());
    expect(drift.changes.resources).toEqual([]);
  });
});
