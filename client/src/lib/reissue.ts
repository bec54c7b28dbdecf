/**
 * Reissuing one join link (the operator's table): `POST /api/credentials/:principal/reissue`
 * with the caller's own credential. The old link is refused from then on. No DOM here: the
 * page shows the result; the error is described as an i18n key and its parameters.
 */
import type { SiteInfo } from '../../../protocol/events';

export interface ReissuedLink {
  site: Pick<SiteInfo, 'code' | 'name'>;
  role: string;
  person: string | null;
  url: string;
  expiresAt: string;
}

/** A refused or failed reissue: the HTTP status (0: no answer) and the server's error, if any. */
export class ReissueError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const TIMEOUT_MS = 15_000;

type Fetch = (input: string, init: RequestInit) => Promise<Response>;

export async function reissueLink(
  principal: string,
  token: string,
  { origin = window.location.origin, fetchFn = fetch as Fetch }: { origin?: string; fetchFn?: Fetch } = {},
): Promise<ReissuedLink> {
  let res: Response;
  try {
    res = await fetchFn(new URL(`/api/credentials/${encodeURIComponent(principal)}/reissue`, origin).href, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (e) {
    throw new ReissueError(0, 'NETWORK', e instanceof Error ? e.message : String(e));
  }
  const body = (await res.json().catch(() => null)) as {
    link?: ReissuedLink;
    error?: { code?: unknown; message?: unknown };
  } | null;
  if (!res.ok || !body?.link || typeof body.link.url !== 'string') {
    const code = typeof body?.error?.code === 'string' ? body.error.code : `HTTP_${res.status}`;
    const message = typeof body?.error?.message === 'string' ? body.error.message : res.statusText;
    throw new ReissueError(res.status, code, message);
  }
  return body.link;
}

/** What to tell the operator when a reissue failed: an i18n key with its parameters. */
export function reissueErrorText(
  e: unknown,
  known: (key: string) => boolean,
): { key: string; params: Record<string, string> } {
  if (!(e instanceof ReissueError))
    return { key: 'error.generic', params: { code: 'INTERNAL', message: String(e) } };
  if (e.status === 0) return { key: 'operator.reissueNetwork', params: { message: e.message } };
  if (e.status === 404 && (e.code === 'NOT_FOUND' || e.code === 'HTTP_404'))
    return { key: 'operator.reissueNotFound', params: {} };
  if (known(`error.${e.code}`)) return { key: `error.${e.code}`, params: { message: e.message } };
  if (e.status === 403) return { key: 'error.FORBIDDEN', params: {} };
  return { key: 'error.generic', params: { code: e.code, message: e.message } };
}
