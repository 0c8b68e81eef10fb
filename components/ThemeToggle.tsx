'use client';

import { useLayoutEffect, useSyncExternalStore } from 'react';

export type Theme = 'light' | 'dark';
export const THEME_KEY = 'locus-theme';

/**
 * Runs in <head> before the first paint (app/layout.tsx): the stored choice, else the system's, as a
 * class on <html>, so a dark page never flashes white.
 */
export const THEME_SCRIPT = `try{var t=localStorage.getItem('${THEME_KEY}');if(t!=='light'&&t!=='dark')t=matchMedia('(prefers-color-scheme: dark)').matches?'dark':'light';document.documentElement.classList.toggle('dark',t==='dark')}catch(e){}`;

/** The stored choice, else the system's (what THEME_SCRIPT applies before paint). */
function preferred(): Theme {
  try {
    const stored = localStorage.getItem(THEME_KEY);
    if (stored === 'light' || stored === 'dark') return stored;
  } catch {
    // storage refused: the system decides
  }
  return matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

/**
 * Applies the preferred theme again once React has the page: React 19 may reset <html>'s attributes
 * when it renders the document itself (after a hydration mismatch), taking THEME_SCRIPT's class away.
 */
export function useThemeClass(): void {
  useLayoutEffect(() => {
    document.documentElement.classList.toggle('dark', preferred() === 'dark');
    listeners.forEach((l) => l());
  }, []);
}

const listeners = new Set<() => void>();
const current = (): Theme => (document.documentElement.classList.contains('dark') ? 'dark' : 'light');

function setTheme(theme: Theme) {
  document.documentElement.classList.toggle('dark', theme === 'dark');
  try {
    localStorage.setItem(THEME_KEY, theme);
  } catch {
    // storage refused (private mode): the choice lasts for this page only
  }
  listeners.forEach((l) => l());
}

/** The light/dark switch of the site header; the choice is remembered in this browser. */
export function ThemeToggle() {
  const theme = useSyncExternalStore(
    (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    current,
    () => 'light' as Theme,
  );
  const next: Theme = theme === 'dark' ? 'light' : 'dark';
  return (
    <button
      type="button"
      onClick={() => setTheme(next)}
      aria-pressed={theme === 'dark'}
      aria-label="Dark theme"
      title={`Switch to the ${next} theme`}
      className="rounded border border-neutral-300 px-2 py-1 text-sm text-neutral-700 hover:bg-neutral-100 focus:outline-none focus-visible:ring-2 focus-visible:ring-sky-300"
      data-testid="theme-toggle"
    >
      {theme === 'dark' ? 'Dark ●' : 'Light ○'}
    </button>
  );
}
