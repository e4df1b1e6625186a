"""Scrub secrets from everything nbmodelbook records, before it reaches the store.

Params, metric names, cell code, tracebacks, text outputs and environment data
(including git remote URLs) all pass through this module. A leaked credential in
an evidence database cannot be recalled, so ambiguous cases lean towards hiding;
ordinary ML vocabulary (``max_tokens``, ``pad_token_id``, ``sort_key``) is
explicitly protected from that bias so recorded params stay useful.

Secret names (:func:`is_secret_name`)
-------------------------------------
A name is split into lower-case word parts at ``_``, ``-``, ``.``, camelCase
and acronym boundaries; digit parts are dropped (``apiKey2`` -> api, key;
``HFToken`` -> hf, token). A fused part is split when it ends in a credential
word (``apikey`` -> api, key; ``PGPASSWORD`` -> pg, password) but only with a
known qualifier for the ambiguous heads (``monkey`` and ``bypass`` stay whole).
Trailing version/environment parts (``v``, ``old``, ``prod``, ``value``...) are
ignored. Then, in order:

1. Last part is a *descriptor* (``id``, ``count``, ``len``, ``name``, ``path``,
   ``url``, ``type``, ``prefix``...): not secret; the value describes a
   credential rather than being one (``pad_token_id``, ``token_count``,
   ``private_key_path``, ``AWS_ACCESS_KEY_ID``).
2. Any part is an unambiguous credential word (``secret``, ``password``,
   ``passwd``, ``passphrase``, ``credential(s)``, ``creds``, ``auth``,
   ``authorization``, ``oauth``), or the last part is ``dsn``, ``cookie(s)``,
   ``bearer``, or the parts contain ``connection``/``conn`` + ``string``/``str``:
   secret.
3. Last part ``token``: secret when alone or when the part before it is a
   credential qualifier (access, api, hf, github, ...) or any word that is not
   an ML/counting word (``wandb_token``, ``hub_token``: an unknown service is
   assumed); not secret after an ML/counting word (``eos_token``, ``max_token``,
   ``use_cls_token``).
4. Last part ``key``/``pass``/``pwd``: everyday lookup words, so they need a
   qualifier. Secret after a credential qualifier (``api_key``, ``session_key``,
   ``private_key``, ``db_pass``); otherwise secret only in UPPER_CASE
   environment style with a non-ML qualifier (``PINECONE_KEY`` yes,
   ``SORT_KEY`` no). Bare ``key``, ``pwd`` (the shell's working directory) and
   ``pass`` are not secret.
5. Plural ``tokens``/``keys``: secret only after a credential qualifier
   (``access_tokens``, ``api_keys`` yes; ``max_tokens``, ``n_tokens``, ``keys`` no).
6. Anything else is not secret (``tokenizer``, ``keyboard``, ``secretary``,
   ``passthrough``, ``tokens_per_second``).

Every secret name contains one of ``_NAME_FRAGMENTS``; the text scanner relies
on that to skip clean text cheaply.

Text (:func:`redact_text`)
--------------------------
Known key formats are replaced whole; URL passwords, credential query params,
``Bearer`` tokens and PEM key bodies lose only the secret part. For secret
names in code and output, the content of the string literal that is assigned,
compared, passed as keyword or stored under the name becomes :data:`REDACTED`
(quotes and prefixes kept), as do unquoted ``NAME=value`` shell/dotenv values,
``--name value`` flags and ``X-Api-Key: value`` headers. Values held in
variables are found by value instead (:func:`collect_secret_values`).
Redaction repeats until stable, so it is idempotent.
"""

from __future__ import annotations

import functools
import itertools
import os
import re
from collections.abc import Collection, Mapping
from dataclasses import replace
from typing import Any, Final, NamedTuple
from urllib.parse import unquote_plus

from nbmodelbook.record import Candidate, Evaluation, RunError, RunRecord, SegmentLabels

__all__ = [
    "MIN_SECRET_LENGTH",
    "REDACTED",
    "collect_secret_values",
    "is_credential_param",
    "is_secret_name",
    "might_contain_secret",
    "redact_keys",
    "redact_mapping",
    "redact_record",
    "redact_text",
    "redact_url",
    "redact_urls",
    "redact_value",
]

REDACTED: Final = "[REDACTED]"
MIN_SECRET_LENGTH: Final = 6
"""Shorter values are not matched by value: they would hit ordinary text."""

# ---------------------------------------------------------------------------
# Name vocabulary
# ---------------------------------------------------------------------------

# Substrings every secret name contains (enforced in is_secret_name).
_NAME_FRAGMENTS: Final = (
    "key",
    "token",
    "secret",
    "pass",
    "pwd",
    "auth",
    "cred",
    "dsn",
    "conn",
    "cookie",
    "bearer",
)


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_STRONG_ANYWHERE: Final = frozenset(
    {
        "secret",
        "secrets",
        "password",
        "passwords",
        "passwd",
        "passphrase",
        "credential",
        "credentials",
        "cred",
        "creds",
        "auth",
        "authorization",
        "oauth",
    }
)
# Only credential-like as the head noun: `dsn_weight` (deeply supervised nets)
# and `cookie_jar` are not secrets.
_STRONG_HEADS: Final = _STRONG_ANYWHERE | {
    "dsn",
    "cookie",
    "cookies",
    "bearer",
    "connstr",
    "connectionstring",
}
_AMBIGUOUS_HEADS: Final = ("token", "key", "pass", "pwd")
# Tried longest first when splitting fused parts such as `pgpassword`.
_COMPOUND_HEADS: Final = tuple(
    sorted(_STRONG_HEADS | set(_AMBIGUOUS_HEADS), key=lambda w: (-len(w), w))
)

