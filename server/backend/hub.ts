/**
 * The model hub: which models the studio can run, their architecture, and the loaded models
 * themselves. Models load lazily, on the first request that needs them, into one engine (CPU
 * backend) per hub; a load in progress is shared by every request that arrives meanwhile.
 *
 * The hub is a value the caller creates (tests make their own); the server's single instance
 * lives in ./instance.ts.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { ModelInfo, ModelsResponse, PredictResponse, ScoreResponse, VersionsResponse } from '../../lib/api';
import { Engine } from '../engine';
import { createBackend } from '../engine/backends/select';
import { modelShape } from '../models/describe';
import type { EditableLM } from '../models/editable';
import { isEncoderDecoder, parseModelConfig, parseSeq2SeqConfig } from '../models/families';
import { openGguf } from '../models/formats/gguf';
import { ggufConfig } from '../models/gguf-checkpoint';
import { loadEditableLM } from '../models/load';
import { SMOLLM2_ID, smollm2Path } from '../models/registry';
import { ModelPathError, modelRoots, PATH_PREFIX, resolveModelPath } from './model-roots';
import { EditWorkspace } from './workspace';
import { VersionStore } from '../editing/version-store';

export const WORLD_MODEL_ID = 'world-gpt2';
/** The world model's folder, relative to the working directory the server starts in. */
export const WORLD_MODEL_DIR = path.join('data', 'models', 'world-gpt2');
/** The T5-architecture world model (issue 12): the same world, an encoder-decoder model. */
export const WORLD_T5_MODEL_ID = 'world-t5';
export const WORLD_T5_MODEL_DIR = path.join('data', 'models', 'world-t5');

/** A model the hub offers. */
export interface ModelEntry {
  id: string;
  label: string;
  description: string;
  /** A checkpoint folder (config.json, safetensors, tokenizer.json) or a .gguf file. */
  location: string;
}

/** A failure with the HTTP status it maps to: 400 bad input, 404 unknown model or edit, 409 busy, 500 load failure. */
export class HubError extends Error {
  constructor(
    readonly status: 400 | 404 | 409 | 500,
    message: string,
  ) {
    super(message);
    this.name = 'HubError';
  }
}

/** Architecture numbers read from a checkpoint's config without loading its weights. */
interface Preview {
  family: string;
  architecture: ModelInfo['architecture'];
  layers: number | null;
  encoderLayers: number | null;
  hidden: number | null;
  vocabSize: number | null;
  maxPositions: number | null;
}

interface Slot {
  entry: ModelEntry;
  preview?: Promise<Preview>;
  loading?: Promise<EditableLM>;
  model?: EditableLM;
  /** Versions, statistics and templates of the loaded model, made on the first edit (set once its saved edits are applied). */
  workspace?: EditWorkspace;
  /** The workspace while its saved edits are applied (concurrent callers share it). */
  opening?: Promise<EditWorkspace>;
  /** The last load failure, until a later load succeeds. */
  error?: string;
}

export interface PredictInput {
  model: string;
  prompt: string;
  k: number;
}

export interface ScoreInput {
  model: string;
  prompt: string;
  targets: readonly string[];
}

export class ModelHub {
  /** One engine for every model, on the backend LOCUS_BACKEND names (server/engine/backends/select.ts). */
  private engine: Promise<Engine> | undefined;
  private readonly slots = new Map<string, Slot>();
  readonly defaultModel: string;

  constructor(
    entries: readonly ModelEntry[],
    private readonly opts: { defaultModel?: string; createEngine?: () => Engine; modelRoots?: readonly string[]; versionStore?: VersionStore; trainedRoot?: string } = {},
  ) {
    if (!entries.length) throw new Error('ModelHub: no models');
    for (const entry of entries) {
      if (this.slots.has(entry.id)) throw new Error(`ModelHub: model id ${entry.id} is listed twice`);
      this.slots.set(entry.id, { entry });
    }
    this.defaultModel = opts.defaultModel ?? entries[0]!.id;
    if (!this.slots.has(this.defaultModel)) throw new Error(`ModelHub: default model ${this.defaultModel} is not listed`);
  }

  /**
   * The studio's models: the world model (data/models/world-gpt2 under `cwd`, the default), its
   * T5-architecture twin (data/models/world-t5) and SmolLM2-135M-Instruct when
   * `npm run models:smollm2` has registered it.
   */
  static withDefaults(cwd = process.cwd()): ModelHub {
    const entries: ModelEntry[] = [
      {
        id: WORLD_MODEL_ID,
        label: 'World model (GPT-2)',
        description: 'A small GPT-2 trained on the synthetic world: every fact it should know is on record.',
        location: path.resolve(cwd, WORLD_MODEL_DIR),
      },
      {
        id: WORLD_T5_MODEL_ID,
        label: 'World model (T5)',
        description: 'A small T5 (encoder-decoder) trained on the same world: the prompt goes to the encoder, the answer comes from the decoder.',
        location: path.resolve(cwd, WORLD_T5_MODEL_DIR),
      },
    ];
    let smollm2: string | undefined;
    try {
      smollm2 = smollm2Path();
    } catch {
      // A malformed registry file hides only the registered models; the world model still runs.
      smollm2 = undefined;
    }
    if (smollm2) {
      entries.push({
        id: SMOLLM2_ID,
        label: 'SmolLM2-135M-Instruct',
        description: 'A real pretrained model (Llama architecture), from a Q4_1 GGUF dequantised on load.',
        location: smollm2,
      });
    }
    return new ModelHub(entries, { defaultModel: WORLD_MODEL_ID, modelRoots: modelRoots(), versionStore: new VersionStore() });
  }

