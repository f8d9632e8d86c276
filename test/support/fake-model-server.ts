import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A scripted OpenAI-compatible chat model on 127.0.0.1, for driving a real agent (OpenCode)
 * headless. The script is a list of tool calls: the model makes call N once it has seen N tool
 * results in the conversation, then answers with `finalText`. Everything the agent sent is kept,
 * so tests can assert on the `role: "tool"` messages (what the tool results looked like to the model).
 */

export interface ScriptedCall {
  /** Tool name as the agent exposes it, e.g. `warden_read_file` (OpenCode: `<server>_<tool>`). */
  tool: string;
  args: Record<string, unknown>;
}

export interface ChatMessage {
  role: string;
  content?: unknown;
  tool_call_id?: string;
  tool_calls?: { id: string; function: { name: string; arguments: string } }[];
}

export interface ChatRequest {
  model: string;
  stream?: boolean;
  messages: ChatMessage[];
  tools?: { type: string; function: { name: string } }[];
}

export interface FakeModel {
  baseURL: string;
  /** Every chat completion request received, in order. */
  requests: ChatRequest[];
  /** The tool results the model received, by call index: the text of each `role: "tool"` message. */
  toolResults(): string[];
  /** Tool names offered in the last request that had tools. */
  offeredTools(): string[];
  close(): Promise<void>;
}

export async function startFakeModel(script: ScriptedCall[], finalText = "All done."): Promise<FakeModel> {
  const requests: ChatRequest[] = [];
  const server = createServer((req, res) => {
    handle(req, res).catch((err) => {
      res.writeHead(500, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { message: String(err) } }));
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? "").replace(/\?.*$/, "");
    if (req.method === "GET" && path.endsWith("/models")) {
      return json(res, { object: "list", data: [{ id: "m", object: "model", created: 0, owned_by: "fake" }] });
    }
    if (req.method !== "POST" || !path.endsWith("/chat/completions")) {
      res.writeHead(404).end();
      return;
    }
    const body = JSON.parse(await readAll(req)) as ChatRequest;
    requests.push(body);
    const reply = decide(body);
    if (body.stream) return stream(res, reply);
    return json(res, completion(reply));
  }

  /** Title and summary requests carry no tools: answer with text. Otherwise follow the script. */
  function decide(body: ChatRequest): Reply {
    if (!body.tools?.length) return { text: "warden e2e" };
    const done = body.messages.filter((m) => m.role === "tool").length;
    const next = script[done];
    if (!next) return { text: finalText };
    return { call: { id: `call_${done + 1}`, name: next.tool, arguments: JSON.stringify(next.args) } };
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    requests,
    toolResults() {
      const last = [...requests].reverse().find((r) => r.tools?.length);
      return (last?.messages ?? []).filter((m) => m.role === "tool").map((m) => contentText(m.content));
    },
    offeredTools() {
      const last = [...requests].reverse().find((r) => r.tools?.length);
      return (last?.tools ?? []).map((t) => t.function.name);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

type Reply = { text: string } | { call: { id: string; name: string; arguments: string } };

function contentText(content: unknown): string {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) return content.map((p) => (typeof p === "string" ? p : ((p as { text?: string }).text ?? ""))).join("");
  return JSON.stringify(content ?? "");
}

const usage = { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 };

function completion(reply: Reply) {
  const message =
    "text" in reply
      ? { role: "assistant", content: reply.text }
      : { role: "assistant", content: null, tool_calls: [{ id: reply.call.id, type: "function", function: { name: reply.call.name, arguments: reply.call.arguments } }] };
  return {
    id: "chatcmpl-fake",
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model: "m",
    choices: [{ index: 0, message, finish_reason: "text" in reply ? "stop" : "tool_calls" }],
    usage,
  };
}

/** Streams the reply as chat.completion.chunk events; tool arguments arrive split in two, as real models do. */
function stream(res: ServerResponse, reply: Reply): void {
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" });
  const base = { id: "chatcmpl-fake", object: "chat.completion.chunk", created: Math.floor(Date.now() / 1000), model: "m" };
  const send = (delta: Record<string, unknown>, finish: string | null, extra: Record<string, unknown> = {}) =>
    res.write(`data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta, finish_reason: finish }], ...extra })}\n\n`);
  if ("text" in reply) {
    send({ role: "assistant", content: "" }, null);
    send({ content: reply.text }, null);
    send({}, "stop", { usage });
  } else {
    const { id, name, arguments: args } = reply.call;
    const cut = Math.floor(args.length / 2);
    send({ role: "assistant", content: null, tool_calls: [{ index: 0, id, type: "function", function: { name, arguments: "" } }] }, null);
    send({ tool_calls: [{ index: 0, function: { arguments: args.slice(0, cut) } }] }, null);
    send({ tool_calls: [{ index: 0, function: { arguments: args.slice(cut) } }] }, null);
    send({}, "tool_calls", { usage });
  }
  res.end("data: [DONE]\n\n");
}

function json(res: ServerResponse, body: unknown): void {
  res.writeHead(200, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

async function readAll(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks).toString("utf8");
}
