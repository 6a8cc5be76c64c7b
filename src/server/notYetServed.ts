// TEMPORARY scaffold while issue 11's RPCs are built on branches: answers UNIMPLEMENTED. Removed before issue 11 closes.
import * as grpc from "@grpc/grpc-js";
import { HandlerKit } from "./handlerKit";

export function notYetServed<Req, Res>(method: string, kit: HandlerKit): grpc.handleUnaryCall<Req, Res> {
  return (_call, callback) => {
    kit.logger.info("call", { method, status: "UNIMPLEMENTED" });
    callback({ code: grpc.status.UNIMPLEMENTED, details: `${method} is not served yet` }, null);
  };
}
