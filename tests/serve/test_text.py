"""Streaming text token by token: partial characters and possible stop strings are held back,
a stop string cuts the answer even when it spans tokens."""

from __future__ import annotations

from tunegate.serve.text import TextTracker

# token id -> UTF-8 bytes; "é" is split over tokens 3 and 4
PIECES = {
    1: b"Hel",
    2: b"lo ",
    3: b"\xc3",
    4: b"\xa9t",
    5: b"\xc3\xa9 END",
    6: b"!",
    7: b"E",
    8: b"NX",
}


def decode(ids: list[int]) -> str:
    return b"".join(PIECES[i] for i in ids).decode("utf-8", errors="replace")


def test_partial_characters_wait_for_their_last_byte() -> None:
    t = TextTracker(decode)
    assert [t.push(i) for i in (1, 2, 3, 4, 6)] == ["Hel", "lo ", "", "ét", "!"]
    assert t.sent == "Hello ét!" and t.cut is None


def test_a_stop_string_across_tokens_cuts_the_answer() -> None:
    t = TextTracker(decode, stop=["END"])
    assert [t.push(i) for i in (1, 2)] == ["Hel", "lo "]
    assert t.push(5) == "é " and t.cut == "Hello é "  # the stop string itself is never sent


def test_a_possible_stop_string_is_held_until_it_is_not_one() -> None:
    t = TextTracker(decode, stop=["ENDX", "ZZ"])
    assert t.push(1) == "Hel"
    assert t.push(7) == ""  # "E" could start "ENDX"
    assert t.push(8) == "ENX" and t.cut is None  # "ENX" is not a stop string after all


def test_empty_stop_strings_are_ignored() -> None:
    t = TextTracker(decode, stop=["", "!"])
    assert t.push(1) == "Hel" and t.push(6) == "" and t.cut == "Hel"
