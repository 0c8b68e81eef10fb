import type { DType } from './dtype';

/** Errors the engine throws name the op, the operands and their shapes. */
export class EngineError extends Error {
  constructor(
    readonly op: string,
    message: string,
  ) {
    super(`${op}: ${message}`);
    this.name = 'EngineError';
  }
}

export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

export function expectDType(op: string, operand: string, actual: DType, allowed: readonly DType[]): void {
  if (!allowed.includes(actual)) {
    throw new EngineError(op, `${operand} has dtype ${actual}, expected ${allowed.join(' or ')}`);
  }
}
