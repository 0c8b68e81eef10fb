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

/** The chart's SVG as a standalone document: namespaces set, size fixed, the page's background behind it. */
function standaloneSvg(svg: SVGSVGElement): { text: string; width: number; height: number } {
  const { width, height } = svg.getBoundingClientRect();
  const copy = svg.cloneNode(true) as SVGSVGElement;
  copy.setAttribute('xmlns', 'http://www.w3.org/2000/svg');
  copy.setAttribute('width', String(Math.round(width)));
  copy.setAttribute('height', String(Math.round(height)));
  const background = getComputedStyle(document.body).backgroundColor;
  const rect = document.createElementNS('http://www.w3.org/2000/svg', 'rect');
  rect.setAttribute('width', '100%');
  rect.setAttribute('height', '100%');
  rect.setAttribute('fill', background);
  copy.insertBefore(rect, copy.firstChild);
  return { text: new XMLSerializer().serializeToString(copy), width, height };
}

/** The first chart (recharts' <svg>) inside `container`, or an error sentence when there is none. */
function chartSvg(container: HTMLElement | null): SVGSVGElement {
  const svg = container?.querySelector<SVGSVGElement>('svg.recharts-surface');
  if (!svg) throw new Error('The chart has not been drawn yet.');
  return svg;
}

export function downloadChartSvg(container: HTMLElement | null, filename: string): void {
  downloadText(standaloneSvg(chartSvg(container)).text, filename, 'image/svg+xml');
}

/** Draws the SVG on a canvas at twice its size and saves it as PNG. */
export async function downloadChartPng(container: HTMLElement | null, filename: string): Promise<void> {
  const { text, width, height } = standaloneSvg(chartSvg(container));
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
