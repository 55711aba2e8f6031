"""Message-level timing rules: bots never give the first response; a reopened life is timed afresh."""

import datetime as dt

import polars as pl

from cx_platform.lib.conversations import MESSAGES, first_human_response, response_times_by_life

T0 = dt.datetime(2024, 5, 6, 12, 0, tzinfo=dt.UTC)


def messages(rows):
    return pl.DataFrame(
        [{"interaction_id": "c:1", "seq": i, "sent_at": T0 + dt.timedelta(seconds=s), "author_role": role,
          "event": event} for i, (s, role, event) in enumerate(rows)],
        schema=MESSAGES,
    )


def test_bot_and_automatic_replies_never_count_as_first_response():
    frame = messages([(0, "customer", "message"), (2, "bot", "message"), (5, "system", "message"),
                      (90, "agent", "message")])
    # the bot answered after 2 s and the auto-acknowledgement after 5 s; the first human reply is at 90 s
    assert first_human_response(frame)["first_response_at"].to_list() == [T0 + dt.timedelta(seconds=90)]


def test_a_reopened_conversation_does_not_inherit_its_first_life_wait():
    frame = messages([
        (0, "customer", "message"), (60, "agent", "message"), (100, "system", "close"),
        # reopened a day later; answered 30 s after the reopening
        (86_400, "customer", "reopen"), (86_430, "agent", "message"),
    ])
    lives = response_times_by_life(frame)
    # life 0: 60 s; life 1: 30 s (not 86,430 s from the conversation's first message)
    assert lives["frt_seconds"].to_list() == [60.0, 30.0]


def test_a_life_no_human_answered_has_no_response_time():
    lives = response_times_by_life(messages([(0, "customer", "message"), (3, "bot", "message")]))
    assert lives["frt_seconds"].to_list() == [None]
