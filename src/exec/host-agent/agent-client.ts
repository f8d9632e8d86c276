import { Agent, request as httpRequest } from "node:http";
import { parseAgentAddress, type AgentAddress } from "./listen-address.js";

export interface AgentResponse {
  status: number;
  body: unknown;
}

/**
 * Largest agent response read by default: both output streams at the schema's largest
 * `output_cap_bytes` (64 MiB each), JSON-escaped with room to spare. Past it the response is
 * dropped, so a broken or hostile agent cannot make this server buffer without end.
 */
export const MAX_AGENT_RESPONSE_BYTES = 257 * 1024 * 1024;

/**
 * A small keep-alive JSON client for the agent API (loopback TCP or a unix socket). Requests reuse
 * connections, so a call costs one round trip on loopback.
 */
export class AgentClient {
  readonly address: AgentAddress;
  private readonly agent: Agent;

  constructor(
    url: string,
    private readonly token: string,
    private readonly maxResponseBytes = MAX_AGENT_RESPONSE_BYTES,
  ) {
    this.address = parseAgentAddress(url);
    this.agent = new Agent({ keepAlive: true, maxSockets: 16 });
  }

  call(method: "GET" | "POST", path: string, body?: unknown, signal?: AbortSignal): Promise<AgentResponse> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const a = this.address;
    return new Promise((resolve, reject) => {
      const req = httpRequest(
        {
          agent: this.agent,
          method,
          path,
          ...(a.kind === "unix" ? { socketPath: a.path } : { host: a.host, port: a.port }),
          headers: {
            authorization: `Bearer ${this.token}`,
            ...(payload ? { "content-type": "application/json", "content-length": payload.length } : {}),
          },
          ...(signal ? { signal } : {}),
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on("data", (c: Buffer) => {
            size += c.length;
            if (size > this.maxResponseBytes) {
              chunks.length = 0;
              req.destroy(new Error(`the host agent's response exceeds ${this.maxResponseBytes} bytes and was dropped`));
              return;
            }
            chunks.push(c);
          });
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            let parsed: unknown = text;
            try {
              parsed = JSON.parse(text);
            } catch {
              // keep text
            }
            resolve({ status: res.statusCode ?? 0, body: parsed });
          });
          res.on("error", reject);
        },
      );
      req.setNoDelay(true);
      req.on("error", reject);
      req.end(payload);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
