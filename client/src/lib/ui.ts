/** Page helpers shared by the consoles: strings, the state badge, video tiles. No wire access here. */
import { type ClientToServerEvents, type CommandEventName, ErrorCode } from '../../../protocol/events';
import en from '../i18n/en.json';
import vi from '../i18n/vi.json';
import {
  type ClientOptions,
  type ConnectionState,
  ConferenceClient,
  type Quality,
  RequestError,
} from './ConferenceClient';

export { el } from './dom';

export type Lang = 'vi' | 'en';
export type StringKey = keyof typeof vi;
const STRINGS: Record<Lang, Record<string, string>> = { vi, en };

export function currentLang(): Lang {
  const q = new URLSearchParams(window.location.search).get('lang');
  const stored = window.localStorage.getItem('hoinghi.lang');
  return q === 'en' || (q !== 'vi' && stored === 'en') ? 'en' : 'vi';
}

export function t(key: string, params: Record<string, string | number> = {}): string {
  const s = STRINGS[currentLang()][key] ?? STRINGS.vi[key] ?? key;
  return s.replace(/\{(\w+)\}/g, (_m, k: string) => String(params[k] ?? ''));
}

/** Fills every element with data-i18n="key" and wires the language switch. */
export function applyStrings(root: ParentNode = document): void {
  document.documentElement.lang = currentLang();
  root.querySelectorAll<HTMLElement>('[data-i18n]').forEach((el) => {
    el.textContent = t(el.dataset.i18n as string);
  });
  root.querySelectorAll<HTMLInputElement>('[data-i18n-placeholder]').forEach((el) => {
    el.placeholder = t(el.dataset.i18nPlaceholder as string);
    el.setAttribute('aria-label', el.placeholder);
  });
  const sw = document.getElementById('lang-switch');
  if (sw) {
    sw.textContent = t('lang.switch');
    sw.onclick = () => {
      window.localStorage.setItem('hoinghi.lang', currentLang() === 'vi' ? 'en' : 'vi');
      const url = new URL(window.location.href);
      if (url.searchParams.has('lang')) {
        url.searchParams.delete('lang');
        window.location.replace(url.toString());
      } else {
        // Same address (the credential is in the fragment): a replace would not reload.
        window.location.reload();
      }
    };
  }
}

/** The join token from the link's fragment (#t=…), kept out of server logs and Referer headers. */
export function tokenFromLocation(): string {
  return new URLSearchParams(window.location.hash.slice(1)).get('t') ?? '';
}

/** `?q=low`: a 640×360 picture in two layers instead of 1280×720 in three, for halls on a poor link. */
export function qualityFromLocation(): Quality {
  return new URLSearchParams(window.location.search).get('q') === 'low' ? 'low' : 'normal';
}

/** Shows the connection state in words and colour, and any error or close reason. */
export function bindStatus(client: ConferenceClient): void {
  const badge = document.getElementById('state') as HTMLElement;
  const notice = document.getElementById('notice') as HTMLElement;
  const show = (state: ConnectionState, detail: { code?: string; reason?: string } = {}) => {
    badge.textContent = t(`state.${state}`);
    badge.dataset.state = state;
    document.body.dataset.state = state;
    if (detail.code) notice.textContent = t(`error.${detail.code}`);
    else if (detail.reason) notice.textContent = t(`reason.${detail.reason}`);
    else if (state === 'connected') notice.textContent = '';
    notice.hidden = !notice.textContent;
    if (detail.code) document.body.dataset.error = detail.code;
  };
  show(client.state);
  client.on('state', show);
  client.on('error', (e) => showError(e));
}

/**
 * Starts a console: strings, the controller with the credential from the link, the state badge.
 * The controller is also reachable as `window.hoinghi.client` (tests and benchmarks read stats there).
 */
export function bootConsole(opts: Omit<ClientOptions, 'token'>): ConferenceClient {
  applyStrings();
  const client = new ConferenceClient({ ...opts, token: tokenFromLocation() });
  (window as unknown as { hoinghi: unknown }).hoinghi = { client };
  bindStatus(client);
  return client;
}

/** Shows why an action failed, in words, in the page's notice line. */
export function showError(e: unknown): void {
  const notice = document.getElementById('notice') as HTMLElement;
  const wire = (x: unknown): x is { code: string; message: string } =>
    typeof x === 'object' && x !== null && 'code' in x && 'message' in x;
  const err =
    e instanceof RequestError ? e.error : wire(e) ? e : { code: ErrorCode.Internal, message: String(e) };
  const key = `error.${err.code}`;
  notice.textContent = t(key) !== key ? t(key, { message: err.message }) : t('error.generic', { ...err });
  notice.hidden = false;
}

/**
 * Sends a conference command from a console: clears the notice when the server accepts it,
 * shows why in words when it refuses. Resolves true when accepted.
 */
export async function runCommand<E extends CommandEventName>(
  client: ConferenceClient,
  event: E,
  payload: Parameters<ClientToServerEvents[E]>[0],
): Promise<boolean> {
  try {
    await client.command(event, payload);
    (document.getElementById('notice') as HTMLElement).hidden = true;
    return true;
  } catch (e) {
    showError(e);
    return false;
  }
}
