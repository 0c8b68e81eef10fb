'use client';

import type { ModelInfo } from '@/lib/api';
import { compactCount } from './format';

const STATUS_TEXT: Record<ModelInfo['status'], string> = {
  available: 'loads on first use',
  loading: 'loading…',
  loaded: 'loaded',
  error: 'cannot load',
};

const STATUS_STYLE: Record<ModelInfo['status'], string> = {
  available: 'bg-neutral-100 text-neutral-700',
  loading: 'bg-sky-100 text-sky-800',
  loaded: 'bg-emerald-100 text-emerald-800',
  error: 'bg-red-100 text-red-800',
};

interface Props {
  models: readonly ModelInfo[] | undefined;
  value: string | undefined;
  onChange: (id: string) => void;
  pending: boolean;
  error: Error | null;
  onRetry: () => void;
}

/** The model select and a one-line description of the chosen model's architecture. */
export function ModelPicker({ models, value, onChange, pending, error, onRetry }: Props) {
  const chosen = models?.find((m) => m.id === value);
  return (
    <div>
      <label htmlFor="model" className="block text-sm font-medium text-neutral-800">
        Model
      </label>
      <div className="mt-1 flex flex-wrap items-center gap-3">
        <select
          id="model"
          name="model"
          className="rounded border border-neutral-300 bg-white px-3 py-2 text-sm focus:border-sky-600 focus:outline-none focus:ring-2 focus:ring-sky-200 disabled:bg-neutral-100"
          value={value ?? ''}
          onChange={(e) => onChange(e.target.value)}
          disabled={pending || !models?.length}
          aria-describedby="model-details"
          aria-busy={pending}
        >
          {pending && <option value="">Loading models…</option>}
          {models?.map((m) => (
            <option key={m.id} value={m.id}>
              {m.label}
            </option>
          ))}
        </select>
        {chosen && (
          <span className={`rounded px-2 py-0.5 text-xs font-medium ${STATUS_STYLE[chosen.status]}`} data-testid="model-status">
            {STATUS_TEXT[chosen.status]}
          </span>
        )}
      </div>
      <div id="model-details" className="mt-1 text-sm text-neutral-600" aria-live="polite">
        {error ? (
          <p role="alert" className="text-red-700">
            Could not list the models: {error.message}{' '}
            <button type="button" onClick={onRetry} className="underline">
              Retry
            </button>
          </p>
        ) : chosen ? (
          <ModelDetails model={chosen} />
        ) : null}
      </div>
    </div>
  );
}

function ModelDetails({ model }: { model: ModelInfo }) {
  const parts = [
    model.family && `family ${model.family}`,
    model.architecture === 'encoder-decoder' && 'encoder-decoder',
    model.layers !== null && (model.encoderLayers !== null ? `${model.encoderLayers} + ${model.layers} layers (encoder + decoder)` : `${model.layers} layers`),
    model.hidden !== null && `hidden size ${model.hidden}`,
    model.vocabSize !== null && `vocabulary ${model.vocabSize.toLocaleString('en-US')}`,
    model.maxPositions !== null && `${model.architecture === 'encoder-decoder' ? 'reads up to' : 'context'} ${model.maxPositions.toLocaleString('en-US')} tokens`,
    model.params !== null ? `${compactCount(model.params)} parameters` : null,
  ].filter(Boolean);
  return (
    <>
      <p data-testid="model-details">{parts.join(' · ')}</p>
      <p className="text-neutral-500">{model.description}</p>
      {model.error && (
        <p role="alert" className="text-red-700">
          {model.error}
        </p>
      )}
    </>
  );
}
