/**
 * The one error type of the checkpoint readers and writers.
 *
 * A failed load should tell the user which file and which tensor is wrong and why, in one line,
 * without reading a stack trace: `CheckpointError: model.safetensors: tensor 'lm_head.weight':
 * data_offsets [0, 96] hold 96 bytes but F32 [4,8] needs 128`.
 */
export class CheckpointError extends Error {
  override readonly name = 'CheckpointError';
  /** The file (or folder) being read or written. */
  readonly file: string;
  /** The tensor concerned, when the problem is local to one. */
  readonly tensor: string | undefined;

  constructor(file: string, detail: string, options: { tensor?: string; cause?: unknown } = {}) {
    const where = options.tensor === undefined ? file : `${file}: tensor '${options.tensor}'`;
    super(`${where}: ${detail}`, options.cause === undefined ? undefined : { cause: options.cause });
    this.file = file;
    this.tensor = options.tensor;
  }
}
