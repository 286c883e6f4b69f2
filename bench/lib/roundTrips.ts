/**
 * Round trips of a 6-byte PointerEvent through a link to the echoing synthetic source: the
 * latency figure of the gateway benchmarks, in microseconds per round trip.
 */
import type { ByteLink } from '../../supervisor/testing/rfbViewer';

export async function pointerRoundTrips(link: ByteLink, count: number): Promise<number[]> {
  const pointer = Buffer.from([5, 0, 0, 10, 0, 10]);
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const t0 = process.hrtime.bigint();
    link.send(pointer);
    await link.receive(6);
    times.push(Number(process.hrtime.bigint() - t0) / 1e3); // µs
  }
  return times;
}
