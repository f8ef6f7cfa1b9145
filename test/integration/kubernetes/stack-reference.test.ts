import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";

import { PulumiStack } from "../../../src/adapters/pulumi/stack";
import { environmentProcessEnv } from "../../../src/adapters/targets";
import { repoRoot } from "../../../src/config/repo";
import { startControlPlane, type ControlPlane } from "../../../src/devenv/kubernetes/control-plane";
import { cachedKubernetesBinaries, KubeApi } from "../../helpers/kubernetes";

// The embedded default's cluster stack after its cloud stack, for real: stacks/kubernetes with
// `cloudStack` reads the cloud stack's deployed `bucketName` from the same file:// backend through a
// stack reference and puts it in the ConfigMap, read back through the Kubernetes API. The cloud stack
// here is a stand-in with the AWS SDK example's project name and output (its own program is covered
// elsewhere); what is under test is the reference.

const root = repoRoot(__dirname);
// Only looks for the cached binaries: this file never starts the long build.
const { binaries, skipReason: SKIP_REASON } = cachedKubernetesBinaries();

const BUCKET = "platform-artifacts-example";

describe.skipIf(!binaries)(
  `the cluster stack reads the cloud stack through a stack reference${SKIP_REASON}`,
  () => {
    let plane: ControlPlane | undefined;
    let scratch: string;
    /** The cluster's kubeconfig, as in the example: one path, rewritten for each control plane. */
    let kubeconfig: string;
    let cloud: PulumiStack | undefined;
    let cluster: PulumiStack | undefined;
    const stack = `ref${randomBytes(3).toString("hex")}`;

    /** A project folder in scratch, with the repository's node_modules as its installed dependencies. */
    const project = (name: string, files: Record<string, string>): string => {
      const dir = path.join(scratch, name);
      fs.mkdirSync(dir, { recursive: true });
      for (const [file, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, file), text);
      fs.symlinkSync(path.join(root, "node_modules"), path.join(dir, "node_modules"));
      return dir;
    };

    beforeAll(async () => {
      scratch = fs.mkdtempSync(path.join(os.tmpdir(), "tidegate-stackref-"));
      plane = await startControlPlane({ binDir: binaries!.binDir });
      kubeconfig = path.join(scratch, "kubeconfig");
      fs.copyFileSync(plane.kubeconfigPath, kubeconfig);
      const shared = {
        stackName: stack,
        backendUrl: `file://${path.join(scratch, "backend")}`,
        passphrase: randomBytes(16).toString("hex"),
        pulumiHome: path.join(scratch, "home"),
        toolchain: inject("toolchain"),
      };
      const cloudDir = project("cloud", {
        "Pulumi.yaml": "name: platform-sdk\nruntime: nodejs\nmain: index.js\n",
        "index.js": `exports.bucketName = ${JSON.stringify(BUCKET)};\n`,
      });
      cloud = await PulumiStack.open({
        ...shared,
        workDir: cloudDir,
        env: environmentProcessEnv({ engine: {} }),
      });

      const source = path.join(root, "stacks", "kubernetes");
      const files = Object.fromEntries(
        ["Pulumi.yaml", "package.json", "tsconfig.json", "index.ts"].map((f) => [
          f,
          fs.readFileSync(path.join(source, f), "utf8"),
        ]),
      );
      cluster = await PulumiStack.open({
        ...shared,
        workDir: project("cluster", files),
        env: environmentProcessEnv({
          engine: {
            PATH: `${binaries!.binDir}${path.delimiter}${process.env.PATH ?? ""}`,
            KUBECONFIG: kubeconfig,
            // What `tidegate run` sets for the example, whose control plane is new at each start.
            PULUMI_K8S_DELETE_UNREACHABLE: "true",
          },
        }),
      });
      await cluster.setConfig("replicas", "1");
      await cluster.setConfig("image", "nginxinc/nginx-unprivileged:1.27-alpine");
      await cluster.setConfig("cloudStack", `organization/platform-sdk/${stack}`);
    }, 3_600_000);

    afterAll(async () => {
      try {
        await cluster?.destroy();
        await cloud?.destroy();
      } finally {
        await plane?.stop();
        fs.rmSync(scratch, { recursive: true, force: true });
      }
    }, 600_000);

    it("puts the cloud stack's bucket into the app's ConfigMap and exports it", async () => {
      await cloud!.up();
      const result = await cluster!.up();
      expect(result.outputs).toMatchObject({ cloudBucketName: BUCKET });
      const api = new KubeApi(plane!);
      const configMap = await api.require(`/api/v1/namespaces/platform-${stack}/configmaps/web-settings`);
      expect(configMap.data).toEqual({ CLOUD_BUCKET: BUCKET });
    });

    it("after a restart on a new, empty control plane (the example's next run), the drift check and the update recreate the objects", async () => {
      await plane!.stop();
      plane = await startControlPlane({ binDir: binaries!.binDir });
      fs.copyFileSync(plane.kubeconfigPath, kubeconfig);
      // The state's provider points at the old cluster: its objects leave the state, not an error.
      await cluster!.previewDrift();
      await cluster!.up({ refresh: true });
      const api = new KubeApi(plane);
      const configMap = await api.require(`/api/v1/namespaces/platform-${stack}/configmaps/web-settings`);
      expect(configMap.data).toEqual({ CLOUD_BUCKET: BUCKET });
    });
  },
);
