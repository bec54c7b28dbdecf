/** Node-side participants for integration tests: join, send commands, watch the state. */
import type { ConferenceState } from '../../protocol/conference';
import type { Ack, JoinResult, TransportOptions } from '../../protocol/events';
import type { TestServer } from './testServer';
import { waitFor } from './waitFor';
import { type TestSocket, FAKE_DTLS, connect, ok, opusParameters, request } from './wsClient';

export interface Participant {
  who: string;
  socket: TestSocket;
  join: JoinResult;
  /** The latest conference state pushed to this participant. */
  state(): ConferenceState;
  states: ConferenceState[];
  minutes: unknown[];
  send(event: string, payload?: unknown): Promise<Ack<unknown>>;
  /** Sends a command that must succeed. */
  must(event: string, payload?: unknown): Promise<void>;
  /** Publishes a (fake-RTP) microphone; returns the producer id. */
  publishMic(): Promise<string>;
  close(): void;
}

let ssrc = 10_000;

export async function participant(
  server: TestServer,
  who: string,
  token = server.token(who),
  /** Another address of the server (a fault relay in front of it). */
  url = server.url,
): Promise<Participant> {
  const socket = await connect(url, token);
  const states: ConferenceState[] = [];
  const minutes: unknown[] = [];
  socket.on('conference:state', ({ state }: { state: ConferenceState }) => states.push(state));
  socket.on('minutes:appended', ({ entries }: { entries: unknown[] }) => minutes.push(...entries));
  socket.on('consumer:added', (_offer: unknown, ack: (r: unknown) => void) => ack({ ok: true, data: null }));
  const join = await ok<JoinResult>(socket, 'session:join', {});
  states.push(join.state);
  let sendTransport: string | undefined;
  return {
    who,
    socket,
    join,
    states,
    minutes,
    state: () => states[states.length - 1] as ConferenceState,
    send: (event, payload = {}) => request(socket, event, payload),
    async must(event, payload = {}) {
      await ok(socket, event, payload);
    },
    async publishMic() {
      if (!sendTransport) {
        const t = await ok<TransportOptions>(socket, 'transport:create', { direction: 'send' });
        await ok(socket, 'transport:connect', { transportId: t.id, dtlsParameters: FAKE_DTLS });
        sendTransport = t.id;
      }
      const { id } = await ok<{ id: string }>(socket, 'producer:create', {
        transportId: sendTransport,
        kind: 'audio',
        source: 'microphone',
        rtpParameters: opusParameters(ssrc++),
      });
      return id;
    },
    close: () => socket.close(),
  };
}

/** Waits until the participant has seen a state satisfying the check. */
export function seen(
  p: Participant,
  what: string,
  check: (s: ConferenceState) => boolean,
): Promise<ConferenceState> {
  return waitFor(`${p.who} to see ${what}`, () => p.states.find(check), { missing: () => p.state() });
}
