import { expectDType } from '../errors';
import type { Tensor } from '../tensor';

/** Float inputs only: f16/bf16 are storage types and must be cast first. */
export function expectF32(op: string, ...operands: [string, Tensor][]): void {
  for (const [name, t] of operands) expectDType(op, name, t.dtype, ['f32']);
}

/** Asserts two tensors share an engine. */
export function sameEngine(op: string, a: Tensor, b: Tensor): void {
  if (a.engine !== b.engine) throw new Error(`${op}: operands belong to different engines`);
}
