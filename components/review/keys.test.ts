import { describe, expect, it } from 'vitest';
import { shortcutFor } from './keys';

const press = (key: string, tagName = 'BODY', mods: Partial<Record<'ctrlKey' | 'metaKey' | 'altKey', boolean>> = {}) =>
  shortcutFor({ key, ctrlKey: false, metaKey: false, altKey: false, ...mods, target: { tagName } as unknown as EventTarget });

describe('shortcutFor', () => {
  it('maps a, r, e, f, n and the right arrow', () => {
    expect(['a', 'r', 'e', 'f', 'n', 'ArrowRight'].map((k) => press(k))).toEqual(['accept', 'reject', 'edit', 'flag', 'next', 'next']);
    expect(press('a', 'BUTTON')).toBe('accept');
  });

  it('does nothing while typing in a field, with modifier keys, or for other keys', () => {
    expect(press('a', 'INPUT')).toBeUndefined();
    expect(press('r', 'TEXTAREA')).toBeUndefined();
    expect(press('n', 'SELECT')).toBeUndefined();
    expect(press('a', 'BODY', { ctrlKey: true })).toBeUndefined();
    expect(press('x')).toBeUndefined();
  });
});
