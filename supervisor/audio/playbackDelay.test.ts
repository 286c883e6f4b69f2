/**
 * The relay's bound on how late a level's sound is heard, from the player's own reports: a stream
 * that plays on keeps everything; one whose host stalls stops taking sound at the bound and takes
 * it again only once the backlog is down, so no chunk is dropped now and then at the edge.
 */
import { describe, expect, it } from 'vitest';
import { PlaybackDelay } from './playbackDelay';
import { manualClock } from '../testing/manualClock';

const BYTES_PER_SECOND = 44100 * 4;
const CHUNK = BYTES_PER_SECOND / 50; // 20 ms

describe('playback delay', () => {
  it('a stream the host plays in real time loses nothing', () => {
    const c = manualClock();
    const delay = new PlaybackDelay(BYTES_PER_SECOND, 150, 70, c.now);
    let written = 0;
    let admitted = 0;
    for (let i = 1; i <= 500; i++) {
      if (delay.admit(CHUNK)) admitted++;
      written += CHUNK;
      c.advance(20);
      // The host holds 35 ms and has played the rest, as pacat reports it every 50 ms (here 60).
      if (i % 3 === 0) delay.reported(`\rTime: ${((written / BYTES_PER_SECOND) - 0.035).toFixed(3)} sec; Latency: 35000 usec.\x1b[K`);
    }
    expect(admitted).toBe(500);
    expect(delay.delayMs()).toBeLessThan(70);
  });

  it('a stalled host: sound stops going at the bound, and goes again only once the backlog is below the resume mark', () => {
    const c = manualClock();
    const delay = new PlaybackDelay(BYTES_PER_SECOND, 150, 70, c.now);
    delay.reported('Stream successfully created.\nTime: 0.000 sec; Latency: 0 usec.');
    const admitted: boolean[] = [];
    let writtenMs = 0;
    for (let i = 0; i < 20; i++) {
      if (delay.admit(CHUNK)) {
        admitted.push(true);
        writtenMs += 20;
      } else admitted.push(false);
      c.advance(20);
      // The host is stuck: it takes 40 ms of sound, holds it and plays nothing.
      delay.reported(`Time: 0.000 sec; Latency: ${Math.min(writtenMs, 40) * 1000} usec.`);
    }
    // 140 ms go (40 held, 100 waiting); the next chunk would be heard 160 ms late.
    expect(admitted.filter(Boolean).length).toBe(7);
    expect(admitted.slice(7).every((a) => !a)).toBe(true);

    // The host plays again: what waits drains in real time; chunks go once the delay is ≤ 70 ms.
    const resumedAt = c.now();
    const goesAgain: number[] = [];
    for (let i = 0; i < 10; i++) {
      c.advance(20);
      const played = (c.now() - resumedAt) / 1000;
      delay.reported(`Time: ${played.toFixed(3)} sec; Latency: 40000 usec.`);
      if (delay.admit(CHUNK)) goesAgain.push(i);
    }
    // 140 ms written, 40 held: the delay is 140 − played; 120, 100, 80 still drop, 60 lets go.
    expect(goesAgain[0]).toBe(3);
    expect(goesAgain).toEqual([3, 4, 5, 6, 7, 8, 9]);
    expect(delay.delayMs()).toBeLessThan(150);
  });

  it('reports split across reads, or several in one, and other lines are read as they come', () => {
    const c = manualClock();
    const delay = new PlaybackDelay(BYTES_PER_SECOND, 150, 70, c.now);
    delay.admit(CHUNK * 5); // 100 ms
    delay.reported('Time: 0.000 sec; Latency: 10000 usec.\rTime: 0.000 sec; Latency: 30000 usec.\x1b[K');
    expect(delay.delayMs()).toBeCloseTo(100, 0); // 30 held + 70 waiting
    delay.reported('Connection established.\nTime: 0.0'); // half a report: ignored
    expect(delay.delayMs()).toBeCloseTo(100, 0);
    delay.reported('Time: 0.050 sec; Latency: -500 usec.'); // a negative latency counts as none held
    expect(delay.delayMs()).toBeCloseTo(50, 0);
  });
});
