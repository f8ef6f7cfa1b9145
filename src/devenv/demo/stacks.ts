import { isMap, isScalar, parseDocument, type Document, type YAMLMap, type YAMLSeq } from "yaml";

// The embedded default's two-stack form: each example environment deploys a cloud stack (the AWS
// SDK example on the emulator) and, after it, a cluster stack (the Kubernetes example on the local
// control plane) that reads the cloud stack's bucket through a stack reference.

export const CLOUD_PROJECT = "stacks/aws-sdk";
export const CLUSTER_PROJECT = "stacks/kubernetes";
/** What to run where the cluster binaries are missing: it takes them from the machine or builds them. */
export const BUILD_CLUSTER_COMMAND = "bash scripts/kubernetes.sh";

/** The example's typecheck, as its one-stack environment files run it (in the project folder). */
const PROJECT_TYPECHECK = "npx tsc --noEmit -p .";

/** How the example's environments reach the local control plane. */
export interface ExampleCluster {
  /** Absolute path of the kubeconfig `tidegate run` writes for each start of the control plane. */
  kubeconfigFile: string;
}

function load(file: string, text: string): Document {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0]!.message}`);
  if (!isMap(doc.contents)) throw new Error(`${file}: expected a mapping`);
  return doc;
}

/**
 * An example environment file in the one-stack form rewritten to list `stacks:` — `cloud` (its
 * project and stack) and `cluster` after it — with the cluster's kubeconfig read from `cluster`'s
 * file. Comments on other keys stay.
 */
export function clusterEnvironmentFile(file: string, text: string, cluster: ExampleCluster): string {
  const doc = load(file, text);
  const name = doc.get("name");
  const project = doc.get("project") ?? ".";
  const stack = doc.get("stack") ?? name;
  if (typeof name !== "string" || typeof project !== "string" || typeof stack !== "string") {
    throw new Error(`${file}: expected name, project and stack as strings`);
  }
  if (project !== CLOUD_PROJECT) throw new Error(`${file}: project is ${project}, expected ${CLOUD_PROJECT}`);
  const own = stack === name ? {} : { stack };
  const stacks = doc.createNode([
    { name: "cloud", project: CLOUD_PROJECT, ...own },
    { name: "cluster", project: CLUSTER_PROJECT, ...own, dependsOn: ["cloud"] },
  ]);
  const dependsOn = doc.createNode(["cloud"], { flow: true });
  (stacks as YAMLSeq<YAMLMap>).items[1]!.set("dependsOn", dependsOn);
  stacks.commentBefore = [
    " cloud: storage and messaging on the AWS emulator; cluster: the web service on the local",
    " Kubernetes control plane, deployed after cloud, reading its bucket through a stack reference",
  ].join("\n");
  const map = doc.contents as YAMLMap;
  const at = map.items.findIndex((pair) => isScalar(pair.key) && pair.key.value === "project");
  doc.delete("project");
  doc.delete("stack");
  const pair = doc.createPair("stacks", stacks);
  if (at >= 0) map.items.splice(at, 0, pair);
  else map.items.push(pair);
  // With several stacks a check runs in the checkout's root: the example's typecheck covers each project.
  const checks = doc.getIn(["gates", "checks"]);
  if (checks && typeof checks === "object" && "items" in checks) {
    for (const check of (checks as YAMLSeq<YAMLMap>).items) {
      if (check.get("run") === PROJECT_TYPECHECK) {
        check.set(
          "run",
          [CLOUD_PROJECT, CLUSTER_PROJECT].map((dir) => `(cd ${dir} && ${PROJECT_TYPECHECK})`).join(" && "),
        );
      }
    }
  }
  doc.setIn(["credentials", "kubeconfig"], doc.createNode({ file: cluster.kubeconfigFile }));
  const credentials = doc.get("credentials", true) as YAMLMap;
  credentials.commentBefore =
    " The cluster stack's kubeconfig: tidegate run writes this file each time it starts the local control plane.";
  return doc.toString();
}

/**
 * The cluster stack's config with `cloudStack`: the cloud stack of the same environment, as a stack
 * reference names it on a file or s3 backend (`organization/<project>/<stack>`).
 */
export function clusterStackConfig(
  file: string,
  text: string,
  names: { clusterProject: string; cloudProject: string; stack: string },
): string {
  const doc = load(file, text);
  doc.setIn(
    ["config", `${names.clusterProject}:cloudStack`],
    `organization/${names.cloudProject}/${names.stack}`,
  );
  return doc.toString();
}

/** The `name` of a Pulumi.yaml. */
export function projectName(file: string, text: string): string {
  const name = load(file, text).get("name");
  if (typeof name !== "string" || !name) throw new Error(`${file}: expected a project name`);
  return name;
}
