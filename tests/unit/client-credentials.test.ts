/**
 * The consoles' side of credentials: which refusals end a console for good (no reconnecting),
 * and reissuing a hall's link from the operator's table (request, answer, errors in words).
 */
import en from '../../client/src/i18n/en.json';
import vi from '../../client/src/i18n/vi.json';
import { ReissueError, reissueErrorText, reissueLink } from '../../client/src/lib/reissue';
import {
  isTerminalCode,
  isTerminalReason,
  TERMINAL_CODES,
  TERMINAL_REASONS,
} from '../../client/src/lib/terminal';
import { CloseReason, ErrorCode } from '../../protocol/events';

describe('terminal refusals', () => {
  it('a missing, invalid, expired or revoked credential ends the console', () => {
    for (const code of ['AUTH_REQUIRED', 'AUTH_INVALID_TOKEN', 'AUTH_EXPIRED', 'AUTH_REVOKED'])
      expect(isTerminalCode(code)).toBe(true);
    expect(ErrorCode.AuthRevoked).toBe('AUTH_REVOKED');
  });

  it('anything else is retried: busy, rate limited, internal, no code at all', () => {
    for (const code of ['SERVER_BUSY', 'RATE_LIMITED', 'INTERNAL', 'FORBIDDEN', undefined])
      expect(isTerminalCode(code)).toBe(false);
  });

  it('a session closed as replaced, expired or revoked is not reopened; a restart is', () => {
    expect(CloseReason.Expired).toBe('expired');
    expect(CloseReason.Revoked).toBe('revoked');
    for (const r of ['replaced', 'expired', 'revoked']) expect(isTerminalReason(r)).toBe(true);
    for (const r of ['server-shutdown', 'media-restart', undefined]) expect(isTerminalReason(r)).toBe(false);
  });

  it('every terminal code and reason has its own message in both languages', () => {
    const keys = [
      ...[...TERMINAL_CODES].map((c) => `error.${c}`),
      ...[...TERMINAL_REASONS].map((r) => `reason.${r}`),
    ];
    for (const k of keys) {
      expect(vi).toHaveProperty([k]);
      expect(en).toHaveProperty([k]);
    }
    const strings = vi as Record<string, string>;
    expect(strings['error.AUTH_EXPIRED']).not.toEqual(strings['error.AUTH_REVOKED']);
    expect(strings['error.AUTH_REVOKED']).not.toEqual(strings['error.AUTH_INVALID_TOKEN']);
  });
});

describe('reissuing a link', () => {
  const ORIGIN = 'http://conf.example';
  const link = {
    site: { code: 'hn', name: 'Hà Nội' },
    role: 'site',
    person: null,
    url: 'http://conf.example/site#t=new',
    expiresAt: '2030-01-01T00:00:00.000Z',
  };
  const answer = (status: number, body: unknown) => async () =>
    new Response(typeof body === 'string' ? body : JSON.stringify(body), {
      status,
      headers: { 'content-type': 'application/json' },
    });

  it('posts to the principal with the caller credential as a bearer token and returns the link', async () => {
    const calls: { url: string; init: RequestInit }[] = [];
    const got = await reissueLink('hn', 'tok-123', {
      origin: ORIGIN,
      fetchFn: async (url, init) => {
        calls.push({ url, init });
        return answer(200, { link })();
      },
    });
    expect(got).toEqual(link);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.url).toBe('http://conf.example/api/credentials/hn/reissue');
    expect(calls[0]?.init.method).toBe('POST');
    expect(calls[0]?.init.headers).toEqual({ Authorization: 'Bearer tok-123' });
  });

  it('escapes the principal in the path', async () => {
    let url = '';
    await reissueLink('a/b c', 't', {
      origin: ORIGIN,
      fetchFn: async (u) => {
        url = u;
        return answer(200, { link })();
      },
    });
    expect(url).toBe('http://conf.example/api/credentials/a%2Fb%20c/reissue');
  });

  const failure = async (opts: Parameters<typeof reissueLink>[2]) => {
    try {
      await reissueLink('hn', 't', opts);
    } catch (e) {
      return e as ReissueError;
    }
    throw new Error('expected a failure');
  };
  const known = (k: string) => k in vi;

  it.each([
    [401, 'AUTH_EXPIRED', 'error.AUTH_EXPIRED'],
    [401, 'AUTH_REVOKED', 'error.AUTH_REVOKED'],
    [401, 'AUTH_INVALID_TOKEN', 'error.AUTH_INVALID_TOKEN'],
    [403, 'FORBIDDEN', 'error.FORBIDDEN'],
    [404, 'NOT_FOUND', 'operator.reissueNotFound'],
  ])('a %i %s is told in words (%s)', async (status, code, key) => {
    const e = await failure({
      origin: ORIGIN,
      fetchFn: answer(status, { error: { code, message: 'no' } }),
    });
    expect(e).toBeInstanceOf(ReissueError);
    expect({ status: e.status, code: e.code }).toEqual({ status, code });
    expect(reissueErrorText(e, known).key).toBe(key);
  });

  it('an answer that is not JSON, or no answer at all, is still described', async () => {
    const html = await failure({ origin: ORIGIN, fetchFn: answer(502, '<html>bad gateway</html>') });
    expect(html.code).toBe('HTTP_502');
    expect(reissueErrorText(html, known)).toEqual({
      key: 'error.generic',
      params: { code: 'HTTP_502', message: expect.any(String) },
    });
    const down = await failure({
      origin: ORIGIN,
      fetchFn: async () => {
        throw new TypeError('fetch failed');
      },
    });
    expect(down.status).toBe(0);
    expect(reissueErrorText(down, known)).toEqual({
      key: 'operator.reissueNetwork',
      params: { message: 'fetch failed' },
    });
  });

  it('a 200 without a link is a failure, not an empty link', async () => {
    const e = await failure({ origin: ORIGIN, fetchFn: answer(200, { ok: true }) });
    expect(e).toBeInstanceOf(ReissueError);
  });
});