_CREDENTIAL_QUALIFIERS: Final = _words(
    """
    api apis access auth oauth bearer refresh session secret private client app
    application service account admin root master personal pat deploy signing
    sign encryption encrypt decryption crypt crypto license licence subscription
    storage sas shared ssh gpg pgp rsa hmac jwt aes csrf xsrf webhook bot
    security sec db database pg postgres postgresql mysql mongo mongodb redis
    smtp mail email ftp sftp ldap proxy login pass hf huggingface github gh
    gitlab gl bitbucket slack discord telegram twilio sendgrid mailgun openai
    anthropic claude gemini google gcp gcloud aws azure wandb comet neptune
    kaggle cohere pinecone weaviate qdrant replicate groq mistral together
    deepseek openrouter fireworks voyage jina serpapi tavily langsmith
    langchain mlflow databricks stripe npm pypi docker dockerhub vercel heroku
    netlify cloudflare cf datadog sentry notion mapbox firebase supabase algolia
    elastic nvidia ngc
    """
)

# Qualifiers that make token/key/pass a piece of ML or data vocabulary.
_NON_CREDENTIAL_QUALIFIERS: Final = _words(
    """
    max min num n nb count total per pad padding eos bos cls sep separator unk
    unknown mask masked start end stop begin special image img audio video
    vision text placeholder decoder encoder prefix suffix next prev previous
    last first new added extra additional sot eot eod eom im boi eoi sentinel
    dummy word sub subword char byte sentence input output target label query
    prompt completion response answer reasoning thinking think tool class
    classification register dist distillation generated sampled predicted
    current cur default unique control assistant system human role turn sort
    primary foreign cache rng prng random seed batch group join hash dict
    lookup map metric config layer obs obsm var color partition index column
    col row sample split feature data model state param result cluster time
    date composite natural surrogate shard routing dedup merge match record
    entity item node edge attr field name value public forward backward fwd
    bwd second single multi two one double each skip
    """
)

_DESCRIPTORS: Final = _words(
    """
    id ids uid idx index count counts cnt num number len length size type types
    kind name names path paths file files filename dir folder env var variable
    field fields column col url uri endpoint host limit budget min max rate
    ratio position pos offset dim dims embedding embeddings emb method mode
    scheme provider backend enabled required prompt hint label policy strategy
    strength ttl expiry expires expiration lifetime timeout sock socket
    location loc ref arn version format fmt template regex pattern
    """
)

# Parts that say which copy of a value this is, not what it is.
_IGNORABLE_TRAILING: Final = _words(
    "v old new prod production dev test staging live local raw b64 base64 encoded value val"
)

# Query-string parameters that carry credentials even though the bare names
# are not secret names in code (`?key=AIza...`, Azure SAS `sig=`).
_URL_SECRET_PARAMS: Final = frozenset(
    {"key", "sig", "signature", "x-amz-signature", "x-goog-signature", "pass", "pwd"}
)

# Longest identifier treated as a name (longer runs are blobs or hashes).
_MAX_NAME: Final = 96
_PART_RE: Final = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")


def is_secret_name(name: str) -> bool:
    """Return whether a variable, key, param or header name denotes a credential."""
    # Longer strings are sentences or data used as dict keys, not names; they
    # would also bloat the cache. Their text still goes through redact_text.
    if len(name) > _MAX_NAME:
        return False
    return _classify_name(name)


@functools.lru_cache(maxsize=16384)
def _classify_name(name: str) -> bool:
    lower = name.lower()
    # Cheap exit, and the invariant the text scanner depends on.
    if not any(fragment in lower for fragment in _NAME_FRAGMENTS):
        return False
    parts: list[str] = []
    for raw in _PART_RE.findall(name):
        if not raw.isdigit():
            parts.extend(_split_compound(raw.lower()))
    while len(parts) > 1 and parts[-1] in _IGNORABLE_TRAILING:
        parts.pop()
    if not parts:
        return False
    last = parts[-1]
    if last in _DESCRIPTORS:
        return False
    if last in _STRONG_HEADS or any(part in _STRONG_ANYWHERE for part in parts):
        return True
    for first, second in itertools.pairwise(parts):
        if first in ("connection", "conn") and second in ("string", "str"):
            return True
    qualifier = parts[-2] if len(parts) > 1 else None
    if last == "token":
        return qualifier is None or qualifier not in _NON_CREDENTIAL_QUALIFIERS
    if last in ("tokens", "keys"):
        return qualifier in _CREDENTIAL_QUALIFIERS
    if last in ("key", "pass", "pwd"):
        if qualifier is None:
            return False
        if qualifier in _CREDENTIAL_QUALIFIERS:
            return True
        # Environment-variable style names are almost always credentials.
        return name.isupper() and qualifier not in _NON_CREDENTIAL_QUALIFIERS
    return False


def _split_compound(part: str) -> tuple[str, ...]:
    if part in _STRONG_HEADS or part in _AMBIGUOUS_HEADS:
        return (part,)
    for head in _COMPOUND_HEADS:
        if len(part) > len(head) and part.endswith(head):
            prefix = part[: -len(head)]
            if head in _STRONG_HEADS or prefix in _CREDENTIAL_QUALIFIERS:
                return (prefix, head)
    return (part,)


# ---------------------------------------------------------------------------
# Text patterns
# ---------------------------------------------------------------------------

