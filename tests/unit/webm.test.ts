/**
 * Joining a live WebM as it runs (server/src/recording/webm.ts): its header without media, and
 * where Clusters start however the stream is cut into pieces, on a stream laid out as Chromium's
 * MediaRecorder makes it (Segment and Clusters of unknown size).
 */
import { CLUSTER, WebmClusters, webmInitSegment } from '../../server/src/recording/webm';

const UNKNOWN = Buffer.from([0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
const id = (n: number) =>
  Buffer.from(n.toString(16).padStart(n > 0xffffff ? 8 : n > 0xffff ? 6 : 2, '0'), 'hex');
/** An element of known size (sizes below 127 in one byte, else two). */
function el(n: number, body: Buffer): Buffer {
  const size =
    body.length < 127
      ? Buffer.from([0x80 | body.length])
      : Buffer.from([0x40 | (body.length >> 8), body.length & 0xff]);
  return Buffer.concat([id(n), size, body]);
}
/** A SimpleBlock of `n` bytes whose payload holds the Cluster id itself (media can). */
const block = (n: number, fill: number) =>
  el(0xa3, Buffer.concat([Buffer.from([0x81, 0, 0, 0x80]), id(CLUSTER), Buffer.alloc(n, fill)]));

const head = Buffer.concat([
  el(0x1a45dfa3, el(0x4282, Buffer.from('webm'))),
  id(0x18538067),
  UNKNOWN,
  el(0x1549a966, el(0x2ad7b1, Buffer.from([0x0f, 0x42, 0x40]))),
  el(0x1654ae6b, el(0xae, el(0xd7, Buffer.from([1])))),
]);
const clusters: Buffer[] = [];
for (let c = 0; c < 5; c++)
  clusters.push(
    Buffer.concat([
      id(CLUSTER),
      UNKNOWN,
      el(0xe7, Buffer.from([c])),
      block(200, c),
      el(0xec, Buffer.alloc(3)), // Void
      block(40, c),
      block(600, c),
    ]),
  );
const stream = Buffer.concat([head, ...clusters]);
const starts: number[] = [];
for (let c = 0, at = head.length; c < clusters.length; at += (clusters[c] as Buffer).length, c++)
  starts.push(at);

/** Feeds the stream cut at `cuts`; the absolute offsets where it says a Cluster starts. */
function follow(cuts: number[]): { found: number[]; lost: boolean } {
  const w = new WebmClusters();
  const found: number[] = [];
  let from = 0;
  for (const to of [...cuts, stream.length]) {
    const piece = stream.subarray(from, to);
    const c = w.push(piece);
    if (c) {
      found.push(from + c.offset - c.prefix.length);
      // What is handed on is the stream itself from there.
      expect(Buffer.concat([c.prefix, piece.subarray(c.offset)])).toEqual(
        stream.subarray(from + c.offset - c.prefix.length, to),
      );
    }
    from = to;
  }
  return { found, lost: w.lost };
}

describe('a live WebM joined as it runs', () => {
  it('its header is everything before the first Cluster', () => {
    expect(webmInitSegment(Buffer.concat([head, clusters[0] as Buffer]))).toEqual(head);
    expect(webmInitSegment(Buffer.from('not webm at all'))).toBeNull();
  });

  it('finds where each Cluster starts, whole or cut anywhere, and never inside media', () => {
    expect(follow([])).toEqual({ found: [starts[0]], lost: false });
    // A piece per Cluster: each one found.
    expect(follow(starts.slice(1))).toEqual({ found: starts, lost: false });
    // Cut in every place around each Cluster's header (inside its 4-byte id and 8-byte size too):
    // a Cluster whose header reaches the second piece is found there, carried bytes and all.
    for (const s of starts)
      for (let d = -3; d <= 14; d++) {
        const r = follow([s + d]);
        expect(r.lost).toBe(false);
        for (const f of r.found) expect(starts).toContain(f);
        if (d < 12) expect(r.found).toContain(s);
      }
    // Cut into small pieces: the first Cluster of each piece that has one.
    const small = follow(Array.from({ length: Math.floor(stream.length / 97) }, (_, i) => (i + 1) * 97));
    expect(small.lost).toBe(false);
    expect(small.found).toEqual(starts);
  });

  it('says it is lost on what it cannot follow', () => {
    const w = new WebmClusters();
    expect(w.push(Buffer.from([0x00, 0x01, 0x02]))).toBeNull();
    expect(w.lost).toBe(true);
  });
});
