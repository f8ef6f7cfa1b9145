/**
 * Pulumi property paths, as used in detailedDiff keys: `spec.replicas`, `tags["a.b"]`, `ports[0].port`.
 */
export type PathSegment = string | number;

export function parsePath(path: string): PathSegment[] {
  const segments: PathSegment[] = [];
  let i = 0;
  while (i < path.length) {
    const ch = path[i];
    if (ch === ".") {
      i++;
    } else if (ch === "[") {
      const close = path.indexOf("]", i);
      if (close < 0) throw new Error(`unterminated '[' in property path ${path}`);
      const inner = path.slice(i + 1, close);
      segments.push(inner.startsWith('"') ? (JSON.parse(inner) as string) : Number(inner));
      i = close + 1;
    } else {
      let j = i;
      while (j < path.length && path[j] !== "." && path[j] !== "[") j++;
      segments.push(path.slice(i, j));
      i = j;
    }
  }
  return segments;
}

const plainKey = /^[A-Za-z_$][A-Za-z0-9_$-]*$/;

export function formatPath(segments: readonly PathSegment[]): string {
  let out = "";
  for (const s of segments) {
    if (typeof s === "number") out += `[${s}]`;
    else if (plainKey.test(s)) out += out ? `.${s}` : s;
    else out += `[${JSON.stringify(s)}]`;
  }
  return out;
}

export function getPath(value: unknown, segments: readonly PathSegment[]): unknown {
  let cur = value;
  for (const s of segments) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<string | number, unknown>)[s];
  }
  return cur;
}
