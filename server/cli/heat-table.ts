import type { TraceKind, TraceResult } from '../../lib/tracing';

/** Darker for larger effects, relative to the table's largest: ' ' (0 or less) to '@' (the largest). */
const RAMP = ' .:-=+*#%@';

/**
 * One kind's indirect effects as an ASCII heat table: a row per layer, a column per prompt token
 * (subject tokens marked *), each cell a shade and the effect p_restored - p_corrupted; '-' where
 * the token was not traced.
 */
export function formatHeatTable(result: TraceResult, kind: TraceKind): string {
  const trace = result.traces.find((t) => t.kind === kind);
  if (!trace) throw new Error(`formatHeatTable: the trace has no '${kind}' effects`);
  const { start, end } = result.subjectRange;
  const labels = result.tokens.map((token, t) => `${token.trim() || JSON.stringify(token)}${t >= start && t < end ? '*' : ''}`);
  const widths = labels.map((label) => Math.min(10, Math.max(7, label.length + 1)));
  const max = Math.max(0, ...trace.effects.flat().filter((v): v is number => v !== null));
  const cell = (v: number | null, width: number) => {
    if (v === null) return '-'.padStart(width);
    const shade = RAMP[max > 0 ? Math.max(0, Math.min(RAMP.length - 1, Math.round((v / max) * (RAMP.length - 1)))) : 0]!;
    return `${shade} ${decimal(v)}`.padStart(width);
  };
  const head = `${'layer'.padEnd(6)}${labels.map((label, t) => label.slice(0, widths[t]! - 1).padStart(widths[t]!)).join('')}`;
  const rows = trace.effects.map((row, layer) => `${String(layer).padEnd(6)}${row.map((v, t) => cell(v, widths[t]!)).join('')}`);
  const restored = kind === 'hidden' ? 'the hidden state after the layer' : `${kind === 'mlp' ? 'MLP' : 'attention'} outputs of ${result.window} layers around it`;
  return [`${kind}: indirect effect of restoring ${restored} (* subject; '@' the largest, ${decimal(max)})`, head, ...rows].join('\n');
}

/** 0.512 -> ".512", -0.012 -> "-.012", 1 -> "1.000": five characters for a probability difference. */
function decimal(v: number): string {
  return (Number(v.toFixed(3)) || 0).toFixed(3).replace(/^(-?)0\./, '$1.'); // || 0: no "-.000"
}
