import { Agent, request as httpRequest } from "node:http";
import { parseAgentAddress, type AgentAddress } from "./listen-address.js";

export interface AgentResponse {
  status: number;
  body: unknown;
}

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
          res.on("data", (c: Buffer) => chunks.push(c));
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