# Each pattern starts with a literal (the boundary check is a lookbehind placed
# after it) so the regex engine can skip ahead with a fast literal search;
# a leading character class or lookbehind costs ~30 us per 2 KB instead of ~1.
_NO_TOKEN_BEFORE: Final = "A-Za-z0-9_-"


def _format(prefix_regex: str, boundary: str, body: str) -> str:
    return f"{prefix_regex}(?<![{boundary}]{prefix_regex}){body}"


def _literal(text: str) -> re.Pattern[str]:
    # For 2+ character needles a literal regex search beats `in` (~2x here).
    return re.compile(re.escape(text))


class _Rule(NamedTuple):
    """A regex applied only when one of its gates occurs in the text."""

    gates: tuple[str | re.Pattern[str], ...]
    pattern: re.Pattern[str]
    # Replace the whole match, or only the named group ``v`` of it.
    whole: bool
    # Whether a match can consist of identifier characters only (see _redact_once).
    in_identifiers: bool = False


def _hide_v(match: re.Match[str]) -> str:
    value = match.group("v")
    if value is None or value == REDACTED:
        return match.group(0)
    offset = match.start()
    whole = match.group(0)
    return whole[: match.start("v") - offset] + REDACTED + whole[match.end("v") - offset :]


_QUERY_VALUE: Final = r"(?P<name>[A-Za-z][A-Za-z0-9_.-]{0,63})=(?P<v>(?![{$\[])[^&#\s'\"<>]+)"

_RULES: Final[tuple[_Rule, ...]] = (
    # OpenAI / Anthropic style `sk-...` (must contain a digit: `sk-learn-style-names`).
    _Rule(
        (_literal("sk-"),),
        re.compile(_format("sk-", _NO_TOKEN_BEFORE, r"(?=[A-Za-z_-]*[0-9])[A-Za-z0-9_-]{20,}")),
        whole=True,
    ),
    # AWS access key ids and Google API keys.
    _Rule(
        (re.compile(r"A(?:KIA|SIA|Iza)"),),
        re.compile(
            r"A(?:(?:KIA|SIA)(?<![A-Za-z0-9]A[KS]IA)[A-Z0-9]{16}(?![A-Za-z0-9])"
            r"|Iza(?<![A-Za-z0-9_-]AIza)[0-9A-Za-z_-]{35})"
        ),
        whole=True,
        in_identifiers=True,
    ),
    # GitHub tokens: classic `ghp_`/`gho_`/`ghu_`/`ghs_`/`ghr_` and fine-grained.
    _Rule(
        (re.compile(r"g(?:h[pousr]_|ithub_pat_)"),),
        re.compile(
            r"g(?:h[pousr]_(?<![A-Za-z0-9_]gh[pousr]_)[A-Za-z0-9]{20,}"
            r"|ithub_pat_(?<![A-Za-z0-9_]github_pat_)[A-Za-z0-9_]{20,})"
        ),
        whole=True,
        in_identifiers=True,
    ),
    _Rule(  # Slack bot/user/app/refresh/legacy/config tokens (always hold digits)
        (_literal("xox"),),
        re.compile(_format("xox[abprse]-", "A-Za-z0-9", r"(?=[A-Za-z-]*[0-9])[A-Za-z0-9-]{10,}")),
        whole=True,
    ),
    _Rule(  # Stripe secret and restricted keys
        (re.compile(r"k_(?:live|test)_"),),
        re.compile(r"(?<![A-Za-z0-9_])[sr]k_(?:live|test)_[0-9A-Za-z]{10,}"),
        whole=True,
        in_identifiers=True,
    ),
    _Rule(  # Hugging Face
        (_literal("hf_"),),
        re.compile(_format("hf_", "A-Za-z0-9_", r"[A-Za-z0-9]{30,}")),
        whole=True,
        in_identifiers=True,
    ),
    _Rule(  # GitLab personal access tokens
        (_literal("glpat-"),),
        re.compile(_format("glpat-", _NO_TOKEN_BEFORE, r"[A-Za-z0-9_-]{20,}")),
        whole=True,
    ),
    _Rule(  # JWT: header.payload.signature, header is base64url JSON (`{"` -> `eyJ`)
        ("J",),  # a single rare character: a memchr-speed test
        re.compile(
            _format(
                "eyJ", _NO_TOKEN_BEFORE, r"[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"
            )
        ),
        whole=True,
    ),
    # `Bearer <token>`: the scheme is kept; the token must hold a digit so
    # prose such as "bearer instruments" is left alone.
    _Rule(
        (_literal("earer"), _literal("EARER")),
        re.compile(
            r"\b(?:[Bb]earer|BEARER)[ \t]+"
            r"(?P<v>(?=[A-Za-z._~+/-]*[0-9])[A-Za-z0-9._~+/-]{12,}=*)"
        ),
        whole=False,
    ),
    # PEM private keys: armour lines kept; a block cut off before END is hidden
    # to the end of the text.
    _Rule(
        (_literal("PRIVATE KEY"),),
        re.compile(
            r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY[A-Z ]*-----(?P<v>.*?)"
            r"(?=-----END [A-Z0-9 ]*PRIVATE KEY[A-Z ]*-----|\Z)",
            re.DOTALL,
        ),
        whole=False,
    ),
    # `scheme://user:password@host`: keep scheme, user and host.
    _Rule(
        (_literal("://"),),
        re.compile(r"://[^\s:/?#@'\"<>]*:(?P<v>(?![{$])[^\s/?#'\"<>]+)(?=@)"),
        whole=False,
    ),
    # A long bare user part is a token used as the user (`https://<token>@github.com`).
    _Rule((_literal("://"),), re.compile(r"://(?P<v>[A-Za-z0-9_-]{20,})(?=@)"), whole=False),
)

