/** The review page's keyboard shortcuts, and when they apply. */

export type ShortcutAction = 'accept' | 'reject' | 'edit' | 'flag' | 'next';

export const SHORTCUTS: readonly { keys: string; label: string; action: ShortcutAction }[] = [
  { keys: 'a', label: 'accept', action: 'accept' },
  { keys: 'r', label: 'reject', action: 'reject' },
  { keys: 'e', label: 'edit, then accept', action: 'edit' },
  { keys: 'f', label: 'flag with a note', action: 'flag' },
  { keys: 'n / →', label: 'next item (skip)', action: 'next' },
];

const KEY_ACTIONS: Record<string, ShortcutAction> = { a: 'accept', r: 'reject', e: 'edit', f: 'flag', n: 'next', ArrowRight: 'next' };

/** The action of a key press, or undefined: typing in a field, modifier keys and other keys do nothing. */
export function shortcutFor(event: Pick<KeyboardEvent, 'key' | 'ctrlKey' | 'metaKey' | 'altKey' | 'target'>): ShortcutAction | undefined {
  if (event.ctrlKey || event.metaKey || event.altKey) return undefined;
  const target = event.target as (EventTarget & { tagName?: string; isContentEditable?: boolean }) | null;
  const tag = target?.tagName?.toUpperCase();
  if (tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT' || target?.isContentEditable) return undefined;
  return KEY_ACTIONS[event.key];
}