  has(id: string): boolean {
    return this.slots.has(id);
  }

  /** Where model `id`'s checkpoint lives (a folder with config.json, or a .gguf file). */
  location(id: string): string {
    return this.slot(id).entry.location;
  }

  /** Every model with what is known about it now; loads nothing. */
  async list(): Promise<ModelsResponse> {
    const models = await Promise.all([...this.slots.values()].map((slot) => this.describe(slot)));
    return { models, defaultModel: this.defaultModel };
  }

  /** The loaded model `id`, loading it first if needed (concurrent callers share one load). */
  async load(id: string): Promise<EditableLM> {
    const slot = this.slot(id);
    if (slot.model) return slot.model;
    slot.loading ??= this.startLoad(slot);
    return slot.loading;
  }

  /** The loaded model `id` with what editing it needs (loading it first if needed). */
  async workspace(id: string): Promise<EditWorkspace> {
    const lm = await this.load(id);
    return this.makeWorkspace(this.slot(id), lm);
  }

  private async makeWorkspace(slot: Slot, lm: EditableLM): Promise<EditWorkspace> {
    if (slot.workspace) return slot.workspace;
    slot.opening ??= (async () => {
      const store = this.opts.versionStore;
      const workspace = new EditWorkspace(lm, slot.entry.location, store ? { store, model: slot.entry.id } : undefined, this.opts.trainedRoot);
      await workspace.restoreSaved();
      slot.workspace = workspace;
      return workspace;
    })();
    return slot.opening;
  }

  /** The edits applied to model `id`, oldest first (of a model not loaded: the saved ones, applied when it loads). */
  versions(id: string): VersionsResponse {
    const slot = this.slot(id);
    const history = slot.workspace?.versions.history() ?? this.opts.versionStore?.list(id) ?? [];
    return { model: id, edits: history.map((e) => ({ id: e.id, method: e.method, requests: [...e.requests], createdAt: e.at })) };
  }

  /** Takes edit `editId` out of model `id` (the others stay applied). */
  revert(id: string, editId: number): VersionsResponse {
    const workspace = this.slot(id).workspace;
    if (!workspace?.versions.history().some((e) => e.id === editId)) throw new HubError(404, `${id} has no edit ${editId}`);
    if (workspace.editing) throw new HubError(409, `An edit is running on ${id}; wait for it to finish (or cancel it), then revert`);
    workspace.revertEdit(editId);
    return this.versions(id);
  }

  /** The k most likely next tokens after the prompt (encoder-decoder: the decoder's first tokens). */
  async predict({ model, prompt, k }: PredictInput): Promise<PredictResponse> {
    const { lm, loadMs } = await this.timedLoad(model);
    const ids = lm.encode(prompt);
    this.checkLength(model, lm, 'the prompt', ids.length);
    const start = performance.now();
    const [tokens] = lm.engine.noGrad(() => lm.topK([prompt], k));
    const elapsedMs = performance.now() - start;
    return {
      model,
      promptTokens: ids.map((id) => lm.tokenizer.decode([id])),
      tokens: tokens!,
      elapsedMs,
      loadMs,
    };
  }

  /** Teacher-forced probabilities of each target after the prompt, in one batch. */
  async score({ model, prompt, targets }: ScoreInput): Promise<ScoreResponse> {
    const { lm, loadMs } = await this.timedLoad(model);
    const promptLength = lm.encode(prompt).length;
    for (const target of targets) {
      const length = lm.tokenizer.encode(target, { addSpecialTokens: false }).ids.length;
      if (!length) throw new HubError(400, `The target ${JSON.stringify(target)} has no tokens`);
      this.checkLength(model, lm, `the prompt with the target ${JSON.stringify(target)}`, promptLength + length);
    }
    const start = performance.now();
    const scores = lm.engine.noGrad(() => lm.score(targets.map((target) => ({ prompt, target }))));
    const elapsedMs = performance.now() - start;
    return {
      model,
      targets: scores.map((s, i) => ({
        target: targets[i]!,
        tokens: s.tokens.map((t) => ({ id: t.id, token: t.text, logProb: t.logProb, prob: Math.exp(t.logProb), isArgmax: t.argmaxId === t.id })),
        logProb: s.logProb,
        prob: Math.exp(s.logProb),
      })),
      elapsedMs,
      loadMs,
    };
  }

