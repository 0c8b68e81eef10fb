'use client';

import type { TraceKind, TraceSetup, TraceStack } from '@/lib/tracing/schema';
import { normalise, viridis, viridisGradient } from './colors';
import { visibleToken } from './format';
import { DECODER_KIND_TITLE, KIND_PHRASE, KIND_TITLE, type Cell } from './trace-view';

interface Props {
  kind: TraceKind;
  setup: TraceSetup;
  /** [layer][token] */
  cells: Cell[][];
  min: number;
  max: number;
  /** The cell the layer suggestion reads, outlined. */
  highlight?: { layer: number; token: number } | null;
  /**
   * Encoder-decoder traces: which stack this heatmap shows. 'decoder' draws the setup's decoder grid
   * (its positions, no subject there); otherwise the setup's own tokens and layers.
   */
  stack?: TraceStack;
}

/** Up to six significant digits: the value as the server computed it, without float noise. */
export function effectText(v: number): string {
  return String(Number(v.toPrecision(6)));
}

/**
 * One kind's indirect effects as a table (ROME's layout: a row per prompt token, a column per
 * layer). Subject tokens carry a “*”. Each cell's colour comes from the viridis scale over
 * [min, max]; its title and its screen-reader text give the exact value.
 */
export function Heatmap({ kind, setup, cells, min, max, highlight, stack }: Props) {
  const onDecoder = stack === 'decoder' && setup.decoder !== undefined;
  const grid = onDecoder ? setup.decoder! : setup;
  const layers = Array.from({ length: grid.layers }, (_, l) => l);
  const inSubject = (t: number) => !onDecoder && t >= setup.subjectRange.start && t < setup.subjectRange.end;
  const filledRows = cells.filter((row) => row.length > 0 && row.every((v) => v !== undefined)).length;
  // decoder-only models keep the plain ids (heatmap-mlp); T5's encoder and decoder say which is which
  const id = stack === 'decoder' ? `heatmap-decoder-${kind}` : `heatmap-${kind}`;
  const titleId = `${id}-title`;
  const title = `${stack ? (stack === 'decoder' ? 'Decoder · ' : 'Encoder · ') : ''}${(stack === 'decoder' ? DECODER_KIND_TITLE : KIND_TITLE)[kind]}`;
  const attention = stack === 'decoder' ? 'cross-attention' : 'attention';
  const restored = kind === 'hidden' ? 'the hidden state after layer' : `the ${kind === 'mlp' ? 'MLP' : attention} outputs of the window around layer`;
  const where = (l: number, token: string, t: number) => `${stack ? `${stack} ` : ''}${kind === 'attn' ? `${attention} output` : KIND_PHRASE[kind]}, layer ${l}, token ${visibleToken(token)}${inSubject(t) ? ' (subject)' : ''}`;
  const target = visibleToken(setup.targetToken.text);

  return (
    <figure className="mt-4" aria-labelledby={titleId}>
      <figcaption id={titleId} className="text-sm font-medium text-neutral-800">
        {title}
        {kind !== 'hidden' && setup.window > 1 && <span className="font-normal text-neutral-600"> · window of {setup.window} layers</span>}
      </figcaption>
      <div className="mt-1 overflow-x-auto rounded focus:outline-none focus-visible:ring-2 focus-visible:ring-sky-400" tabIndex={0} role="group" aria-label={`${title} heatmap, scrollable`}>
        <table
          className="border-separate border-spacing-0.5 text-xs"
          data-testid={id}
          data-filled-rows={filledRows}
          data-layers={grid.layers}
        >
          <caption className="sr-only">
            Indirect effect on p({target}) of restoring {restored} at each {onDecoder ? 'decoder position' : 'token'}, from {effectText(min)} to {effectText(max)}.
            {onDecoder ? ' The decoder reads the start token, where the target’s first token is predicted.' : ' Subject tokens are marked with a star.'}
          </caption>
          <thead>
            <tr>
              <th scope="col" className="pr-2 text-left font-normal text-neutral-500">
                {onDecoder ? 'position' : 'token'} \ layer
              </th>
              {layers.map((l) => (
                <th key={l} scope="col" className="min-w-7 text-center font-normal tabular-nums text-neutral-600">
                  {l}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {grid.tokens.map((token, t) => (
              <tr key={t}>
                <th
                  scope="row"
                  className={`max-w-48 truncate whitespace-pre pr-2 text-right font-mono ${inSubject(t) ? 'font-bold text-neutral-900' : 'font-normal text-neutral-700'}`}
                  title={inSubject(t) ? `${visibleToken(token)} (subject token)` : visibleToken(token)}
                >
                  {visibleToken(token)}
                  {inSubject(t) && <span aria-label=" (subject)">*</span>}
                </th>
                {layers.map((l) => {
                  const v = cells[l]?.[t];
                  const cell = where(l, token, t);
                  const marked = highlight?.layer === l && highlight.token === t;
                  if (v === undefined)
                    return (
                      <td key={l} className="h-6 min-w-7 animate-pulse rounded-sm bg-neutral-100" title={`${cell}: not computed yet`} data-state="pending">
                        <span className="sr-only">pending</span>
                      </td>
                    );
                  if (v === null)
                    return (
                      <td key={l} className="h-6 min-w-7 rounded-sm bg-neutral-50 text-center text-neutral-400" title={`${cell}: not traced`} data-state="skipped">
                        <span aria-hidden="true">·</span>
                        <span className="sr-only">not traced</span>
                      </td>
                    );
                  return (
                    <td
                      key={l}
                      className={`h-6 min-w-7 rounded-sm ${marked ? 'outline-2 outline-offset-1 outline-red-600' : ''}`}
                      style={{ backgroundColor: viridis(normalise(v, min, max)) }}
                      title={`${cell}: indirect effect ${effectText(v)} (p restored ${effectText(v + setup.pCorrupted)})${marked ? ' — suggested layer' : ''}`}
                      data-state="filled"
                      data-value={v}
                    >
                      <span className="sr-only">
                        {effectText(v)}
                        {marked && ', suggested layer'}
                      </span>
                    </td>
                  );
                })}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </figure>
  );
}

/** The colour scale with its numeric range. */
export function HeatmapLegend({ min, max, target }: { min: number; max: number; target: string }) {
  return (
    <div className="mt-2 text-xs text-neutral-600" data-testid="heatmap-legend">
      <div className="flex items-center gap-2">
        <span className="tabular-nums" data-testid="legend-min">
          {effectText(min)}
        </span>
        <span className="h-3 w-48 rounded-sm" style={{ backgroundImage: viridisGradient() }} aria-hidden="true" />
        <span className="tabular-nums" data-testid="legend-max">
          {effectText(max)}
        </span>
      </div>
      <p className="mt-1">
        Colour: indirect effect, p({target}) with the state restored minus p({target}) with the subject corrupted (viridis scale; darker is smaller).
      </p>
    </div>
  );
}
