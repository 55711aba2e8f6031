"""TWCS adapter: thread reconstruction, both CSV layouts, quarantine and reconciliation.

The slices below are real records copied byte for byte from data/samples/twcs/ (record numbers in the
comments are those of the real file); the "bad" rows are real rows altered on purpose.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from cx_platform.lib import schemas
from cx_platform.lib.sources import twcs

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples" / "twcs"
UTC = dt.timezone.utc

# ---- twcs.csv layout: pandas index column, float in_response_to_tweet_id, LF -----------------------
PANDAS_HEADER = ",tweet_id,author_id,inbound,created_at,text,response_tweet_id,in_response_to_tweet_id\n"
# twcs.csv records 1-7: one sprintcare thread, tweets 8 -> 6 -> 5 -> 4 -> 3 -> 1 -> 2 (root 8, record 7).
THREAD_8 = (
    "0,1,sprintcare,False,Tue Oct 31 22:10:47 +0000 2017,@115712 I understand. I would like to assist you. We would need to get you into a private secured link to further assist.,2,3.0\n"
    "1,2,115712,True,Tue Oct 31 22:11:45 +0000 2017,@sprintcare and how do you propose we do that,,1.0\n"
    "2,3,115712,True,Tue Oct 31 22:08:27 +0000 2017,@sprintcare I have sent several private messages and no one is responding as usual,1,4.0\n"
    "3,4,sprintcare,False,Tue Oct 31 21:54:49 +0000 2017,@115712 Please send us a Private Message so that we can further assist you. Just click ‘Message’ at the top of your profile.,3,5.0\n"
    "4,5,115712,True,Tue Oct 31 21:49:35 +0000 2017,@sprintcare I did.,4,6.0\n"
    '5,6,sprintcare,False,Tue Oct 31 21:46:24 +0000 2017,"@115712 Can you please send us a private message, so that I can gain further details about your account?","5,7",8.0\n'
    '6,8,115712,True,Tue Oct 31 21:45:10 +0000 2017,@sprintcare is the worst customer service,"9,6,10",\n'
)
# twcs.csv records 8-13: tweets 18 -> 17 -> 16 -> 15 -> 12 -> 11 (root 18, ends with the brand).
THREAD_18 = (
    '7,11,sprintcare,False,Tue Oct 31 22:10:35 +0000 2017,"@115713 This is saddening to hear. Please shoot us a DM, so that we can look into this for you. -KC",,12.0\n'
    '8,12,115713,True,Tue Oct 31 22:04:47 +0000 2017,@sprintcare You gonna magically change your connectivity for me and my whole family ? 🤥 💯,"11,13,14",15.0\n'
    '9,15,sprintcare,False,Tue Oct 31 20:03:31 +0000 2017,"@115713 We understand your concerns and we\'d like for you to please send us a Direct Message, so that we can further assist you. -AA",12,16.0\n'
    "10,16,115713,True,Tue Oct 31 20:00:43 +0000 2017,@sprintcare Since I signed up with you....Since day 1,15,17.0\n"
    '11,17,sprintcare,False,Tue Oct 31 19:59:13 +0000 2017,"@115713 H there! We\'d definitely like to work with you on this, how long have you been experiencing this issue? -AA",16,18.0\n'
    '12,18,115713,True,Tue Oct 31 19:56:01 +0000 2017,"@115714 y’all lie about your “great” connection. 5 bars LTE, still won’t load something. Smh.",17,\n'
)
# twcs.csv records 138-139: tweet 222 replies to tweet 223, which is not in the file.
THREAD_222 = (
    "137,221,ATVIAssist,False,Tue Oct 31 21:57:23 +0000 2017,@115760 This is awesome! Thank you so much for the support! Love the costumes! ^TV,,222.0\n"
    "138,222,115760,True,Tue Oct 31 19:05:30 +0000 2017,@108162 @115761 @ATVIAssist tried that there was people so i came back,221,223.0\n"
)
# twcs.csv records 1035-1036: two brand tweets, no customer tweet; texts span two lines.
THREAD_1621 = (
    '1034,1620,AzureSupport,False,Tue Oct 31 22:17:40 +0000 2017,"@116051 Are these the steps you followed: https://t.co/FYZZn3qGt8 ? Please DM us your sub ID. ^JN\n'
    ' https://t.co/EYpi1mphGM",,1621.0\n'
    '1035,1621,AzureSupport,False,Tue Oct 31 22:11:47 +0000 2017,"@116051 Sorry to hear your having trouble. Could you direct message us with the steps you are following? ^JN\n'
    ' https://t.co/EYpi1mphGM",1620,1622.0\n'
)
# twcs.csv records 2484-2485: tweet 3399's text holds two bare carriage returns, unquoted.
THREAD_3399 = (
    "2483,3398,AskPayPal,False,Tue Oct 31 22:41:28 +0000 2017,@116510 I am sorry for the trouble with this email. Please DM me and I will be happy to help you further. ^GA,,3399.0\n"
    "2484,3399,116510,True,Tue Oct 31 18:13:06 +0000 2017,@AskPayPal \r\rI just love the start of email 😁 https://t.co/8u1Pf5rJoN,3398,\n"
)

# ---- sample.csv layout: Kaggle's original 7 columns, CRLF, integer ids -----------------------------
KAGGLE_HEADER = "tweet_id,author_id,inbound,created_at,text,response_tweet_id,in_response_to_tweet_id\r\n"
# sample.csv records 1-3: 119237 is never answered; 119238 (ChaseSupport, ^RR) answers 119239.
SAMPLE_1_3 = (
    "119237,105834,True,Wed Oct 11 06:55:44 +0000 2017,@AppleSupport causing the reply to be disregarded and the tapped notification under the keyboard is opened😡😡😡,119236,\r\n"
    '119238,ChaseSupport,False,Wed Oct 11 13:25:49 +0000 2017,"@105835 Your business means a lot to us. Please DM your name, zip code and additional details about your concern. ^RR https://t.co/znUu1VJn9r",,119239\r\n'
    "119239,105835,True,Wed Oct 11 13:00:09 +0000 2017,@76328 I really hope you all change but I'm sure you won't! Because you don't have to!,119238,\r\n"
)


def write(path: Path, text: str) -> Path:
    path.write_bytes(text.encode("utf-8"))
    return path


def by_id(result) -> dict[str, dict]:
    return {row["interaction_id"]: row for row in result.accepted.iter_rows(named=True)}


def seconds(a: dt.datetime, b: dt.datetime) -> float:
    return (b - a).total_seconds()


def test_pandas_layout_rebuilds_threads(tmp_path):
    path = write(tmp_path / "twcs.csv", PANDAS_HEADER + THREAD_8 + THREAD_18)

    result = twcs.read([path])

    assert (result.records_read, result.records_accepted, result.records_quarantined) == (13, 13, 0)
    assert result.reconciles
    assert result.accepted.schema == schemas.INTERACTIONS
    assert result.files == [f"{tmp_path.name}/twcs.csv"]
    rows = by_id(result)
    assert list(rows) == ["twcs:8", "twcs:18"]  # in the order of their root records

    first = rows["twcs:8"]
    assert first["source_record"] == 7  # the root tweet 8 is the file's 7th record
    assert first["source_file"] == f"{tmp_path.name}/twcs.csv"
    assert (first["source"], first["kind"], first["channel"]) == ("twcs", "contact", "social")
    assert first["brand"] == "sprintcare"
    assert first["customer_id"] == "115712"
    assert first["agent_id"] is None  # no ^XX signature in sprintcare's first reply
    assert first["created_at"] == dt.datetime(2017, 10, 31, 21, 45, 10, tzinfo=UTC)
    assert seconds(first["created_at"], first["first_response_at"]) == 74  # 21:45:10 -> 21:46:24
    assert first["n_messages"] == 7
    assert (first["status"], first["resolved"], first["handled_by_bot"]) == ("open", False, False)
    assert first["quality_flags"] is None
    assert first["business_date"] == dt.date(2017, 10, 31)
    turns = first["transcript"].split("\n")
    assert [turn.split(":")[0] for turn in turns] == ["customer", "agent"] * 3 + ["customer"]
    assert turns[0] == "customer: @sprintcare is the worst customer service"  # tweet 8
    assert turns[1].startswith("agent: @115712 Can you please send us a private message")  # tweet 6
    assert turns[-1] == "customer: @sprintcare and how do you propose we do that"  # tweet 2
    for unused in ("queue", "source_reason", "resolved_at", "csat_score", "nps_score", "wait_seconds"):
        assert first[unused] is None

    second = rows["twcs:18"]
    assert second["source_record"] == 13
    assert second["customer_id"] == "115713"
    assert seconds(second["created_at"], second["first_response_at"]) == 192  # 19:56:01 -> 19:59:13
    assert second["n_messages"] == 6
    assert (second["status"], second["resolved"]) == ("resolved", True)  # the brand's tweet 11 is last


def test_layout_is_detected_by_header_not_by_name(tmp_path):
    # Names swapped on purpose: the Kaggle layout in "twcs.csv", the pandas layout in "sample.csv".
    kaggle = write(tmp_path / "twcs.csv", KAGGLE_HEADER + SAMPLE_1_3)
    pandas_ = write(tmp_path / "sample.csv", PANDAS_HEADER + THREAD_8)

    result = twcs.read([kaggle, pandas_])

    assert (result.records_read, result.records_accepted, result.records_quarantined) == (10, 10, 0)
    rows = by_id(result)
    assert list(rows) == ["twcs:119237", "twcs:119239", "twcs:8"]

    unanswered = rows["twcs:119237"]
    assert unanswered["source_record"] == 1
    assert unanswered["source_file"] == f"{tmp_path.name}/twcs.csv"
    assert unanswered["brand"] is None
    assert unanswered["first_response_at"] is None
    assert (unanswered["status"], unanswered["resolved"], unanswered["n_messages"]) == ("unanswered", False, 1)
    assert unanswered["quality_flags"] is None  # it is a reply to nothing; its missing reply is not a gap

    chase = rows["twcs:119239"]
    assert chase["source_record"] == 3  # root = the earliest tweet, not the first record
    assert (chase["brand"], chase["customer_id"], chase["agent_id"]) == ("ChaseSupport", "105835", "RR")
    assert chase["created_at"] == dt.datetime(2017, 10, 11, 13, 0, 9, tzinfo=UTC)
    assert seconds(chase["created_at"], chase["first_response_at"]) == 1540  # 13:00:09 -> 13:25:49
    assert chase["status"] == "resolved"
    assert chase["transcript"].endswith("about your concern. ^RR [URL]")  # the link is redacted

    assert rows["twcs:8"]["source_file"] == f"{tmp_path.name}/sample.csv"
    assert rows["twcs:8"]["source_record"] == 7


def test_partial_and_brand_initiated_threads(tmp_path):
    path = write(tmp_path / "twcs.csv", PANDAS_HEADER + THREAD_222 + THREAD_1621)

    result = twcs.read([path])

    assert (result.records_read, result.records_accepted) == (4, 4)
    rows = by_id(result)

    partial = rows["twcs:222"]
    assert partial["quality_flags"] == "partial_thread"  # 222 replies to 223, not in the file
    assert partial["source_record"] == 2
    assert (partial["brand"], partial["agent_id"]) == ("ATVIAssist", "TV")
    assert seconds(partial["created_at"], partial["first_response_at"]) == 10313  # 19:05:30 -> 21:57:23

    brand_only = rows["twcs:1621"]
    assert brand_only["quality_flags"] == "partial_thread,brand_initiated"
    assert brand_only["source_record"] == 4
    assert brand_only["customer_id"] is None
    assert brand_only["first_response_at"] is None
    assert brand_only["created_at"] == dt.datetime(2017, 10, 31, 22, 11, 47, tzinfo=UTC)  # the root
    assert brand_only["agent_id"] == "JN"  # "^JN" followed by a line break and a link
    # One line per tweet: the line break inside each tweet is folded to a space.
    assert brand_only["transcript"] == (
        "agent: @116051 Sorry to hear your having trouble. Could you direct message us with the steps you are"
        " following? ^JN [URL]\n"
        "agent: @116051 Are these the steps you followed: [URL] ? Please DM us your sub ID. ^JN [URL]"
    )


def test_thread_cut_by_the_slice_is_partial(tmp_path):
    # Records 1-6 without tweet 8: tweet 6 now replies to a tweet that is not in the file.
    without_root = THREAD_8.splitlines(keepends=True)[:-1]
    path = write(tmp_path / "twcs.csv", PANDAS_HEADER + "".join(without_root))

    (row,) = twcs.read([path]).accepted.iter_rows(named=True)

    assert row["interaction_id"] == "twcs:6"  # the earliest tweet left
    assert row["quality_flags"] == "partial_thread"
    assert row["customer_id"] == "115712"
    assert row["created_at"] == dt.datetime(2017, 10, 31, 21, 49, 35, tzinfo=UTC)  # first customer tweet 5
    assert seconds(row["created_at"], row["first_response_at"]) == 314  # 21:49:35 -> 21:54:49 (tweet 4)


def test_bare_carriage_return_is_text_not_a_record_end(tmp_path):
    path = write(tmp_path / "twcs.csv", PANDAS_HEADER + THREAD_3399)

    result = twcs.read([path])

    assert (result.records_read, result.records_accepted, result.records_quarantined) == (2, 2, 0)
    (row,) = result.accepted.iter_rows(named=True)
    assert row["interaction_id"] == "twcs:3399"
    assert row["source_record"] == 2
    assert row["agent_id"] == "GA"
    assert row["transcript"] == (
        "customer: @AskPayPal I just love the start of email 😁 [URL]\n"
        "agent: @116510 I am sorry for the trouble with this email. Please DM me and I will be happy to help"
        " you further. ^GA"
    )


def test_bad_tweets_are_quarantined_with_a_reason(tmp_path):
    bad = (
        "13,99,115712,True,Tue Oct 31 25:10:47 +0000 2017,@sprintcare is the worst customer service,,\n"
        "14,100,115712,True,yesterday,@sprintcare is the worst customer service,,\n"
        "15,abc,115712,True,Tue Oct 31 21:45:10 +0000 2017,@sprintcare is the worst customer service,,\n"
        "16,,115712,True,Tue Oct 31 21:45:10 +0000 2017,@sprintcare is the worst customer service,,\n"
        "0,1,sprintcare,False,Tue Oct 31 22:10:47 +0000 2017,@115712 I understand. I would like to assist you.,2,3.0\n"
        "17,101,115712,yes,Tue Oct 31 21:45:10 +0000 2017,@sprintcare is the worst customer service,,\n"
        "18,102,115712,True,Tue Oct 31 21:45:10 +0000 2017,@sprintcare worst, customer service,,\n"
        "19,103,115712,True,Tue Oct 31 21:45:10 +0000 2017,@sprintcare hi,,x7\n"
    )
    path = write(tmp_path / "twcs.csv", PANDAS_HEADER + THREAD_8 + bad)

    result = twcs.read([path])

    label = f"{tmp_path.name}/twcs.csv"
    assert (result.records_read, result.records_accepted, result.records_quarantined) == (15, 7, 8)
    assert result.reconciles
    assert result.quarantine.schema == schemas.QUARANTINE
    reasons = dict(zip(result.quarantine["source_record"], result.quarantine["reason"], strict=True))
    assert reasons == {
        8: "unparseable created_at: 'Tue Oct 31 25:10:47 +0000 2017'",
        9: "unparseable created_at: 'yesterday'",
        10: "non-numeric tweet_id: 'abc'",
        11: "missing tweet_id",
        12: f"duplicate tweet_id 1 (first at {label} record 1)",
        13: "inbound is not True/False: 'yes'",
        14: "wrong field count: expected 8, got 9",
        15: "non-numeric in_response_to_tweet_id: 'x7'",
    }
    assert set(result.quarantine["source_file"]) == {label}
    assert set(result.quarantine["source"]) == {"twcs"}
    assert result.quarantine.filter(pl.col("source_record") == 12)["raw"].item().startswith("0,1,sprintcare,")
    (row,) = result.accepted.iter_rows(named=True)
    assert row["n_messages"] == 7  # the duplicate of tweet 1 is not folded in


def test_business_date_follows_business_tz(tmp_path):
    path = write(tmp_path / "twcs.csv", PANDAS_HEADER + THREAD_8)

    (row,) = twcs.read([path], business_tz="Asia/Tokyo").accepted.iter_rows(named=True)

    assert row["created_at"] == dt.datetime(2017, 10, 31, 21, 45, 10, tzinfo=UTC)  # stays UTC
    assert row["business_date"] == dt.date(2017, 11, 1)  # 06:45 on Nov 1 in Tokyo


def test_empty_and_foreign_files(tmp_path):
    empty = write(tmp_path / "empty.csv", "")
    result = twcs.read([empty])
    assert (result.records_read, result.accepted.height, result.quarantine.height) == (0, 0, 0)
    assert result.accepted.schema == schemas.INTERACTIONS

    foreign = write(tmp_path / "other.csv", "id,author,text\n1,a,b\n")
    with pytest.raises(ValueError, match="not a TWCS header"):
        twcs.read([foreign])


@pytest.mark.parametrize(
    ("text", "initials"),
    [
        ("@115716 What information is incorrect? ^JK", "JK"),
        ("@105835 ... your concern. ^RR https://t.co/znUu1VJn9r", "RR"),
        ("@1 Thanks for waiting. ^Jane 2/2", "Jane"),
        ("@1 posted for you. ^AJ", "AJ"),
        ("@1 Please shoot us a DM. -KC", None),
        ("@1 a caret ^ alone https://t.co/x", None),
        ("@1 ^AB is not at the end of this tweet", None),
    ],
)
def test_agent_signature(text, initials):
    assert twcs.agent_signature(text) == initials


@pytest.mark.skipif(not (SAMPLES / "twcs.csv").exists(), reason="TWCS samples not present")
def test_real_files_reconcile():
    per_file = {name: twcs.read([SAMPLES / name]) for name in ("twcs.csv", "sample.csv")}
    assert per_file["twcs.csv"].records_read == 5000  # SOURCE.md: 5,000 tweets
    assert per_file["sample.csv"].records_read == 93  # SOURCE.md: 93 tweets
    for result in per_file.values():
        assert result.reconciles
        assert result.records_quarantined == 0
        # every accepted tweet is folded into exactly one conversation
        assert result.accepted["n_messages"].sum() == result.records_accepted

    both = twcs.read([SAMPLES / "twcs.csv", SAMPLES / "sample.csv"])
    accepted = both.accepted
    assert both.reconciles and both.records_read == 5093
    assert accepted.schema == schemas.INTERACTIONS
    assert accepted["interaction_id"].is_unique().all()
    assert accepted["interaction_id"].str.starts_with("twcs:").all()
    # Regression pins (values of this reconstruction, not of SOURCE.md): 1,312 + 27 conversations on
    # 45 + 2 business days (SOURCE.md's 62 days count tweets; a conversation is dated by its first
    # inbound tweet).
    assert accepted.height == per_file["twcs.csv"].accepted.height + per_file["sample.csv"].accepted.height
    assert (per_file["twcs.csv"].accepted.height, per_file["sample.csv"].accepted.height) == (1312, 27)
    assert accepted["business_date"].n_unique() == 47
    assert accepted.filter(pl.col("first_response_at") < pl.col("created_at")).height == 0
    assert accepted["created_at"].null_count() == 0


def test_brand_asking_for_a_dm_marks_a_channel_transfer(tmp_path):
    lines = [
        "tweet_id,author_id,inbound,created_at,text,response_tweet_id,in_response_to_tweet_id",
        "1,111,True,Tue Oct 31 22:10:47 +0000 2017,@Brand my order is late,2,",
        "2,Brand,False,Tue Oct 31 22:12:47 +0000 2017,@111 Sorry! Please DM us your order number.,,1",
        "3,222,True,Tue Oct 31 23:10:47 +0000 2017,@Brand thanks for the help,4,",
        "4,Brand,False,Tue Oct 31 23:11:47 +0000 2017,@222 You are welcome!,,3",
    ]
    path = tmp_path / "dm.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = twcs.read([path])
    by_id = dict(zip(result.accepted["interaction_id"], result.accepted["transferred"]))
    assert by_id == {"twcs:1": True, "twcs:3": False}