# Query-string credentials (`?token=...&api_key=...`); the name decides.
_QUERY_RULES: Final = (
    ("?", re.compile(r"\?" + _QUERY_VALUE)),
    ("&", re.compile(r"&" + _QUERY_VALUE)),
)

_LITERAL: Final = (
    r"[rRbBuUfF]{0,2}(?:"
    r"(?P<q3>\"\"\"|''')(?P<v3>(?:[^\\]|\\.)*?)(?:(?P=q3)|\Z)"
    r"|(?P<q1>[\"'])(?P<v1>(?:[^\\\n]|\\.)*?)(?:(?P=q1)|$))"
)
_LITERAL_FLAGS: Final = re.DOTALL | re.MULTILINE
# After an unquoted name: `x = "..."`, `x: str = "..."`, `f(x="...")`,
# `x == "..."`, `{x: "..."}`.
_ASSIGN_OP: Final = (
    r"[ \t]*(?:(?::[ \t]*[A-Za-z_][\w.\[\], |]*?[ \t]*)?\+?=(?!=)\s*|(?:==|!=|:=)\s*|:[ \t]*)"
)
_ASSIGN_RE: Final = re.compile(_ASSIGN_OP + _LITERAL, _LITERAL_FLAGS)
# After a quoted name and its closing quote: `{"token": "..."}`,
# `environ["TOKEN"] = "..."`, `setdefault("TOKEN", "...")`.
_QUOTED_NAME_RE: Final = re.compile(r"\s*(?::|,|\]\s*=)\s*" + _LITERAL, _LITERAL_FLAGS)
# A container instead of a literal: `auth=("bob", "hunter2")`,
# `{"credentials": {"user": "bob", "password": "x"}}`; all its literals go.
_ASSIGN_CONTAINER_RE: Final = re.compile(_ASSIGN_OP + r"(?=[(\[{])")
_QUOTED_CONTAINER_RE: Final = re.compile(r"\s*(?::|\]\s*=)\s*(?=[(\[{])")
_LITERAL_RE: Final = re.compile(_LITERAL, _LITERAL_FLAGS)
# Brackets, quotes and comments: all a container scan needs to look at.
_CONTAINER_STOP_RE: Final = re.compile(r"[()\[\]{}\"'#]")
_DICT_KEY_END_RE: Final = re.compile(r"[ \t]*:")
_MAX_CONTAINER: Final = 4096
# Shell / dotenv / `%env`: `TOKEN=abc` with no spaces around `=`.
_SHELL_RE: Final = re.compile(r"=(?P<v>(?![\[{$(])[^\s'\"`$(){}\[\],;&|<>=]+)(?=[\s;&|'\"]|\Z)")
_SHELL_BEFORE: Final = frozenset("\n\r \t;&|!")
# Command-line flags: `--hf-token abc`, `--api-key="abc"`.
_CLI_RE: Final = re.compile(
    r"(?:=|[ \t]+)(?:" + _LITERAL + r"|(?P<v>(?![\[{$(-])[^\s'\"`$(){}\[\],;&|<>]+))",
    _LITERAL_FLAGS,
)
# HTTP-header style: `Authorization: Bearer abc`, `X-Api-Key: abc`.
_HEADER_RE: Final = re.compile(
    r"[ \t]*:[ \t]*(?:(?:bearer|basic|token|digest|apikey)[ \t]+)?"
    r"(?P<v>(?!(?:bearer|basic|token|digest|apikey)\b)(?![\[{$])[^\s\"'`<>,;(){}\[\]]{6,})",
    re.IGNORECASE,
)
# A fragment, the rest of its identifier, and the first character of a value
# form (every form above starts with one of `=:!+"'`, space or tab). One
# literal-prefixed regex per fragment: names followed by `(`, `.`, `)` never
# reach Python code.
_FRAGMENT_RES: Final = tuple(
    re.compile(re.escape(fragment) + r"[a-z0-9_-]{0,96}[=:!+\"' \t]")
    for fragment in _NAME_FRAGMENTS
)

_IDENT_RUN_RE: Final = re.compile(r"[A-Za-z0-9_-]{0,97}")
_ASCII_LOWER: Final = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
# Redaction is repeated until stable (so it is idempotent); this bounds it.
_MAX_PASSES: Final = 8


class _Known(NamedTuple):
    values: tuple[str, ...]
    pattern: re.Pattern[str]


@functools.lru_cache(maxsize=64)
def _known_matcher(secrets: frozenset[str]) -> _Known | None:
    usable = sorted(
        {
            s
            for s in secrets
            if isinstance(s, str) and len(s) >= MIN_SECRET_LENGTH and REDACTED not in s
        },
        key=lambda s: (-len(s), s),
    )
    if not usable:
        return None
    # Longest first so a secret that contains another is removed whole.
    return _Known(tuple(usable), re.compile("|".join(map(re.escape, usable))))


def _prepare_known(known_secrets: Collection[str]) -> _Known | None:
    if not known_secrets:
        return None
    if not isinstance(known_secrets, frozenset):
        known_secrets = frozenset(known_secrets)
    return _known_matcher(known_secrets)


def _lower(text: str) -> str:
    lower = text.lower()
    # A few non-ASCII characters change length when lowered; positions must match.
    return lower if len(lower) == len(text) else text.translate(_ASCII_LOWER)


def _gate_open(gates: tuple[str | re.Pattern[str], ...], text: str) -> bool:
    for gate in gates:
        if gate in text if isinstance(gate, str) else gate.search(text) is not None:
            return True
    return False


