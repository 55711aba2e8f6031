"""Customer Support on Twitter (TWCS, Kaggle "thoughtvector/customer-support-on-twitter").

One CSV row per tweet. Tweets are folded into conversations: a conversation is a connected component of
the reply graph (``in_response_to_tweet_id`` and the comma-separated ``response_tweet_id``, across all
files read together), and becomes ONE canonical interaction row. Record counts are per tweet:
every tweet read is either folded into a conversation (accepted) or quarantined.

Two layouts of the same columns are read, told apart by their header, never by file name:

* the original Kaggle layout (``tweet_id,author_id,...``, CRLF line ends, integer ids);
* a pandas re-save: an extra unnamed leading index column and ``in_response_to_tweet_id`` written as a
  float (``3.0``).

Quirk handled: a tweet text may hold a bare carriage return outside quotes (the pandas re-save did
not quote it). A record ends only at ``\\n`` or ``\\r\\n``; a lone ``\\r`` is text.

Mapping of a conversation (turns sorted by time; "customer" = inbound tweet, "agent" = brand tweet):

* ``interaction_id`` ``twcs:<root tweet_id>``, root = earliest tweet; ``source_file``/``source_record``
  are the root tweet's;
* ``brand`` = author of the first brand tweet (null when no brand tweeted: status ``unanswered``);
* ``customer_id`` = author of the first inbound tweet (TWCS author ids are already anonymised);
* ``agent_id`` = the ``^XX`` signature closing the first brand tweet, when there is one;
* ``created_at`` = first inbound tweet (the root when there is none);
  ``first_response_at`` = first brand tweet after the first inbound tweet;
* ``resolved`` = the thread's last tweet is the brand's (a proxy): status ``resolved``, else ``open``;
* ``transcript`` = one ``customer: ...`` / ``agent: ...`` line per tweet, line breaks inside a tweet
  folded to spaces, HTML entities (``&amp;``) decoded, PII redacted;
* ``quality_flags``: ``partial_thread`` (a tweet replies to a tweet not in the files),
  ``brand_initiated`` (no inbound tweet).
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

import polars as pl

from cx_platform.lib import schemas
from cx_platform.lib.redact import redact_text
from cx_platform.lib.sources.base import (
    AdapterResult,
    QuarantineLog,
    csv_line,
    file_label,
    with_business_date,
)

SOURCE = "twcs"
FILE_PATTERNS = ("*.csv",)

COLUMNS = (
    "tweet_id",
    "author_id",
    "inbound",
    "created_at",
    "text",
    "response_tweet_id",
    "in_response_to_tweet_id",
)
# Header names a leading pandas index column may carry.
_INDEX_COLUMN_NAMES = ("", "Unnamed: 0", "index")

# Stand-in for a bare "\r" while the csv module splits records (it would end the record there).
_CR_STANDIN = "\ue000"
_BARE_CR = re.compile(r"\r(?!\n)")

_MONTHS = {m: i for i, m in enumerate("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(), start=1)}
# Twitter's timestamp, e.g. "Tue Oct 31 22:10:47 +0000 2017"; parsed without strptime's locale-dependent %a/%b.
_TWITTER_TS = re.compile(
    r"^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (?P<mon>[A-Z][a-z]{2}) (?P<day>\d{1,2}) "
    r"(?P<h>\d{2}):(?P<m>\d{2}):(?P<s>\d{2}) (?P<tz>[+-]\d{4}) (?P<year>\d{4})$"
)
# An agent's signature closing a brand tweet ("... ^RR", "^Rashmi https://t.co/x", "^Jane 2/2"):
# the last "^name", followed only by links, an "n/m" part counter, whitespace or a full stop.
_SIGNATURE = re.compile(r"\^([A-Za-z]+)\.?(?:\s+(?:https?://\S+|\d+/\d+))*[\s.]*$")


@dataclass
class Tweet:
    tweet_id: int
    author_id: str
    inbound: bool
    created_at: dt.datetime
    text: str
    response_ids: tuple[int, ...]
    in_response_to: int | None
    file_index: int  # order of the file in the read list: breaks time ties deterministically
    source_file: str
    record: int

    @property
    def order(self) -> tuple[dt.datetime, int, int]:
        return (self.created_at, self.file_index, self.record)


class RecordError(ValueError):
    """A tweet record that cannot be read; the message is the quarantine reason."""


def read(files: list[Path], business_tz: str = "UTC") -> AdapterResult:
    quarantine = QuarantineLog(SOURCE)
    tweets: dict[int, Tweet] = {}
    records_read = 0

    for file_index, path in enumerate(files):
        label = file_label(path)
        header, records = _read_csv(path)
        if not header:  # an empty file
            continue
        offset = _column_offset(header, path)
        for record, row, raw in records:
            records_read += 1
            try:
                if len(row) != len(header):
                    raise RecordError(f"wrong field count: expected {len(header)}, got {len(row)}")
                tweet = _parse_tweet(dict(zip(COLUMNS, row[offset:], strict=True)), file_index, label, record)
                if tweet.tweet_id in tweets:
                    first = tweets[tweet.tweet_id]
                    raise RecordError(
                        f"duplicate tweet_id {tweet.tweet_id} (first at {first.source_file} record {first.record})"
                    )
            except RecordError as err:
                quarantine.add(label, record, str(err), raw)
                continue
            tweets[tweet.tweet_id] = tweet

    threads = sorted(_threads(tweets), key=lambda thread: (thread[0].file_index, thread[0].record))
    rows = [_conversation_row(thread, tweets) for thread in threads]
    frame = pl.DataFrame(rows, schema={name: schemas.INTERACTIONS[name] for name in _ROW_COLUMNS})
    accepted = schemas.conform(with_business_date(frame, business_tz), schemas.INTERACTIONS)
    return AdapterResult(
        source=SOURCE,
        records_read=records_read,
        records_accepted=len(tweets),
        accepted=accepted,
        quarantine=quarantine.frame(),
        files=[file_label(path) for path in files],
    )


# ---- reading records -----------------------------------------------------------------------------


def _read_csv(path: Path) -> tuple[list[str], Iterator[tuple[int, list[str], str]]]:
    """The header, and ``(record number, fields, raw record)`` for each data record of ``path``."""
    with path.open(encoding="utf-8-sig", newline="") as handle:  # newline="": keep every \r as it is
        text = _BARE_CR.sub(_CR_STANDIN, handle.read())
    reader = csv.reader(io.StringIO(text, newline=""))
    header = [field.replace(_CR_STANDIN, "\r") for field in next(reader, [])]

    def records() -> Iterator[tuple[int, list[str], str]]:
        record = 0
        for row in reader:
            if not row:  # a blank line holds no record
                continue
            record += 1
            row = [field.replace(_CR_STANDIN, "\r") for field in row]
            yield record, row, csv_line(row)

    return header, records()


def _column_offset(header: list[str], path: Path) -> int:
    """0 for the original layout, 1 when a pandas index column leads; anything else is not TWCS."""
    if tuple(header) == COLUMNS:
        return 0
    if len(header) == len(COLUMNS) + 1 and header[0] in _INDEX_COLUMN_NAMES and tuple(header[1:]) == COLUMNS:
        return 1
    raise ValueError(f"{file_label(path)}: not a TWCS header: {header}")


def _parse_tweet(fields: dict[str, str], file_index: int, source_file: str, record: int) -> Tweet:
    if not fields["tweet_id"].strip():
        raise RecordError("missing tweet_id")
    tweet_id = _parse_id(fields["tweet_id"], "tweet_id")
    author_id = fields["author_id"].strip()
    if not author_id:
        raise RecordError("missing author_id")
    inbound = {"True": True, "False": False}.get(fields["inbound"].strip())
    if inbound is None:
        raise RecordError(f"inbound is not True/False: {fields['inbound']!r}")
    created_at = _parse_twitter_time(fields["created_at"])
    replies = [part for part in fields["response_tweet_id"].split(",") if part.strip()]
    in_response_to = fields["in_response_to_tweet_id"]
    return Tweet(
        tweet_id=tweet_id,
        author_id=author_id,
        inbound=inbound,
        created_at=created_at,
        text=fields["text"],
        response_ids=tuple(_parse_id(part, "response_tweet_id") for part in replies),
        in_response_to=_parse_id(in_response_to, "in_response_to_tweet_id") if in_response_to.strip() else None,
        file_index=file_index,
        source_file=source_file,
        record=record,
    )


def _parse_id(value: str, column: str) -> int:
    """A tweet id: ``3``, or the pandas float form ``3.0``."""
    value = value.strip()
    try:
        number = Decimal(value)
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite() or number != number.to_integral_value() or number < 0:
        raise RecordError(f"non-numeric {column}: {value!r}")
    return int(number)


def _parse_twitter_time(value: str) -> dt.datetime:
    match = _TWITTER_TS.match(value.strip())
    month = _MONTHS.get(match["mon"]) if match else None
    try:
        if match is None or month is None:
            raise ValueError
        tz_sign = -1 if match["tz"][0] == "-" else 1
        offset = dt.timedelta(hours=int(match["tz"][1:3]), minutes=int(match["tz"][3:5])) * tz_sign
        local = dt.datetime(
            int(match["year"]), month, int(match["day"]), int(match["h"]), int(match["m"]), int(match["s"]),
            tzinfo=dt.timezone(offset),
        )
    except ValueError:
        raise RecordError(f"unparseable created_at: {value!r}") from None
    return local.astimezone(dt.UTC)


# ---- conversations -------------------------------------------------------------------------------


def _threads(tweets: dict[int, Tweet]) -> list[list[Tweet]]:
    """Connected components of the reply graph over the accepted tweets, each sorted by time."""
    parent = {tweet_id: tweet_id for tweet_id in tweets}

    def find(node: int) -> int:
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for tweet in tweets.values():
        for other in (tweet.in_response_to, *tweet.response_ids):
            if other is not None and other in tweets:
                a, b = find(tweet.tweet_id), find(other)
                if a != b:
                    parent[b] = a

    components: dict[int, list[Tweet]] = {}
    for tweet in tweets.values():
        components.setdefault(find(tweet.tweet_id), []).append(tweet)
    return [sorted(thread, key=lambda t: t.order) for thread in components.values()]


_ROW_COLUMNS = (
    "interaction_id",
    "source",
    "kind",
    "brand",
    "channel",
    "customer_id",
    "agent_id",
    "created_at",
    "first_response_at",
    "status",
    "resolved",
    "handled_by_bot",
    "transferred",
    "n_messages",
    "transcript",
    "quality_flags",
    "source_file",
    "source_record",
)


def _conversation_row(thread: list[Tweet], tweets: dict[int, Tweet]) -> dict:
    root = thread[0]
    first_inbound = next((t for t in thread if t.inbound), None)
    first_brand = next((t for t in thread if not t.inbound), None)
    first_response = None
    if first_inbound is not None:
        first_response = next((t for t in thread if not t.inbound and t.order > first_inbound.order), None)

    if first_brand is None:
        status, resolved = "unanswered", False
    else:
        resolved = not thread[-1].inbound
        status = "resolved" if resolved else "open"

    flags = []
    if any(t.in_response_to is not None and t.in_response_to not in tweets for t in thread):
        flags.append("partial_thread")
    if first_inbound is None:
        flags.append("brand_initiated")

    return {
        "interaction_id": f"{SOURCE}:{root.tweet_id}",
        "source": SOURCE,
        "kind": "contact",
        "brand": first_brand.author_id if first_brand else None,
        "channel": "social",
        "customer_id": first_inbound.author_id if first_inbound else None,
        "agent_id": agent_signature(first_brand.text) if first_brand else None,
        "created_at": (first_inbound or root).created_at,
        "first_response_at": first_response.created_at if first_response else None,
        "status": status,
        "resolved": resolved,
        "handled_by_bot": False,
        # a brand asking the customer to continue in private messages moves the contact to another channel
        "transferred": any(not t.inbound and _MOVE_TO_DM.search(t.text) for t in thread),
        "n_messages": len(thread),
        "transcript": redact_text("\n".join(_turn(t) for t in thread)),
        "quality_flags": ",".join(flags) or None,
        "source_file": root.source_file,
        "source_record": root.record,
    }


_MOVE_TO_DM = re.compile(r"\b(DM|direct message|private message|send us a (?:private )?message)\b", re.IGNORECASE)


def agent_signature(text: str) -> str | None:
    """The ``^XX`` signature a brand agent closes a tweet with (``"... ^RR"`` -> ``"RR"``), if any."""
    match = _SIGNATURE.search(text)
    return match.group(1) if match else None


def _turn(tweet: Tweet) -> str:
    speaker = "customer" if tweet.inbound else "agent"
    return f"{speaker}: {' '.join(html.unescape(tweet.text).split())}"
