/**
 * A delay in 0..jitterMs (inclusive) drawn from `random` (0 <= r < 1), so environments sharing a schedule
 * do not all hit Git and the Pulumi backend in the same second.
 */
export function jitterDelay(jitterMs: number, random: () => number = Math.random): number {
  const r = random();
  if (!(jitterMs > 0) || !(r > 0)) return 0;
  return Math.min(Math.floor(r * (jitterMs + 1)), Math.floor(jitterMs));
}