# Flattened so clean text costs one C-speed substring scan per gate.
_STR_GATES: Final = tuple(
    [gate for rule in _RULES for gate in rule.gates if isinstance(gate, str)]
    + [gate for gate, _ in _QUERY_RULES]
)
_REGEX_GATES: Final = tuple(
    dict.fromkeys(gate for rule in _RULES for gate in rule.gates if isinstance(gate, re.Pattern))
)


_IDENTIFIER_RULES: Final = tuple(rule for rule in _RULES if rule.in_identifiers)
# The shortest text any text rule can change (`dsn=x`, `?key=x`); shorter
# text can only hold a known secret, and those have MIN_SECRET_LENGTH.
_MIN_CHANGEABLE: Final = 5


def _any_gate_open(text: str) -> bool:
    for gate in _STR_GATES:
        if gate in text:
            return True
    return any(pattern.search(text) is not None for pattern in _REGEX_GATES)


def _has_named_candidate(lower: str) -> bool:
    return any(fragment in lower for fragment in _NAME_FRAGMENTS)


def might_contain_secret(text: str, known_secrets: Collection[str] = ()) -> bool:
    """Cheap pre-check: False guarantees :func:`redact_text` returns ``text`` unchanged."""
    known = _prepare_known(known_secrets)
    if known is not None and any(s in text for s in known.values):
        return True
    return _any_gate_open(text) or _has_named_candidate(_lower(text))


# ---------------------------------------------------------------------------
# Text redaction
# ---------------------------------------------------------------------------


def is_credential_param(name: str) -> bool:
    """Whether a URL query parameter named `name` holds a credential (`password`, `token`,
    `auth_token`, `api-key`, `sig`, ...; any case, percent-encoding undone). The one rule for
    query strings, in text and in store or tracking URLs alike."""
    decoded = unquote_plus(name).strip()
    return decoded.lower() in _URL_SECRET_PARAMS or is_secret_name(decoded)


def _query_param(match: re.Match[str]) -> str:
    return _hide_v(match) if is_credential_param(match.group("name")) else match.group(0)


def _redact_known(text: str, known: _Known) -> str:
    if not any(s in text for s in known.values):
        return text
    if REDACTED not in text:
        return known.pattern.sub(REDACTED, text)
    # Never match across an existing marker: that could make redaction unstable.
    return REDACTED.join(known.pattern.sub(REDACTED, piece) for piece in text.split(REDACTED))


def _value_span(match: re.Match[str]) -> tuple[int, int] | None:
    for group in ("v3", "v1", "v"):
        if group in match.re.groupindex and match.group(group) is not None:
            value = match.group(group)
            if value and value != REDACTED:
                return match.span(group)
            return None
    return None


_Spans = list[tuple[int, int]]


def _value_after_name(text: str, start: int, end: int) -> tuple[_Spans, int]:
    """Spans of the secret values after the name at ``text[start:end]``, and where they end."""
    name_start, name_end = start, end
    while name_start < name_end and text[name_start] == "-":
        name_start += 1
    while name_end > name_start and text[name_end - 1] == "-":
        name_end -= 1
    name = text[name_start:name_end]
    if not name or not is_secret_name(name):
        return [], end
    before = text[name_start - 1] if name_start > 0 else "\n"
    header_style = "-" in name or name.lower() == "authorization"
    match: re.Match[str] | None = None
    if name_start - start >= 2:
        match = _CLI_RE.match(text, name_end)
    elif before in "\"'" and text.startswith(before, name_end):
        match = _QUOTED_NAME_RE.match(text, name_end + 1)
        if match is None:
            opener = _QUOTED_CONTAINER_RE.match(text, name_end + 1)
            if opener is not None:
                return _container_literals(text, opener.end())
    else:
        match = _ASSIGN_RE.match(text, name_end)
        if match is not None and _inside_string(text, name_start, match):
            match = None
        if match is None:
            opener = _ASSIGN_CONTAINER_RE.match(text, name_end)
            if opener is not None:
                return _container_literals(text, opener.end())
        # `"TOKEN=abc python x.py"` counts: a command line inside a string.
        if match is None and (before in _SHELL_BEFORE or before in "\"'"):
            match = _SHELL_RE.match(text, name_end)
        if match is None and header_style:
            match = _HEADER_RE.match(text, name_end)
    span = None if match is None else _value_span(match)
    return ([], end) if match is None or span is None else ([span], match.end())


def _container_literals(text: str, pos: int) -> tuple[_Spans, int]:
    """Bodies of the string literals inside the bracketed expression at ``pos``, and its end."""
    spans: _Spans = []
    depth = 0
    limit = min(len(text), pos + _MAX_CONTAINER)
    while pos < limit:
        stop = _CONTAINER_STOP_RE.search(text, pos, limit)
        if stop is None:
            break
        char = stop.group()
        pos = stop.end()
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
            if depth <= 0:
                break
        elif char == "#":
            newline = text.find("\n", pos, limit)
            pos = limit if newline < 0 else newline
        else:
            literal = _LITERAL_RE.match(text, stop.start())
            if literal is None:  # pragma: no cover - a quote always opens a literal
                continue
            pos = max(literal.end(), pos)
            span = _value_span(literal)
            # Dict keys are names, not values: keep them readable.
            if span is not None and _DICT_KEY_END_RE.match(text, pos) is None:
                spans.append(span)
    return spans, pos


