/**
 * The host agent's JSON API, shared by the server and the backend that calls it.
 *
 * - `GET  /v1/health`  -> {status, version, uptime_s} (no token needed, no secrets)
 * - `GET  /v1/info`    -> the agent bridge's describe()
 * - `POST /v1/execute` {command, working_directory?, timeout?, env?, stdin?} -> BridgeOutcome
 * - `POST /v1/check`   {program} -> ProgramCheck (existence on the agent's trusted PATH + its policy)
 *
 * Every route but health needs `Authorization: Bearer <token>` (401 otherwise). Bodies are JSON,
 * bounded in size (413). Closing the connection cancels a running command.
 */
export const AGENT_API_VERSION = "v1";

export interface AgentExecuteBody {
  command: string;
  working_directory?: string;
  timeout?: number;
  env?: Record<string, string>;
  stdin?: string;
}

export interface AgentError {
  error: string;
}
