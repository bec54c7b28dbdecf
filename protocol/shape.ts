/**
 * Bounds on the shape of anything a client sends, checked before any schema runs.
 *
 * A socket.io frame is parsed by V8's JSON.parse, which is not recursive: a 10 KB frame can hold an
 * array nested 5,000 deep. Every recursive walk of such a value afterwards (JSON.stringify, a deep
 * clone, a logger, a validator) overflows the stack and, inside socket.io's callback, stops the
 * process. So the first look at a payload is this one: an explicit stack, no recursion, and it
 * stops at the first limit crossed, after at most `maxNodes` steps whatever the input's size.
 *
 * It also measures the value as JSON would (an upper-bound estimate), so the schemas can bound the
 * size of free-form objects without serialising them.
 */

export interface ShapeLimits {
  /** Nesting levels of arrays and objects; the top-level value is depth 1. */
  maxDepth: number;
  /** Values of every kind counted together (objects, arrays, strings, numbers, …). */
  maxNodes: number;
  /** Entries in one array or keys in one object. */
  maxWidth: number;
  /** Characters in one string (keys included). */
  maxString: number;
  /** Estimated JSON size in characters. */
  maxBytes: number;
}

/** What any event payload may be at most; each schema then bounds its own fields tighter. */
export const PAYLOAD_LIMITS: ShapeLimits = {
  maxDepth: 16,
  maxNodes: 4_000,
  maxWidth: 512,
  maxString: 16 * 1024,
  // Above the largest schema bound (64 KB of RTP capabilities), so that one gives the precise message.
  maxBytes: 96 * 1024,
};

/** The socket.io handshake `auth` object: `{ token }` and nothing deep. */
export const AUTH_LIMITS: ShapeLimits = {
  maxDepth: 2,
  maxNodes: 8,
  maxWidth: 4,
  maxString: 4096,
  maxBytes: 8 * 1024,
};

export type ShapeVerdict =
  | { ok: true; bytes: number; depth: number; nodes: number }
  | { ok: false; reason: 'depth' | 'nodes' | 'width' | 'string' | 'bytes' | 'type'; message: string };

const refuse = (reason: Exclude<ShapeVerdict, { ok: true }>['reason'], message: string): ShapeVerdict => ({
  ok: false,
  reason,
  message,
});

/**
 * Walks `value` iteratively and refuses it at the first limit it crosses. Accepts only what JSON
 * can carry (plus `undefined`); functions, symbols, bigints, binary attachments and objects with a
 * prototype other than Object's or Array's are refused as 'type'.
 */
export function checkShape(value: unknown, limits: ShapeLimits = PAYLOAD_LIMITS): ShapeVerdict {
  const stack: { v: unknown; d: number }[] = [{ v: value, d: 1 }];
  let nodes = 0;
  let bytes = 0;
  let deepest = 0;
  while (stack.length > 0) {
    const { v, d } = stack.pop() as { v: unknown; d: number };
    nodes += 1;
    if (nodes > limits.maxNodes) return refuse('nodes', `more than ${limits.maxNodes} values`);
    if (d > deepest) deepest = d;
    switch (typeof v) {
      case 'undefined':
        continue;
      case 'boolean':
        bytes += 5;
        break;
      case 'number':
        bytes += 24;
        break;
      case 'string':
        if (v.length > limits.maxString)
          return refuse('string', `a string longer than ${limits.maxString} characters`);
        // Characters plus quotes; escaping may add more, which socket.io's frame limit bounds.
        bytes += v.length + 2;
        break;
      case 'object': {
        if (v === null) {
          bytes += 4;
          break;
        }
        if (d > limits.maxDepth) return refuse('depth', `nested deeper than ${limits.maxDepth} levels`);
        if (Array.isArray(v)) {
          if (v.length > limits.maxWidth)
            return refuse('width', `an array longer than ${limits.maxWidth} entries`);
          bytes += 2 + v.length;
          for (let i = 0; i < v.length; i += 1) stack.push({ v: v[i] as unknown, d: d + 1 });
          break;
        }
        const proto = Object.getPrototypeOf(v) as unknown;
        if (proto !== Object.prototype && proto !== null)
          return refuse('type', 'only JSON objects, arrays, strings, numbers and booleans are accepted');
        let width = 0;
        bytes += 2;
        // for…in stops early on a huge object, unlike Object.keys(), which would list it all first.
        for (const key in v) {
          if (!Object.prototype.hasOwnProperty.call(v, key)) continue;
          width += 1;
          if (width > limits.maxWidth)
            return refuse('width', `an object with more than ${limits.maxWidth} keys`);
          if (key.length > limits.maxString)
            return refuse('string', `a key longer than ${limits.maxString} characters`);
          bytes += key.length + 4;
          stack.push({ v: (v as Record<string, unknown>)[key], d: d + 1 });
        }
        break;
      }
      default:
        return refuse('type', `a value of type ${typeof v} is not accepted`);
    }
    if (bytes > limits.maxBytes) return refuse('bytes', `larger than ${limits.maxBytes} bytes`);
  }
  return { ok: true, bytes, depth: deepest, nodes };
}

/** The estimated JSON size of a value already known to be within PAYLOAD_LIMITS; Infinity if not. */
export function jsonSize(value: unknown, limits: ShapeLimits = PAYLOAD_LIMITS): number {
  const v = checkShape(value, limits);
  return v.ok ? v.bytes : Number.POSITIVE_INFINITY;
}
