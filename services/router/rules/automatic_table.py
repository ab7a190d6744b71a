"""What makes a mail a bounce, as data: extend a table, not the code.

Read by the automatic rule (`automatic.bounce_reason`). Any one "decides"
entry makes the mail automatic on its own: it is never answered, never charged
and never opens a ticket. "Weak" subjects only count together with another sign
(a null sender, a returned message, DSN fields), because people write them too
("Delivery problem with my order").

Sources for the wording: the NDR subjects of Postfix, Sendmail, Exim, qmail,
Exchange / Microsoft 365 (localised), Gmail (localised), Lotus Domino, and the
sisimai corpus (/work/shared/corpora/sisimai-bounces).
"""

from __future__ import annotations

import re

# Local parts of the addresses MTAs send bounces from (From, Sender or Return-Path).
BOUNCE_LOCALS = (
    r"mailer-daemon",
    r"mailer_daemon",
    r"mailerdaemon",
    r"mail-daemon",
    r"mdaemon",
    r"postmaster",
    r"post_master",
    r"microsoftexchange[0-9a-f]{32}",  # Microsoft 365 NDRs ("Microsoft Outlook")
)

# Display names of delivery subsystems (From or Sender), whatever the address.
DELIVERY_NAMES = (
    r"mail delivery (sub)?system",
    r"mail delivery (service|agent|software)",
    r"mailer[- _]?daemon",
    r"postmaster",
    r"mail administrator",
    r"internet mail delivery",
    r"delivery status notification",
    r"microsoft outlook",
    r"microsoft exchange",
    r"mail-?zustellsystem",
    r"syst[eè]me de (distribution|remise) (du|de) courrier",
    r"sistema de entrega de correo",
    r"почтов(ая|ый) (система|сервер|демон)",
    r"邮件投递系统|郵件投遞系統",
    r"メール配信システム",
)

# Bounce subjects by language, matched on the decoded Subject. "start": the phrase
# opens the subject (after "Fwd:", "WG:", "TR:" ... and one [tag]); otherwise anywhere.
SUBJECTS: tuple[tuple[str, str, bool], ...] = (
    ("English", r"undeliver(able|ed)\b", True),
    ("English", r"returned mail\b", True),
    ("English", r"mail delivery (failed|failure|problem)", True),
    ("English", r"delivery status notification", True),
    ("English", r"delivery (failure|notification)\b", True),
    ("English", r"((your|the) )?(message|e-?mail|mail) (could ?n[o']t be|wasn't) delivered", True),
    ("English", r"(message|e-?mail|mail) not delivered", True),
    ("English", r"delivery (has )?failed", True),
    ("English", r"failure notice", True),
    ("English", r"non-?deliver(y|able)", True),
    ("English", r"returned to sender", True),
    ("English", r"warning: could not send message", True),
    ("English", r"delayed mail", True),
    ("English", r"mail system error", True),
    ("English", r"complaint about message from", True),  # Hotmail / Outlook.com JMRP
    ("German", r"unzustellbar", True),
    ("German", r"nicht zustellbar", True),
    ("German", r"zustellung (fehlgeschlagen|gescheitert|nicht m[öo]glich)", True),
    ("German", r"(benachrichtigung|status) (zum|über den|des) (übermittlungs|zustell)", True),
    ("German", r"nachricht konnte nicht zugestellt werden", False),
    ("French", r"non remis", True),
    ("French", r"non distribuable", True),
    ("French", r"[ée]chec (de|lors de) (la )?(remise|distribution|livraison)", True),
    ("French", r"notification d.[ée]tat de (la )?distribution", True),
    ("French", r"(message|courrier) (non d[ée]livr[ée]|retourn[ée])", True),
    ("Spanish", r"no se (puede|pudo) entregar", True),
    ("Spanish", r"(mensaje|correo) (no entregado|devuelto)", True),
    ("Spanish", r"notificaci[óo]n de estado de (la )?entrega", True),
    ("Spanish", r"error (en la|de) entrega", True),
    ("Italian", r"non recapitabile", True),
    ("Italian", r"mancato recapito", True),
    ("Italian", r"impossibile recapitare", True),
    ("Italian", r"notifica (sullo|dello) stato (della|di) consegna", True),
    ("Italian", r"(messaggio non consegnato|consegna non riuscita)", True),
    ("Portuguese", r"n[ãa]o (foi )?entregue", True),
    ("Portuguese", r"n[ãa]o (foi poss[íi]vel|é poss[íi]vel) entregar", True),
    ("Portuguese", r"notifica[çc][ãa]o de status de entrega", True),
    ("Portuguese", r"(mensagem devolvida|falha na entrega)", True),
    ("Dutch", r"onbestelbaar", True),
    ("Dutch", r"niet (afgeleverd|bezorgd)", True),
    ("Dutch", r"(status van bezorging|bezorging mislukt|bezorgingsstatus)", True),
    ("Dutch", r"kan niet worden (bezorgd|afgeleverd)", False),
    ("Russian", r"не(доставлен|\s*может быть доставлен|возможно доставить|\s+доставлен)", False),
    ("Russian", r"(уведомление|отчет|отчёт) о (состоянии |статусе )?доставк", False),
    ("Russian", r"ошибка доставки", False),
    ("Russian", r"возвращ[её]нное (сообщение|письмо)", False),
    ("Chinese", r"退信|退回的邮件|邮件退回|郵件退回", False),
    ("Chinese", r"无法投递|無法投遞|无法传递|無法傳遞|未能送达|未送达|投递失败|投遞失敗", False),
    ("Chinese", r"递送状态通知|傳遞狀態通知|投递状态通知", False),
    ("Japanese", r"配信不能|配送不能|配信できません|配信に失敗|配信失敗|未配達", False),
    ("Japanese", r"配信状態通知|配信状況通知|宛先不明", False),
    ("Japanese", r"送信できませんでした|メール配信エラー", False),
)

