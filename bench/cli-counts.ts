/**
 * The benchmarks' check of count and duration flags: every value a whole
 * number above 0. Returns the flags that fail it, each with what is wanted,
 * so that a run names every bad flag at once before it starts anything.
 */
export function badCounts(flags: Record<string, number[]>): string[] {
  return Object.entries(flags)
    .filter(([, values]) => !values.every((v) => Number.isInteger(v) && v > 0))
    .map(([flag]) => `${flag}: whole numbers above 0 (lists: comma-separated)`);
}
