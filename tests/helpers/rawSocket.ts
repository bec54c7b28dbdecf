/**
 * A socket.io client that speaks the wire by hand (engine.io v4 over WebSocket), to send frames
 * a well-behaved client library cannot: the library's encoder walks a payload recursively, so it
 * would overflow its own stack on the 10,000-deep payloads an attacker sends as plain text.
 *
 * Frames: engine.io "0" open, "2"/"3" ping/pong, "4" message; inside, socket.io "0" connect,
 * "2" event, "3" ack, "4" connect error.
 */
import WebSocket from 'ws';
import { schemas } from '../../protocol/schemas';

export interface RawAck {
  ok: boolean;
  error?: { code: string; message: string };
  data?: unknown;
}

export interface RawSocket {
  /** Resolves with the namespace connect answer: its sid, or the connect_error data. */
  readonly connected: Promise<{ ok: true } | { ok: false; code: string; message: string }>;
  /** Sends `42<id>["event",<payloadText>]` and resolves with the answer (payloadText is raw JSON text). */
  request(event: string, payloadText: string, timeoutMs?: number): Promise<RawAck>;
  /** Sends a frame as it is (an engine.io message: "4" is prepended). */
  sendRaw(socketIoPacket: string): void;
  /** Events the server pushed (name only). */
  pushed: string[];
  closed: Promise<void>;
  isClosed(): boolean;
  close(): void;
}

export function rawConnect(url: string, authText: string): RawSocket {
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/socket.io/?EIO=4&transport=websocket`, {
    maxPayload: 8 * 1024 * 1024,
  });
  let nextId = 0;
  const waiting = new Map<number, (a: RawAck) => void>();
  const pushed: string[] = [];
  let onConnect: (v: { ok: true } | { ok: false; code: string; message: string }) => void = () => undefined;
  const connected = new Promise<{ ok: true } | { ok: false; code: string; message: string }>((resolve) => {
    onConnect = resolve;
  });
  const closed = new Promise<void>((resolve) => ws.on('close', () => resolve()));
  ws.on('error', () => undefined);
  ws.on('message', (data: WebSocket.RawData) => {
    const text = data.toString();
    if (text.startsWith('0')) {
      ws.send(`40${authText}`);
    } else if (text === '2') {
      ws.send('3');
    } else if (text.startsWith('40')) {
      onConnect({ ok: true });
    } else if (text.startsWith('44')) {
      const err = JSON.parse(text.slice(2)) as { message: string; data?: { code: string } };
      onConnect({ ok: false, code: err.data?.code ?? '?', message: err.message });
    } else if (text.startsWith('43')) {
      const m = /^43(\d+)/.exec(text);
      if (!m) return;
      const id = Number(m[1]);
      const [answer] = JSON.parse(text.slice(2 + (m[1] as string).length)) as [RawAck];
      waiting.get(id)?.(answer);
      waiting.delete(id);
    } else if (text.startsWith('42')) {
      const m = /^42\d*\["([^"]+)"/.exec(text);
      if (m) pushed.push(m[1] as string);
    }
  });
  ws.on('close', () => {
    onConnect({ ok: false, code: 'CLOSED', message: 'the connection closed' });
    for (const [id, fn] of waiting) {
      fn({ ok: false, error: { code: 'CLOSED', message: 'the connection closed' } });
      waiting.delete(id);
    }
  });
  return {
    connected,
    pushed,
    closed,
    request(event, payloadText, timeoutMs = 10_000) {
      const id = nextId++;
      return new Promise<RawAck>((resolve) => {
        const timer = setTimeout(() => {
          waiting.delete(id);
          resolve({ ok: false, error: { code: 'NO_ANSWER', message: `no answer in ${timeoutMs} ms` } });
        }, timeoutMs);
        waiting.set(id, (a) => {
          clearTimeout(timer);
          resolve(a);
        });
        ws.send(`42${id}[${JSON.stringify(event)},${payloadText}]`);
      });
    },
    sendRaw: (packet) => ws.send(`4${packet}`),
    isClosed: () => ws.readyState !== WebSocket.OPEN,
    close: () => ws.close(),
  };
}

/** The first field an event's schema knows, so that a deep value gets past the top-level type check. */
export function firstField(event: string): string {
  const shape = (schemas as unknown as Record<string, { shape?: Record<string, unknown> }>)[event]?.shape;
  return Object.keys(shape ?? {})[0] ?? 'x';
}

/** Payload texts of the hostile shapes, built as text: no recursion anywhere. */
export const hostile = {
  deepArray: (n: number) => `${'['.repeat(n)}1${']'.repeat(n)}`,
  deepObject: (n: number) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`,
  /** A deep value under a key every schema knows of, so it gets past a top-level type check. */
  deepInField: (field: string, n: number) => `{${JSON.stringify(field)}:${'['.repeat(n)}1${']'.repeat(n)}}`,
  wideArray: (n: number) => `[${Array.from({ length: n }, () => '0').join(',')}]`,
  wideObject: (n: number) => `{${Array.from({ length: n }, (_, i) => `"k${i}":0`).join(',')}}`,
  hugeString: (chars: number) => `{"title":${JSON.stringify('x'.repeat(chars))}}`,
};
