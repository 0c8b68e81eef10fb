/**
 * Viridis (van der Walt and Smith, matplotlib's default map: perceptually uniform, readable with
 * the common colour-vision deficiencies and in greyscale), as the nine colours
 * matplotlib.cm.viridis(np.linspace(0, 1, 9)) gives, linearly interpolated between them.
 */
export const VIRIDIS_STOPS = ['#440154', '#472d7b', '#3b528b', '#2c728e', '#21918c', '#28ae80', '#5ec962', '#addc30', '#fde725'] as const;

const rgbStops = VIRIDIS_STOPS.map((hex) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)));

/** The colour at t in [0, 1] (clamped; NaN reads as 0) as #rrggbb. */
export function viridis(t: number): string {
  const x = Number.isFinite(t) ? Math.min(1, Math.max(0, t)) : 0;
  const scaled = x * (rgbStops.length - 1);
  const i = Math.min(rgbStops.length - 2, Math.floor(scaled));
  const f = scaled - i;
  const [a, b] = [rgbStops[i]!, rgbStops[i + 1]!];
  return `#${a.map((c, k) => Math.round(c + (b[k]! - c) * f).toString(16).padStart(2, '0')).join('')}`;
}

/** A CSS gradient of the map, low on the left, for legends. */
export function viridisGradient(direction = 'to right'): string {
  return `linear-gradient(${direction}, ${VIRIDIS_STOPS.join(', ')})`;
}

/** Where `value` sits in [min, max], for the colour scale (0 when the range is empty). */
export function normalise(value: number, min: number, max: number): number {
  return max > min ? (value - min) / (max - min) : 0;
}

/** Text that stays readable on a viridis cell: white on the dark half, near-black on the light one. */
export function textOn(t: number): string {
  return t < 0.55 ? '#ffffff' : '#111827';
}
