import { createHash, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { stringify } from "yaml";
import { loadConfig } from "./config/load";
import type { ResolvedConfig, SecretsSource } from "./config/resolve";
import { exampleSeeded, seedExampleRepository, type SeededRepository } from "./devenv/demo/seed";
import { withoutCredentials } from "./adapters/git/redact";
import { SimpleGitAdapter } from "./adapters/git/simple-git";
import { dataPaths, userCacheDir } from "./config/paths";

/** The configuration, with environment files read from the repository at the config ref. */
export async function loadEngineConfig(configPath: string): Promise<ResolvedConfig> {
  return loadConfig({
    configPath,
    readEnvironmentFiles: async (dir, ref, repository) => {
      // The data dir is not known before tidegate.yaml is valid, and reading config must write
      // nothing there: the environment files are fetched through a per-user cache mirror, named
      // by the URL without credentials (a rotated token keeps the same mirror).
      const key = createHash("sha256").update(withoutCredentials(repository.url)).digest("hex").slice(0, 16);
      const git = new SimpleGitAdapter({
        url: repository.url,
        token: repository.token,
        timeouts: repository.timeouts,
        mirrorDir: path.join(userCacheDir(), "config-mirrors", key),
      });
      const sha = await git.fetch(ref);
      return git.readFiles(sha, dir);
    },
  });
}

/** The passphrase from where the configuration says it comes. */
export function readPassphrase(secrets: SecretsSource): string {
  if (secrets.kind === "env") {
    const value = process.env[secrets.name];
    if (!value)
      throw new Error(
        `the stacks' secrets passphrase is not set: export ${secrets.name}, or set secrets.passphraseFile in tidegate.yaml`,
      );
    return value;
  }
  try {
    return fs.readFileSync(secrets.path, "utf8").trim();
  } catch (err) {
    throw new Error(`cannot read the secrets passphrase file ${secrets.path}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/**
 * The example's passphrase: generated once, before the example is seeded with salts made from it.
 * Once seeded, a missing file is an error: a new passphrase could not open the stacks.
 */
function examplePassphrase(dataDir: string, exampleDir: string): string {
  const file = path.join(dataDir, "passphrase");
  if (fs.existsSync(file)) return readPassphrase({ kind: "file", path: file });
  if (exampleSeeded(exampleDir)) {
    throw new Error(
      `the example's secrets passphrase file ${file} is missing, but the example in ${exampleDir} was seeded with it and its stacks need it. Restore the file; or, to start the example afresh, delete ${exampleDir} and ${dataPaths(dataDir).state} and run again.`,
    );
  }
  const passphrase = randomBytes(24).toString("base64url");
  fs.writeFileSync(file, passphrase, { mode: 0o600 });
  return passphrase;
}

export interface ExampleSetup {
  configPath: string;
  repository: SeededRepository;
}

/**
 * The embedded default: with no configuration, tidegate watches an example repository in its data
 * directory, seeded from this checkout, with a file:// backend and a generated passphrase. It
 * writes a real tidegate.yaml for it, which users copy to point tidegate at their own repository.
 */
export async function prepareExample(repoRoot: string, dataDir: string): Promise<ExampleSetup> {
  const exampleDir = path.join(dataDir, "example");
  fs.mkdirSync(dataDir, { recursive: true });
  const repository = await seedExampleRepository({
    repoRoot,
    dir: exampleDir,
    branches: ["test", "stage", "prod"],
    passphrase: examplePassphrase(dataDir, exampleDir),
  });
  const configPath = path.join(dataDir, "tidegate.yaml");
  const config = {
    repository: { url: repository.url },
    dataDir: ".",
    backend: { url: `file://${dataPaths(dataDir).state}` },
    secrets: { passphraseFile: "passphrase" },
  };
  const header = [
    "# Written by `tidegate run` for its embedded example. To watch your own repository, copy this",
    "# file, set repository.url to it, and run `tidegate run --config <file>`.",
    "# yaml-language-server: $schema=" + path.join(repoRoot, "schema", "tidegate.schema.json"),
    "",
  ].join("\n");
  fs.writeFileSync(configPath, header + stringify(config));
  return { configPath, repository };
}
