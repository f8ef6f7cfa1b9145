import type { BranchHeads } from "./port";
import { lsRemoteHeads } from "./output";

/** Every branch of one listing, parsed once for all the polls it answers. */
type Listing = Map<string, string>;

/**
 * Polls of one repository share one `git ls-remote` of every branch: a poll asks for the heads as
 * listed at or after its tick, and any listing that started since then answers it (one in flight
 * too). Only the newest listing is kept; a failed one is dropped, so the next poll asks again.
 */
export class SharedHeads {
  private latest: { startedAt: number; listing: Promise<Listing> } | undefined;

  constructor(
    /** `git ls-remote --heads <url>` of every branch: its output. */
    private readonly listAll: () => Promise<string>,
    private readonly now: () => number = Date.now,
  ) {}

  /** The heads of `branches` from a listing that started at or after `notBefore`. */
  async heads(branches: string[], notBefore: Date): Promise<BranchHeads> {
    let latest = this.latest;
    if (latest === undefined || latest.startedAt < notBefore.getTime()) {
      const current = { startedAt: this.now(), listing: this.listAll().then(parseAll) };
      this.latest = latest = current;
      current.listing.catch(() => {
        if (this.latest === current) this.latest = undefined;
      });
    }
    const listing = await latest.listing;
    const heads: BranchHeads = {};
    for (const branch of branches) {
      const sha = listing.get(branch);
      if (sha !== undefined) heads[branch] = sha;
    }
    return heads;
  }
}

function parseAll(stdout: string): Listing {
  return new Map(lsRemoteHeads(stdout));
}