# People write these too: they count only with another sign of a bounce.
WEAK_SUBJECT = (
    r"undeliver|delivery status|delivery notification|delivery fail|failure notice|"
    r"returned mail|mail delivery|delivery report|non.?delivery|could not be delivered|"
    r"not delivered|rejected|mail system error|permanent error|delayed mail|"
    r"warning: message|message status|nondeliverable|returned to sender|"
    r"delivery problem|zustellung|unzustellbar|non remis|mail could not"
)

# Fields of a delivery-status report (RFC 3464) or a feedback report (RFC 5965, and
# Hotmail's): found in a returned part, a report part or pasted into the text.
DSN_FIELDS = (
    "Reporting-MTA",
    "Final-Recipient",
    "Original-Recipient",
    "Remote-MTA",
    "Diagnostic-Code",
    "Received-From-MTA",
    "Last-Attempt-Date",
    "X-Postfix-Queue-ID",
    "Feedback-Type",
    "X-HmXmrOriginalRecipient",
)
# Headers only bouncing MTAs set.
BOUNCE_HEADERS = (
    "X-Failed-Recipients",
    "X-MS-Exchange-Message-Is-Ndr",
    "X-Mailer-Daemon-Error",
    "X-Symantec-Messaging-Bounce",
)

# ---------------------------------------------------------------- compiled forms
_PREFIX = r"^\s*(?:(?:fwd?|fw|wg|tr|rv|enc|i|vs|doorst)\s*:\s*)*(?:\[[^\]]{0,80}\]\s*)?"
LOCAL_RE = re.compile(rf"^(?:{'|'.join(BOUNCE_LOCALS)})$", re.I)
# The same local parts inside a raw From / Sender / Return-Path value: no address parsing.
LOCAL_IN_HEADER_RE = re.compile(rf"(?<![\w.+=-])(?:{'|'.join(BOUNCE_LOCALS)})(?=@|>|\s|\"|$)", re.I)
NAME_RE = re.compile(rf"\b(?:{'|'.join(DELIVERY_NAMES)})\b", re.I)
SUBJECT_RES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (lang, re.compile((_PREFIX if start else "") + f"(?:{pattern})", re.I))
    for lang, pattern, start in SUBJECTS
)
WEAK_SUBJECT_RE = re.compile(WEAK_SUBJECT, re.I)
# [> \t]*: fields quoted in a forwarded bounce count too; no \s (see mail.STATUS_RE).
DSN_FIELD_RE = re.compile(rf"^[> \t]*({'|'.join(DSN_FIELDS)})[ \t]*:", re.I | re.M)


# All of them in one pattern: one search per mail, the language looked up only on a hit.
_STARTS = "|".join(f"(?:{pattern})" for _, pattern, start in SUBJECTS if start)
_ANYWHERE = "|".join(f"(?:{pattern})" for _, pattern, start in SUBJECTS if not start)
ANY_SUBJECT_RE = re.compile(f"{_PREFIX}(?:{_STARTS})|{_ANYWHERE}", re.I)


def bounce_subject(subject: str) -> str:
    """The language of the bounce phrase the subject opens with (or holds), '' if none."""
    subject = subject[:1000]
    if not ANY_SUBJECT_RE.search(subject):
        return ""
    return next(lang for lang, pattern in SUBJECT_RES if pattern.search(subject))


def dsn_fields(text: str) -> set[str]:
    """The distinct DSN field names in a text (its first 64 KB: reports put them on top)."""
    return {m.lower() for m in DSN_FIELD_RE.findall(text[:65536])}
