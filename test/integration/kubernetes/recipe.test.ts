import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import type { ControlPlane } from "../../../src/devenv/kubernetes/control-plane";
import { type KubeApi, openKubernetesStack, startLocalCluster } from "../../helpers/kubernetes";
import type { TestStack } from "../../helpers/stacks";

// deploy/kubernetes, the recipe that runs tidegate itself on Kubernetes, deployed by the real engine
// with the locally built provider to a real kube-apiserver; each object is read back through the
// Kubernetes API. Nothing runs pods here, so the recipe is told not to wait for them (skipAwait).

const NAMESPACE = "tidegate-recipe";
const REPLICAS = 3;
const IMAGE = "registry.example/tidegate:0.1.0";
const SECRET = "tidegate-credentials";
const SECRET_ENV = {
  PULUMI_CONFIG_PASSPHRASE: "passphrase",
  TIDEGATE_STORE_PASSWORD: "postgres-password",
  GIT_TOKEN: "git-token",
};
// What a real Secret would hold: the recipe is never given these, so they must appear nowhere.
const SECRET_VALUES = ["correct-horse-battery", "pg-s3cr3t", "ghp_token"];
const TIDEGATE_YAML = [
  "repository:",
  "  url: https://git.example/platform/infra.git",
  "  tokenEnv: GIT_TOKEN",
  "backend:",
  "  url: s3://tidegate-state",
  "store:",
  "  url: postgres://tidegate@postgres.db:5432/tidegate",
  "server:",
  "  listen: 0.0.0.0:8080",
  "",
].join("\n");

