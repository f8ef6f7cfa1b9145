/** How many hex digits of a commit sha people are shown, everywhere: reports, logs, the CLI. */
export const SHORT_SHA_LENGTH = 12;

/** A commit sha as people read it. */
export function shortSha(sha: string): string {
  return sha.slice(0, SHORT_SHA_LENGTH);
}
