import * as fs from "node:fs";
import { CommitNotFoundError } from "../../src/adapters/git/errors";
import type { PathSelection } from "../../src/adapters/git/port";
import type { CommitInfo } from "../../src/domain/model";
import type { GatingGit } from "../../src/reconcile/gating";
import type { RunGit } from "../../src/reconcile/observe";

// The Git a run uses (RunGit and the gates' GatingGit), over commits a test declares with their
// parents. Branch heads can move and vanish; checkouts are kept, never written.

export class FakeGit implements RunGit, GatingGit {
  readonly branches = new Map<string, string>();
  readonly checkouts: { branch: string; sha: string; dir: string }[] = [];
  private readonly commits = new Map<string, { info: CommitInfo; parent?: string }>();

  /** Declares a commit (sha padded to 40 hex digits from `id`) and returns its sha. */
  add(id: string, options: { parent?: string; author?: string; authorEmail?: string } = {}): string {
    const sha = shaOf(id);
    this.commits.set(sha, {
      info: {
        sha,
        author: options.author ?? "Dev",
        authorEmail: options.authorEmail ?? "dev@example.com",
        date: "2026-11-27T00:00:00.000Z",
        message: `commit ${id}`,
      },
      ...(options.parent ? { parent: options.parent } : {}),
    });
    return sha;
  }

  heads(branches: string[]): Promise<Record<string, string>> {
    const found: Record<string, string> = {};
    for (const branch of branches) {
      const head = this.branches.get(branch);
      if (head) found[branch] = head;
    }
    return Promise.resolve(found);
  }

  checkout(branch: string, sha: string, dir: string): Promise<void> {
    this.checkouts.push({ branch, sha, dir });
    // An empty folder: the program path checks let the missing project folder through.
    fs.mkdirSync(dir, { recursive: true });
    return Promise.resolve();
  }

  commit(sha: string): Promise<CommitInfo> {
    const found = this.commits.get(sha);
    return found ? Promise.resolve(found.info) : Promise.reject(new CommitNotFoundError(sha));
  }

  isAncestor(ancestor: string, descendant: string): Promise<boolean> {
    if (!this.commits.has(ancestor)) return Promise.reject(new CommitNotFoundError(ancestor));
    for (let at: string | undefined = descendant; at; at = this.commits.get(at)?.parent) {
      if (at === ancestor) return Promise.resolve(true);
    }
    return Promise.resolve(false);
  }

  /** Every commit's program tree is its own: a new commit is a new program. */
  treeHash(sha: string, _options?: PathSelection): Promise<string> {
    return Promise.resolve(`tree-${sha.slice(0, 8)}`);
  }

  async commitsBetween(from: string | undefined, to: string): Promise<CommitInfo[]> {
    const found: CommitInfo[] = [];
    for (let at: string | undefined = to; at && at !== from; at = this.commits.get(at)?.parent) {
      found.push(await this.commit(at));
    }
    return found;
  }
}

export function shaOf(id: string): string {
  return Buffer.from(id).toString("hex").padEnd(40, "0").slice(0, 40);
}