describe("deploy/kubernetes against a real API server", () => {
  let plane: ControlPlane | undefined;
  let api: KubeApi;
  let t: TestStack | undefined;
  const at = (kind: string, name: string) =>
    kind === "deployments"
      ? `/apis/apps/v1/namespaces/${NAMESPACE}/deployments/${name}`
      : kind === "poddisruptionbudgets"
        ? `/apis/policy/v1/namespaces/${NAMESPACE}/poddisruptionbudgets/${name}`
        : `/api/v1/namespaces/${NAMESPACE}/${kind}/${name}`;

  beforeAll(async () => {
    const cluster = await startLocalCluster();
    ({ plane, api } = cluster);
    t = await openKubernetesStack("deploy/kubernetes", {
      k8sBinDir: cluster.binDir,
      kubeconfigPath: plane.kubeconfigPath,
      config: {
        image: IMAGE,
        replicas: String(REPLICAS),
        namespace: NAMESPACE,
        secretName: SECRET,
        secretEnv: JSON.stringify(SECRET_ENV),
        tidegateConfig: TIDEGATE_YAML,
        skipAwait: "true",
      },
    });
  }, 3_600_000);

  afterAll(async () => {
    try {
      await t?.cleanup();
    } finally {
      await plane?.stop();
    }
  }, 600_000);

  it("up creates the namespace, config, service account, Deployment, Service and PodDisruptionBudget", async () => {
    const result = await t!.stack.up();
    expect(result.outputs).toEqual({
      namespaceName: NAMESPACE,
      configMapName: "tidegate-config",
      serviceAccountName: "tidegate",
      deploymentName: "tidegate",
      serviceName: "tidegate",
      podDisruptionBudgetName: "tidegate",
    });
    // The stack, the provider and six objects.
    expect(result.summary.create).toBe(8);
    expect((await api.require(`/api/v1/namespaces/${NAMESPACE}`)).status.phase).toBe("Active");
    const configMap = await api.require(at("configmaps", "tidegate-config"));
    expect(configMap.data).toEqual({ "tidegate.yaml": TIDEGATE_YAML });
    const account = await api.require(at("serviceaccounts", "tidegate"));
    expect(account.automountServiceAccountToken).toBe(false);
  });

  it("runs `tidegate run` in N replicas with the config mounted, probes on /readyz and /healthz", async () => {
    const deployment = await api.require(at("deployments", "tidegate"));
    expect(deployment.spec.replicas).toBe(REPLICAS);
    const pod = deployment.spec.template.spec;
    expect(pod.serviceAccountName).toBe("tidegate");
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001 });
    const [container, ...others] = pod.containers;
    expect(others).toEqual([]);
    expect(container.image).toBe(IMAGE);
    expect(container.args).toEqual([
      "run",
      "--config",
      "/etc/tidegate/tidegate.yaml",
      "--data-dir",
      "/var/lib/tidegate",
      "--log-format",
      "json",
    ]);
    expect(container.ports).toEqual([{ name: "http", containerPort: 8080, protocol: "TCP" }]);
    expect(container.readinessProbe.httpGet).toMatchObject({ path: "/readyz", port: "http", scheme: "HTTP" });
    expect(container.livenessProbe.httpGet).toMatchObject({ path: "/healthz", port: "http", scheme: "HTTP" });
    expect(container.resources).toEqual({
      requests: { cpu: "250m", memory: "512Mi" },
      limits: { cpu: "2", memory: "2Gi" },
    });
    expect(container.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
    });
    const volumes = Object.fromEntries(pod.volumes.map((v: { name: string }) => [v.name, v]));
    expect(volumes.config.configMap.name).toBe("tidegate-config");
    expect(volumes.data.emptyDir).toEqual({});
    expect(volumes.tmp.emptyDir).toEqual({});
    expect(container.volumeMounts).toContainEqual({
      name: "config",
      mountPath: "/etc/tidegate",
      readOnly: true,
    });
  });

  it("takes every credential from the Secret by reference and inlines none", async () => {
    const deployment = await api.require(at("deployments", "tidegate"));
    const env = deployment.spec.template.spec.containers[0].env as {
      name: string;
      value?: string;
      valueFrom?: unknown;
    }[];
    for (const [name, key] of Object.entries(SECRET_ENV)) {
      expect(env).toContainEqual({ name, valueFrom: { secretKeyRef: { name: SECRET, key } } });
    }
    // Only HOME carries a literal value.
    expect(env.filter((e) => e.value !== undefined)).toEqual([{ name: "HOME", value: "/tmp" }]);
    const everything = JSON.stringify([deployment, await api.require(at("configmaps", "tidegate-config"))]);
    for (const value of SECRET_VALUES) expect(everything).not.toContain(value);
    // The recipe does not create the Secret: it is made out of band (kubectl, an external secrets operator).
    expect(await api.get(at("secrets", SECRET))).toBeUndefined();
  });

  it("exposes the pods through a Service and keeps all but one through a disruption", async () => {
    const service = await api.require(at("services", "tidegate"));
    expect(service.spec.type).toBe("ClusterIP");
    expect(service.spec.ports).toEqual([{ name: "http", port: 8080, targetPort: "http", protocol: "TCP" }]);
    const selector = { "app.kubernetes.io/name": "tidegate", "app.kubernetes.io/instance": t!.stackName };
    expect(service.spec.selector).toEqual(selector);
    const budget = await api.require(at("poddisruptionbudgets", "tidegate"));
    expect(budget.spec.maxUnavailable).toBe(1);
    expect(budget.spec.selector.matchLabels).toEqual(selector);
    const deployment = await api.require(at("deployments", "tidegate"));
    expect(deployment.spec.selector.matchLabels).toEqual(selector);
  });

  it("a changed tidegate.yaml updates the ConfigMap and rolls the pods; a second preview is empty", async () => {
    const before = (await api.require(at("deployments", "tidegate"))).spec.template.metadata.annotations;
    const changed = TIDEGATE_YAML.replace("0.0.0.0:8080", "0.0.0.0:7420");
    await t!.stack.setConfig("tidegateConfig", changed);
    await t!.stack.up();
    const configMap = await api.require(at("configmaps", "tidegate-config"));
    expect(parse(configMap.data["tidegate.yaml"] as string)).toMatchObject({
      server: { listen: "0.0.0.0:7420" },
    });
    const deployment = await api.require(at("deployments", "tidegate"));
    expect(deployment.spec.template.metadata.annotations["tidegate.dev/config-sha256"]).not.toBe(
      before["tidegate.dev/config-sha256"],
    );
    expect(deployment.spec.template.spec.containers[0].ports[0].containerPort).toBe(7420);
    expect((await api.require(at("services", "tidegate"))).spec.ports[0].port).toBe(7420);

    const preview = await t!.stack.preview();
    expect(preview.changes.resources).toEqual([]);
  });

  it("refuses a tidegate.yaml listening on loopback, naming the key, before touching the cluster", async () => {
    await t!.stack.setConfig("tidegateConfig", TIDEGATE_YAML.replace("0.0.0.0:8080", "127.0.0.1:7420"));
    await expect(t!.stack.preview()).rejects.toThrow(
      /tidegate-deploy:tidegateConfig\.server\.listen is 127\.0\.0\.1:7420/,
    );
    expect((await api.require(at("services", "tidegate"))).spec.ports[0].port).toBe(7420);
  });
});
