"""A replay report as HTML: `render_body` for a page that has its own layout (the
operations console), `render_html` for a standalone file (what the CLI writes).

Plain escaped strings, no template engine: the schemas package imports no framework.
Every value from a mail goes through `html.escape`.
"""

from __future__ import annotations

from html import escape

from schemas.replay import ReplayReport

STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5rem;color:#222}
table{border-collapse:collapse;margin:.5rem 0 1.5rem}
th,td{border:1px solid #bbb;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#eee} td.n{text-align:right} .changed td{background:#fff8e0}
caption{text-align:left;font-weight:bold;padding:.25rem 0}
"""


def _cell(value: object) -> str:
    return f"<td>{escape('' if value is None else str(value))}</td>"


def _table(caption: str, head: list[str], rows: list[list[object]], cls: str = "") -> str:
    if not rows:
        return f"<p>{escape(caption)}: none.</p>"
    attr = f' class="{cls}"' if cls else ""
    body = "".join(f"<tr{attr}>" + "".join(_cell(v) for v in row) + "</tr>" for row in rows)
    ths = "".join(f'<th scope="col">{escape(h)}</th>' for h in head)
    return f"<table><caption>{escape(caption)}</caption><tr>{ths}</tr>{body}</table>"


def render_body(report: ReplayReport) -> str:
    """The report's content (a <section>), to put inside any page."""
    r = report
    facts = [
        ("Replay", r.replay_id),
        ("Mode", r.mode),
        ("Requested by", r.requested_by),
        ("Started", r.started_at.isoformat()),
        ("Selection", r.selection.describe()),
        ("Records read", r.scanned),
        ("Mails selected", r.selected),
        ("Seconds", f"{r.seconds:.1f}"),
    ] + [(f"Mails: {k}", v) for k, v in sorted(r.counts.items())]
    if r.applied is not None:
        a = r.applied
        facts += [("Commands sent", a.sent), ("Outcomes confirmed", a.confirmed)]
        facts += [(f"Applied: {k}", v) for k, v in sorted(a.outcomes.items())]
        if a.unconfirmed:
            facts.append(("Unconfirmed", ", ".join(a.unconfirmed)))
    dl = "".join(f'<tr><th scope="row">{escape(k)}</th>{_cell(v)}</tr>' for k, v in facts)
    parts = [
        f'<section class="replay-report"><h1>Replay {escape(r.replay_id)}</h1>',
        f"<table><caption>Summary</caption>{dl}</table>",
        _table(
            "Recorded decision → replayed decision",
            ["recorded", "replayed", "mails"],
            [[c.old, c.new, c.count] for c in r.matrix],
        ),
        _table(
            "Mails that changed",
            [
                "email id",
                "gateway",
                "from",
                "subject",
                "recorded",
                "replayed",
                "rule",
                "reason",
                "action",
                "note",
            ],
            [
                [
                    w.email_id,
                    w.gateway_id,
                    w.from_address,
                    w.subject,
                    w.old_decision,
                    w.new_decision,
                    w.new_rule,
                    w.new_reason,
                    w.action,
                    w.note,
                ]
                for w in r.changed
            ],
            "changed",
        ),  # fmt: skip
        _table(
            "Mails whose raw bytes are gone",
            ["email id", "gateway", "received", "recorded", "why"],
            [[g.email_id, g.gateway_id, g.received_at, g.old_decision, g.why] for g in r.gone],
        ),
        "</section>",
    ]
    return "\n".join(parts)


def render_html(report: ReplayReport) -> str:
    """A standalone page (inline style, no script): what `supportdesk replay` writes."""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>Replay {escape(report.replay_id)}</title><style>{STYLE}</style></head>"
        f"<body><main>{render_body(report)}</main></body></html>\n"
    )
