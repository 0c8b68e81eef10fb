import { describe, expect, it } from 'vitest';
import { healthSchema } from './health';

describe('healthSchema', () => {
  it('accepts the body the health route returns', () => {
    expect(healthSchema.parse({ status: 'ok', node: process.version })).toEqual({
      status: 'ok',
      node: process.version,
    });
  });

  it('rejects any status other than ok', () => {
    expect(healthSchema.safeParse({ status: 'degraded', node: 'v20.20.2' }).success).toBe(false);
  });
});