def _inside_string(text: str, name_start: int, match: re.Match[str]) -> bool:
    """Whether the name is prose inside a literal that the "value" merely closes.

    ``print("Your token: ", token)``: the quote after ``token: `` ends the string
    the name is in. Decided by quote parity on the name's line; a nested literal
    with the other quote kind (``print("password = 'x'")``) is still a value.
    """
    quote = (match.group("q3") or match.group("q1") or " ")[0]
    line_start = text.rfind("\n", 0, name_start) + 1
    return text.count(quote, line_start, name_start) % 2 == 1


def _candidate_names(text: str, lower: str) -> list[tuple[int, int]]:
    """Spans of identifiers that contain a name fragment and could precede a value."""
    spans: list[tuple[int, int]] = []
    seen_ends: set[int] = set()
    reversed_text: str | None = None
    size = len(text)
    for pattern in _FRAGMENT_RES:
        for match in pattern.finditer(lower):
            end = match.end() - 1  # the last character is the one after the name
            if end in seen_ends:
                continue
            seen_ends.add(end)
            if reversed_text is None:
                reversed_text = text[::-1]
            index = match.start()
            back = _IDENT_RUN_RE.match(reversed_text, size - index)
            assert back is not None  # the pattern can match empty
            start = index - (back.end() - (size - index))
            if end - start <= _MAX_NAME:  # a long run (base64 blob) is not a name
                spans.append((start, end))
    spans.sort()
    return spans


def _redact_named(text: str, lower: str) -> str:
    pieces: list[str] = []
    done = 0
    # Names inside a value already handled (a literal, or a container whose
    # literals all went) are skipped; this also keeps the scan linear.
    handled = 0
    for start, end in _candidate_names(text, lower):
        if start < handled:
            continue
        spans, handled = _value_after_name(text, start, end)
        for value_start, value_end in spans:
            pieces.append(text[done:value_start])
            pieces.append(REDACTED)
            done = value_end
    if not pieces:
        return text
    pieces.append(text[done:])
    return "".join(pieces)


def _redact_once(text: str, known: _Known | None) -> str:
    if known is not None:
        text = _redact_known(text, known)
    if len(text) < _MIN_CHANGEABLE:
        return text
    if text.isidentifier():
        # Param keys, metric names, most short values: no operator, quote or
        # separator, so only identifier-shaped key formats can occur.
        for rule in _IDENTIFIER_RULES:
            if _gate_open(rule.gates, text):
                text = rule.pattern.sub(REDACTED, text)
        return text
    if _any_gate_open(text):
        for rule in _RULES:
            if _gate_open(rule.gates, text):
                text = rule.pattern.sub(REDACTED if rule.whole else _hide_v, text)
        for gate, pattern in _QUERY_RULES:
            if gate in text:
                text = pattern.sub(_query_param, text)
    # Scanning for name fragments is itself the pre-check for this rule.
    return _redact_named(text, _lower(text))


def _redact_text(text: str, known: _Known | None) -> str:
    current = text
    for _ in range(_MAX_PASSES):
        redacted = _redact_once(current, known)
        if redacted == current:
            break
        current = redacted
    # Hand back the caller's object when nothing changed.
    return text if current == text else current


def redact_text(text: str, known_secrets: Collection[str] = ()) -> str:
    """Replace secrets in free text or source code with :data:`REDACTED`.

    Covers well-known key formats, URL passwords and credential query params,
    literals assigned or passed to secret-named targets (quotes kept), and every
    occurrence of ``known_secrets`` values of at least :data:`MIN_SECRET_LENGTH`.
    """
    return _redact_text(text, _prepare_known(known_secrets))


# ---------------------------------------------------------------------------
# Structured values
# ---------------------------------------------------------------------------


def _redact_value(name: str | None, value: Any, known: _Known | None) -> Any:
    if value is None or isinstance(value, bool):
        return value
    if name is not None and is_secret_name(name):
        return REDACTED
    if isinstance(value, str):
        return _redact_text(value, known)
    if isinstance(value, list | tuple):
        items = [_redact_value(None, item, known) for item in value]
        if all(new is old for new, old in zip(items, value, strict=True)):
            return value
        return items if isinstance(value, list) else tuple(items)
    # Any mapping, not only dict: a config object must not slip through unscanned.
    if isinstance(value, Mapping):
        return _redact_dict(value, known)
    return value


def _redact_dict(mapping: Mapping[Any, Any], known: _Known | None) -> dict[Any, Any]:
    result: dict[Any, Any] = {}
    changed = False
    for key, item in mapping.items():
        if isinstance(key, str):
            new_key: Any = _redact_text(key, known)
            new_item = _redact_value(key, item, known)
        else:
            new_key = key
            new_item = _redact_value(None, item, known)
        changed = changed or new_key is not key or new_item is not item
        result[new_key] = new_item
    if not changed and isinstance(mapping, dict):
        return mapping
    return result


def redact_value(name: str | None, value: Any, known_secrets: Collection[str] = ()) -> Any:
    """Redact a JSON-like value recorded under ``name`` without mutating it.

    A secret ``name`` hides the whole value (None and bools are kept: they carry
    no secret); strings go through :func:`redact_text`; dicts recurse with their
    keys as names; lists and tuples recurse. Unchanged parts are returned as is.
    """
    return _redact_value(name, value, _prepare_known(known_secrets))


def redact_mapping(
    mapping: Mapping[str, Any], known_secrets: Collection[str] = ()
) -> dict[str, Any]:
    """Redact every entry of ``mapping`` (params, environment) into a new dict."""
    known = _prepare_known(known_secrets)
    result: dict[str, Any] = _redact_dict(mapping, known)
    # The caller asked for a dict it owns, even when nothing changed.
    return dict(result) if result is mapping else result


