/**
 * Reading a body into memory without ever holding more than a limit: the
 * key API's request bodies and proxy mode's origin responses both stop
 * (and cancel the stream) at the first chunk past it.
 *
 * @example
 * const bytes = await readUpTo(res.body, 1024); // null when longer than 1 KiB
 */

/** The whole stream as bytes, or null once it passes `limit` bytes (the rest is cancelled). */
export async function readUpTo(
  body: ReadableStream<Uint8Array> | null,
  limit: number,
): Promise<Uint8Array | null> {
  if (!body) return new Uint8Array(0);
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel();
      return null;
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}
