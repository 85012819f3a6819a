/**
 * `wx.connectSocket` over Node's own sockets (Node 20 has no WebSocket without a flag): a
 * minimal RFC 6455 client, enough for the live draws' socket (text frames, ping, close). Like
 * the mini-program's SocketTask: onOpen, onMessage, onClose({code}), send, close.
 * `dropAll()` cuts every open connection without a close frame, as a lost network does.
 */

import { createHash, randomBytes } from "node:crypto";
import { request } from "node:http";
import type { Socket } from "node:net";

import type { WxSocketLike, WxSocketTask } from "../src/live.js";

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

export function wxSocketShim(): WxSocketLike & { dropAll(): void; opened: string[] } {
  const sockets = new Set<Socket>();
  const opened: string[] = [];
  return {
    opened,
    dropAll() {
      for (const socket of sockets) socket.destroy();
    },
    connectSocket({ url, header }) {
      const handlers = {
        open: [] as Array<() => void>,
        message: [] as Array<(m: { data: string }) => void>,
        close: [] as Array<(r: { code: number; reason: string }) => void>,
        error: [] as Array<(e: unknown) => void>,
      };
      let socket: Socket | null = null;
      let closed = false;
      const finish = (code: number, reason = "") => {
        if (closed) return;
        closed = true;
        if (socket) sockets.delete(socket);
        for (const h of handlers.close) h({ code, reason });
      };
      const target = new URL(url.replace(/^ws/, "http"));
      const key = randomBytes(16).toString("base64");
      opened.push(url);
      const req = request({
        host: target.hostname,
        port: target.port,
        path: target.pathname + target.search,
        headers: {
          ...header,
          Connection: "Upgrade",
          Upgrade: "websocket",
          "Sec-WebSocket-Key": key,
          "Sec-WebSocket-Version": "13",
        },
      });
      req.on("upgrade", (response, upgraded, head) => {
        const accept = createHash("sha1").update(key + GUID).digest("base64");
        if (response.headers["sec-websocket-accept"] !== accept) {
          upgraded.destroy();
          return finish(1006, "bad handshake");
        }
        socket = upgraded;
        sockets.add(upgraded);
        let buffer = Buffer.from(head);
        upgraded.on("data", (chunk: Buffer) => {
          buffer = Buffer.concat([buffer, chunk]);
          for (;;) {
            const frame = parse(buffer);
            if (!frame) break;
            buffer = buffer.subarray(frame.size);
            if (frame.opcode === 1) {
              for (const h of handlers.message) h({ data: frame.payload.toString("utf8") });
            } else if (frame.opcode === 9) {
              upgraded.write(encode(10, frame.payload));
            } else if (frame.opcode === 8) {
              const code = frame.payload.length >= 2 ? frame.payload.readUInt16BE(0) : 1005;
              upgraded.end(encode(8, frame.payload.subarray(0, 2)));
              finish(code, frame.payload.subarray(2).toString("utf8"));
            }
          }
        });
        upgraded.on("close", () => finish(1006, "connection lost"));
        upgraded.on("error", () => undefined);
        for (const h of handlers.open) h();
      });
      req.on("response", () => finish(1006, "not upgraded"));
      req.on("error", (error) => {
        for (const h of handlers.error) h(error);
        finish(1006, String(error));
      });
      req.end();
      const task: WxSocketTask = {
        onOpen: (h) => void handlers.open.push(h),
        onMessage: (h) => void handlers.message.push(h as (m: { data: string }) => void),
        onClose: (h) => void handlers.close.push(h),
        onError: (h) => void handlers.error.push(h),
        send: ({ data }) => void socket?.write(encode(1, Buffer.from(data, "utf8"))),
        close: ({ code = 1000 } = {}) => {
          const payload = Buffer.alloc(2);
          payload.writeUInt16BE(code);
          socket?.write(encode(8, payload));
        },
      };
      return task;
    },
  };
}

function parse(buffer: Buffer): { opcode: number; payload: Buffer; size: number } | null {
  if (buffer.length < 2) return null;
  const opcode = (buffer[0] ?? 0) & 0x0f;
  let length = (buffer[1] ?? 0) & 0x7f;
  let offset = 2;
  if (length === 126) {
    if (buffer.length < 4) return null;
    length = buffer.readUInt16BE(2);
    offset = 4;
  } else if (length === 127) {
    if (buffer.length < 10) return null;
    length = Number(buffer.readBigUInt64BE(2));
    offset = 10;
  }
  if (buffer.length < offset + length) return null; // server frames are never masked
  return { opcode, payload: buffer.subarray(offset, offset + length), size: offset + length };
}

/** A client frame: final, masked (RFC 6455 requires it of clients). */
function encode(opcode: number, payload: Buffer): Buffer {
  const mask = randomBytes(4);
  const length = payload.length;
  const header =
    length < 126
      ? Buffer.from([0x80 | opcode, 0x80 | length])
      : Buffer.from([0x80 | opcode, 0x80 | 126, length >> 8, length & 0xff]);
  const body = Buffer.from(payload.map((byte, i) => byte ^ (mask[i % 4] ?? 0)));
  return Buffer.concat([header, mask, body]);
}
