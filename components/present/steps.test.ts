import { describe, expect, it } from 'vitest';
import { nextStep, STEP_KEYS } from './steps';

describe('presentation steps', () => {
  it('goes fact → trace → edit → before/after → revert, then on to the next fact', () => {
    expect([nextStep('fact'), nextStep('trace'), nextStep('edit'), nextStep('compare'), nextStep('revert')]).toEqual(['trace', 'edit', 'compare', 'revert', null]);
  });

  it('has one key per step', () => {
    expect(STEP_KEYS).toEqual({ t: 'trace', e: 'edit', b: 'compare', r: 'revert' });
  });
});
