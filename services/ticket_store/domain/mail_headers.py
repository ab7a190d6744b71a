"""Headers of the mail the store sends: Message-IDs and the reply subject.

The router stores Message-IDs bare; headers need them in angle brackets.
"""

from __future__ import annotations


def msg_id(value: str) -> str:
    """A Message-ID as headers need it, in angle brackets; "" for an empty or broken one."""
    value = value.strip()
    if not value or any(c.isspace() for c in value):
        return ""
    return value if value.startswith("<") else f"<{value.strip('<>')}>"


def new_message_id(outbound_id: str, domain: str) -> str:
    """Fixed before sending, so the client's answer threads by In-Reply-To at once."""
    return f"<{outbound_id}@{domain}>"


def reply_subject(subject: str) -> str:
    """Prefix "Re: " once, never "Re: Re: "."""
    return subject if subject.lower().startswith("re:") else f"Re: {subject}"
