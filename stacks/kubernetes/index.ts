import * as fs from "node:fs";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

// Per-environment settings live in Pulumi.<stack>.yaml on the environment's branch.
const config = new pulumi.Config();
const env = pulumi.getStack();
const app = "web";

const replicas = config.requireNumber("replicas", { min: 0 });
const image = config.require("image");
const settings = config.getObject<Record<string, string>>("settings") ?? {};
for (const [key, value] of Object.entries(settings)) {
  if (typeof value !== "string") {
    throw new Error(`${pulumi.getProject()}:settings.${key} must be a string, got ${JSON.stringify(value)}`);
  }
}

// An explicit provider, so the cluster is chosen here and not by whatever the ambient kubeconfig
// happens to point at: the `kubeconfig` key (a path or the contents), else KUBECONFIG (one file).
// The provider keeps its kubeconfig in the state and a refresh configures it from there; with a path
// there, refresh fails to parse it (pulumi/pulumi-kubernetes#3846), so it gets the contents, as a
// secret. With neither set, the provider falls back to ~/.kube/config.
function kubeconfig(): pulumi.Output<string> | undefined {
  const value = config.get("kubeconfig") ?? process.env.KUBECONFIG;
  if (!value) return undefined;
  return pulumi.secret(fs.existsSync(value) ? fs.readFileSync(value, "utf8") : value);
}

const provider = new k8s.Provider("cluster", { kubeconfig: kubeconfig() });
const opts: pulumi.CustomResourceOptions = { provider };

const labels = {
  "app.kubernetes.io/name": app,
  "app.kubernetes.io/part-of": "platform",
  "app.kubernetes.io/managed-by": "pulumi",
  environment: env,
};

// The provider would wait for the Deployment's pods to become available and for the Service's
// endpoints; on a control plane without nodes (this example's test cluster) pods never run, so that
// wait could only time out. The installed provider documents the `pulumi.com/skipAwait` annotation
// for this (its Provider has no skip-await argument): the objects count as ready once the API server
// accepted them. Drop it where the cluster runs pods and the update should wait for the rollout.
//
// `pulumi.com/patchForce`: the provider applies server-side, and a field another client changed by
// hand (`kubectl edit` of spec.replicas) belongs to that client; without force the update that
// restores drift fails with a field conflict. Forcing takes back the fields this program declares.
const annotations = { "pulumi.com/skipAwait": "true", "pulumi.com/patchForce": "true" };

// Fixed names (no auto-naming suffix), so the objects are the same in every environment's namespace.
const namespace = new k8s.core.v1.Namespace(
  "namespace",
  { metadata: { name: config.get("namespace") ?? `platform-${env}`, labels } },
  opts,
);
const ns = namespace.metadata.name;

// `cloudStack` (e.g. organization/platform-sdk/test): the cloud stack this one is deployed after.
// The app gets that stack's bucket as CLOUD_BUCKET, read through a stack reference; without the key
// the program needs no other stack.
const cloudStack = config.get("cloudStack");
const cloudBucket = cloudStack
  ? new pulumi.StackReference("cloud", { name: cloudStack }).requireOutput("bucketName")
  : undefined;

const settingsMap = new k8s.core.v1.ConfigMap(
  "settings",
  {
    metadata: { name: `${app}-settings`, namespace: ns, labels },
    data: cloudBucket
      ? cloudBucket.apply((bucket) => ({ ...settings, CLOUD_BUCKET: String(bucket) }))
      : settings,
  },
  opts,
);

const deployment = new k8s.apps.v1.Deployment(
  app,
  {
    metadata: { name: app, namespace: ns, labels, annotations },
    spec: {
      replicas,
      selector: { matchLabels: { "app.kubernetes.io/name": app } },
      template: {
        metadata: { labels },
        spec: {
          containers: [
            {
              name: app,
              image,
              ports: [{ name: "http", containerPort: 8080 }],
              envFrom: [{ configMapRef: { name: settingsMap.metadata.name } }],
            },
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
    metadata: { name: app, namespace: ns, labels, annotations },
    spec: {
      type: "ClusterIP",
      selector: { "app.kubernetes.io/name": app },
      ports: [{ name: "http", port: 80, targetPort: "http" }],
    },
  },
  opts,
);

export const namespaceName = ns;
export const configMapName = settingsMap.metadata.name;
export const deploymentName = deployment.metadata.name;
export const serviceName = service.metadata.name;
/** The cloud stack's bucket this cluster's app is given; absent without `cloudStack`. */
export const cloudBucketName = cloudBucket;
