/** The index plans of the one-index binary kernels, the merged strided reads and the reduction views. */
import { describe, expect, it } from 'vitest';
import { broadcastStrides } from '../../shape';
import { collapsePad, collapseStrided, operandMode, reduceView } from './kernels';

describe('kernel index plans', () => {
  const mode = (shape: number[], out: number[]) => operandMode(broadcastStrides(shape, out), out);
  it('names same-shape, bias, per-row and scalar operands, and nothing else', () => {
    expect(mode([6, 7, 50], [6, 7, 50])).toEqual({ mode: 'full', p: 1 });
    expect(mode([50], [6, 7, 50])).toEqual({ mode: 'mod', p: 50 });
    expect(mode([7, 50], [6, 7, 50])).toEqual({ mode: 'mod', p: 350 });
    expect(mode([6, 7, 1], [6, 7, 50])).toEqual({ mode: 'div', p: 50 });
    expect(mode([1], [6, 7, 50])).not.toBeNull();
    expect(mode([3, 1], [4, 3, 5])).toBeNull();
    expect(mode([6, 1, 50], [6, 7, 50])).toBeNull();
  });

  it('a scalar operand reads element 0 for every output', () => {
    const m = mode([1], [6, 7, 50])!;
    const index = (i: number) => (m.mode === 'full' ? i : m.mode === 'mod' ? i % m.p : Math.floor(i / m.p));
    expect([0, 1, 349, 2099].map(index)).toEqual([0, 0, 0, 0]);
  });

  it('merges runs of memory in strided reads', () => {
    expect(collapseStrided([2, 6, 8], [48, 8, 1])).toEqual({ shape: [96], strides: [1] });
    expect(collapseStrided([3, 2, 4, 5], [20, 60, 5, 1])).toEqual({ shape: [3, 2, 20], strides: [20, 60, 1] });
    expect(collapseStrided([2, 1, 4], [4, 99, 1])).toEqual({ shape: [8], strides: [1] });
  });

  it("merges a pad's dims that its box spans whole into the dim before", () => {
    expect(collapsePad([8, 64, 4800], [0, 0, 1600], [8, 64, 1600])).toEqual({ shape: [512, 4800], starts: [0, 1600], sizes: [512, 1600] });
    expect(collapsePad([4, 6, 8], [1, 2, 3], [2, 3, 4])).toEqual({ shape: [4, 6, 8], starts: [1, 2, 3], sizes: [2, 3, 4] });
    expect(collapsePad([4, 6, 8], [1, 0, 0], [2, 6, 8])).toEqual({ shape: [192], starts: [48], sizes: [96] });
  });

  it('views adjacent reduced axes as [O, R, I]', () => {
    expect(reduceView([6, 7, 50], [2])).toEqual({ o: 42, r: 50, i: 1 });
    expect(reduceView([512, 1600], [0])).toEqual({ o: 1, r: 512, i: 1600 });
    expect(reduceView([6, 7, 50], [1])).toEqual({ o: 6, r: 7, i: 50 });
    expect(reduceView([6, 1, 7, 50], [1, 2])).toEqual({ o: 6, r: 7, i: 50 });
    expect(reduceView([6, 7, 50], [0, 2])).toBeNull();
  });
});