# How far `collect_secret_values` looks into one variable's containers: a config dict or a
# list of connection settings is small; a data set is not where credentials live.
_MAX_SCAN_DEPTH: Final = 4
_MAX_SCAN_ITEMS: Final = 256
_RECORDS_LOOKED_AT: Final = 8


_NESTING: Final = (Mapping, list, tuple, set, frozenset)
_SCALARS: Final = frozenset({int, float, bool, type(None), complex})


def _as_text(value: object) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, bytes | bytearray):
        # How the secret shows when printed (`b'...'`) or decoded.
        return bytes(value).decode("utf-8", "backslashreplace")
    return None


class _SecretScan:
    """Secret values found in a namespace: those of secret-named variables, keys and
    attributes, however deep in the containers a variable holds (within a budget)."""

    def __init__(self) -> None:
        self.found: set[str] = set()
        self._budget = 0

    def variable(self, value: object, *, secret: bool) -> None:
        """Look through one variable's value, with a budget of its own."""
        self._budget = _MAX_SCAN_ITEMS
        self.visit(value, secret=secret)

    def add(self, text: str) -> None:
        if len(text) >= MIN_SECRET_LENGTH and REDACTED not in text:
            self.found.add(text)
            stripped = text.strip()
            if stripped != text and len(stripped) >= MIN_SECRET_LENGTH:
                self.found.add(stripped)

    def visit(self, value: object, *, secret: bool, depth: int = 0) -> None:
        self._budget -= 1
        if self._budget < 0 or depth > _MAX_SCAN_DEPTH:
            return
        text = _as_text(value)
        if text is not None:
            if secret:
                self.add(text)
        elif isinstance(value, Mapping):
            for key, item in list(itertools.islice(value.items(), _MAX_SCAN_ITEMS)):
                if type(item) in _SCALARS:  # the common case, and nothing to find in it
                    continue
                named = isinstance(key, str) and is_secret_name(key)
                self.visit(item, secret=secret or named, depth=depth + 1)
        elif isinstance(value, list | tuple | set | frozenset):
            if not secret:
                # Outside a secret only containers can hold one, and a list is mostly of one
                # kind: a list of numbers or words is left after its first item, and of a list
                # of records (dicts) the first few are enough to find a secret-named field.
                first = next(iter(value), None)
                if not isinstance(first, _NESTING):
                    return
                value = itertools.islice(value, _RECORDS_LOOKED_AT)
            for item in list(itertools.islice(value, _MAX_SCAN_ITEMS)):
                self.visit(item, secret=secret, depth=depth + 1)


def collect_secret_values(
    namespace: Mapping[str, object], environ: Mapping[str, str] | None = None
) -> frozenset[str]:
    """Collect the values to redact from outputs by value: every string (or bytes) held by a
    secret-named variable, or under a secret-named key of a dict a variable holds, however
    nested (`db = {"prod": {"password": ...}}`), within a budget per variable.

    ``environ`` defaults to ``os.environ``; pass ``{}`` to skip the environment.
    """
    scan = _SecretScan()
    for name, value in namespace.items():
        if isinstance(value, str | bytes | bytearray | Mapping | list | tuple | set | frozenset):
            secret = isinstance(name, str) and is_secret_name(name)
            if secret or not isinstance(value, str | bytes | bytearray):
                scan.variable(value, secret=secret)
    found = frozenset(scan.found)
    in_environment = _process_environ_secrets() if environ is None else _environ_secrets(environ)
    return found | in_environment if in_environment else found


def _environ_secrets(environ: Mapping[str, str]) -> frozenset[str]:
    scan = _SecretScan()
    for name, text in environ.items():
        if isinstance(text, str) and is_secret_name(name):
            scan.add(text)
    return frozenset(scan.found)


# The process environment's secrets, with the raw environment they were read from: a tracked
# cell asks twice per cell, and the environment hardly ever changes.
_ENVIRON_SEEN: list[Any] = [None, frozenset()]


def _process_environ_secrets() -> frozenset[str]:
    raw = getattr(os.environ, "_data", None)  # CPython's bytes mapping: compared cheaply
    snapshot = tuple(raw.items()) if isinstance(raw, dict) else None
    if snapshot is not None and snapshot == _ENVIRON_SEEN[0]:
        found: frozenset[str] = _ENVIRON_SEEN[1]
        return found
    found = _environ_secrets(os.environ)
    _ENVIRON_SEEN[:] = [snapshot, found]
    return found


# ---------------------------------------------------------------------------
# Locations: store, tracking and git remote URLs
# ---------------------------------------------------------------------------

# `scheme://`, then the userinfo up to the last `@` before the host (RFC 3986: the authority
# ends at `/`, `?` or `#`; whitespace, quotes and `<>` cannot be part of a URL).
_USERINFO_IN_TEXT: Final = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.\-]*://)[^\s/?#<>\"`]*@")
# A whole URL inside text; it does not end in punctuation that closes the sentence around it.
_URL_IN_TEXT: Final = re.compile(r"\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s<>\"'`]*[^\s<>\"'`.,;:!?)\]}]")


def _without_credential_params(url: str) -> str:
    """`url` without the query parameters that hold credentials; the rest kept verbatim."""
    before, mark, after = url.partition("?")
    if not mark:
        return url
    query, hash_mark, fragment = after.partition("#")
    parts = query.split("&")
    kept = [part for part in parts if not is_credential_param(part.partition("=")[0])]
    if len(kept) == len(parts):
        return url
    rebuilt = before + ("?" + "&".join(kept) if any(kept) else "")
    return rebuilt + hash_mark + fragment


