// Repositories of many environments for the benches that poll them: each environment a branch of
// one commit of the example program (never run, as nothing changes), and a status as its last check
// left it.
import type { Store } from "../src/adapters/store/port";
import { exampleRepositoryFiles } from "../test/helpers/example";
import { createGitRemote, type GitRemoteFixture } from "../test/helpers/git";

export interface ManyEnvironments {
  remote: GitRemoteFixture;
  names: string[];
  /** The one commit every branch is at. */
  head: string;
}

/** env000, env001, …: the benches' environment names. */
export const environmentName = (i: number): string => `env${String(i).padStart(3, "0")}`;

/** `count` environments named by `name`, each on its own branch of one pushed commit. */
export async function manyEnvironments(
  count: number,
  name: (i: number) => string,
): Promise<ManyEnvironments> {
  const remote = await createGitRemote();
  const names = Array.from({ length: count }, (_, i) => name(i));
  const head = await remote.commitFiles(
    exampleRepositoryFiles(names.map((env) => ({ name: env, stack: env, sync: "auto", drift: "report" }))),
    `${count} environments`,
  );
  await remote.push("main");
  await remote.git("push", "origin", ...names.map((env) => `main:refs/heads/${env}`));
  return { remote, names, head };
}

/** Each environment as its last check left it: Synced at `head` (a poll then runs nothing). */
export async function seedSynced(
  store: Pick<Store, "status" | "setStatus">,
  names: readonly string[],
  head: string,
): Promise<void> {
  const at = new Date().toISOString();
  for (const name of names) {
    const last = await store.status(name);
    await store.setStatus({
      environment: name,
      branch: name,
      stack: name,
      status: "Synced",
      pendingCount: 0,
      driftCount: 0,
      ...(last?.lastRunId !== undefined ? { lastRunId: last.lastRunId } : {}),
      headCommit: head,
      deployedCommit: head,
      lastRunAt: at,
      updatedAt: at,
    });
  }
}
