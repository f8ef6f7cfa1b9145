import parsePrometheusTextFormat from "parse-prometheus-text-format";

// /metrics read back with a real Prometheus text-format parser. parse-prometheus-text-format 1.1.1
// folds a labelled histogram into one series (its flattenMetrics drops the labels), so histogram
// families are read as their raw samples: <name>_bucket, <name>_sum and <name>_count, each labelled.

export interface Sample {
  value?: string;
  labels?: Record<string, string>;
}
export type Families = Map<string, { type: string; metrics: Sample[] }>;

export function parseMetrics(text: string): Families {
  const untypedHistograms = text.replace(/^# TYPE \S+ histogram$/gm, "");
  const families = parsePrometheusTextFormat(untypedHistograms) as {
    name: string;
    type: string;
    metrics: Sample[];
  }[];
  // A histogram's raw samples alternate between its series: one family per run of lines, merged.
  const merged: Families = new Map();
  for (const f of families) {
    const known = merged.get(f.name);
    if (known) known.metrics.push(...f.metrics);
    else merged.set(f.name, { type: f.type, metrics: [...f.metrics] });
  }
  return merged;
}

/** The value of the one sample of `name` whose labels include `labels`; undefined when none. */
export function sampleValue(
  families: Families,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const found = families
    .get(name)
    ?.metrics.find((m) => Object.entries(labels).every(([k, v]) => (m.labels ?? {})[k] === v));
  return found?.value === undefined ? undefined : Number(found.value);
}
