import { z } from 'zod';
import { EditRequest } from '../editing/request';
import { traceRequestSchema } from '../tracing/schema';
import { ModelId } from './models';

/**
 * Jobs: long work (a causal trace, an edit) runs as a job with an id, a state, an ordered list of
 * events and a result. The browser starts one with POST /api/jobs, follows its events over
 * Server-Sent Events (GET /api/jobs/{id}/events, resumable with Last-Event-ID), and may cancel it
 * (POST /api/jobs/{id}/cancel). Shared by the route handlers, the job system and the UI.
 */
export const JOB_STATES = ['queued', 'running', 'done', 'failed', 'cancelled'] as const;
export const JobState = z.enum(JOB_STATES);
export type JobState = z.infer<typeof JobState>;
export const FINISHED_STATES: readonly JobState[] = ['done', 'failed', 'cancelled'];

/** Prompts scored before and after an edit (all optional; the edit prompt itself is always scored). */
export const EditProbes = z.object({
  /** Rephrasings of the edit prompt, subject filled in (generality). */
  paraphrases: z.array(z.string().min(1)).max(20).default([]),
  /** Unrelated facts that must not change (locality): prompt and the answer the model should keep. */
  neighborhood: z.array(z.object({ prompt: z.string().min(1), target: z.string().min(1) })).max(20).default([]),
  /** Questions whose answer follows from the new fact (portability). */
  portability: z.array(z.object({ prompt: z.string().min(1), target: z.string().min(1) })).max(20).default([]),
});
export type EditProbes = z.infer<typeof EditProbes>;

export const TraceJobInput = z.object({
  kind: z.literal('trace'),
  model: ModelId,
  request: traceRequestSchema,
});
export const EditJobInput = z.object({
  kind: z.literal('edit'),
  model: ModelId,
  /** An editor name (server/editing EDITORS): rome, memit, ft-l, ft-m, kn... */
  method: z.string().min(1, { error: 'Choose a method' }),
  request: EditRequest,
  /** Overrides of the method's defaults for this model; validated by the method's schema. */
  hparams: z.record(z.string(), z.unknown()).default({}),
  probes: EditProbes.default({ paraphrases: [], neighborhood: [], portability: [] }),
});

/** EasyEdit's three regimes (server/eval/runner.ts). */
export const EVAL_MODES = ['single', 'batch', 'sequential'] as const;
export const EvalMode = z.enum(EVAL_MODES);
/** Most cases one evaluation job takes: a few hours of CPU for ROME with templates. */
export const EVAL_CASES_MAX = 500;

/** An evaluation: one method on `n` cases of a dataset of the catalog (GET /api/datasets). */
export const EvalJobInput = z.object({
  kind: z.literal('eval'),
  model: ModelId,
  method: z.string().min(1, { error: 'Choose a method' }),
  /** A dataset id of the catalog (server/eval/catalog.ts), never a path. */
  dataset: z.string().min(1, { error: 'Choose a dataset' }).max(200),
  n: z.number().int().min(1).max(EVAL_CASES_MAX, { error: `At most ${EVAL_CASES_MAX} cases per evaluation` }),
  offset: z.number().int().min(0).default(0),
  mode: EvalMode.default('single'),
  /** Requests per editor call (batch mode; sequential mode edits this many at a time). */
  batchSize: z.number().int().min(1).max(EVAL_CASES_MAX).optional(),
  /** Sequential mode: re-score all earlier edits after these many edits. */
  checkpoints: z.array(z.number().int().positive()).max(20).optional(),
  hparams: z.record(z.string(), z.unknown()).default({}),
});
export type EvalJobInput = z.infer<typeof EvalJobInput>;

/** Most methods one comparison runs. */
export const COMPARE_METHODS_MAX = 5;

/** Several methods on the same fact, each from the same model version (restored between them). */
export const CompareJobInput = z.object({
  kind: z.literal('compare'),
  model: ModelId,
  methods: z
    .array(z.string().min(1))
    .min(1, { error: 'Choose at least one method' })
    .max(COMPARE_METHODS_MAX, { error: `At most ${COMPARE_METHODS_MAX} methods at once` })
    .refine((m) => new Set(m).size === m.length, { error: 'A method is listed twice' }),
  request: EditRequest,
  /** Per method id: overrides of its defaults for this model. */
  hparams: z.record(z.string(), z.record(z.string(), z.unknown())).default({}),
  probes: EditProbes.default({ paraphrases: [], neighborhood: [], portability: [] }),
});
export type CompareJobInput = z.infer<typeof CompareJobInput>;

