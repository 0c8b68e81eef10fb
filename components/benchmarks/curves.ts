/**
 * The benchmarks page's figures as chart data: the batch-size curve (a metric against the number of
 * edits per editor call; single editing is batch size 1) and the sequential curve (a metric of all
 * earlier edits against the number of edits kept). One series per method; where several results
 * give the same point, the first one (the newest: rows come newest first) is drawn.
 */
import type { BenchmarkRow, Metric } from '@/lib/api/benchmarks';

export interface Curve {
  /** Series names, in order of first appearance. */
  series: string[];
  /** One object per x value: { x, [series]: metric in [0, 1] }. */
  points: Record<string, number>[];
}

function curve(entries: { series: string; x: number; y: number | null }[]): Curve {
  const series: string[] = [];
  const byX = new Map<number, Record<string, number>>();
  for (const { series: s, x, y } of entries) {
    if (y === null) continue;
    if (!series.includes(s)) series.push(s);
    const point = byX.get(x) ?? { x };
    if (!(s in point)) point[s] = y;
    byX.set(x, point);
  }
  return { series, points: [...byX.values()].sort((a, b) => a.x! - b.x!) };
}

export function batchCurve(rows: readonly BenchmarkRow[], metric: Metric): Curve {
  return curve(rows.filter((r) => r.mode !== 'sequential').map((r) => ({ series: r.method, x: r.mode === 'single' ? 1 : r.batchSize, y: r.post[metric] })));
}

export function sequentialCurve(rows: readonly BenchmarkRow[], metric: Metric): Curve {
  const seen = new Set<string>();
  const newest = rows.filter((r) => r.mode === 'sequential' && !seen.has(r.method) && seen.add(r.method));
  return curve(newest.flatMap((r) => r.checkpoints.map((c) => ({ series: r.method, x: c.edits, y: c[metric] }))));
}
