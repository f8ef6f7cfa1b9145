import { createHash } from "node:crypto";
import * as path from "node:path";
import type { ReadEnvironmentFiles } from "../../config/load";
import { userCacheDir } from "../../config/paths";
import { withoutCredentials } from "./redact";
import { SimpleGitAdapter } from "./simple-git";

/**
 * Reads the environment files at the config ref through a per-user cache mirror (the data dir is not
 * known before tidegate.yaml is valid, and reading config must write nothing there), named by the
 * URL without credentials (a rotated token keeps the same mirror). With `fetch: false` (the readers)
 * the files are taken as last fetched: only a new mirror is fetched into.
 */
export function environmentFilesReader(options: { fetch?: boolean } = {}): ReadEnvironmentFiles {
  return async (dir, ref, repository) => {
    const key = createHash("sha256").update(withoutCredentials(repository.url)).digest("hex").slice(0, 16);
    const git = new SimpleGitAdapter({
      url: repository.url,
      token: repository.token,
      timeouts: repository.timeouts,
      mirrorDir: path.join(userCacheDir(), "config-mirrors", key),
    });
    const sha = (options.fetch === false ? await git.lastFetched(ref) : undefined) ?? (await git.fetch(ref));
    return git.readFiles(sha, dir);
  };
}
