"""Runs the real firmware logic on a PC behind TCP, reachable as the pySerial URL socket://127.0.0.1:PORT.

Fake relay pins and ADCs record their history; ADC i hears a tone while relay i is on. One client at a time:
a closed connection is a dead host, so the heartbeat fail-safe cuts the relays just as on the board.
CPython only (socket, threading, argparse); never copied to the board. Imports nothing outside firmware/.

    python -m firmware.host --port 7700
"""

import argparse
import select
import socket
import threading
import time

from firmware.coproc import CoProcessor
from firmware.fakes import FakePin, FakeWatchdog, ToneADC
from firmware.ticks import TICKS_PERIOD


def host_ticks_ms() -> int:
    """The PC's monotonic clock, wrapped like the board's so the wrap-safe arithmetic is exercised."""
    return int(time.monotonic() * 1000) % TICKS_PERIOD


class SocketUART:
    """machine.UART's read()/write() over the current client socket; with no client, reads nothing."""

    def __init__(self) -> None:
        self.conn: socket.socket | None = None

    def read(self) -> "bytes | None":
        if self.conn is None or not select.select([self.conn], [], [], 0)[0]:
            return None
        data = self._recv()
        if not data:
            self.close()  # the host went away: nothing more arrives, so the heartbeat times out
        return data or None

    def write(self, data: bytes) -> int:
        if self.conn is not None:
            try:
                self.conn.sendall(data)
            except OSError:
                self.close()
        return len(data)

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def _recv(self) -> bytes:
        try:
            return self.conn.recv(4096) if self.conn is not None else b""
        except OSError:
            return b""


class HostBoard:
    """The co-processor with fake hardware: pins[i] is relay i, adcs[i] listens to relay i."""

    def __init__(self, relay_count: int = 4, sensor_count: int = 2, heartbeat_timeout_ms: int = 2000,
                 max_on_ms: int = 15 * 60 * 1000) -> None:
        self.uart = SocketUART()
        self.pins = [FakePin(host_ticks_ms) for _ in range(relay_count)]
        self.adcs = [ToneADC(self.pins[i % relay_count]) for i in range(sensor_count)]
        self.watchdog = FakeWatchdog()
        self.node = CoProcessor(self.uart, self.pins, self.adcs, self.watchdog, host_ticks_ms,
                                heartbeat_timeout_ms=heartbeat_timeout_ms, max_on_ms=max_on_ms)


class HostServer:
    """Listens on 127.0.0.1:port (0 picks a free one) and steps the board every loop_ms until stopped."""

    def __init__(self, port: int = 0, board: "HostBoard | None" = None, loop_ms: int = 5) -> None:
        self.board = board if board is not None else HostBoard()
        self._loop_s = loop_ms / 1000
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._listener = socket.create_server(("127.0.0.1", port))
        self._listener.setblocking(False)
        self.port = int(self._listener.getsockname()[1])

    @property
    def url(self) -> str:
        return f"socket://127.0.0.1:{self.port}"

    def run(self) -> None:
        """Serve until stop(); the listener is closed on the way out."""
        try:
            while not self._stop.is_set():
                self._accept()
                self.board.node.step()
                time.sleep(self._loop_s)
        finally:
            self.board.uart.close()
            self._listener.close()

    def start(self) -> "HostServer":
        self._thread = threading.Thread(target=self.run, name="firmware-host", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

    def _accept(self) -> None:
        if self.board.uart.conn is not None:
            return  # one host at a time, like one serial port; others wait in the backlog
        try:
            conn, _ = self._listener.accept()
        except BlockingIOError:
            return
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.board.uart.conn = conn


def serve(port: int, board: "HostBoard | None" = None) -> None:
    """Serve on 127.0.0.1:port until interrupted (Ctrl-C)."""
    server = HostServer(port, board)
    print(f"firmware host: {server.url}", flush=True)
    try:
        server.run()
    except KeyboardInterrupt:
        pass


def main(argv: "list[str] | None" = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m firmware.host", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=7700, help="TCP port on 127.0.0.1 (0: any free one)")
    parser.add_argument("--relays", type=int, default=4)
    parser.add_argument("--sensors", type=int, default=2)
    parser.add_argument("--heartbeat-timeout-ms", type=int, default=2000)
    parser.add_argument("--max-on-ms", type=int, default=15 * 60 * 1000)
    args = parser.parse_args(argv)
    serve(args.port, HostBoard(args.relays, args.sensors, args.heartbeat_timeout_ms, args.max_on_ms))


if __name__ == "__main__":
    main()
