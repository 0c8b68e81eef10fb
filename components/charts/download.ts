/**
 * Saving what the studio shows: text files (CSV, JSON) and charts (the SVG recharts draws, or a PNG
 * of it). Browser-only; the pure parts (CSV text) live in lib/.
 */

export function downloadBlob(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  // Chromium reads the blob when the click is handled; give it a moment before freeing it.
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export function downloadText(text: string, filename: string, type: string): void {
  downloadBlob(new Blob([text], { type }), filename);
}

const SVG_NS = 'http://www.w3.org/2000/svg';
const LEGEND_ROW = 24;

/** recharts draws its legend as HTML beside the chart: its entries (colour, name), to redraw in the file. */
function legendEntries(container: HTMLElement): { colour: string; name: string }[] {
  return [...container.querySelectorAll('.recharts-legend-item')].map((item) => {
    const mark = item.querySelector('path, line, rect');
    const fill = mark?.getAttribute('fill');
    const colour = fill && fill !== 'none' ? fill : (mark?.getAttribute('stroke') ?? '#000');
    return { colour, name: item.querySelector('.recharts-legend-item-text')?.textContent ?? item.textContent ?? '' };
  });
}

/**
 * The chart as a standalone SVG document: namespaces set, size fixed, the page's background and text
 * colour, and the legend redrawn below the plot.
 */
function standaloneSvg(container: HTMLElement | null): { text: string; width: number; height: number } {
  // The plot is the largest recharts surface; the small ones are legend icons.
  const surfaces = [...(container?.querySelectorAll<SVGSVGElement>('svg.recharts-surface') ?? [])];
  const area = (s: SVGSVGElement) => s.getBoundingClientRect().width * s.getBoundingClientRect().height;
  const svg = surfaces.sort((a, b) => area(b) - area(a))[0];
  if (!container || !svg) throw new Error('The chart has not been drawn yet.');
  const { width } = svg.getBoundingClientRect();
  const plotHeight = svg.getBoundingClientRect().height;
  const legend = legendEntries(container);
  const height = plotHeight + (legend.length ? LEGEND_ROW : 0);
  const page = getComputedStyle(document.body);
  const copy = svg.cloneNode(true) as SVGSVGElement;
  copy.setAttribute('xmlns', SVG_NS);
  copy.setAttribute('width', String(Math.round(width)));
  copy.setAttribute('height', String(Math.round(height)));
  copy.setAttribute('viewBox', `0 0 ${Math.round(width)} ${Math.round(height)}`);
  const el = (name: string, attrs: Record<string, string | number>) => {
    const node = document.createElementNS(SVG_NS, name);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
    return node;
  };
  copy.insertBefore(el('rect', { width: '100%', height: '100%', fill: page.backgroundColor }), copy.firstChild);
  let x = 16;
  for (const { colour, name } of legend) {
    copy.append(el('rect', { x, y: plotHeight + 6, width: 12, height: 12, fill: colour }));
    const label = el('text', { x: x + 16, y: plotHeight + 16, 'font-size': 12, 'font-family': 'sans-serif', fill: page.color });
    label.textContent = name;
    copy.append(label);
    x += 28 + 7 * name.length;
  }
  return { text: new XMLSerializer().serializeToString(copy), width, height };
}

export function downloadChartSvg(container: HTMLElement | null, filename: string): void {
  downloadText(standaloneSvg(container).text, filename, 'image/svg+xml');
}

/** Draws the SVG on a canvas at twice its size and saves it as PNG. */
export async function downloadChartPng(container: HTMLElement | null, filename: string): Promise<void> {
  const { text, width, height } = standaloneSvg(container);
  const image = new Image();
  const url = URL.createObjectURL(new Blob([text], { type: 'image/svg+xml' }));
  try {
    await new Promise<void>((resolve, reject) => {
      image.onload = () => resolve();
      image.onerror = () => reject(new Error('The chart could not be drawn as an image.'));
      image.src = url;
    });
    const scale = 2;
    const canvas = document.createElement('canvas');
    canvas.width = Math.round(width * scale);
    canvas.height = Math.round(height * scale);
    const g = canvas.getContext('2d');
    if (!g) throw new Error('This browser cannot draw on a canvas.');
    g.scale(scale, scale);
    g.drawImage(image, 0, 0, width, height);
    const png = await new Promise<Blob>((resolve, reject) => canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('PNG encoding failed.'))), 'image/png'));
    downloadBlob(png, filename);
  } finally {
    URL.revokeObjectURL(url);
  }
}
