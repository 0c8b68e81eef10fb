import { createRequire } from 'node:module';
import type { InferenceSession as OrtSession, Tensor as OrtTensor } from 'onnxruntime-node';
import onnxProto, { type onnx as OnnxTypes } from 'onnx-proto';

/**
 * Matrix products on the CPU through onnxruntime-node (MLAS kernels: 250-415 GFLOP/s on the dev
 * machine against 3.5 for a JS loop, see DESIGN.md). One single-node graph per (ranks, transposes),
 * built in memory and cached. We call the native session's synchronous `run` (what the package's
 * own async wrapper calls on the next tick) so that engine ops stay synchronous.
 */
const require = createRequire(import.meta.url);
// onnx-proto is CommonJS: take the namespace from its default export under Node's ESM loader.
const { onnx } = onnxProto;

interface NativeSession {
  loadModel(buffer: ArrayBufferLike, byteOffset: number, byteLength: number, options: object): void;
  run(feeds: Record<string, OrtTensor>, fetches: Record<string, null>, options: object): Record<string, OrtTensor>;
}

interface OrtModule {
  Tensor: new (type: 'float32', data: Float32Array, dims: readonly number[]) => OrtTensor;
}

let ort: OrtModule | null = null;
let native: { binding: { InferenceSession: new () => NativeSession }; initOrt: () => void } | null = null;

function load() {
  if (!ort || !native) {
    ort = require('onnxruntime-node') as OrtModule & typeof OrtSession;
    native = require('onnxruntime-node/dist/binding') as typeof native;
    native!.initOrt();
  }
  return { ort, native: native! };
}

const FLOAT = onnx.TensorProto.DataType.FLOAT;

function valueInfo(name: string, rank: number): OnnxTypes.IValueInfoProto {
  const dim = Array.from({ length: rank }, (_, i) => ({ dimParam: `${name}${i}` }));
  return { name, type: { tensorType: { elemType: FLOAT, shape: { dim } } } };
}

function matmulModel(rankA: number, rankB: number, transA: boolean, transB: boolean): Uint8Array {
  const rankOut = Math.max(rankA, rankB);
  const fused = transA || transB;
  const node: OnnxTypes.INodeProto = fused
    ? {
        opType: 'FusedMatMul',
        domain: 'com.microsoft',
        input: ['a', 'b'],
        output: ['c'],
        attribute: [
          { name: 'transA', type: onnx.AttributeProto.AttributeType.INT, i: transA ? 1 : 0 },
          { name: 'transB', type: onnx.AttributeProto.AttributeType.INT, i: transB ? 1 : 0 },
        ],
      }
    : { opType: 'MatMul', input: ['a', 'b'], output: ['c'] };
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'locus',
    opsetImport: [{ domain: '', version: 17 }, ...(fused ? [{ domain: 'com.microsoft', version: 1 }] : [])],
    graph: { name: 'matmul', node: [node], input: [valueInfo('a', rankA), valueInfo('b', rankB)], output: [valueInfo('c', rankOut)] },
  });
  return onnx.ModelProto.encode(model).finish();
}

export class OrtGemm {
  private readonly sessions = new Map<string, NativeSession>();

  constructor(private readonly threads: number) {}

  private session(rankA: number, rankB: number, transA: boolean, transB: boolean): NativeSession {
    const key = `${rankA}:${rankB}:${+transA}:${+transB}`;
    let s = this.sessions.get(key);
    if (!s) {
      const { native } = load();
      s = new native.binding.InferenceSession();
      const bytes = matmulModel(rankA, rankB, transA, transB);
      s.loadModel(bytes.buffer, bytes.byteOffset, bytes.byteLength, {
        graphOptimizationLevel: 'all',
        executionMode: 'sequential',
        intraOpNumThreads: this.threads,
        interOpNumThreads: 1,
        extra: { session: { intra_op: { allow_spinning: '0' } } },
      });
      this.sessions.set(key, s);
    }
    return s;
  }

  matmul(a: Float32Array, aShape: readonly number[], b: Float32Array, bShape: readonly number[], transA: boolean, transB: boolean): Float32Array {
    const { ort } = load();
    const session = this.session(aShape.length, bShape.length, transA, transB);
    const out = session.run({ a: new ort.Tensor('float32', a, aShape), b: new ort.Tensor('float32', b, bShape) }, { c: null }, {});
    return out.c!.data as Float32Array;
  }
}