/**
 * Second-moment statistics of MLP keys (ROME's and MEMIT's C) for some layers, computed ahead of the
 * first edit that needs them (minutes on a CPU) and cached on disk.
 */
export const StatisticsJobInput = z.object({
  kind: z.literal('statistics'),
  model: ModelId,
  layers: z
    .array(z.number().int().nonnegative())
    .min(1, { error: 'Choose at least one layer' })
    .max(128)
    .refine((l) => new Set(l).size === l.length, { error: 'A layer is listed twice' }),
});
export type StatisticsJobInput = z.infer<typeof StatisticsJobInput>;

/** Where each layer's statistics came from: already in memory, read from the disk cache, or computed now. */
export const StatisticsJobResult = z.object({
  text: z.string(),
  layers: z.array(z.object({ layer: z.number().int(), source: z.enum(['memory', 'disk', 'computed']), seconds: z.number() })),
  seconds: z.number(),
});
export type StatisticsJobResult = z.infer<typeof StatisticsJobResult>;

/** The methods whose editor networks train beforehand (server/editing/trained TRAINERS has one trainer for each). */
export const TRAINABLE_METHODS = ['mend', 'ke', 'serac'] as const;
export type TrainableMethod = (typeof TRAINABLE_METHODS)[number];

/** Most records one training job reads (the world's zsRE train split has 2000). */
export const TRAIN_RECORDS_MAX = 100_000;

/**
 * Training a method's editor network (MEND) for a model on a train split of the catalog; the trained
 * editor is stored per model (server/editing/trained/store.ts). A cancelled or interrupted job leaves
 * a checkpoint; a later job with the same hparams resumes from it unless `restart`.
 */
export const TrainJobInput = z.object({
  kind: z.literal('train'),
  model: ModelId,
  /** A trainable method (server/editing/trained TRAINERS): mend, ke, serac. */
  method: z.string().min(1, { error: 'Choose a method' }),
  /** Dataset ids of the catalog with locality prompts, comma-separated (absent: the method's world train splits, as `locus train`). */
  dataset: z.string().min(1).max(1000).optional(),
  /** Train on the first n records of each dataset (all when absent). */
  n: z.number().int().min(2).max(TRAIN_RECORDS_MAX).optional(),
  hparams: z.record(z.string(), z.unknown()).default({}),
  restart: z.boolean().default(false),
});
export type TrainJobInput = z.infer<typeof TrainJobInput>;

/** The result of a train job (server/editing/mend/train.ts TrainResult). */
export const TrainJobResult = z.object({
  method: z.string(),
  /** The trained editor's file. */
  file: z.string(),
  steps: z.number().int(),
  resumedFrom: z.number().int(),
  seconds: z.number(),
  /** Mean loss and its terms over the run's last 50 steps (MEND: edit, loc, preEdit). */
  final: z.record(z.string(), z.number()),
  peakBytes: z.number(),
  peakRssBytes: z.number(),
});
export type TrainJobResult = z.infer<typeof TrainJobResult>;

/** POST /api/jobs */
export const JobInput = z.discriminatedUnion('kind', [TraceJobInput, EditJobInput, EvalJobInput, CompareJobInput, StatisticsJobInput, TrainJobInput]);
export type JobInput = z.infer<typeof JobInput>;
export type JobKind = JobInput['kind'];
export const JOB_KINDS = ['trace', 'edit', 'eval', 'compare', 'statistics', 'train'] as const satisfies readonly JobKind[];

/**
 * One event of a job, numbered from 1 in the order it happened. Types: 'state' ({state, error?}),
 * 'progress' (a trace event of lib/tracing or an editor's EditProgress), 'result' (the result).
 */