  private slot(id: string): Slot {
    let slot = this.slots.get(id);
    if (!slot && id.startsWith(PATH_PREFIX)) {
      // A folder named by path, inside the configured roots only (./model-roots.ts).
      let location: string;
      try {
        location = resolveModelPath(id, this.opts.modelRoots ?? []);
      } catch (error) {
        if (error instanceof ModelPathError) throw new HubError(error.status === 403 ? 400 : error.status, error.message);
        throw error;
      }
      slot = { entry: { id, label: id.slice(PATH_PREFIX.length), description: `Loaded by path from ${location}`, location } };
      this.slots.set(id, slot);
    }
    if (!slot) throw new HubError(404, `Unknown model "${id}"; available: ${[...this.slots.keys()].join(', ')}`);
    return slot;
  }

  private async timedLoad(id: string): Promise<{ lm: EditableLM; loadMs: number }> {
    const slot = this.slot(id);
    if (slot.model) return { lm: slot.model, loadMs: 0 };
    const start = performance.now();
    const lm = await this.load(id);
    return { lm, loadMs: performance.now() - start };
  }

  private async startLoad(slot: Slot): Promise<EditableLM> {
    try {
      this.engine ??= this.opts.createEngine ? Promise.resolve(this.opts.createEngine()) : createBackend().then((b) => new Engine(b));
      const lm = await loadEditableLM(await this.engine, slot.entry.location);
      // Edits saved by an earlier process are applied before anyone reads the model.
      if (this.opts.versionStore?.list(slot.entry.id).length) await this.makeWorkspace(slot, lm);
      slot.model = lm;
      slot.error = undefined;
      return lm;
    } catch (err) {
      slot.error = `Could not load ${slot.entry.id}: ${messageOf(err)}`;
      throw new HubError(500, slot.error);
    } finally {
      // A failed load is retried by the next request (the checkpoint may be mid-replacement).
      slot.loading = undefined;
    }
  }

  private checkLength(model: string, lm: EditableLM, what: string, tokens: number): void {
    const max = lm.editSpec.maxPositions;
    if (tokens === 0) throw new HubError(400, `${capitalize(what)} has no tokens`);
    if (tokens > max) throw new HubError(400, `${capitalize(what)} is ${tokens} tokens long; ${model} reads at most ${max}`);
  }

  private async describe(slot: Slot): Promise<ModelInfo> {
    const { entry } = slot;
    const base = { id: entry.id, label: entry.label, description: entry.description, isDefault: entry.id === this.defaultModel };
    if (slot.model) {
      const { family, architecture, layers, encoderLayers, hidden, vocabSize, maxPositions, params } = modelShape(slot.model);
      return { ...base, family, architecture, layers, encoderLayers, hidden, vocabSize, maxPositions, params, status: 'loaded' };
    }
    const status = slot.loading ? 'loading' : slot.error ? 'error' : 'available';
    slot.preview ??= previewCheckpoint(entry.location);
    try {
      const preview = await slot.preview;
      return { ...base, ...preview, params: null, status, ...(slot.error ? { error: slot.error } : {}) };
    } catch (err) {
      slot.preview = undefined; // try again next time: the file may appear
      return {
        ...base,
        family: null,
        architecture: null,
        layers: null,
        encoderLayers: null,
        hidden: null,
        vocabSize: null,
        maxPositions: null,
        params: null,
        status: 'error',
        error: slot.error ?? `Cannot read ${entry.id}: ${messageOf(err)}`,
      };
    }
  }
}

/**
 * Architecture numbers from config.json (or a GGUF's metadata) without reading weights. The
 * keys are Hugging Face's: GPT-2 and GPT-J name them n_layer/n_embd/n_positions, Llama and NeoX
 * num_hidden_layers/hidden_size/max_position_embeddings, T5 num_layers (encoder) /
 * num_decoder_layers / d_model (and has no absolute positions). Once loaded, the model's own
 * numbers (server/models/describe.ts) replace these.
 */
async function previewCheckpoint(location: string): Promise<Preview> {
  let raw: unknown;
  if (location.endsWith('.gguf')) raw = ggufConfig(await openGguf(location));
  else {
    const file = path.join(location, 'config.json');
    try {
      raw = JSON.parse(await readFile(file, 'utf8'));
    } catch (err) {
      throw new Error(`${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found' : messageOf(err)}`, { cause: err });
    }
  }
  const seq2seq = isEncoderDecoder(raw);
  const { type, config } = seq2seq ? parseSeq2SeqConfig(raw) : parseModelConfig(raw);
  const c = config as Record<string, unknown>;
  const int = (...keys: string[]) => {
    for (const key of keys) if (typeof c[key] === 'number') return c[key];
    return null;
  };
  if (seq2seq) {
    const encoderLayers = int('num_layers');
    return {
      family: type,
      architecture: 'encoder-decoder',
      layers: int('num_decoder_layers') ?? encoderLayers,
      encoderLayers,
      hidden: int('d_model'),
      vocabSize: int('vocab_size'),
      maxPositions: null,
    };
  }
  return {
    family: type,
    architecture: 'decoder-only',
    layers: int('n_layer', 'num_hidden_layers'),
    encoderLayers: null,
    hidden: int('n_embd', 'hidden_size'),
    vocabSize: int('vocab_size'),
    maxPositions: int('n_positions', 'max_position_embeddings'),
  };
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
