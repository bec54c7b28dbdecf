/** The payload bound that runs before any schema: iterative, so no depth of input can overflow it. */
import { AUTH_LIMITS, PAYLOAD_LIMITS, checkShape, jsonSize } from '../../protocol/shape';
import { schemas } from '../../protocol/schemas';

function deepArray(n: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < n; i++) v = [v];
  return v;
}
function deepObject(n: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < n; i++) v = { a: v };
  return v;
}

describe('checkShape', () => {
  it.each([
    ['arrays', deepArray],
    ['objects', deepObject],
  ])('refuses %s nested 10,000 and 100,000 deep as "depth", without overflowing', (_name, make) => {
    for (const n of [10_000, 100_000]) {
      expect(checkShape(make(n))).toMatchObject({ ok: false, reason: 'depth' });
    }
  });

  it('accepts nesting up to the limit and refuses one level more', () => {
    expect(checkShape(deepObject(PAYLOAD_LIMITS.maxDepth))).toMatchObject({ ok: true });
    expect(checkShape(deepObject(PAYLOAD_LIMITS.maxDepth + 1))).toMatchObject({ ok: false, reason: 'depth' });
    expect(checkShape(deepArray(PAYLOAD_LIMITS.maxDepth + 1))).toMatchObject({ ok: false, reason: 'depth' });
  });

  it('refuses 5,000 wide arrays and objects as "width"', () => {
    expect(checkShape(Array.from({ length: 5000 }, () => 0))).toMatchObject({ ok: false, reason: 'width' });
    const wide = Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`k${i}`, 0]));
    expect(checkShape(wide)).toMatchObject({ ok: false, reason: 'width' });
  });

  it('refuses a 250 KB string, and a 250 KB key', () => {
    expect(checkShape({ title: 'x'.repeat(250 * 1024) })).toMatchObject({ ok: false, reason: 'string' });
    expect(checkShape({ ['k'.repeat(250 * 1024)]: 1 })).toMatchObject({ ok: false, reason: 'string' });
  });

  it('bounds the total: many values, or many bytes spread over allowed strings', () => {
    const many = Array.from({ length: 500 }, () => Array.from({ length: 500 }, () => null));
    expect(checkShape(many)).toMatchObject({ ok: false, reason: 'nodes' });
    const bulky = Array.from({ length: 10 }, () => 'y'.repeat(15_000));
    expect(checkShape(bulky)).toMatchObject({ ok: false, reason: 'bytes' });
  });

  it('refuses what JSON cannot carry: binary, functions, class instances', () => {
    expect(checkShape({ b: Buffer.from('x') })).toMatchObject({ ok: false, reason: 'type' });
    expect(checkShape({ f: () => 1 })).toMatchObject({ ok: false, reason: 'type' });
    expect(checkShape({ d: new Date() })).toMatchObject({ ok: false, reason: 'type' });
    expect(checkShape(10n)).toMatchObject({ ok: false, reason: 'type' });
  });

  it('accepts ordinary payloads and estimates their JSON size from above', () => {
    const caps = {
      codecs: Array.from({ length: 30 }, (_, i) => ({
        kind: 'video',
        mimeType: 'video/VP8',
        preferredPayloadType: 96 + i,
        clockRate: 90000,
        parameters: { 'x-google-start-bitrate': 1000 },
        rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }],
      })),
      headerExtensions: [],
    };
    const v = checkShape(caps);
    expect(v).toMatchObject({ ok: true });
    expect(jsonSize(caps)).toBeGreaterThanOrEqual(JSON.stringify(caps).length);
    expect(checkShape(undefined)).toMatchObject({ ok: true });
    expect(checkShape({ title: 'Hà Nội', siteCode: 'ha-noi' })).toMatchObject({ ok: true });
  });

  it('reads a __proto__ key as data, never through the prototype', () => {
    const v = JSON.parse('{"__proto__": {"polluted": true}, "title": "x"}') as unknown;
    expect(checkShape(v)).toMatchObject({ ok: true });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('the handshake: only a small { token } passes', () => {
    expect(checkShape({ token: 'a.b.c' }, AUTH_LIMITS)).toMatchObject({ ok: true });
    expect(checkShape(deepObject(10_000), AUTH_LIMITS)).toMatchObject({ ok: false, reason: 'depth' });
    expect(checkShape({ token: { a: { b: 1 } } }, AUTH_LIMITS)).toMatchObject({ ok: false, reason: 'depth' });
  });

  it('the media schemas measure without serialising (a deep value never reaches JSON.stringify)', () => {
    const r = schemas['session:ready'].safeParse({ rtpCapabilities: { codecs: deepArray(10_000) } });
    expect(r.success).toBe(false);
  });
});
