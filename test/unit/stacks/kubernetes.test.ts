import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";

// Runs stacks/kubernetes under Pulumi's mocks with the config from the real Pulumi.<env>.yaml files,
// so the program is covered without a cluster and cannot drift apart from its stack files unnoticed.

const projectDir = path.resolve(__dirname, "../../../stacks/kubernetes");

type StackConfig = Record<string, unknown>;

interface RegisteredResource {
  type: string;
  name: string;
  provider: string | undefined;
  // Inputs are whatever the program passed, resolved; individual tests narrow them.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  inputs: Record<string, any>;
}

interface ProgramRun {
  resources: RegisteredResource[];
  outputs: Record<string, string>;
}

function readYaml(file: string): Record<string, unknown> {
  return parse(readFileSync(path.join(projectDir, file), "utf8")) as Record<string, unknown>;
}

const projectName = readYaml("Pulumi.yaml").name as string;

function readStackConfig(stack: string): StackConfig {
  return readYaml(`Pulumi.${stack}.yaml`).config as StackConfig;
}

/** What the Pulumi CLI hands the program: every value a string, structured values as JSON. */
function toRuntimeConfig(config: StackConfig): Record<string, string> {
  return Object.fromEntries(
    Object.entries(config).map(([key, value]) => [
      key,
      typeof value === "string" ? value : JSON.stringify(value),
    ]),
  );
}

function outputValue<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => output.apply(resolve));
}

const STACK_REFERENCE = "pulumi:pulumi:StackReference";

async function runProgram(stack: string, config: StackConfig): Promise<ProgramRun> {
  const resources: RegisteredResource[] = [];
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        resources.push({ type: args.type, name: args.name, provider: args.provider, inputs: args.inputs });
        // A stack reference reads the other stack's outputs: here the cloud stack's, made up.
        if (args.type === STACK_REFERENCE) {
          const name = String(args.inputs.name);
          return { id: name, state: { name, outputs: { bucketName: `bucket-of-${name}` } } };
        }
        // The API server echoes the object back; the provider's id is namespace/name.
        const meta = args.inputs.metadata as { name?: string; namespace?: string } | undefined;
        const id = [meta?.namespace, meta?.name ?? args.name].filter(Boolean).join("/");
        return { id, state: args.inputs };
      },
      call(args) {
        return args.inputs;
      },
    },
    projectName,
    stack,
    false,
  );
  pulumi.runtime.setAllConfig(toRuntimeConfig(config));

  // The program reads its config and registers resources at import time, so import it afresh per stack.
  vi.resetModules();
  try {
    const program = await import("../../../stacks/kubernetes/index.js");
    const outputs = {
      namespaceName: await outputValue(program.namespaceName),
      configMapName: await outputValue(program.configMapName),
      deploymentName: await outputValue(program.deploymentName),
      serviceName: await outputValue(program.serviceName),
      ...(program.cloudBucketName ? { cloudBucketName: await outputValue(program.cloudBucketName) } : {}),
    };
    return { resources, outputs };
  } finally {
    await pulumi.runtime.disconnect();
  }
}

/** The value of a secret input as the mocks see it; fails when the input is not marked secret. */
function secretValue(input: unknown): unknown {
  expect(input).toHaveProperty([pulumi.runtime.specialSigKey], pulumi.runtime.specialSecretSig);
  return (input as { value: unknown }).value;
}

function findResource(run: ProgramRun, type: string): RegisteredResource {
  const found = run.resources.filter((r) => r.type === type);
  expect(found, type).toHaveLength(1);
  return found[0]!;
}

const PROVIDER = "pulumi:providers:kubernetes";
const NAMESPACE = "kubernetes:core/v1:Namespace";
const CONFIG_MAP = "kubernetes:core/v1:ConfigMap";
const DEPLOYMENT = "kubernetes:apps/v1:Deployment";
const SERVICE = "kubernetes:core/v1:Service";

