import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { readSettings } from "./settings";

// tidegate on Kubernetes. Every credential comes from an existing Secret by reference: the program
// and its state hold only the Secret's name and keys, never a value.

const config = new pulumi.Config();
const settings = readSettings(pulumi.getProject(), (key) => config.get(key));
const app = "tidegate";
const instance = pulumi.getStack();

const CONFIG_DIR = "/etc/tidegate";
const DATA_DIR = "/var/lib/tidegate";
// The image's user (deploy/Containerfile); numeric, so runAsNonRoot can check it.
const USER_ID = 10001;

// The cluster: the `kubeconfig` key (a path or the contents), else KUBECONFIG, else ~/.kube/config.
// The provider gets the contents, as a secret: a path in its state breaks refresh
// (pulumi/pulumi-kubernetes#3846).
function kubeconfig(): pulumi.Output<string> | undefined {
  const value = settings.kubeconfig ?? process.env.KUBECONFIG;
  if (!value) return undefined;
  return pulumi.secret(fs.existsSync(value) ? fs.readFileSync(value, "utf8") : value);
}
const opts: pulumi.CustomResourceOptions = {
  provider: new k8s.Provider("cluster", { kubeconfig: kubeconfig() }),
};

const selector = { "app.kubernetes.io/name": app, "app.kubernetes.io/instance": instance };
const labels = { ...selector, "app.kubernetes.io/managed-by": "pulumi" };
// Without nodes (the tests' control plane) pods never run, and waiting for them could only time out.
const annotations: Record<string, string> = settings.skipAwait ? { "pulumi.com/skipAwait": "true" } : {};

const namespace: pulumi.Input<string> = settings.createNamespace
  ? new k8s.core.v1.Namespace("namespace", { metadata: { name: settings.namespace, labels } }, opts).metadata
      .name
  : settings.namespace;

// Fixed names (no auto-naming suffix): one tidegate per namespace.
const metadata = { name: app, namespace, labels };

const configMap = new k8s.core.v1.ConfigMap(
  "config",
  {
    metadata: { name: `${app}-config`, namespace, labels },
    data: { "tidegate.yaml": settings.tidegateYaml },
  },
  opts,
);

const serviceAccount = new k8s.core.v1.ServiceAccount(
  "service-account",
  // tidegate does not call the Kubernetes API itself; stacks that do get their own kubeconfig.
  { metadata, automountServiceAccountToken: false },
  opts,
);

const probe = (path: string, periodSeconds: number, failureThreshold: number) => ({
  httpGet: { path, port: "http", scheme: settings.scheme },
  periodSeconds,
  timeoutSeconds: 5,
  failureThreshold,
});

const deployment = new k8s.apps.v1.Deployment(
  app,
  {
    metadata: { ...metadata, annotations },
    spec: {
      replicas: settings.replicas,
      selector: { matchLabels: selector },
      strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      template: {
        metadata: {
          labels,
          // A changed tidegate.yaml rolls the pods: they read it only at start.
          annotations: {
            "tidegate.dev/config-sha256": createHash("sha256").update(settings.tidegateYaml).digest("hex"),
          },
        },
        spec: {
          serviceAccountName: serviceAccount.metadata.name,
          automountServiceAccountToken: false,
          // A stopped replica hands its environments over; a Pulumi update it cancels gets 2 minutes.
          terminationGracePeriodSeconds: 150,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: USER_ID,
            runAsGroup: USER_ID,
            fsGroup: USER_ID,
            seccompProfile: { type: "RuntimeDefault" },
          },
          containers: [
            {
              name: app,
              image: settings.image,
              args: [
                "run",
                "--config",
                `${CONFIG_DIR}/tidegate.yaml`,
                "--data-dir",
                DATA_DIR,
                "--log-format",
                "json",
              ],
              ports: [{ name: "http", containerPort: settings.port }],
              env: [
                { name: "HOME", value: "/tmp" },
                ...Object.entries(settings.secretEnv).map(([name, key]) => ({
                  name,
                  valueFrom: { secretKeyRef: { name: settings.secretName, key } },
                })),
              ],
              // /readyz answers 503 while the store or the toolchain is not usable: no traffic then.
              readinessProbe: probe("/readyz", 10, 3),
              livenessProbe: probe("/healthz", 20, 3),
              // The first start may install the toolchain's plugins: give it 5 minutes before liveness counts.
              startupProbe: probe("/healthz", 10, 30),
              resources: settings.resources,
              securityContext: {
                readOnlyRootFilesystem: true,
                allowPrivilegeEscalation: false,
                capabilities: { drop: ["ALL"] },
              },
              volumeMounts: [
                { name: "config", mountPath: CONFIG_DIR, readOnly: true },
                { name: "data", mountPath: DATA_DIR },
                { name: "tmp", mountPath: "/tmp" },
              ],
            },
          ],
          volumes: [
            { name: "config", configMap: { name: configMap.metadata.name } },
            { name: "data", emptyDir: {} },
            { name: "tmp", emptyDir: {} },
          ],
        },
      },
    },
  },
  opts,
);

const service = new k8s.core.v1.Service(
  app,
  {
    metadata: { ...metadata, annotations },
    spec: {
      type: settings.serviceType,
      selector,
      ports: [{ name: "http", port: settings.port, targetPort: "http" }],
    },
  },
  opts,
);

// One pod at a time may go for a drain; unlike minAvailable: 1 this never blocks a drain at 1 replica.
const disruptionBudget = new k8s.policy.v1.PodDisruptionBudget(
  app,
  {
    metadata,
    spec: { maxUnavailable: 1, selector: { matchLabels: selector } },
  },
  opts,
);

export const namespaceName = namespace;
export const configMapName = configMap.metadata.name;
export const serviceAccountName = serviceAccount.metadata.name;
export const deploymentName = deployment.metadata.name;
export const serviceName = service.metadata.name;
export const podDisruptionBudgetName = disruptionBudget.metadata.name;
