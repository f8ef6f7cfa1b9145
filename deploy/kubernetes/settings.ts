import { isIP } from "node:net";
import { parse, stringify } from "yaml";

// The recipe's stack config, checked before any object is registered: a bad value fails the preview
// with the key, what it holds and what was expected, rather than as a pod that never gets ready.

export interface Resources {
  requests: Record<string, string>;
  limits: Record<string, string>;
}

export interface Settings {
  image: string;
  replicas: number;
  namespace: string;
  createNamespace: boolean;
  /** tidegate.yaml as the ConfigMap holds it. */
  tidegateYaml: string;
  /** The port of tidegate.yaml's server.listen: the container port, the probes' and the Service's target. */
  port: number;
  /** HTTPS when tidegate.yaml gives server.tls. */
  scheme: "HTTP" | "HTTPS";
  /** The existing Secret the credentials come from. */
  secretName: string;
  /** Environment variable → key in that Secret. */
  secretEnv: Record<string, string>;
  resources: Resources;
  serviceType: string;
  /** Set on a cluster without nodes (tests): the provider then does not wait for pods. */
  skipAwait: boolean;
  kubeconfig: string | undefined;
}

/** What Pulumi hands the program: each key's value as text, structured values as JSON. */
export type ConfigSource = (key: string) => string | undefined;

export const DEFAULT_RESOURCES: Resources = {
  requests: { cpu: "250m", memory: "512Mi" },
  limits: { cpu: "2", memory: "2Gi" },
};
export const DEFAULT_SECRET_ENV: Record<string, string> = { PULUMI_CONFIG_PASSPHRASE: "passphrase" };

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
// Kubernetes' rule for a Secret's keys.
const SECRET_KEY = /^[-._a-zA-Z0-9]+$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const QUANTITY = /^[0-9]+(\.[0-9]+)?(m|Ki|Mi|Gi|Ti|k|M|G|T)?$/;

export class SettingsError extends Error {
  override readonly name = "SettingsError";
}

export function readSettings(project: string, get: ConfigSource): Settings {
  const fail = (key: string, problem: string, expected: string): never => {
    throw new SettingsError(`${project}:${key} ${problem}; expected ${expected}`);
  };
  const text = (key: string): string | undefined => {
    const value = get(key)?.trim();
    return value === "" ? undefined : value;
  };
  const json = (key: string, expected: string): unknown => {
    const value = text(key);
    if (value === undefined) return undefined;
    try {
      return JSON.parse(value);
    } catch {
      return fail(key, `is ${JSON.stringify(value)}`, expected);
    }
  };
  const flag = (key: string, fallback: boolean): boolean => {
    const value = text(key);
    if (value === undefined) return fallback;
    if (value !== "true" && value !== "false") fail(key, `is ${JSON.stringify(value)}`, "true or false");
    return value === "true";
  };
  const name = (key: string, fallback: string): string => {
    const value = text(key) ?? fallback;
    if (!DNS_LABEL.test(value)) fail(key, `is ${JSON.stringify(value)}`, "a DNS label (a-z, 0-9, -)");
    return value;
  };

  const image =
    text("image") ?? fail("image", "is missing", "the tidegate image, e.g. registry.example/tidegate:0.1.0");

  const replicasText = text("replicas") ?? "2";
  const replicas = Number(replicasText);
  if (!Number.isInteger(replicas) || replicas < 1) {
    fail("replicas", `is ${JSON.stringify(replicasText)}`, "a whole number of at least 1");
  }

  const secretEnv = (json("secretEnv", "an object of VARIABLE: <key in the Secret>") ??
    DEFAULT_SECRET_ENV) as unknown;
  if (typeof secretEnv !== "object" || secretEnv === null || Array.isArray(secretEnv)) {
    fail("secretEnv", `is ${JSON.stringify(secretEnv)}`, "an object of VARIABLE: <key in the Secret>");
  }
  for (const [variable, key] of Object.entries(secretEnv as Record<string, unknown>)) {
    if (!ENV_NAME.test(variable))
      fail(`secretEnv.${variable}`, "is not a variable name", "letters, digits and _");
    if (typeof key !== "string" || !SECRET_KEY.test(key)) {
      fail(`secretEnv.${variable}`, `is ${JSON.stringify(key)}`, "the name of a key in the Secret");
    }
  }

  return {
    image,
    replicas,
    namespace: name("namespace", "tidegate"),
    createNamespace: flag("createNamespace", true),
    // Untrimmed: the ConfigMap holds the text as given.
    ...readTidegateYaml(project, text("tidegateConfig") && get("tidegateConfig"), replicas, fail),
    secretName: name("secretName", "tidegate"),
    secretEnv: secretEnv as Record<string, string>,
    resources: readResources(json("resources", "an object with requests and limits"), fail),
    serviceType: readServiceType(text("serviceType"), fail),
    skipAwait: flag("skipAwait", false),
    kubeconfig: text("kubeconfig"),
  };
}