describe.each(["test", "stage", "prod"])("stacks/kubernetes with Pulumi.%s.yaml", (stack) => {
  const config = readStackConfig(stack);
  const namespace = `platform-${stack}`;
  let run: ProgramRun;

  beforeAll(async () => {
    vi.stubEnv("KUBECONFIG", undefined);
    try {
      run = await runProgram(stack, config);
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it("registers exactly one provider, the namespace and its three objects, all through that provider", () => {
    expect(run.resources.map((r) => r.type).sort()).toEqual(
      [CONFIG_MAP, DEPLOYMENT, NAMESPACE, PROVIDER, SERVICE].sort(),
    );
    for (const resource of run.resources.filter((r) => r.type !== PROVIDER)) {
      expect(resource.provider, resource.type).toMatch(/::pulumi:providers:kubernetes::cluster::/);
    }
    // No kubeconfig in the stack file nor KUBECONFIG: the provider falls back to ~/.kube/config.
    expect(findResource(run, PROVIDER).inputs.kubeconfig).toBeUndefined();
  });

  it("runs the Deployment with the stack file's replicas and image, and its settings from the ConfigMap", () => {
    const deployment = findResource(run, DEPLOYMENT).inputs;
    expect(deployment.metadata).toMatchObject({ name: "web", namespace });
    expect(deployment.spec.replicas).toBe(config["platform-k8s:replicas"]);
    const [container, ...others] = deployment.spec.template.spec.containers;
    expect(others).toEqual([]);
    expect(container.image).toBe(config["platform-k8s:image"]);
    expect(container.envFrom).toEqual([{ configMapRef: { name: "web-settings" } }]);
  });

  it("puts the stack file's settings into the ConfigMap", () => {
    const configMap = findResource(run, CONFIG_MAP).inputs;
    expect(configMap.metadata).toMatchObject({ name: "web-settings", namespace });
    expect(configMap.data).toEqual(config["platform-k8s:settings"]);
  });

  it("labels every object with the app and the environment, and selects pods by the app label", () => {
    const labels = {
      "app.kubernetes.io/name": "web",
      "app.kubernetes.io/part-of": "platform",
      "app.kubernetes.io/managed-by": "pulumi",
      environment: stack,
    };
    for (const type of [NAMESPACE, CONFIG_MAP, DEPLOYMENT, SERVICE]) {
      expect(findResource(run, type).inputs.metadata.labels, type).toEqual(labels);
    }
    const deployment = findResource(run, DEPLOYMENT).inputs;
    expect(deployment.spec.template.metadata.labels).toEqual(labels);
    expect(deployment.spec.selector.matchLabels).toEqual({ "app.kubernetes.io/name": "web" });
    const service = findResource(run, SERVICE).inputs;
    expect(service.spec.selector).toEqual({ "app.kubernetes.io/name": "web" });
    expect(service.spec.ports).toEqual([{ name: "http", port: 80, targetPort: "http" }]);
  });

  it("tells the provider not to wait for pods or endpoints that a cluster without nodes never has, and to take back fields another client changed", () => {
    for (const type of [DEPLOYMENT, SERVICE]) {
      expect(findResource(run, type).inputs.metadata.annotations, type).toEqual({
        "pulumi.com/skipAwait": "true",
        "pulumi.com/patchForce": "true",
      });
    }
  });

  it("exports the objects' names", () => {
    expect(run.outputs).toEqual({
      namespaceName: namespace,
      configMapName: "web-settings",
      deploymentName: "web",
      serviceName: "web",
    });
  });
});

describe("stacks/kubernetes after a cloud stack (cloudStack)", () => {
  const config: StackConfig = {
    ...readStackConfig("test"),
    "platform-k8s:cloudStack": "organization/platform-sdk/test",
  };
  let run: ProgramRun;

  beforeAll(async () => {
    vi.stubEnv("KUBECONFIG", undefined);
    try {
      run = await runProgram("test", config);
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it("reads the cloud stack's bucket through a stack reference and gives it to the app as CLOUD_BUCKET", () => {
    expect(findResource(run, STACK_REFERENCE).inputs.name).toBe("organization/platform-sdk/test");
    expect(findResource(run, CONFIG_MAP).inputs.data).toEqual({
      ...(config["platform-k8s:settings"] as Record<string, string>),
      CLOUD_BUCKET: "bucket-of-organization/platform-sdk/test",
    });
    expect(run.outputs.cloudBucketName).toBe("bucket-of-organization/platform-sdk/test");
  });

  it("without cloudStack reads no other stack", async () => {
    vi.stubEnv("KUBECONFIG", undefined);
    try {
      const alone = await runProgram("test", readStackConfig("test"));
      expect(alone.resources.map((r) => r.type)).not.toContain(STACK_REFERENCE);
      expect(alone.outputs).not.toHaveProperty("cloudBucketName");
    } finally {
      vi.unstubAllEnvs();
    }
  });
});

describe("stacks/kubernetes environments", () => {
  it("runs more replicas the closer an environment is to production", () => {
    const replicas = ["test", "stage", "prod"].map(
      (s) => readStackConfig(s)["platform-k8s:replicas"] as number,
    );
    expect(replicas[0]).toBeLessThan(replicas[1]!);
    expect(replicas[1]).toBeLessThan(replicas[2]!);
  });

  // A path in the provider's state breaks refresh (pulumi/pulumi-kubernetes#3846): always the contents.
  describe("hands the provider the kubeconfig's contents", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "platform-k8s-"));
    const file = path.join(dir, "kubeconfig");
    writeFileSync(file, "apiVersion: v1\nkind: Config\n");
    afterAll(() => {
      vi.unstubAllEnvs();
      rmSync(dir, { recursive: true, force: true });
    });

    it("reads the file the `kubeconfig` key names", async () => {
      const run = await runProgram("stage", { ...readStackConfig("stage"), "platform-k8s:kubeconfig": file });
      expect(secretValue(findResource(run, PROVIDER).inputs.kubeconfig)).toBe(
        "apiVersion: v1\nkind: Config\n",
      );
    });

    it("passes contents in the `kubeconfig` key through", async () => {
      const contents = "apiVersion: v1\nkind: Config\nclusters: []\n";
      const run = await runProgram("stage", {
        ...readStackConfig("stage"),
        "platform-k8s:kubeconfig": contents,
      });
      expect(secretValue(findResource(run, PROVIDER).inputs.kubeconfig)).toBe(contents);
    });

    it("reads the file KUBECONFIG names when the key is not set", async () => {
      vi.stubEnv("KUBECONFIG", file);
      const run = await runProgram("stage", readStackConfig("stage"));
      expect(secretValue(findResource(run, PROVIDER).inputs.kubeconfig)).toBe(
        "apiVersion: v1\nkind: Config\n",
      );
    });
  });
});

describe("stacks/kubernetes config errors", () => {
  it("names the missing replicas key and how to set it", async () => {
    const { "platform-k8s:replicas": _replicas, ...withoutReplicas } = readStackConfig("test");
    await expect(runProgram("test", withoutReplicas)).rejects.toThrow(
      /Missing required configuration variable 'platform-k8s:replicas'/,
    );
  });

  it("rejects a negative replica count", async () => {
    const config = { ...readStackConfig("test"), "platform-k8s:replicas": -1 };
    await expect(runProgram("test", config)).rejects.toThrow(/'platform-k8s:replicas' value '-1' is outside/);
  });

  it("rejects a setting that is not a string", async () => {
    const config = { ...readStackConfig("test"), "platform-k8s:settings": { WORKERS: 4 } };
    await expect(runProgram("test", config)).rejects.toThrow(
      "platform-k8s:settings.WORKERS must be a string, got 4",
    );
  });
});
