'use client';

import { useRef, useState, type ReactNode } from 'react';
import { secondaryButton } from '../studio/ui';
import { downloadChartPng, downloadChartSvg } from './download';

/**
 * A chart with its caption, a text description for screen readers, and buttons that save it as SVG
 * or PNG (file names from `name`).
 */
export function ChartFigure({ title, description, name, children, testId }: { title: string; description: string; name: string; children: ReactNode; testId?: string }) {
  const ref = useRef<HTMLDivElement>(null);
  const [error, setError] = useState<string | null>(null);
  const run = (save: () => void | Promise<void>) => {
    setError(null);
    Promise.resolve()
      .then(save)
      .catch((e: unknown) => setError((e as Error).message));
  };
  return (
    <figure className="mt-3" data-testid={testId}>
      <div className="flex flex-wrap items-baseline justify-between gap-2">
        <figcaption className="text-sm font-medium text-neutral-800">{title}</figcaption>
        <div className="flex gap-2">
          <button type="button" className={`${secondaryButton} px-2 py-1 text-xs`} onClick={() => run(() => downloadChartSvg(ref.current, `${name}.svg`))}>
            Save SVG
          </button>
          <button type="button" className={`${secondaryButton} px-2 py-1 text-xs`} onClick={() => run(() => downloadChartPng(ref.current, `${name}.png`))}>
            Save PNG
          </button>
        </div>
      </div>
      <p className="sr-only">{description}</p>
      <div ref={ref} aria-hidden="true">
        {children}
      </div>
      {error && (
        <p role="alert" className="text-sm text-red-700">
          {error}
        </p>
      )}
    </figure>
  );
}
