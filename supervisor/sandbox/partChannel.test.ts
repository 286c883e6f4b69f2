/**
 * The root part's end of a part's channel, against a peer in this process standing for the part
 * (the kernel's pipes and socketpair are real): the part's stream is a pipe, on which a descriptor
 * cannot even be sent; a part that stops taking descriptors or reading the
 * stream fails without the root part ever waiting; a frame over the bound fails it at its header.
 */
import { closeSync, openSync, readdirSync, readlinkSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { testRoot } from '../testing/testRoots';
import { waitFor } from '../testing/waitFor';
import { receiveDescriptor, sendDescriptor, socketPair } from './descriptorPassing';
import { encodeFrame } from './frames';
import { partChannelDescriptors, RootChannelEnd } from './partChannel';

const held = () => readdirSync('/proc/self/fd').flatMap((fd) => {
  try {
    return [readlinkSync(`/proc/self/fd/${fd}`)];
  } catch {
    return [];
  }
});

/** A root end over real pipes and a socketpair; `part` is the part's side of them (its fds 3, 4, 5). */
function channel(maxIncomingBytes = 1024) {
  const { rootEnds, partStdio } = partChannelDescriptors();
  const got: unknown[] = [];
  const failures: string[] = [];
  const end = new RootChannelEnd<unknown>(rootEnds, {
    maxIncomingBytes,
    message: (m) => got.push(m),
    misbehaved: (reason) => failures.push(reason),
  });
  const [stream, descriptors, incoming] = partStdio;
  return { end, got, failures, part: { stream, descriptors, incoming } };
}

describe('the root part\'s end of a part\'s channel', () => {
  it('takes no descriptor from a part: its stream is a pipe, which carries none (ENOTSOCK)', async () => {
    const root = testRoot('cloison-chan-');
    const file = join(root, 'the part\'s own file');
    writeFileSync(file, 'x');
    // The control: asked for with recvmsg, the same descriptor does travel.
    const [a, b] = socketPair();
    const fd = openSync(file, 'r');
    sendDescriptor(a, fd);
    const received = receiveDescriptor(b)!;
    expect(readlinkSync(`/proc/self/fd/${received}`)).toBe(file);
    for (const f of [a, b, received]) closeSync(f);

    const { end, failures, got, part } = channel();
    expect(() => sendDescriptor(part.stream, fd)).toThrow(/ENOTSOCK/);
    expect(() => sendDescriptor(part.descriptors, fd)).toThrow(/EPIPE/); // the descriptor socket's root end is shut for reading
    closeSync(fd);
    writeSync(part.stream, encodeFrame({ type: 'after' }));
    await waitFor(() => got.length > 0, 'the root end to read');
    expect(got).toEqual([{ type: 'after' }]);
    expect(failures).toEqual([]);
    expect(held()).not.toContain(file);
    end.close();
    for (const f of Object.values(part)) closeSync(f);
  });

  it('reads whole frames, and fails a part at the header of one over the bound', async () => {
    const { end, got, failures, part } = channel(64);
    writeSync(part.stream, Buffer.concat([encodeFrame({ type: 'a' }), encodeFrame({ type: 'b' })]));
    await waitFor(() => got.length === 2, 'two messages');
    expect(got).toEqual([{ type: 'a' }, { type: 'b' }]);
    const big = encodeFrame({ text: 'x'.repeat(100) }, 1024);
    writeSync(part.stream, big.subarray(0, 4));
    await waitFor(() => failures.length > 0, 'the oversize frame refused');
    expect(failures).toEqual(['frame of 111 bytes announced, over the 64-byte limit']);
    end.close();
    for (const f of Object.values(part)) closeSync(f);
  });

  it('fails a part that stops taking descriptors at once (EAGAIN), never waiting for it', () => {
    const root = testRoot('cloison-chan-');
    writeFileSync(join(root, 'f'), 'x');
    const { end, failures, part } = channel();
    const fd = openSync(join(root, 'f'), 'r');
    const started = Date.now();
    let sent = 0;
    while (end.send({ type: 'fifo' }, fd)) sent++;
    closeSync(fd);
    console.log(`descriptors queued before the part was failed: ${sent}, in ${Date.now() - started} ms`);
    expect(sent).toBeGreaterThan(0);
    expect(failures).toEqual(['a descriptor not taken (sendmsg failed: EAGAIN)']);
    expect(end.send({ type: 'after' })).toBe(false);
    // What was queued is the part's to take, in order, each its own.
    expect(receiveDescriptor(part.descriptors)).toEqual(expect.any(Number));
    for (const f of Object.values(part)) closeSync(f);
  });

  it('fails a part that stops reading its stream once 16 MiB wait for it, instead of holding more', async () => {
    const { end, failures, part } = channel();
    const text = 'x'.repeat(1024 * 1024);
    let sent = 0;
    while (sent < 64 && end.send({ type: 'rpc.out', text })) sent++;
    console.log(`1 MiB messages accepted before the part was failed: ${sent}`);
    expect(sent).toBeLessThan(64);
    expect(failures[0]).toMatch(/^\d+ bytes left unread by the part$/);
    for (const f of Object.values(part)) closeSync(f);
  });

  it('fails a part that closes its stream, and sends it no descriptor after', async () => {
    const root = testRoot('cloison-chan-');
    writeFileSync(join(root, 'f'), 'x');
    const { end, failures, part } = channel();
    closeSync(part.stream);
    await waitFor(() => failures.length > 0, 'the closed stream noticed');
    expect(failures[0]).toMatch(/closed its channel/);
    const fd = openSync(join(root, 'f'), 'r');
    expect(end.send({ type: 'fifo' }, fd)).toBe(false);
    closeSync(fd);
    expect(receiveDescriptorOrNone(part.descriptors)).toBe('none');
    closeSync(part.descriptors);
    closeSync(part.incoming);
  });
});

function receiveDescriptorOrNone(fd: number): number | 'none' {
  try {
    return receiveDescriptor(fd) ?? 'none';
  } catch {
    return 'none';
  }
}
