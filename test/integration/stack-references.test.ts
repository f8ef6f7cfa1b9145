import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { CreateBucketCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { PulumiStack } from "../../src/adapters/pulumi/stack";
import { readableStacks, StackSandbox } from "../../src/adapters/sandbox";
import { environmentProcessEnv } from "../../src/adapters/targets";
import { repoRoot } from "../../src/config/repo";
import { awsClients } from "../helpers/aws";
import { BWRAP_REASON, bubblewrapWorks } from "../helpers/sandbox";

// The stacks of one environment share its backend (one trust boundary): `app` reads `cloud`'s
// output through a stack reference, on a file:// backend, an s3:// one (the emulator's), and in
// the bubblewrap sandbox, which also keeps another environment's stack from reading it. The stacks
// are opened as the run opens them: each with its own project and stack, its environment's stacks
// telling the sandbox what it may read (readableStacks).

const FIXTURES = path.join(repoRoot(__dirname), "test", "fixtures", "stack-references");
const MODULES = fs.realpathSync(path.join(repoRoot(__dirname), "node_modules"));
const PROJECT_NAMES = { cloud: "refs-cloud", app: "refs-app" } as const;

/** An environment's stacks as the config resolves them: both Pulumi stacks named after it. */
const environmentStacks = (env: string) => [
  { name: "cloud", project: "stacks/cloud", stack: env, dependsOn: [] },
  { name: "app", project: "stacks/app", stack: env, dependsOn: ["cloud"] },
];

interface Backend {
  url: string;
  env?: Record<string, string>;
}

describe("stack references between the stacks of one environment", () => {
  let scratch: string;
  const passphrase = randomBytes(12).toString("hex");
  const toolchain = () => inject("toolchain");

  beforeAll(() => {
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), "tidegate-it-refs-"));
  });
  afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

  /** `environment`'s checkout under `root` with both programs (`stacks/cloud`, `stacks/app`). */
  const checkout = (root: string, environment: string, stackConfig: Record<string, string> = {}): string => {
    const dir = path.join(scratch, root, environment);
    for (const name of ["cloud", "app"] as const) {
      const project = path.join(dir, "stacks", name);
      fs.cpSync(path.join(FIXTURES, name), project, { recursive: true });
      fs.symlinkSync(MODULES, path.join(project, "node_modules"));
      const config = Object.entries(stackConfig).map(([k, v]) => `  ${PROJECT_NAMES[name]}:${k}: ${v}\n`);
      fs.writeFileSync(path.join(project, `Pulumi.${environment}.yaml`), `config:\n${config.join("")}`);
    }
    return dir;
  };

  /** Opens stack `name` of `environment` as the run does, sandboxed when `sandbox` is given. */
  const open = async (
    backend: Backend,
    dir: string,
    environment: string,
    name: "cloud" | "app",
    sandbox?: StackSandbox,
  ): Promise<PulumiStack> => {
    const stacks = environmentStacks(environment);
    const self = stacks.find((s) => s.name === name)!;
    const projectDir = path.join(dir, self.project);
    const base = {
      workDir: projectDir,
      stackName: self.stack,
      backendUrl: backend.url,
      passphrase,
      toolchain: toolchain(),
      pulumiHome: path.join(scratch, "home"),
      env: environmentProcessEnv({ credentials: backend.env ?? {} }),
    };
    if (!sandbox) return PulumiStack.open(base);
    const sandboxed = await sandbox.forStack({
      environment,
      stack: self.stack,
      projectDir,
      backendUrl: backend.url,
      envNames: Object.keys(backend.env ?? {}),
      references: readableStacks({ ...self, stacks }, projectDir),
    });
    return PulumiStack.open({ ...base, ...sandboxed });
  };

  /** Deploys cloud then app of `environment` and returns app's output made from cloud's. */
  const deployInOrder = async (
    backend: Backend,
    root: string,
    environment: string,
    sandbox?: StackSandbox,
  ) => {
    const dir = checkout(root, environment);
    const cloud = await open(backend, dir, environment, "cloud", sandbox);
    const app = await open(backend, dir, environment, "app", sandbox);
    const cloudUp = await cloud.up();
    expect(cloudUp.outputs.endpoint).toBe(`https://api.${environment}.example.test`);
    const appUp = await app.up();
    expect(appUp.summary).toMatchObject({ create: 1 });
    return appUp.outputs.healthUrl;
  };

  it("on a file:// backend", async () => {
    const url = `file://${path.join(scratch, "file-backend")}`;
    expect(await deployInOrder({ url }, "file", "test")).toBe("https://api.test.example.test/health");
  });

  it("on an s3:// backend (the emulator's)", async () => {
    const aws = inject("aws");
    const bucket = `tidegate-refs-${Date.now().toString(36)}`;
    await awsClients().s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const endpoint = new URL(aws.endpoint).host;
    const backend = {
      url: `s3://${bucket}?endpoint=${endpoint}&s3ForcePathStyle=true&disableSSL=true&region=${aws.region}`,
      env: { AWS_ACCESS_KEY_ID: "refskey", AWS_SECRET_ACCESS_KEY: "refs-secret", AWS_REGION: aws.region },
    };
    expect(await deployInOrder(backend, "s3", "test")).toBe("https://api.test.example.test/health");
  });

  it.skipIf(!bubblewrapWorks())(
    `in the sandbox: app reads its own environment's cloud, another environment's app cannot${BWRAP_REASON}`,
    async () => {
      const url = `file://${path.join(scratch, "sandboxed-backend")}`;
      const sandbox = new StackSandbox({
        mode: "bubblewrap",
        dir: path.join(scratch, "sandbox"),
        backendUrl: url,
        toolchain: toolchain(),
        dependencyCacheDir: MODULES,
      });
      // Both stacks opened (as a run does, before any update), so cloud is deployed only after app's sandbox was made.
      expect(await deployInOrder({ url }, "sandboxed", "test", sandbox)).toBe(
        "https://api.test.example.test/health",
      );

      // prod's app pointed at test's cloud, which is there in the same backend: its sandbox shows it nothing.
      const prod = checkout("sandboxed", "prod", { cloudStack: "test" });
      const app = await open({ url }, prod, "prod", "app", sandbox);
      await expect(app.preview()).rejects.toThrow(/refs-cloud\/test/);
      // Unsandboxed, the same stack reads it: the sandbox is what refused.
      const plain = await open({ url }, prod, "prod", "app");
      expect((await plain.preview()).summary).toMatchObject({ create: 1 });
    },
  );
});
