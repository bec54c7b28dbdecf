/**
 * socket.io's packet decoder with one more bound: at most MAX_PACKET_ARGS values in a packet's
 * argument array. socket.io spreads a packet's arguments onto the call stack (`listener.apply`,
 * `ack.apply`) before any handler of ours runs, and a 140 KB frame of `0,0,0,…` holds 70,000 of
 * them: enough to overflow the stack in a process.nextTick, where nothing catches it. Our
 * protocol sends an event name and one payload (and an acknowledgement answers with one value),
 * so anything longer is a protocol violation: the decoder throws, socket.io catches that in
 * `Client.ondata` and closes that one connection.
 */
import { Decoder, Encoder } from 'socket.io-parser';

export const MAX_PACKET_ARGS = 3;

type Listener = ((...args: unknown[]) => void) & { fn?: unknown };

class BoundedDecoder extends Decoder {
  constructor(...args: ConstructorParameters<typeof Decoder>) {
    super(...args);
    // socket.io's Client registers its 'decoded' listener with on() and removes it with
    // removeListener(original): the wrapper carries `fn`, which component-emitter matches on.
    type On = (event: string, fn: Listener) => unknown;
    const on = this.on.bind(this) as On;
    (this as unknown as { on: On }).on = (event, fn) => {
      if (event !== 'decoded') return on(event, fn);
      const bounded: Listener = (packet: unknown) => {
        const data = (packet as { data?: unknown } | null)?.data;
        if (Array.isArray(data) && data.length > MAX_PACKET_ARGS) {
          throw new Error(`a packet with ${data.length} arguments (at most ${MAX_PACKET_ARGS})`);
        }
        fn(packet);
      };
      bounded.fn = fn;
      return on(event, bounded);
    };
  }
}

/** The `parser` option of socket.io's Server. */
export const boundedParser = { Encoder, Decoder: BoundedDecoder };
