import * as fs from "node:fs";
import * as path from "node:path";
import { stringify } from "yaml";
import { repoRoot } from "../../src/config/repo";

/** The example project every engine test and the benchmark deploy: dynamic resources over the AWS SDK. */
export const PROJECT = "stacks/aws-sdk";

const PROGRAM_FILES = [
  "Pulumi.yaml",
  "package.json",
  "package-lock.json",
  "tsconfig.json",
  "index.ts",
  "providers/bucket.ts",
  "providers/queue.ts",
  "providers/clients.ts",
];

export interface ExampleEnvironment {
  name: string;
  stack: string;
  sync: "auto" | "gated";
  drift: "report" | "remediate";
  /** The `gates` block of the environment file, as written in YAML. */
  gates?: Record<string, unknown>;
  /** More keys of the environment file (credentials, config, ...), as written in YAML. */
  definition?: Record<string, unknown>;
}

/**
 * The files of a repository holding the example program, one stack config per environment (from
 * the checkout's Pulumi.<env>.yaml, or test's) and environments/<env>.yaml, keyed by path.
 */
export function exampleRepositoryFiles(environments: ExampleEnvironment[]): Record<string, string> {
  const source = path.join(repoRoot(__dirname), PROJECT);
  const files: Record<string, string> = { ".gitignore": "node_modules/\n" };
  for (const rel of PROGRAM_FILES)
    files[`${PROJECT}/${rel}`] = fs.readFileSync(path.join(source, rel), "utf8");
  environments.forEach((env, i) => {
    const template = fs.existsSync(path.join(source, `Pulumi.${env.name}.yaml`)) ? env.name : "test";
    files[`${PROJECT}/Pulumi.${env.stack}.yaml`] = fs.readFileSync(
      path.join(source, `Pulumi.${template}.yaml`),
      "utf8",
    );
    files[`environments/${env.name}.yaml`] = stringify({
      name: env.name,
      branch: env.name,
      stack: env.stack,
      project: PROJECT,
      order: i + 1,
      sync: { policy: env.sync },
      drift: { policy: env.drift },
      ...(env.gates ? { gates: env.gates } : {}),
      ...env.definition,
    });
  });
  return files;
}

/** A tidegate.yaml for a repository, with its data, state and passphrase beside it in `dir`. */
export function writeTidegateConfig(dir: string, repositoryUrl: string, passphrase: string): string {
  fs.writeFileSync(path.join(dir, "passphrase"), passphrase);
  const configPath = path.join(dir, "tidegate.yaml");
  fs.writeFileSync(
    configPath,
    stringify({
      repository: { url: repositoryUrl },
      dataDir: "data",
      backend: { url: "file://./state" },
      secrets: { passphraseFile: "passphrase" },
    }),
  );
  return configPath;
}
