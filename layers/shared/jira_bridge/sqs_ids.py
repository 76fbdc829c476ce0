"""FIFO message group and deduplication ids that real SQS accepts, from values we do not control.

SQS takes 1-128 characters of ASCII letters, digits and punctuation (``!"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~``)
for ``MessageGroupId`` and ``MessageDeduplicationId``; anything else (a space, non-ASCII, 129
characters) is an ``InvalidParameterValue`` for the whole send. Incident ids, issue ids and delivery
headers come from other systems, so every id we hand SQS goes through here: a value that is already
valid is kept as it is (readable in the console and in ``jira-bridge dlq``), any other value becomes
a digest of itself, which is stable (the same incident always lands in the same group) and valid.
"""

from __future__ import annotations

import hashlib
import re

MAX_ID_LENGTH = 128
_VALID = re.compile(r"[A-Za-z0-9!\"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~]{1,128}")


def is_valid_sqs_id(value: str) -> bool:
    """Whether SQS would accept ``value`` as a message group or deduplication id."""
    return _VALID.fullmatch(value) is not None


def sqs_id(*parts: str) -> str:
    """One id from ``parts`` joined by ``#``: kept if valid, else ``sha256:<hex>`` of the joined text."""
    joined = "#".join(parts)
    if is_valid_sqs_id(joined):
        return joined
    return "sha256:" + hashlib.sha256(joined.encode("utf-8", "surrogatepass")).hexdigest()


def incident_group_id(incident_id: str) -> str:
    """The message group of one incident's events: its events wait only for each other."""
    return sqs_id("incident", incident_id)
