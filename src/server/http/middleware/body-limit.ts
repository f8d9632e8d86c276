import type { IncomingMessage } from "node:http";
import { HttpError } from "../respond.js";

/**
 * Reads a request body of at most `maxBytes`: a declared Content-Length over the limit is refused
 * before anything is read, a body that grows past it is cut off. Both answer 413.
 */
export async function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const tooLarge = () =>
    new HttpError(413, "payload_too_large", `request body exceeds ${maxBytes} bytes`, {
      headers: { connection: "close" },
      details: { limit_bytes: maxBytes },
    });
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > maxBytes) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) {
      req.resume();
      throw tooLarge();
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

/** The body parsed as JSON; an empty or malformed body is a 400 that says so. */
export async function readJsonBody(req: IncomingMessage, maxBytes: number): Promise<unknown> {
  const body = await readBody(req, maxBytes);
  if (body.length === 0) throw new HttpError(400, "invalid_json", "request body is empty; send a JSON object", { rpcCode: -32700 });
  try {
    return JSON.parse(body.toString("utf8"));
  } catch (err) {
    throw new HttpError(400, "invalid_json", `Parse error: request body is not valid JSON: ${(err as Error).message}`, {
      rpcCode: -32700,
    });
  }
}
