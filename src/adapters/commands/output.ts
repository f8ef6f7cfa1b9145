// A check's output as the report keeps it: the tail of everything it wrote, secrets masked.

/** How much of a check's output is kept: its last 64 KiB. */
export const OUTPUT_LIMIT_BYTES = 64 * 1024;

/** How far into the kept tail a line break (or else a blank) is looked for, to start the tail on. */
const BOUNDARY_SEARCH_BYTES = 4096;

/** Collects output chunks, holding no more than the last `limit` bytes (plus one chunk) at a time. */
export class OutputTail {
  private chunks: Buffer[] = [];
  private held = 0;
  private total = 0;

  constructor(private readonly limit: number = OUTPUT_LIMIT_BYTES) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.held += chunk.length;
    this.total += chunk.length;
    while (this.chunks.length > 1 && this.held - this.chunks[0].length >= this.limit) {
      this.held -= this.chunks.shift()?.length ?? 0;
    }
  }

  /**
   * The kept tail as text, passed through `redact`, with a "… N bytes cut" line first when output
   * was dropped. `redact` only recognises whole secrets, so a cut tail starts on a whole line (or
   * word) and without any leading fragment that could be the end of one of `secrets` cut in half.
   */
  text(redact: (text: string) => string, secrets: readonly string[]): string {
    let kept = Buffer.concat(this.chunks);
    if (kept.length > this.limit) kept = kept.subarray(kept.length - this.limit);
    if (kept.length === this.total) return redact(kept.toString("utf8"));

    const head = kept.subarray(0, BOUNDARY_SEARCH_BYTES);
    const boundary = [head.indexOf(0x0a), head.indexOf(0x20), head.indexOf(0x09)].find((i) => i >= 0);
    let start = boundary === undefined ? 0 : boundary + 1;
    while (start < kept.length && (kept[start] & 0xc0) === 0x80) start++; // inside a UTF-8 character
    let text = kept.subarray(start).toString("utf8");
    text = text.slice(secretFragmentLength(text, secrets));
    return `… ${this.total - Buffer.byteLength(text)} bytes cut\n${redact(text)}`;
  }
}

/** The length of the longest start of `text` that is the end of a secret (not the whole of it). */
function secretFragmentLength(text: string, secrets: readonly string[]): number {
  let longest = 0;
  for (const secret of secrets) {
    for (let length = Math.min(secret.length - 1, text.length); length > longest; length--) {
      if (text.startsWith(secret.slice(secret.length - length))) {
        longest = length;
        break;
      }
    }
  }
  return longest;
}
