/** Display helpers for token text and probabilities. */

/** A token with its whitespace made visible: leading/trailing spaces as ␣, newlines as ↵, tabs as ⇥. */
export function visibleToken(token: string): string {
  if (token === '') return '∅';
  return token.replace(/ /g, '␣').replace(/\n/g, '↵').replace(/\t/g, '⇥');
}

/** A probability as a percentage, with enough digits to tell small values apart. */
export function percent(prob: number): string {
  const pct = prob * 100;
  // 0.99996 must not read as a certain 100.0%
  if (pct > 99.95 && pct < 100) return `${pct.toFixed(3)}%`;
  if (pct >= 10) return `${pct.toFixed(1)}%`;
  if (pct >= 0.1) return `${pct.toFixed(2)}%`;
  if (pct >= 0.001) return `${pct.toPrecision(2)}%`;
  if (pct === 0) return '0%';
  return `${pct.toExponential(1)}%`;
}

export function milliseconds(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`;
}

/** 5782272 -> "5.78M". */
export function compactCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}K`;
  return String(n);
}
