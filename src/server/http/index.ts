export { startHttpServer, type HttpServerHandle } from "./start-http-server.js";
export { HttpConfigError, isLoopbackHost, resolveToken, type HttpOptions } from "./options.js";
export { startApprovalsServer } from "./approvals-server.js";
