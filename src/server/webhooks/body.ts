// A request body read up to a cap: a declared length over it is refused before reading, and the
// stream is cancelled as soon as more arrives than the cap allows (a missing or lying Content-Length
// costs at most `cap` bytes of memory).

export type CappedBody = { ok: true; body: Uint8Array } | { ok: false; reason: "too-large" };

export async function readCapped(request: Request, cap: number): Promise<CappedBody> {
  const declared = request.headers.get("content-length");
  if (declared !== null && Number(declared) > cap) {
    await request.body?.cancel().catch(() => undefined);
    return { ok: false, reason: "too-large" };
  }
  const stream = request.body;
  if (!stream) return { ok: true, body: new Uint8Array(0) };
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > cap) {
      await reader.cancel().catch(() => undefined);
      return { ok: false, reason: "too-large" };
    }
    chunks.push(value);
  }
  return { ok: true, body: Buffer.concat(chunks, size) };
}