export const JobEvent = z.object({
  seq: z.number().int().positive(),
  /** ISO time. */
  at: z.string(),
  type: z.enum(['state', 'progress', 'result']),
  data: z.unknown(),
});
export type JobEvent = z.infer<typeof JobEvent>;

/** GET /api/jobs/{id}, and each item of GET /api/jobs. */
export const JobSummary = z.object({
  id: z.string(),
  kind: z.enum(JOB_KINDS),
  model: z.string(),
  state: JobState,
  input: z.unknown(),
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  /** Why it failed, in a sentence. */
  error: z.string().nullable(),
  result: z.unknown().nullable(),
  /** Number of events so far. */
  events: z.number().int().nonnegative(),
});
export type JobSummary = z.infer<typeof JobSummary>;
/** GET /api/jobs */
export const JobList = z.object({ jobs: z.array(JobSummary) });

/** p(target) of one prompt: the probability of the whole target (product over its tokens). */
export const ProbeScore = z.object({ prompt: z.string(), target: z.string(), p: z.number(), argmaxMatches: z.boolean() });
export type ProbeScore = z.infer<typeof ProbeScore>;

/** The model's answers to the edit's probes at one moment (before or after the edit). */
export const ProbeSnapshot = z.object({
  /** The edit prompt with target_new, and with target_true when the request gives it. */
  targetNew: ProbeScore,
  targetTrue: ProbeScore.nullable(),
  paraphrases: z.array(ProbeScore),
  neighborhood: z.array(ProbeScore),
  portability: z.array(ProbeScore),
  /** Greedy continuation of the edit prompt. */
  generation: z.string(),
});
export type ProbeSnapshot = z.infer<typeof ProbeSnapshot>;

/** The result of an edit job. */
export const EditJobResult = z.object({
  /** The model version the edit created (see /api/models/{id}/versions). */
  editId: z.number().int(),
  method: z.string(),
  hparams: z.record(z.string(), z.unknown()),
  before: ProbeSnapshot,
  after: ProbeSnapshot,
  /** Wall time of the edit itself (statistics included), and of the whole job. */
  editSeconds: z.number(),
  seconds: z.number(),
  /** The device memory the backend held at most during the edit (weights included); null where it is not tracked (CPU). */
  devicePeakBytes: z.number().nullable().default(null),
  stats: z.record(z.string(), z.union([z.number(), z.string()])),
  /** ffnSlots: key/value slots added beside a layer's MLP (T-Patcher, CaliNET); `slots` counts them (absent for the other kinds). */
  deltas: z.array(z.object({ param: z.string(), kind: z.enum(['lowRank', 'dense', 'ffnSlots', 'memory']), rank: z.number().int().nullable(), slots: z.number().int().optional(), entries: z.number().int().optional() })),
});
export type EditJobResult = z.infer<typeof EditJobResult>;

/** An edit applied to a loaded model (GET /api/models/{id}/versions). */
export const VersionEntry = z.object({
  id: z.number().int(),
  method: z.string(),
  requests: z.array(EditRequest),
  createdAt: z.string(),
});
export const VersionsResponse = z.object({
  model: z.string(),
  /** Applied edits, oldest first; an empty list is the base model. */
  edits: z.array(VersionEntry),
});
export type VersionsResponse = z.infer<typeof VersionsResponse>;

/** One method's run in a comparison: its probes after the edit, or why it failed. */
export const CompareRun = z.object({
  method: z.string(),
  /** The method's display name (ROME, MEMIT...). */
  name: z.string(),
  hparams: z.record(z.string(), z.unknown()),
  after: ProbeSnapshot.nullable(),
  /** Wall time of the edit itself (statistics the method needed first included). */
  editSeconds: z.number().nullable(),
  /** Largest engine memory and process RSS seen while the method ran. */
  peakBytes: z.number(),
  peakRssBytes: z.number(),
  error: z.string().nullable(),
});
export type CompareRun = z.infer<typeof CompareRun>;

/** The result of a compare job: the model before, and after each method (each undone before the next). */
export const CompareJobResult = z.object({
  before: ProbeSnapshot,
  runs: z.array(CompareRun),
  seconds: z.number(),
});
export type CompareJobResult = z.infer<typeof CompareJobResult>;