def redact_url(url: str) -> str:
    """A location (store, tracking server, git remote) without its credentials: no userinfo
    at all (`user:token@`), no query parameter that holds one (see `is_credential_param`).
    scp-like and local remotes (no `scheme://`) are kept as they are."""
    scheme, found, rest = url.partition("://")
    if not found or not scheme:
        return url
    # The authority ends at the first `/`, `?` or `#`; the host is after its last `@`, kept
    # verbatim (case, IPv6 brackets, port).
    end = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    host = rest[:end].rpartition("@")[2]
    return _without_credential_params(f"{scheme}://{host}{rest[end:]}")


def redact_urls(text: str) -> str:
    """A message (an error, a store description) for a person to read: every URL in it as
    `redact_url` gives it, and the text rules of `redact_text` over the rest."""
    if "://" in text:
        text = _USERINFO_IN_TEXT.sub(r"\g<scheme>", text)
        text = _URL_IN_TEXT.sub(lambda match: _without_credential_params(match.group(0)), text)
    return redact_text(text)


# ---------------------------------------------------------------------------
# Runs: the policy applied where a run enters the store
# ---------------------------------------------------------------------------

# Base64 image data: its alphabet can spell a key format by chance, and a picture's bytes
# hold no text a reader could copy.
_BINARY_MIMES: Final = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})


def _unique_keys(mapping: Mapping[str, Any], known: _Known | None) -> dict[str, Any]:
    """`mapping` with every key redacted; keys that become equal are told apart, not merged."""
    result: dict[str, Any] = {}
    for key, value in mapping.items():
        new_key = _redact_text(key, known) if isinstance(key, str) else key
        if new_key in result:
            suffix = 2
            while f"{new_key} ({suffix})" in result:
                suffix += 1
            new_key = f"{new_key} ({suffix})"
        result[new_key] = value
    return result


def redact_keys(mapping: Mapping[str, Any], known_secrets: Collection[str] = ()) -> dict[str, Any]:
    """`mapping` (metrics, say) with its keys redacted and its values as they are."""
    return _unique_keys(mapping, _prepare_known(known_secrets))


def _text(value: str | None, known: _Known | None) -> str | None:
    return None if value is None else _redact_text(value, known)


def _redact_segment(labels: SegmentLabels, known: _Known | None) -> SegmentLabels:
    return replace(
        labels,
        levels=[_redact_text(level, known) if isinstance(level, str) else level
                for level in labels.levels],
        source=_redact_text(labels.source, known),
    )  # fmt: skip


def _redact_evaluation(evaluation: Evaluation, known: _Known | None) -> Evaluation:
    """Its text: the function and metric names, the options (names and string values), the
    segments' names and levels. Its arrays are data, not text: passed on untouched (never
    iterated: this module does not know numpy)."""
    segments = _unique_keys(evaluation.segments, known)
    return replace(
        evaluation,
        function=_redact_text(evaluation.function, known),
        metric=_redact_text(evaluation.metric, known),
        options=_redact_dict(_unique_keys(evaluation.options, known), known),
        segments={name: _redact_segment(labels, known) for name, labels in segments.items()},
    )


def _redact_candidate(candidate: Candidate, known: _Known | None) -> Candidate:
    """Its source and scorer, and its params as a run's params are redacted."""
    return replace(
        candidate,
        source=_redact_text(candidate.source, known),
        scorer=_redact_text(candidate.scorer, known),
        params=_redact_dict(_unique_keys(candidate.params, known), known),
    )


def redact_record(record: RunRecord, known_secrets: Collection[str] = ()) -> RunRecord:
    """The run with secrets out of every string it stores: its name, tags, note, code and
    lineage, the names and values of params, metrics, inputs and extras (nested containers
    included), outputs, the error, the environment, and the text of its evidence
    (evaluations and candidates; their arrays are data, kept as they are). ``known_secrets``
    are values to hide wherever they occur (capture knows them from the notebook's
    secret-named variables).

    The record given is not changed. Ids and hashes are kept: they are generated, not typed.
    Applied by the store to every run it writes, whatever its source, so no writer can
    forget it; redacting twice changes nothing.
    """
    known = _prepare_known(known_secrets)
    params = _redact_dict(_unique_keys(record.params, known), known)
    inputs = _redact_dict(_unique_keys(record.inputs, known), known)
    extra = _redact_dict(_unique_keys(record.extra, known), known)
    return replace(
        record,
        name=_redact_text(record.name, known),
        code=_redact_text(record.code, known),
        notebook=_text(record.notebook, known),
        repo=_text(record.repo, known),
        user=_text(record.user, known),
        host=_text(record.host, known),
        tags=[_redact_text(tag, known) for tag in record.tags],
        note=_text(record.note, known),
        params=params,
        metrics=_unique_keys(record.metrics, known),
        inputs=inputs,
        outputs=[
            output
            if output.mime in _BINARY_MIMES
            else replace(output, data=_redact_text(output.data, known))
            for output in record.outputs
        ],
        lineage=[
            replace(
                cell,
                code=_redact_text(cell.code, known),
                defines=[_redact_text(name, known) for name in cell.defines],
                reads=[_redact_text(name, known) for name in cell.reads],
            )
            for cell in record.lineage
        ],
        environment=_redact_dict(record.environment, known),
        error=None
        if record.error is None
        else RunError(
            type=_redact_text(record.error.type, known),
            message=_redact_text(record.error.message, known),
            traceback=_redact_text(record.error.traceback, known),
        ),
        extra=extra,
        evaluations=[_redact_evaluation(evaluation, known) for evaluation in record.evaluations],
        candidates=[_redact_candidate(candidate, known) for candidate in record.candidates],
    )
