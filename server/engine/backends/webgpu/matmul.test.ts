import { describe, expect, it } from 'vitest';
import { defaultTile, MatmulTuner, tileCols, tileName, tileRows, TILES, tiledMatmulKernel } from './matmul';

describe('matmul tiles', () => {
  it('the tuner times every candidate once per shape and keeps the fastest', () => {
    const tuner = new MatmulTuner();
    const calls: string[] = [];
    const fastest = TILES[2]!;
    const time = (tile: (typeof TILES)[number]) => {
      calls.push(tileName(tile));
      return tile === fastest ? 1e-3 : 2e-3 + calls.length * 1e-6;
    };
    expect(tuner.choose('512x1600x1600', time)).toBe(fastest);
    expect(calls).toHaveLength(TILES.length * 3);
    expect(tuner.choose('512x1600x1600', time)).toBe(fastest);
    expect(calls).toHaveLength(TILES.length * 3); // remembered: not timed again
    expect(tuner.log).toEqual([expect.objectContaining({ shape: '512x1600x1600', chosen: tileName(fastest) })]);
  });

  it('untimed, takes the largest tile that still fills the grid', () => {
    expect(tileRows(defaultTile(4096, 4096, 1)) * tileCols(defaultTile(4096, 4096, 1))).toBe(128 * 128);
    const thin = defaultTile(512, 1600, 1); // 52 tiles of 128x128: too few
    expect(Math.ceil(512 / tileRows(thin)) * Math.ceil(1600 / tileCols(thin))).toBeGreaterThanOrEqual(128);
  });

  it('refuses a tile whose loads do not divide among its invocations', () => {
    expect(() => tiledMatmulKernel({ tm: 4, tn: 4, wx: 16, wy: 16, bk: 4 }, false, false)).toThrow(/does not divide/);
  });
});