type Fail = (key: string, problem: string, expected: string) => never;

function readServiceType(value: string | undefined, fail: Fail): string {
  const types = ["ClusterIP", "NodePort", "LoadBalancer"];
  if (value !== undefined && !types.includes(value))
    fail("serviceType", `is ${JSON.stringify(value)}`, types.join(", "));
  return value ?? "ClusterIP";
}

function readResources(value: unknown, fail: Fail): Resources {
  if (value === undefined) return DEFAULT_RESOURCES;
  const expected = "{ requests: { cpu, memory }, limits: { cpu, memory } } with Kubernetes quantities";
  if (typeof value !== "object" || value === null) fail("resources", `is ${JSON.stringify(value)}`, expected);
  const given = value as Record<string, unknown>;
  const resources: Resources = { requests: {}, limits: {} };
  for (const part of ["requests", "limits"] as const) {
    const entries = given[part] ?? DEFAULT_RESOURCES[part];
    if (typeof entries !== "object" || entries === null)
      fail(`resources.${part}`, `is ${JSON.stringify(entries)}`, expected);
    for (const [resource, quantity] of Object.entries(entries as Record<string, unknown>)) {
      if (typeof quantity !== "string" || !QUANTITY.test(quantity)) {
        fail(
          `resources.${part}.${resource}`,
          `is ${JSON.stringify(quantity)}`,
          "a Kubernetes quantity such as 500m or 1Gi",
        );
      }
      resources[part][resource] = quantity as string;
    }
  }
  return resources;
}

function isLoopback(host: string): boolean {
  if (host === "localhost") return true;
  if (isIP(host) === 4) return host.startsWith("127.");
  return host === "::1";
}

/**
 * tidegate.yaml (YAML text, or an object the stack file gives, which Pulumi hands over as JSON) and
 * what the objects around the pod need to know from it.
 */
function readTidegateYaml(
  project: string,
  value: string | undefined,
  replicas: number,
  fail: Fail,
): Pick<Settings, "tidegateYaml" | "port" | "scheme"> {
  const key = "tidegateConfig";
  if (value === undefined) fail(key, "is missing", "tidegate.yaml's contents (text or an object)");
  let parsed: unknown;
  try {
    parsed = parse(value as string);
  } catch (error) {
    fail(key, `is not YAML (${(error as Error).message.split("\n")[0]})`, "tidegate.yaml's contents");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    fail(key, "is not a mapping", "tidegate.yaml's contents (text or an object)");
  }
  const config = parsed as Record<string, Record<string, unknown> | undefined>;
  const tidegateYaml = (value as string).startsWith("{") ? stringify(parsed) : (value as string);

  // The kubelet probes the pod's IP and the Service forwards to it: the default loopback address
  // would leave every pod unready.
  const listen = config.server?.listen;
  const match = typeof listen === "string" ? /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(listen) : null;
  if (!match) {
    fail(
      `${key}.server.listen`,
      `is ${JSON.stringify(listen)}`,
      "host:port on every interface, e.g. 0.0.0.0:7420",
    );
  }
  const host = match![1] ?? match![2]!;
  if (isLoopback(host)) {
    fail(
      `${key}.server.listen`,
      `is ${listen} (loopback: probes and the Service reach the pod on its IP)`,
      "0.0.0.0:<port>",
    );
  }

  // The data directory is an emptyDir: state kept there would be lost with the pod.
  const backend = config.backend?.url;
  if (typeof backend !== "string" || backend.startsWith("file:")) {
    fail(
      `${key}.backend.url`,
      `is ${JSON.stringify(backend ?? "unset (file://<dataDir>/state)")}, which a pod loses when it goes`,
      "a shared backend: s3://, gs://, azblob:// or https://api.pulumi.com",
    );
  }
  // Replicas each with their own SQLite file would each run every environment.
  const store = config.store?.url;
  if (replicas > 1 && !(typeof store === "string" && /^postgres(ql)?:\/\//.test(store))) {
    fail(
      `${key}.store.url`,
      `is ${JSON.stringify(store ?? "unset (SQLite in the data directory)")} with ${replicas} replicas`,
      `postgres://… (replicas share work through PostgreSQL), or ${project}:replicas 1`,
    );
  }
  const scheme = config.server?.tls === undefined ? "HTTP" : "HTTPS";
  return { tidegateYaml, port: Number(match![3]), scheme };
}
