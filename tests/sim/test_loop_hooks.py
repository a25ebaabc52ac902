"""What a shard needs from agent.runtime.loop: a closed socket's number can be reused at once, posts from the
loop's own callbacks need no wake-up, and a burst of posted work lets due timers run in between."""

from __future__ import annotations

import functools
import socket
import threading
import time

from agent.runtime.loop import Loop


def test_forgotten_fd_can_be_taken_by_a_new_socket_and_is_watched() -> None:
    loop = Loop()
    a, peer_a = socket.socketpair()
    loop.add_reader(a, lambda: None)
    loop.add_writer(a, lambda: None)
    fd = a.fileno()
    a.close()  # closed before the loop hears of it, as paho does
    b, peer_b = socket.socketpair()
    got: list[bytes] = []
    loop.forget(fd)
    loop.add_reader(b, lambda: got.append(b.recv(10)))
    peer_b.send(b"hi")
    for _ in range(5):
        loop.run_once(0.05)
    assert got == [b"hi"]
    for s in (peer_a, b, peer_b):
        s.close()
    loop.close()


def test_post_from_a_callback_writes_no_wakeup_byte_but_other_threads_do() -> None:
    loop = Loop()
    sent: list[bytes] = []
    real_send = loop._wake_w.send

    def spy_send(_self: object, b: bytes) -> int:
        sent.append(b)
        return real_send(b)

    loop._wake_w = type("W", (), {"send": spy_send, "close": lambda self: None})()
    ran: list[str] = []
    loop.call_later(0, lambda: loop.post(lambda: ran.append("inner")))
    loop.run_once(0.01)
    loop.run_once(0.01)
    assert ran == ["inner"] and sent == []
    threading.Thread(target=lambda: loop.post(lambda: ran.append("thread"))).start()
    deadline = time.monotonic() + 2
    while "thread" not in ran and time.monotonic() < deadline:
        loop.run_once(0.5)
    assert ran == ["inner", "thread"] and sent
    loop.close()


def test_a_long_burst_of_posted_work_lets_due_timers_run_in_between() -> None:
    loop = Loop()
    order: list[str] = []

    def job(i: int) -> None:
        time.sleep(0.002)
        order.append(f"job{i}")

    loop.call_later(0.01, lambda: order.append("timer"))
    time.sleep(0.02)
    for i in range(200):  # about 0.4 s of work, posted at once
        loop.post(functools.partial(job, i))
    while len(order) < 201:
        loop.run_once(0.01)
    assert order.index("timer") < 50
    assert [o for o in order if o != "timer"] == [f"job{i}" for i in range(200)]
    loop.close()
