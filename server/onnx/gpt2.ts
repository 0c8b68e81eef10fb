/**
 * GPT-2 as an ONNX graph with causal-trace interventions, wired as server/models/families/gpt2.ts
 * wires the engine's forward (same checkpoint keys, same hook points), so the exported model of
 * a version computes what the engine computes for it. Interventions (lib/onnx/interface.ts):
 * noise on the embeddings, and clean states written back with Where at attn_out, mlp_out and
 * resid_post, as server/tracing/runner.ts does with hooks.
 */
import { TRACE_KINDS, type TraceKind } from '../../lib/tracing/schema';
import { cleanInput, ONNX_IO, restoreInput, stateOutput } from '../../lib/onnx/interface';
import type { Gpt2Config } from '../models/families/gpt2';
import type { CausalLM } from '../models/network';
import { DataType, GraphBuilder, type ValueInfo } from './graph';

export interface Gpt2GraphOptions {
  /** Output logits [B, T, V] for every position instead of last_logits [B, V] (parity checks;
   * a trace needs only the last position, and the head over every position costs ~20% more). */
  allLogits?: boolean;
}

export function gpt2Graph(network: CausalLM, config: Gpt2Config, opts: Gpt2GraphOptions = {}): { graph: GraphBuilder; inputs: ValueInfo[]; outputs: ValueInfo[] } {
  const { spec } = network;
  const d = spec.hidden;
  const heads = spec.heads;
  const headDim = spec.headDim;
  const layers = spec.layers;
  const eps = config.layer_norm_epsilon;
  const g = new GraphBuilder();

  /** A parameter's current values (the loaded version: base + applied edits), as f32. */
  const param = (key: string, dims: readonly number[]) => {
    const t = network.params.get(key);
    if (!t) throw new Error(`onnx export: the gpt2 model has no parameter ${key}`);
    if (t.shape.length !== dims.length || t.shape.some((s, i) => s !== dims[i])) throw new Error(`onnx export: ${key} is [${t.shape}], expected [${dims}]`);
    return g.floats(key, t.valuesSync() as Float32Array, dims);
  };

  const ids = g.reserve(ONNX_IO.ids);
  const noise = g.reserve(ONNX_IO.noise);
  const targets = g.reserve(ONNX_IO.targets);
  const restore = Object.fromEntries(TRACE_KINDS.map((k) => [k, g.reserve(restoreInput(k))])) as Record<TraceKind, string>;
  const clean = Object.fromEntries(TRACE_KINDS.map((k) => [k, g.reserve(cleanInput(k))])) as Record<TraceKind, string>;

  // positions 0..T-1 and the causal mask [T, T] (key j visible from query i when j <= i)
  const tokens = g.op('Gather', [g.op('Shape', [ids]), g.int64('axis_1', [1], [])], { axis: 0 }); // scalar T
  const positions = g.op('Range', [g.int64('zero', [0], []), tokens, g.int64('one', [1], [])]); // [T]
  const causal = g.op('LessOrEqual', [g.op('Unsqueeze', [positions, g.int64('axes_0', [0])]), g.op('Unsqueeze', [positions, g.int64('axes_1', [1])])]); // [T(query), T(key)]
  const negInf = g.scalar('neg_inf', -Infinity);
  const scale = g.scalar('attn_scale', 1 / Math.sqrt(headDim));
  const headShape = g.int64('head_shape', [0, 0, heads, headDim]); // [B, T, H, hd]; 0 keeps the input's dim
  const mergedShape = g.int64('merged_shape', [0, 0, d]);
  const qkvSplit = g.int64('qkv_split', [d, d, d]);

  const wte = param('transformer.wte.weight', [spec.vocabSize, d]);
  const wpe = param('transformer.wpe.weight', [spec.maxPositions, d]);
  // embed hook point: token + position embeddings, then the noise (zero on the clean run)
  let x = g.op('Add', [g.op('Gather', [wte, ids]), g.op('Gather', [wpe, positions])]); // [B, T, D]
  x = g.op('Add', [x, noise]);

  const layerIndex = Array.from({ length: layers }, (_, l) => g.int64(`layer_${l}`, [l], []));
  /** Where restore_{kind}[l] (broadcast over D) take clean_{kind}[l] (broadcast over B). */
  const restored = (kind: TraceKind, l: number, value: string) => {
    const mask = g.op('Gather', [restore[kind], layerIndex[l]!], { axis: 0 }); // [B, T, 1]
    const state = g.op('Gather', [clean[kind], layerIndex[l]!], { axis: 0 }); // [1, T, D]
    return g.op('Where', [mask, state, value]);
  };
  const conv1d = (input: string, p: string, inDim: number, outDim: number) => g.op('Add', [g.op('MatMul', [input, param(`${p}.weight`, [inDim, outDim])]), param(`${p}.bias`, [outDim])]);
  const layerNorm = (input: string, p: string) => g.op('LayerNormalization', [input, param(`${p}.weight`, [d]), param(`${p}.bias`, [d])], { axis: -1, epsilon: eps }, { floatAttrs: ['epsilon'] });
  const inner = spec.mlpHidden;
  const gelu = config.activation_function === 'gelu' ? geluErf : geluTanh;

  const states: Record<TraceKind, string[]> = { hidden: [], mlp: [], attn: [] };
  for (let l = 0; l < layers; l++) {
    const p = `transformer.h.${l}`;
    const h = layerNorm(x, `${p}.ln_1`);
    const [q, k, v] = g.opN('Split', [conv1d(h, `${p}.attn.c_attn`, d, 3 * d), qkvSplit], 3, { axis: 2 }); // 3 x [B, T, D]
    const q4 = g.op('Transpose', [g.op('Reshape', [q!, headShape])], { perm: [0, 2, 1, 3] }); // [B, H, T, hd]
    const kT = g.op('Transpose', [g.op('Reshape', [k!, headShape])], { perm: [0, 2, 3, 1] }); // [B, H, hd, T]
    const v4 = g.op('Transpose', [g.op('Reshape', [v!, headShape])], { perm: [0, 2, 1, 3] }); // [B, H, T, hd]
    const scores = g.op('Mul', [g.op('MatMul', [q4, kT]), scale]); // [B, H, T, T]
    const probs = g.op('Softmax', [g.op('Where', [causal, scores, negInf])], { axis: -1 });
    const context = g.op('Reshape', [g.op('Transpose', [g.op('MatMul', [probs, v4])], { perm: [0, 2, 1, 3] }), mergedShape]); // [B, T, D]
    const attn = restored('attn', l, conv1d(context, `${p}.attn.c_proj`, d, d));
    const mid = g.op('Add', [x, attn]);
    const key = gelu(g, conv1d(layerNorm(mid, `${p}.ln_2`), `${p}.mlp.c_fc`, d, inner));
    const mlp = restored('mlp', l, conv1d(key, `${p}.mlp.c_proj`, inner, d));
    x = restored('hidden', l, g.op('Add', [mid, mlp]));
    states.attn.push(attn);
    states.mlp.push(mlp);
    states.hidden.push(x);
  }

  const final = layerNorm(x, 'transformer.ln_f');
  const outputs: ValueInfo[] = [];
  let lastLogits: string;
  if (opts.allLogits) {
    const logits = g.op('MatMul', [final, g.op('Transpose', [wte], { perm: [1, 0] })], {}, { name: ONNX_IO.logits }); // [B, T, V]
    outputs.push({ name: logits, type: DataType.FLOAT, dims: ['batch', 'tokens', spec.vocabSize] });
    lastLogits = g.op('Gather', [logits, g.op('Sub', [tokens, g.int64('one_', [1], [])])], { axis: 1 });
  } else {
    const last = g.op('Gather', [final, g.op('Sub', [tokens, g.int64('one_', [1], [])])], { axis: 1 }); // [B, D]
    // the LM head is tied to wte [V, D]: logits = last @ wte^T
    lastLogits = g.op('Gemm', [last, wte], { transB: 1 }, { name: ONNX_IO.lastLogits }); // [B, V]
    outputs.push({ name: lastLogits, type: DataType.FLOAT, dims: ['batch', spec.vocabSize] });
  }
  // exp(log_softmax), as the engine runner computes p(target)
  const probs = g.op('Exp', [g.op('LogSoftmax', [lastLogits], { axis: -1 })]);
  const targetProbs = g.op('Gather', [probs, targets], { axis: 1 }, { name: ONNX_IO.targetProbs }); // [B, K]
  outputs.unshift({ name: targetProbs, type: DataType.FLOAT, dims: ['batch', 'targets'] });
  for (const kind of TRACE_KINDS) {
    const stacked = g.op('Concat', states[kind].map((s) => g.op('Unsqueeze', [s, g.int64('axes_0', [0])])), { axis: 0 }, { name: stateOutput(kind) }); // [L, B, T, D]
    outputs.push({ name: stacked, type: DataType.FLOAT, dims: [layers, 'batch', 'tokens', d] });
  }

  const inputs: ValueInfo[] = [
    { name: ids, type: DataType.INT32, dims: ['batch', 'tokens'] },
    { name: noise, type: DataType.FLOAT, dims: ['batch', 'tokens', d] },
    { name: targets, type: DataType.INT32, dims: ['targets'] },
    ...TRACE_KINDS.map((k) => ({ name: restore[k], type: DataType.BOOL, dims: [layers, 'batch', 'tokens', 1] })),
    ...TRACE_KINDS.map((k) => ({ name: clean[k], type: DataType.FLOAT, dims: [layers, 1, 'tokens', d] })),
  ];
  return { graph: g, inputs, outputs };
}

/** GPT-2's "gelu_new": 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), from primitives (opset
 * 17 has no Gelu; onnxruntime fuses this pattern itself). */
function geluTanh(g: GraphBuilder, x: string): string {
  const cube = g.op('Mul', [g.op('Mul', [x, x]), x]);
  const inner = g.op('Mul', [g.op('Add', [x, g.op('Mul', [cube, g.scalar('gelu_c', 0.044715)])]), g.scalar('sqrt_2_over_pi', Math.sqrt(2 / Math.PI))]);
  const half = g.op('Mul', [x, g.scalar('half', 0.5)]);
  return g.op('Mul', [half, g.op('Add', [g.op('Tanh', [inner]), g.scalar('one_f', 1)])]);
}

/** Exact GELU ("gelu"): 0.5 x (1 + erf(x / sqrt 2)). */
function geluErf(g: GraphBuilder, x: string): string {
  const half = g.op('Mul', [x, g.scalar('half', 0.5)]);
  return g.op('Mul', [half, g.op('Add', [g.op('Erf', [g.op('Mul', [x, g.scalar('inv_sqrt_2', Math.SQRT1_2)])]), g.scalar('one_f', 1)])]);
}
