import onnxProto, { type onnx as OnnxTypes } from 'onnx-proto';

/**
 * A small builder over onnx-proto's generated types: nodes with fresh output names, initializers
 * stored as raw little-endian bytes (how ONNX files keep large weights), and constants. It knows
 * nothing about models; server/onnx/gpt2.ts wires a family with it.
 */
// onnx-proto is CommonJS: take the namespace from its default export under Node's ESM loader.
const { onnx } = onnxProto;

export const DataType = onnx.TensorProto.DataType;
const AttributeType = onnx.AttributeProto.AttributeType;

/** The opset the exporter writes: LayerNormalization needs 17; onnxruntime-web supports it. */
export const OPSET = 17;
/** IR version 8 goes with opset 17 (onnx 1.12+). */
export const IR_VERSION = 8;

type Attr = number | readonly number[] | string;


export interface ValueInfo {
  name: string;
  type: OnnxTypes.TensorProto.DataType;
  dims: readonly (number | string)[];
}

export class GraphBuilder {
  private readonly nodes: OnnxTypes.INodeProto[] = [];
  private readonly initializers: OnnxTypes.ITensorProto[] = [];
  private readonly names = new Set<string>();
  private counter = 0;

  /** A fresh value name, with `hint` for reading the graph in Netron. */
  fresh(hint: string): string {
    let name = hint;
    while (this.names.has(name)) name = `${hint}_${++this.counter}`;
    this.names.add(name);
    return name;
  }

  /** Reserves a name given from outside (graph inputs and outputs). */
  reserve(name: string): string {
    if (this.names.has(name)) throw new Error(`onnx graph: the name ${name} is used twice`);
    this.names.add(name);
    return name;
  }

  /** Adds a node and returns its single output's name. Attributes: integer numbers become INT,
   * other numbers FLOAT, arrays INTS, strings STRING. Pass `floatAttrs` to force FLOAT. */
  op(opType: string, inputs: readonly string[], attrs: Record<string, Attr> = {}, opts: { name?: string; floatAttrs?: readonly string[] } = {}): string {
    return this.opN(opType, inputs, 1, attrs, opts)[0]!;
  }

  /** A node with `outputs` outputs. */
  opN(opType: string, inputs: readonly string[], outputs: number, attrs: Record<string, Attr> = {}, opts: { name?: string; floatAttrs?: readonly string[] } = {}): string[] {
    const out = Array.from({ length: outputs }, (_, i) => (opts.name && outputs === 1 ? this.reserve(opts.name) : this.fresh(`${opType.toLowerCase()}${outputs > 1 ? `_${i}` : ''}`)));
    const attribute = Object.entries(attrs).map(([name, value]): OnnxTypes.IAttributeProto => {
      if (typeof value === 'string') return { name, type: AttributeType.STRING, s: new TextEncoder().encode(value) };
      if (typeof value === 'number') {
        return Number.isInteger(value) && !opts.floatAttrs?.includes(name) ? { name, type: AttributeType.INT, i: value } : { name, type: AttributeType.FLOAT, f: value };
      }
      return { name, type: AttributeType.INTS, ints: [...value] };
    });
    this.nodes.push({ opType, input: [...inputs], output: out, attribute, name: this.fresh(`n_${opType}`) });
    return out;
  }

  /** A float32 initializer (weights), kept as raw bytes. */
  floats(hint: string, values: Float32Array, dims: readonly number[]): string {
    const size = dims.reduce((a, b) => a * b, 1);
    if (values.length !== size) throw new Error(`onnx graph: initializer ${hint} has ${values.length} values for dims [${dims}]`);
    const name = this.fresh(hint);
    this.initializers.push({ name, dataType: DataType.FLOAT, dims: [...dims], rawData: bytesOf(values) });
    return name;
  }

  /** An int64 constant (shapes, indices, axes). dims [] is a scalar. */
  int64(hint: string, values: readonly number[], dims: readonly number[] = [values.length]): string {
    const name = this.fresh(hint);
    this.initializers.push({ name, dataType: DataType.INT64, dims: [...dims], rawData: bytesOf(BigInt64Array.from(values, BigInt)) });
    return name;
  }

  /** A float32 scalar constant. */
  scalar(hint: string, value: number): string {
    const name = this.fresh(hint);
    this.initializers.push({ name, dataType: DataType.FLOAT, dims: [], rawData: bytesOf(Float32Array.of(value)) });
    return name;
  }

  /** The serialised model. */
  encode(opts: { name: string; inputs: readonly ValueInfo[]; outputs: readonly ValueInfo[]; metadata: Record<string, string>; docString?: string }): Uint8Array {
    const valueInfo = (v: ValueInfo): OnnxTypes.IValueInfoProto => ({
      name: v.name,
      type: { tensorType: { elemType: v.type, shape: { dim: v.dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
    });
    const model = onnx.ModelProto.create({
      irVersion: IR_VERSION,
      producerName: 'locus',
      docString: opts.docString ?? '',
      opsetImport: [{ domain: '', version: OPSET }],
      metadataProps: Object.entries(opts.metadata).map(([key, value]) => ({ key, value })),
      graph: {
        name: opts.name,
        node: this.nodes,
        initializer: this.initializers,
        input: opts.inputs.map(valueInfo),
        output: opts.outputs.map(valueInfo),
      },
    });
    return onnx.ModelProto.encode(model).finish();
  }
}

/** The bytes of a typed array (little-endian on every platform Node and browsers run on). */
function bytesOf(values: Float32Array | BigInt64Array): Uint8Array {
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
}
