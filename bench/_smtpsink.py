"""A fast SMTP sink for benchmarks: a real SMTP server that counts and discards.

    python bench/_smtpsink.py --port 2525

Speaks enough ESMTP for any client (EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP,
QUIT; PIPELINING, 8BITMIME and SIZE are advertised and honoured) over an
asyncio protocol, with no per-command coroutine, logging or envelope
parsing, so a benchmark measures the sender rather than the server
(``aiosmtpd``'s Sink costs several milliseconds per message). Prints
``ready <port>`` once listening; on SIGTERM or SIGINT prints one JSON line
(messages, recipients, bytes, connections, malformed, CPU seconds) and
exits. A message without a blank line after its header block counts as
``malformed``.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import time

MAX_SIZE = 10 * 1024 * 1024
END_OF_DATA = b"\r\n.\r\n"


class Stats:
    def __init__(self) -> None:
        self.messages = self.recipients = self.bytes = self.connections = self.malformed = 0


class SinkProtocol(asyncio.Protocol):
    def __init__(self, stats: Stats, hostname: str):
        self.stats, self.hostname = stats, hostname
        self.buffer = b""
        self.in_data = False
        self.recipients = 0

    def connection_made(self, transport) -> None:
        self.transport = transport
        self.stats.connections += 1
        transport.write(f"220 {self.hostname} ESMTP bench sink\r\n".encode())

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        replies = []
        while self.buffer:
            if self.in_data:
                end = -2 if self.buffer.startswith(b".\r\n") else self.buffer.find(END_OF_DATA)
                if end == -1:
                    break
                self._message_done(self.buffer[:end + 2])
                self.buffer = self.buffer[end + len(END_OF_DATA):]
                self.in_data = False
                replies.append(b"250 2.0.0 Ok: queued\r\n")
                continue
            end = self.buffer.find(b"\r\n")
            if end < 0:
                break
            line, self.buffer = self.buffer[:end], self.buffer[end + 2:]
            reply = self._command(line)
            if reply is None:  # QUIT
                replies.append(b"221 2.0.0 Bye\r\n")
                self.transport.write(b"".join(replies))
                self.transport.close()
                return
            replies.append(reply)
        if replies:  # one write per read: pipelined commands get their replies together
            self.transport.write(b"".join(replies))

    def _command(self, line: bytes) -> bytes | None:
        verb = line[:4].upper()
        if verb == b"MAIL":
            self.recipients = 0
            return b"250 2.1.0 Ok\r\n"
        if verb == b"RCPT":
            self.recipients += 1
            return b"250 2.1.5 Ok\r\n"
        if verb == b"DATA":
            if not self.recipients:
                return b"503 5.5.1 Error: need RCPT command\r\n"
            self.in_data = True
            return b"354 End data with <CR><LF>.<CR><LF>\r\n"
        if verb == b"EHLO":
            return (f"250-{self.hostname}\r\n250-PIPELINING\r\n250-SIZE {MAX_SIZE}\r\n"
                    "250-8BITMIME\r\n250 SMTPUTF8\r\n").encode()
        if verb == b"HELO":
            return f"250 {self.hostname}\r\n".encode()
        if verb in (b"RSET", b"NOOP"):
            self.recipients = 0 if verb == b"RSET" else self.recipients
            return b"250 2.0.0 Ok\r\n"
        if verb == b"QUIT":
            return None
        return b"502 5.5.2 Error: command not recognized\r\n"

    def _message_done(self, content: bytes) -> None:
        stats = self.stats
        stats.messages += 1
        stats.recipients += self.recipients
        stats.bytes += len(content)
        if b"\r\n\r\n" not in content:
            stats.malformed += 1
        self.recipients = 0


async def serve(port: int, hostname: str, stats: Stats) -> None:
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, lambda: stop.done() or stop.set_result(None))
    server = await loop.create_server(lambda: SinkProtocol(stats, hostname), "127.0.0.1", port,
                                      backlog=128)
    print(f"ready {server.sockets[0].getsockname()[1]}", flush=True)
    await stop
    server.close()


def main() -> int:
    parser = argparse.ArgumentParser(description="A fast counting SMTP sink on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=0, help="0: any free port (printed)")
    parser.add_argument("--hostname", default="sink.bench")
    args = parser.parse_args()
    stats = Stats()
    asyncio.run(serve(args.port, args.hostname, stats))
    print(json.dumps({**vars(stats), "cpu_seconds": round(time.process_time(), 3)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
