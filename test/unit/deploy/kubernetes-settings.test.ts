import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import {
  DEFAULT_RESOURCES,
  DEFAULT_SECRET_ENV,
  readSettings,
  SettingsError,
} from "../../../deploy/kubernetes/settings";

const PROJECT = "tidegate-deploy";
const TIDEGATE_YAML = [
  "repository: { url: https://git.example/infra.git }",
  "backend: { url: s3://state }",
  "store: { url: postgres://tidegate@db:5432/tidegate }",
  "server:",
  '  listen: "0.0.0.0:7420"',
  "",
].join("\n");

function read(config: Record<string, string>) {
  return readSettings(
    PROJECT,
    (key) => ({ image: "tidegate:1", tidegateConfig: TIDEGATE_YAML, ...config })[key],
  );
}

function problem(config: Record<string, string>): string {
  try {
    read(config);
  } catch (error) {
    expect(error).toBeInstanceOf(SettingsError);
    return (error as Error).message;
  }
  throw new Error("no error");
}

describe("deploy/kubernetes settings", () => {
  it("defaults to 2 replicas in namespace tidegate, the passphrase from Secret tidegate, ClusterIP", () => {
    expect(read({})).toEqual({
      image: "tidegate:1",
      replicas: 2,
      namespace: "tidegate",
      createNamespace: true,
      tidegateYaml: TIDEGATE_YAML,
      port: 7420,
      scheme: "HTTP",
      secretName: "tidegate",
      secretEnv: DEFAULT_SECRET_ENV,
      resources: DEFAULT_RESOURCES,
      serviceType: "ClusterIP",
      skipAwait: false,
      kubeconfig: undefined,
    });
  });

  it("takes tidegate.yaml as an object (JSON from the stack file) and writes it as YAML", () => {
    const object = {
      server: { listen: "[::]:9000", tls: { cert: "/c", key: "/k" } },
      backend: { url: "s3://b" },
    };
    const settings = read({ tidegateConfig: JSON.stringify(object), replicas: "1" });
    expect(parse(settings.tidegateYaml)).toEqual(object);
    expect(settings.tidegateYaml).not.toMatch(/^\{/);
    expect(settings).toMatchObject({ port: 9000, scheme: "HTTPS" });
  });

  it("reads replicas, resources, secrets and flags", () => {
    const settings = read({
      replicas: "5",
      namespace: "ops",
      createNamespace: "false",
      secretName: "creds",
      secretEnv: JSON.stringify({ GIT_TOKEN: "git-token" }),
      resources: JSON.stringify({ requests: { cpu: "1" } }),
      skipAwait: "true",
    });
    expect(settings).toMatchObject({
      replicas: 5,
      namespace: "ops",
      createNamespace: false,
      secretName: "creds",
      secretEnv: { GIT_TOKEN: "git-token" },
      resources: { requests: { cpu: "1" }, limits: DEFAULT_RESOURCES.limits },
      skipAwait: true,
    });
  });

  it.each([
    [{ image: "" }, "tidegate-deploy:image is missing"],
    [{ replicas: "0" }, 'tidegate-deploy:replicas is "0"; expected a whole number of at least 1'],
    [{ replicas: "two" }, 'tidegate-deploy:replicas is "two"'],
    [{ namespace: "Ops_1" }, 'tidegate-deploy:namespace is "Ops_1"; expected a DNS label'],
    [{ skipAwait: "yes" }, 'tidegate-deploy:skipAwait is "yes"; expected true or false'],
    [{ serviceType: "Ingress" }, "expected ClusterIP, NodePort, LoadBalancer"],
    [{ secretEnv: "[1]" }, "tidegate-deploy:secretEnv is [1]"],
    [{ secretEnv: '{"bad-name":"k"}' }, "tidegate-deploy:secretEnv.bad-name is not a variable name"],
    [
      { secretEnv: '{"TOKEN":"a/b"}' },
      'tidegate-deploy:secretEnv.TOKEN is "a/b"; expected the name of a key',
    ],
    [{ resources: '{"limits":{"memory":"lots"}}' }, 'tidegate-deploy:resources.limits.memory is "lots"'],
    [{ tidegateConfig: "" }, "tidegate-deploy:tidegateConfig is missing"],
    [{ tidegateConfig: "- a list" }, "tidegate-deploy:tidegateConfig is not a mapping"],
    [{ tidegateConfig: "a: [" }, "tidegate-deploy:tidegateConfig is not YAML"],
  ])("refuses %j, naming the key: %s", (config, message) => {
    expect(problem(config)).toContain(message);
  });

  it("refuses a loopback or missing server.listen: the probes and the Service reach the pod's IP", () => {
    for (const listen of ["127.0.0.1:7420", "localhost:7420", "[::1]:7420"]) {
      expect(problem({ tidegateConfig: TIDEGATE_YAML.replace("0.0.0.0:7420", listen) })).toContain(
        `tidegate-deploy:tidegateConfig.server.listen is ${listen} (loopback`,
      );
    }
    expect(problem({ tidegateConfig: "backend: { url: s3://b }\n" })).toContain(
      "tidegate-deploy:tidegateConfig.server.listen is undefined; expected host:port on every interface",
    );
  });

  it("refuses a file:// backend, which the pod's emptyDir would lose", () => {
    const local = TIDEGATE_YAML.replace("s3://state", "file:///var/lib/tidegate/state");
    expect(problem({ tidegateConfig: local })).toContain(
      'tidegate-deploy:tidegateConfig.backend.url is "file:///var/lib/tidegate/state"',
    );
    expect(problem({ tidegateConfig: "server: { listen: 0.0.0.0:1 }\n" })).toContain(
      'backend.url is "unset (file://<dataDir>/state)"',
    );
  });

  it("runs several replicas only on a PostgreSQL store; one replica may keep SQLite", () => {
    const sqlite = TIDEGATE_YAML.replace(/store:.*\n/, "");
    expect(problem({ tidegateConfig: sqlite, replicas: "3" })).toContain(
      'tidegate-deploy:tidegateConfig.store.url is "unset (SQLite in the data directory)" with 3 replicas; expected postgres://',
    );
    expect(read({ tidegateConfig: sqlite, replicas: "1" }).replicas).toBe(1);
  });
});
