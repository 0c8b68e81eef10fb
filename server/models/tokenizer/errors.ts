/** Errors from loading or using a tokenizer. The message names the file or input at fault. */
export class TokenizerError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(`tokenizer: ${message}`, options);
    this.name = 'TokenizerError';
  }
}
