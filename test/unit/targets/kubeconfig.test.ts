import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import {
  CredentialError,
  EnvironmentTarget,
  KubeconfigFiles,
  type TargetEnvironment,
} from "../../../src/adapters/targets";
import type { ValueSourceSpec } from "../../../src/config/resolve";
import { KnownSecrets, Redactor } from "../../../src/log/redact";

const KEY_DATA = "LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0tCmtleS1ib2R5LTdmM2U5MQ==";
const TOKEN = "token-4b2d8e1c9a";
const KUBECONFIG = stringify({
  apiVersion: "v1",
  kind: "Config",
  clusters: [{ name: "test", cluster: { server: "https://127.0.0.1:6443" } }],
  users: [
    { name: "admin", user: { "client-key-data": KEY_DATA } },
    { name: "bot", user: { token: TOKEN } },
  ],
  contexts: [{ name: "test", context: { cluster: "test", user: "admin" } }],
  "current-context": "test",
});

describe("an environment's kubeconfig", () => {
  let dir: string;
  let files: KubeconfigFiles;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "tidegate-kubeconfig-test-"));
    files = new KubeconfigFiles(dir);
  });
  afterEach(() => {
    files.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const environment = (kubeconfig: ValueSourceSpec): TargetEnvironment => ({
    name: "test",
    file: "environments/test.yaml",
    config: {},
    credentials: { read: {}, update: {}, kubeconfig },
    install: { scripts: false },
  });
  const open = (kubeconfig: ValueSourceSpec, from: NodeJS.ProcessEnv, known = new KnownSecrets()) =>
    EnvironmentTarget.open({
      environment: environment(kubeconfig),
      engineBackendUrl: "file:///state",
      enginePassphrase: "engine-wide-passphrase",
      knownSecrets: known,
      from,
      kubeconfigFiles: files,
    });

  it("hands read and update the same private file, from contents in a variable, and masks its keys", async () => {
    const known = new KnownSecrets();
    const target = await open(
      { kind: "env", name: "TEST_KUBECONFIG" },
      { TEST_KUBECONFIG: KUBECONFIG },
      known,
    );
    const file = target.readEnv.KUBECONFIG!;
    expect(fs.readFileSync(file, "utf8")).toBe(KUBECONFIG.trim());
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
    expect((await target.updateEnv()).KUBECONFIG).toBe(file);
    expect(target.files()).toEqual([file]);
    expect(target.variableNames()).toContain("KUBECONFIG");
    const redactor = new Redactor({ secrets: known, stacks: false });
    expect(redactor.text(`key ${KEY_DATA} token ${TOKEN} at ${file}`)).toBe(
      `key [secret] token [secret] at ${file}`,
    );
    files.dispose();
    expect(fs.existsSync(file)).toBe(false);
  });

  it("takes a path in a variable, and a file's contents, without masking the path", async () => {
    const source = path.join(dir, "kubeconfig");
    fs.writeFileSync(source, KUBECONFIG);
    const known = new KnownSecrets();
    const byPath = await open({ kind: "env", name: "TEST_KUBECONFIG" }, { TEST_KUBECONFIG: source }, known);
    expect(fs.readFileSync(byPath.readEnv.KUBECONFIG!, "utf8")).toBe(KUBECONFIG);
    expect([...known]).not.toContain(source);
    const byFile = await open({ kind: "file", path: source }, {});
    expect(fs.readFileSync(byFile.readEnv.KUBECONFIG!, "utf8")).toBe(KUBECONFIG.trim());
  });

  it("fails naming the environment's file, the field and the source, never the value", async () => {
    const cases: [ValueSourceSpec, NodeJS.ProcessEnv, string][] = [
      [{ kind: "env", name: "TEST_KUBECONFIG" }, {}, "environment variable TEST_KUBECONFIG is not set"],
      [
        { kind: "file", path: "/nonexistent/kubeconfig" },
        {},
        "file /nonexistent/kubeconfig cannot be read (ENOENT)",
      ],
      [
        { kind: "env", name: "TEST_KUBECONFIG" },
        { TEST_KUBECONFIG: "/nonexistent/kubeconfig" },
        "environment variable TEST_KUBECONFIG names /nonexistent/kubeconfig, which cannot be read (ENOENT)",
      ],
      [
        { kind: "env", name: "TEST_KUBECONFIG" },
        { TEST_KUBECONFIG: "relative/kubeconfig" },
        "environment variable TEST_KUBECONFIG holds neither a kubeconfig nor an absolute path to one",
      ],
      [
        { kind: "env", name: "TEST_KUBECONFIG" },
        { TEST_KUBECONFIG: "apiVersion: v1\nusers: [{ user: { token: hunter2-secret } }]\n" },
        "environment variable TEST_KUBECONFIG is not a kubeconfig (expected YAML with clusters, contexts and users)",
      ],
    ];
    for (const [source, from, why] of cases) {
      const opened = open(source, from);
      await expect(opened).rejects.toBeInstanceOf(CredentialError);
      await expect(opened).rejects.toThrow(
        `environment test (environments/test.yaml): credentials.kubeconfig: ${why}`,
      );
      await expect(opened).rejects.not.toThrow(/hunter2/);
    }
  });
});
