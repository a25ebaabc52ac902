"""The loop survives a socket that closed behind its back whose number the kernel gave to a new socket (paho
closes and reopens its socket on every reconnect; this killed the agent once after a broker restart)."""

from __future__ import annotations

import socket

from agent.runtime.loop import Loop


def test_a_reused_fd_number_is_registered_afresh() -> None:
    loop = Loop()
    old, _peer = socket.socketpair()
    loop.add_reader(old, lambda: None)
    number = old.fileno()
    old.close()  # epoll forgets it; the loop's map still has the number
    spare: list[tuple[socket.socket, socket.socket]] = []
    new, peer = socket.socketpair()
    while new.fileno() != number and len(spare) < 50:
        spare.append((new, peer))
        new, peer = socket.socketpair()
    assert new.fileno() == number
    fired: list[str] = []
    loop.add_writer(new, lambda: fired.append("writable"))
    loop.run_once(0.1)
    assert fired == ["writable"]


def test_end_of_turn_callbacks_run_once_after_the_turns_posted_work_and_timers() -> None:
    loop, order = Loop(), list[str]()

    def posted() -> None:
        order.append("posted")
        loop.at_end_of_turn(lambda: order.append("end"))

    loop.post(posted)
    loop.call_later(0, lambda: order.append("timer"))
    loop.run_once(0)
    loop.run_once(0)
    assert order == ["posted", "timer", "end"]
    loop.close()


def test_a_raising_io_or_end_of_turn_callback_is_one_error_report_and_the_loop_goes_on() -> None:
    heard: list[str] = []
    loop = Loop(on_error=heard.append)
    ours, theirs = socket.socketpair()
    theirs.send(b"x")

    def reader() -> None:
        raise OSError("a socket handler with a bug")

    def end() -> None:
        raise ZeroDivisionError("an end-of-turn flush with a bug")

    loop.add_reader(ours, reader)
    fired: list[str] = []
    for _ in range(3):
        loop.at_end_of_turn(end)
        loop.call_later(0, lambda: fired.append("timer"))
        loop.run_once(0.05)  # raised out of run_once before: the loop, and the agent, stopped
    assert fired == ["timer"] * 3
    assert [k.split(" at ")[0] for k in heard] == ["OSError", "ZeroDivisionError"]
    assert loop.errors.counts and max(loop.errors.counts.values()) == 3
    loop.close()
    ours.close()
    theirs.close()
