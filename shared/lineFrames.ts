/**
 * Splits a stream of text into newline-terminated frames (the RPC's Unix-socket framing), keeping
 * an incomplete tail for the next chunk. One splitter for every reader of that framing.
 */
export class LineFrames {
  private buffered = '';

  /** Adds a chunk; returns the complete, non-blank lines it finished. */
  push(chunk: string): string[] {
    this.buffered += chunk;
    const parts = this.buffered.split('\n');
    this.buffered = parts.pop() ?? '';
    return parts.filter((line) => line.trim() !== '');
  }

  /** Length of the incomplete line held so far (a reader bounds it). */
  get pendingLength(): number {
    return this.buffered.length;
  }

  /** Hands over the incomplete line and forgets it. */
  takePending(): string {
    const rest = this.buffered;
    this.buffered = '';
    return rest;
  }
}
