/**
 * Just enough of a live WebM (Chromium's MediaRecorder: a Segment and Clusters of unknown size)
 * for an ffmpeg to join it as it runs: its header (EBML header, Info, Tracks) and where the next
 * Cluster starts. Fed the header and then the stream from a Cluster's start, ffmpeg's Matroska
 * demuxer reads it as if it were the beginning; fed the middle of a Cluster it resynchronises on
 * its own terms (and may see the tracks twice).
 */

/** An EBML element id (its length marker kept) or size (without it) at `at`; null when cut short or invalid. */
export function ebmlVarInt(
  buf: Buffer,
  at: number,
  keepMarker: boolean,
): { length: number; value: number; unknown: boolean } | null {
  const first = buf[at];
  if (first === undefined || first === 0) return null;
  let length = 1;
  while (!(first & (0x80 >> (length - 1)))) length += 1;
  if (at + length > buf.length) return null;
  const marker = 0x80 >> (length - 1);
  let value = keepMarker ? first : first & (marker - 1);
  let allOnes = (first & (marker - 1)) === marker - 1;
  for (let k = 1; k < length; k++) {
    const b = buf[at + k] as number;
    value = value * 256 + b;
    if (b !== 0xff) allOnes = false;
  }
  return { length, value, unknown: !keepMarker && allOnes };
}

export const EBML_HEADER = 0x1a45dfa3;
export const SEGMENT = 0x18538067;
export const CLUSTER = 0x1f43b675;
/** Elements at the Segment's level: one of them ends a Cluster of unknown size. */
const TOP_LEVEL = new Set([
  CLUSTER,
  0x114d9b74, // SeekHead
  0x1549a966, // Info
  0x1654ae6b, // Tracks
  0x1c53bb6b, // Cues
  0x1941a469, // Attachments
  0x1043a770, // Chapters
  0x1254c367, // Tags
]);

/**
 * The part of a live WebM's first piece before its first Cluster (EBML header, Segment, Info,
 * Tracks): what a demuxer needs before media from later in the stream. Null when the piece is
 * not laid out so.
 */
export function webmInitSegment(buf: Buffer): Buffer | null {
  const head = ebmlVarInt(buf, 0, true);
  if (head?.value !== EBML_HEADER) return null;
  const headSize = ebmlVarInt(buf, head.length, false);
  if (!headSize || headSize.unknown) return null;
  let at = head.length + headSize.length + headSize.value;
  const segment = ebmlVarInt(buf, at, true);
  if (segment?.value !== SEGMENT) return null;
  const segmentSize = ebmlVarInt(buf, at + segment.length, false);
  if (!segmentSize) return null;
  at += segment.length + segmentSize.length;
  while (at < buf.length) {
    const id = ebmlVarInt(buf, at, true);
    if (!id) return null;
    if (id.value === CLUSTER) return Buffer.from(buf.subarray(0, at));
    const size = ebmlVarInt(buf, at + id.length, false);
    if (!size || size.unknown) return null;
    at += id.length + size.length + size.value;
  }
  return null;
}

/** Where the first Cluster begun in a piece starts: the bytes of its start carried from the piece before, and its offset. */
export interface ClusterStart {
  prefix: Buffer;
  offset: number;
}

/**
 * Follows a live WebM piece by piece (element headers only, bodies skipped) and says where
 * Clusters start. `lost` once it meets something it cannot follow (it then says no more).
 */
export class WebmClusters {
  #state: 'head' | 'segment' | 'cluster' | 'lost' = 'head';
  /** Body bytes of the current element still to pass over. */
  #skip = 0;
  /** An element header cut by the end of the last piece. */
  #carry: Buffer = Buffer.alloc(0);

  get lost(): boolean {
    return this.#state === 'lost';
  }

  /** Follows the next piece; where the first Cluster starting in it begins, or null. */
  push(piece: Buffer): ClusterStart | null {
    if (this.#state === 'lost') return null;
    const carried = this.#carry.length;
    const data = carried ? Buffer.concat([this.#carry, piece]) : piece;
    this.#carry = Buffer.alloc(0);
    let first: ClusterStart | null = null;
    let at = 0;
    while (at < data.length) {
      if (this.#skip > 0) {
        const n = Math.min(this.#skip, data.length - at);
        this.#skip -= n;
        at += n;
        continue;
      }
      const id = ebmlVarInt(data, at, true);
      const size = id ? ebmlVarInt(data, at + id.length, false) : null;
      if (!id || !size) {
        // An id is at most 4 bytes and a size 8: a shorter rest is a header cut by the piece's end.
        if (data[at] !== 0 && data.length - at < 12) this.#carry = Buffer.from(data.subarray(at));
        else this.#state = 'lost';
        break;
      }
      const header = id.length + size.length;
      if (this.#state === 'head') {
        if (id.value === EBML_HEADER && !size.unknown) this.#skip = size.value;
        else if (id.value === SEGMENT) this.#state = 'segment';
        else this.#state = 'lost';
      } else if (this.#state === 'cluster' && !TOP_LEVEL.has(id.value)) {
        if (size.unknown) this.#state = 'lost';
        else this.#skip = size.value;
      } else if (id.value === CLUSTER) {
        first ??= {
          prefix: at < carried ? Buffer.from(data.subarray(at, carried)) : Buffer.alloc(0),
          offset: Math.max(0, at - carried),
        };
        if (size.unknown) this.#state = 'cluster';
        else {
          this.#state = 'segment';
          this.#skip = size.value;
        }
      } else if (size.unknown) {
        this.#state = 'lost';
      } else {
        this.#state = 'segment';
        this.#skip = size.value;
      }
      if (this.#state === 'lost') break;
      at += header;
    }
    return first;
  }
}
