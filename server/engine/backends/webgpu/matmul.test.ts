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

  it('times only the candidates a shape allows (the tensor-core tuner: no tiled fallback for f32 operands)', () => {
    const tuner = new MatmulTuner<string>(['coop64', 'coop128', 'tiled'], (t) => t);
    const timed = new Set<string>();
    const time = (t: string) => (timed.add(t), t === 'tiled' ? 1e-3 : 2e-3);
    expect(tuner.choose('odd k', time)).toBe('tiled');
    expect(tuner.choose('odd k f32', time, (t) => t !== 'tiled')).toBe('coop64');
    expect(tuner.log.at(-1)!.seconds).not.toHaveProperty('tiled');
    expect(timed).toEqual(new Set(['coop64', 'coop128', 'tiled']));
  });

  it('untimed, takes the fastest tile that fits the product and still fills the grid', () => {
    expect(tileName(defaultTile(4096, 4096, 1))).toBe(tileName(TILES[0]!));
    const thin = defaultTile(512, 1600, 1); // 52 tiles of 128x128: too few
    expect(Math.ceil(512 / tileRows(thin)) * Math.ceil(1600 / tileCols(thin))).toBeGreaterThanOrEqual(128);
    const head = defaultTile(64, 64, 200); // attention per head: no padding
    expect([tileRows(head), tileCols(head)]).toEqual([64, 64]);
  });

  it('refuses a tile whose loads do not divide among its invocations', () => {
    expect(() => tiledMatmulKernel({ tm: 4, tn: 4, wx: 16, wy: 16, bk: 4 }, false, false)).toThrow(/does not divide/);
  });
});

describe('buffer pool classes', () => {
  it('are 256-byte multiples up to 1 MiB, then eight per octave, never smaller than asked and at most 12.5% larger', async () => {
    const { capacityOf } = await import('./index');
    expect(capacityOf(1)).toBe(256);
    expect(capacityOf(2 ** 20)).toBe(2 ** 20);
    expect(capacityOf(2 ** 20 + 1)).toBe(2 ** 20 + 2 ** 17);
    const classes = new Set<number>();
    for (let b = 2 ** 24 + 1; b <= 2 ** 25; b += 4093) {
      const c = capacityOf(b);
      expect(c).toBeGreaterThanOrEqual(b);
      expect(c / b).toBeLessThanOrEqual(1.125);
      expect(c % 256).toBe(0);
      classes.add(c);
    }
    expect(classes.size).toBe(8); // one octave: 8 classes, however many sizes were asked for
  });
});
