/**
 * Progress on stderr, so stdout keeps only results. On a terminal one line is redrawn in place
 * (\r, at most every 50 ms); in a log or a pipe, where \r would pile up, a plain line is written
 * at most every `intervalMs` (2 s), plus the first and the last state of each bar.
 */
export class Progress {
  private readonly tty: boolean;
  /** The bar on screen (tty) or the last state not yet written (otherwise). */
  private current: { label: string; line: string; written: boolean } | null = null;
  private lastWrite = -Infinity;

  constructor(
    private readonly stream: NodeJS.WritableStream & { isTTY?: boolean } = process.stderr,
    private readonly opts: { quiet?: boolean; intervalMs?: number; width?: number } = {},
  ) {
    this.tty = stream.isTTY === true;
  }

  /** Shows `label` at done of total ([####----] 3/8 37%), or at a count when total is unknown;
   * nothing when quiet (log lines still show). */
  update(label: string, done: number, total?: number, detail = ''): void {
    if (this.opts.quiet) return;
    const first = this.current?.label !== label;
    if (first) this.end();
    const line = `${label} ${total ? bar(done, total, this.opts.width ?? 24) : String(done)}${detail ? `  ${detail}` : ''}`;
    this.current = { label, line, written: false };
    const every = this.tty ? 50 : (this.opts.intervalMs ?? 2000);
    if (first || done === total || performance.now() - this.lastWrite >= every) this.draw();
  }

  /** A line of its own; on a terminal it goes above the bar, which is redrawn under it. */
  log(line: string): void {
    if (this.tty && this.current) {
      this.stream.write(`\r\x1b[K${line}\n`);
      this.draw();
      return;
    }
    if (this.current && !this.current.written) this.draw(); // the bar's latest state first, to keep the order
    this.stream.write(`${line}\n`);
  }

  /** Leaves the current bar at its last state and starts the next output on a new line. */
  end(): void {
    if (!this.current) return;
    if (!this.current.written) this.draw();
    if (this.tty) this.stream.write('\n');
    this.current = null;
  }

  private draw(): void {
    const current = this.current!;
    this.stream.write(this.tty ? `\r${current.line}\x1b[K` : `${current.line}\n`);
    current.written = true;
    this.lastWrite = performance.now();
  }
}

function bar(done: number, total: number, width: number): string {
  const share = Math.min(1, Math.max(0, done / total));
  const filled = Math.round(share * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${total} ${Math.floor(share * 100)}%`;
}
