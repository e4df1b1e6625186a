"""Tests for nbmodelbook.redaction: nothing secret may reach the store."""

from __future__ import annotations

import copy
import string
import time
from collections import OrderedDict
from types import MappingProxyType
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from nbmodelbook.redaction import (
    MIN_SECRET_LENGTH,
    REDACTED,
    collect_secret_values,
    is_secret_name,
    might_contain_secret,
    redact_mapping,
    redact_text,
    redact_url,
    redact_urls,
    redact_value,
)

# Fake credentials in the real formats, assembled from pieces so that secret
# scanners do not flag this file.
OPENAI_KEY = "sk-" + "proj-" + "Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zAb3dEf6h"
OPENAI_LEGACY_KEY = "sk-" + "T3BlbkFJ" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
ANTHROPIC_KEY = "sk-" + "ant-api03-" + "Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2Ji1Hg0Fe-AbCdEf_12"
AWS_KEY_ID = "AKIA" + "IOSFODNN7EXAMPL2"
AWS_TEMP_KEY_ID = "ASIA" + "Y34FZKBOKMUTVV7A"
GITHUB_TOKENS = [
    prefix + "_" + "A1b2C3d4" * 4 + "E5f6" for prefix in ("ghp", "gho", "ghu", "ghs", "ghr")
]
GITHUB_PAT = (
    "github_pat_"
    + "11ABCDEFG0"
    + "123456789_abcdefghijKLMNOPQRSTUVwxyz0123456789ABCDEFGHIJKLMNOPQR"
)
SLACK_TOKEN = "xoxb-" + "1234567890-1234567890123-" + "AbCdEfGhIjKlMnOpQrStUvWx"
GOOGLE_KEY = "AIza" + "SyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY"
STRIPE_KEY = "sk_" + "live_" + "4eC39HqLyjWDarjtT1zdp7dc"
STRIPE_RESTRICTED = "rk_" + "live_" + "51H8x2eC39HqLyjWDarjtT1z"
HF_TOKEN = "hf_" + "AbCdEfGhIjKlMnOpQrStUvWxYz01234567"
GITLAB_TOKEN = "glpat-" + "xY9_zW8vU7tS6rQ5pO4n"
JWT = (
    "eyJ" + "hbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
    ".eyJ" + "zdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ"
    ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)
PEM_BODY = "MIIEowIBAAKCAQEA7bq98zK3xJ1m\nq0mP2cYw8Zb3u5nq1wXyZ\nAbCdEfGhIjKlMnOp==\n"
PEM_BLOCK = (
    "-----BEGIN RSA " + "PRIVATE KEY-----\n" + PEM_BODY + "-----END RSA " + "PRIVATE KEY-----"
)

KEY_FORMATS = {
    "openai project": OPENAI_KEY,
    "openai legacy": OPENAI_LEGACY_KEY,
    "anthropic": ANTHROPIC_KEY,
    "aws key id": AWS_KEY_ID,
    "aws temporary key id": AWS_TEMP_KEY_ID,
    **{f"github {token[:3]}": token for token in GITHUB_TOKENS},
    "github fine-grained pat": GITHUB_PAT,
    "slack": SLACK_TOKEN,
    "google api key": GOOGLE_KEY,
    "stripe secret": STRIPE_KEY,
    "stripe restricted": STRIPE_RESTRICTED,
    "hugging face": HF_TOKEN,
    "gitlab pat": GITLAB_TOKEN,
    "jwt": JWT,
}

# Contexts in which a key shows up without any secret-looking name next to it.
CONTEXTS = {
    "traceback line": (
        '  File "/tmp/ipykernel_1234/3456.py", line 3, in <module>\n'
        "    client = make_client({0!r})\n"
        "ValueError: invalid credentials {0} for endpoint https://api.example.com/v1\n"
    ),
    "printed dict": "{{'model': 'gpt-4o', 'temperature': 0.2, 'extra': ['{}'], 'retries': 3}}",
    "code call": "resp = requests.get(url, headers=make_headers({!r}), timeout=10)",
    "log line": "2024-05-01 12:00:00 INFO using credential {} (loaded from cache)",
    "bare value": "{}",
}


# ---------------------------------------------------------------------------
# is_secret_name
# ---------------------------------------------------------------------------

SECRET_NAMES = [
    # *_KEY in every spelling
    "API_KEY",
    "api_key",
    "apikey",
    "APIKEY",
    "apiKey",
    "ApiKey",
    "OPENAI_API_KEY",
    "openai_api_key",
    "ANTHROPIC_API_KEY",
    "GOOGLE_API_KEY",
    "x_api_key",
    "X-Api-Key",
    "x-api-key",
    "--api-key",
    "api_key2",
    "API_KEY_V2",
    "api_keys",
    "aws_secret_access_key",
    "AWS_SECRET_ACCESS_KEY",
    "secret_key",
    "SECRET_KEY",
    "secretKey",
    "access_key",
    "SESSION_KEY",
    "session_key",
    "PRIVATE_KEY",
    "private_key",
    "privateKey",
    "ssh_key",
    "encryption_key",
    "signing_key",
    "master_key",
    "license_key",
    "subscription_key",
    "storage_account_key",
    "wandb_key",
    "kaggle_key",
    "KAGGLE_KEY",
    "PINECONE_KEY",
    "MY_SERVICE_KEY",
    "_api_key",
    "self_api_key",
    # token
    "token",
    "Token",
    "TOKEN",
    "HF_TOKEN",
    "hf_token",
    "HFToken",
    "hftoken",
    "HUGGING_FACE_HUB_TOKEN",
    "access_token",
    "accessToken",
    "refresh_token",
    "authToken",
    "auth_token",
    "bearer_token",
    "github_token",
    "GITHUB_TOKEN",
    "GH_TOKEN",
    "gitlab_token",
    "slack_bot_token",
    "AWS_SESSION_TOKEN",
    "JUPYTER_TOKEN",
    "hub_token",
    "wandb_token",
    "id_token",
    "csrf_token",
    "sas_token",
    "X-Amz-Security-Token",
    "access_tokens",
    "token_value",
    "--hf-token",
    # secret / password / credentials
    "secret",
    "SECRET",
    "client_secret",
    "clientSecret",
    "webhook_secret",
    "secrets",
    "password",
    "PASSWORD",
    "Password",
    "db_password",
    "dbPassword",
    "PGPASSWORD",
    "MLFLOW_TRACKING_PASSWORD",
    "passwd",
    "passphrase",
    "password_hash",
    "db_pass",
    "DB_PASS",
    "smtp_pass",
    "db_pwd",
    "DB_PWD",
    "credentials",
    "credential",
    "creds",
    "GOOGLE_APPLICATION_CREDENTIALS",
    "aws_credentials",
    # auth headers and connection strings
    "auth",
    "authorization",
    "Authorization",
    "Proxy-Authorization",
    "oauth",
    "basic_auth",
    "auth_header",
    "use_auth_token",
    "dsn",
    "DSN",
    "SENTRY_DSN",
    "database_dsn",
    "connection_string",
    "connectionString",
    "CONN_STR",
    "conn_string",
    "cookie",
    "session_cookie",
    "cookies",
    "bearer",
]

NOT_SECRET_NAMES = [
    # tokenizer and LLM vocabulary
    "max_tokens",
    "max_new_tokens",
    "MAX_TOKENS",
    "maxTokens",
    "num_tokens",
    "n_tokens",
    "total_tokens",
    "prompt_tokens",
    "completion_tokens",
    "token_count",
    "tokens_per_second",
    "tokenizer",
    "tokenizers",
    "Tokenizer",
    "AutoTokenizer",
    "TOKENIZERS_PARALLELISM",
    "tokenize",
    "tokenized",
    "detokenize",
    "tokens",
    "use_cls_token",
    "cls_token",
    "pad_token",
    "pad_token_id",
    "padToken",
    "eos_token",
    "eos_token_id",
    "bos_token_id",
    "unk_token",
    "sep_token",
    "mask_token",
    "image_token",
    "special_tokens",
    "additional_special_tokens",
    "decoder_start_token_id",
    "next_token",
    "token_type_ids",
    "token_embeddings",
    "max_token_length",
    "token_budget",
    "EOS_TOKEN",
    "hf_token_path",
    "token_url",
    # keys that are lookups, not credentials
    "key",
    "KEY",
    "keys",
    "Key",
    "key_column",
    "keyColumn",
    "sort_key",
    "SORT_KEY",
    "primary_key",
    "PRIMARY_KEY",
    "foreign_key",
    "cache_key",
    "CACHE_KEY",
    "batch_key",
    "label_key",
    "rng_key",
    "PRNGKey",
    "dict_keys",
    "key_padding_mask",
    "query_key_value",
    "public_key",
    "monkey",
    "keyboard",
    "hotkey",
    "KeyError",
    "private_key_path",
    "api_key_env",
    "api_key_name",
    "AWS_ACCESS_KEY_ID",
    # everything else
    "secretary",
    "passthrough",
    "bypass",
    "compass",
    "pass",
    "passes",
    "forward_pass",
    "num_passes",
    "pwd",
    "PWD",
    "OLDPWD",
    "GIT_ASKPASS",
    "author",
    "authors",
    "authority",
    "credit_score",
    "secret_name",
    "password_length",
    "min_password_length",
    "password_file",
    "auth_type",
    "auth_url",
    "SSH_AUTH_SOCK",
    "client_id",
    "session_id",
    "dsn_weight",
    "cookie_jar",
    "connection",
    "connect_timeout",
    "learning_rate",
    "n_estimators",
    "random_state",
    "",
    "_",
    "__",
    "x1",
]


@pytest.mark.parametrize("name", SECRET_NAMES)
def test_secret_names(name: str) -> None:
    assert is_secret_name(name)


@pytest.mark.parametrize("name", NOT_SECRET_NAMES)
def test_ordinary_names_are_not_secret(name: str) -> None:
    assert not is_secret_name(name)


def test_name_tables_do_not_overlap() -> None:
    assert not set(SECRET_NAMES) & set(NOT_SECRET_NAMES)


_FRAGMENTS = ("key", "token", "secret", "pass", "pwd", "auth", "cred", "dsn", "conn", "cookie")


@given(st.from_regex(r"[A-Za-z_][A-Za-z0-9_-]{0,30}", fullmatch=True))
@example("apiKey")
@example("bearer")
def test_every_secret_name_contains_a_fragment(name: str) -> None:
    # The text scanner finds names by these fragments; a secret name without
    # one would never be looked at in code.
    if is_secret_name(name):
        assert any(f in name.lower() for f in (*_FRAGMENTS, "bearer"))


# ---------------------------------------------------------------------------
# Key formats
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("context", CONTEXTS.values(), ids=list(CONTEXTS))
@pytest.mark.parametrize("secret", KEY_FORMATS.values(), ids=list(KEY_FORMATS))
def test_key_formats_redacted_in_context(secret: str, context: str) -> None:
    text = context.format(secret)
    redacted = redact_text(text)
    assert secret not in redacted
    # Only the key itself goes: the rest of the line is kept for the reviewer.
    assert redacted == context.format(REDACTED)


def test_key_format_exact_replacements() -> None:
    assert redact_text(f"export KEY_ID={AWS_KEY_ID}") == f"export KEY_ID={REDACTED}"
    assert redact_text(f"x = ({OPENAI_KEY}, 1)") == f"x = ({REDACTED}, 1)"
    assert redact_text(f"remote: {GITHUB_TOKENS[0]}.") == f"remote: {REDACTED}."
    # Two different keys on one line.
    assert redact_text(f"{HF_TOKEN} {SLACK_TOKEN}") == f"{REDACTED} {REDACTED}"


def test_bearer_token_keeps_scheme() -> None:
    line = "curl -H 'Authorization: Bearer abc123def456ghi789jkl' https://api.example.com"
    assert redact_text(line) == (
        f"curl -H 'Authorization: Bearer {REDACTED}' https://api.example.com"
    )
    assert redact_text("BEARER QWxhZGRpbjpvcGVuIHNlc2FtZQ123") == f"BEARER {REDACTED}"


def test_pem_private_key_block() -> None:
    text = f"key = load('''{PEM_BLOCK}''')\nprint('ok')"
    redacted = redact_text(text)
    assert "MIIEowIBAAKCAQEA" not in redacted
    assert "-----BEGIN RSA PRIVATE KEY-----" in redacted
    assert "-----END RSA PRIVATE KEY-----" in redacted
    assert redacted.endswith("''')\nprint('ok')")
    # As printed inside a JSON string with escaped newlines.
    json_text = '{"private_key": "' + PEM_BLOCK.replace("\n", "\\n") + '\\n", "x": 1}'
    assert "MIIEowIBAAKCAQEA" not in redact_text(json_text)
    # An OpenSSH key cut off before its END line is hidden to the end.
    cut = "-----BEGIN OPENSSH " + "PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA"
    assert redact_text(cut) == "-----BEGIN OPENSSH PRIVATE KEY-----" + REDACTED


def test_public_material_is_kept() -> None:
    text = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQ\n-----END PUBLIC KEY-----"
    assert redact_text(text) == text


@pytest.mark.parametrize(
    "text",
    [
        "pip install scikit-learn torch-geometric",
        "task-specific head; mask-rcnn; sk-learn",
        "AKIA is not a key; ASIAN_MARKETS = 3",
        "model = 'gh_pages_builder'",
        "xoxo-gossip-girl",
        "xoxb-not-a-real-token-here",
        "The bearer of this note is trusted.",
        "hf_hub_download(repo_id='bert-base-uncased', filename='config.json')",
        "eyJ alone, or eyJhbG.short",
    ],
)
def test_key_lookalikes_are_kept(text: str) -> None:
    assert redact_text(text) == text


# ---------------------------------------------------------------------------
# URLs
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("postgresql://bob:hunter2@db/x", f"postgresql://bob:{REDACTED}@db/x"),
        (
            "engine = create_engine('mysql+pymysql://root:s3cr3t!@localhost:3306/shop')",
            f"engine = create_engine('mysql+pymysql://root:{REDACTED}@localhost:3306/shop')",
        ),
        ("redis://:p4ssw0rd@cache:6379/0", f"redis://:{REDACTED}@cache:6379/0"),
        ("amqp://user:p@ss@mq.internal//", f"amqp://user:{REDACTED}@mq.internal//"),
        (
            "origin\thttps://x-access-token:abcdef0123456789@github.com/org/repo.git (fetch)",
            f"origin\thttps://x-access-token:{REDACTED}@github.com/org/repo.git (fetch)",
        ),
        (
            "https://abcdef0123456789abcdef0123456789@github.com/org/repo.git",
            f"https://{REDACTED}@github.com/org/repo.git",
        ),
        (
            "OperationalError: could not connect to postgres://svc:Pa55w0rd@10.0.0.5:5432/db",
            f"OperationalError: could not connect to postgres://svc:{REDACTED}@10.0.0.5:5432/db",
        ),
    ],
)
def test_url_passwords(text: str, expected: str) -> None:
    assert redact_text(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "https://github.com/org/repo.git",
        "git@github.com:org/repo.git",
        "ssh://git@github.com/org/repo.git",
        "http://localhost:8888/lab?page=2",
        "https://bob@example.com/path",
        "postgresql://{user}:{password}@{host}/db",
        "see https://example.com:443/a:b@c for details",
    ],
)
def test_urls_without_credentials_are_kept(text: str) -> None:
    assert redact_text(text) == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "https://api.example.com/v1/data?token=abc123&page=2",
            f"https://api.example.com/v1/data?token={REDACTED}&page=2",
        ),
        (
            "GET /v1/items?page=1&api_key=k3y-val&sort_key=id",
            f"GET /v1/items?page=1&api_key={REDACTED}&sort_key=id",
        ),
        ("https://db.example.com/login?user=bob&password=hunter2", None),
        (
            f"https://maps.googleapis.com/maps/api/geocode/json?address=x&key={GOOGLE_KEY}",
            f"https://maps.googleapis.com/maps/api/geocode/json?address=x&key={REDACTED}",
        ),
        (
            "https://acct.blob.core.windows.net/c/b.csv?sv=2022-11-02&se=2024&sig=AbC%2Bd%3D",
            f"https://acct.blob.core.windows.net/c/b.csv?sv=2022-11-02&se=2024&sig={REDACTED}",
        ),
        (
            "http://localhost:8888/lab?token=4f9a1c2b3d4e5f60718293a4b5c6d7e8f9",
            f"http://localhost:8888/lab?token={REDACTED}",
        ),
    ],
)
def test_url_query_credentials(text: str, expected: str | None) -> None:
    if expected is None:
        expected = text.replace("hunter2", REDACTED)
    assert redact_text(text) == expected


def test_query_placeholders_and_ordinary_params_are_kept() -> None:
    text = 'url = f"https://api.example.com/v1?api_key={API_KEY}&max_tokens=5&page=2"'
    assert redact_text(text) == text


# ---------------------------------------------------------------------------
# Source code
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ('API_KEY = "abc"', f'API_KEY = "{REDACTED}"'),
        ("password='x'", f"password='{REDACTED}'"),
        ('client = OpenAI(api_key="not-a-known-format")', f'client = OpenAI(api_key="{REDACTED}")'),
        (
            'model = AutoModel.from_pretrained("meta/llama", token="my-hf-token")',
            f'model = AutoModel.from_pretrained("meta/llama", token="{REDACTED}")',
        ),
        ('cfg = {"token": "abc", "lr": 0.1}', f'cfg = {{"token": "{REDACTED}", "lr": 0.1}}'),
        ("cfg = {'api_key': 'abc'}", f"cfg = {{'api_key': '{REDACTED}'}}"),
        ('os.environ["HF_TOKEN"] = "abcdef"', f'os.environ["HF_TOKEN"] = "{REDACTED}"'),
        ("os.environ['HF_TOKEN']='abcdef'", f"os.environ['HF_TOKEN']='{REDACTED}'"),
        (
            'os.environ.setdefault("OPENAI_API_KEY", "abcdef")',
            f'os.environ.setdefault("OPENAI_API_KEY", "{REDACTED}")',
        ),
        ('SECRET = """multi\nline\nsecret"""', f'SECRET = """{REDACTED}"""'),
        ("SECRET = '''abc'''", f"SECRET = '''{REDACTED}'''"),
        ('TOKEN = f"{prefix}-abc-{suffix}"', f'TOKEN = f"{REDACTED}"'),
        ('secret_key = b"\\x00abc"', f'secret_key = b"{REDACTED}"'),
        ('db_password = r"C:\\pw"', f'db_password = r"{REDACTED}"'),
        ('password = "a\\"b"', f'password = "{REDACTED}"'),
        ('api_key: str = "abc"', f'api_key: str = "{REDACTED}"'),
        ('api_key: str | None = "abc"', f'api_key: str | None = "{REDACTED}"'),
        ('if password == "hunter2":', f'if password == "{REDACTED}":'),
        ('self.client_secret = "abc"', f'self.client_secret = "{REDACTED}"'),
        ('openai.api_key = "abc"', f'openai.api_key = "{REDACTED}"'),
        (
            'headers = {"Authorization": f"Bearer {tok}"}',
            f'headers = {{"Authorization": f"{REDACTED}"}}',
        ),
        ('headers = {"X-Api-Key": "abc"}', f'headers = {{"X-Api-Key": "{REDACTED}"}}'),
        (
            "client = Client(\n    url=URL,\n    api_key='abc',\n    timeout=3,\n)",
            f"client = Client(\n    url=URL,\n    api_key='{REDACTED}',\n    timeout=3,\n)",
        ),
        ('# old: API_KEY = "abc"', f'# old: API_KEY = "{REDACTED}"'),
        ("print(\"password = 'hunter2'\")", f"print(\"password = '{REDACTED}'\")"),
        ("{'password': 'x', 'user': 'bob'}", f"{{'password': '{REDACTED}', 'user': 'bob'}}"),
        ('{"password":"x"}', f'{{"password":"{REDACTED}"}}'),
    ],
)
def test_code_literals_for_secret_names(code: str, expected: str) -> None:
    assert redact_text(code) == expected


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (
            'r = requests.get(url, auth=("bob", "hunter2"))',
            f'r = requests.get(url, auth=("{REDACTED}", "{REDACTED}"))',
        ),
        (
            'credentials = {\n    "user": "bob",  # don\'t log\n    "pw": "x",\n'
            '    "n": (1, 2),\n}\nok = "y"',
            f'credentials = {{\n    "user": "{REDACTED}",  # don\'t log\n    "pw": "{REDACTED}",\n'
            f'    "n": (1, 2),\n}}\nok = "y"',
        ),
        (
            'cfg = {"auth": ["bob", f"{pw}"], "lr": "0.1"}',
            f'cfg = {{"auth": ["{REDACTED}", f"{REDACTED}"], "lr": "0.1"}}',
        ),
        ('API_KEY = ("abc"\n    "def")', f'API_KEY = ("{REDACTED}"\n    "{REDACTED}")'),
        ("secrets = []", "secrets = []"),
        ("auth = (user, pw)", "auth = (user, pw)"),
    ],
)
def test_containers_under_secret_names(code: str, expected: str) -> None:
    assert redact_text(code) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("%env HF_TOKEN=abc123", f"%env HF_TOKEN={REDACTED}"),
        ("!export OPENAI_API_KEY=abc123 && python x.py", None),
        ("HF_TOKEN=abc123 python train.py", f"HF_TOKEN={REDACTED} python train.py"),
        ('os.system("HF_TOKEN=abc123 python x.py")', None),
        ("!python train.py --hf-token abc123 --epochs 3", None),
        ("!python train.py --api-key=abc123", f"!python train.py --api-key={REDACTED}"),
        ("X-Api-Key: abc123def", f"X-Api-Key: {REDACTED}"),
        ('"Authorization: Basic dXNlcjpwYXNz"', f'"Authorization: Basic {REDACTED}"'),
    ],
)
def test_shell_cli_and_header_forms(text: str, expected: str | None) -> None:
    if expected is None:
        expected = text.replace("abc123", REDACTED)
    assert redact_text(text) == expected


@pytest.mark.parametrize(
    "code",
    [
        "api_key = os.environ['OPENAI_API_KEY']",
        "client = OpenAI(api_key=api_key)",
        "token = getpass()",
        "password = ''",
        'print("Your token: ", token)',
        'print("HF token: " + tok)',
        'getpass("Password: ")',
        "headers = {'Authorization': auth}",
        "api_key=key_from_vault,",
        "!python train.py --hf-token $HF_TOKEN",
        "%env HF_TOKEN",
        "logger.info('using token %s', masked(token))",
        f"password = '{REDACTED}'",
    ],
)
def test_code_without_secret_literals_is_kept(code: str) -> None:
    assert redact_text(code) == code


ORDINARY_CELL = """\
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from transformers import AutoTokenizer

# Config for the baseline; see https://example.com/docs?page=2#setup
max_tokens = 512
use_cls_token = True
key_column = "id"
params = {"C": 1.0, "max_iter": 1000, "solver": "lbfgs", "class_weight": "balanced"}

tokenizer = AutoTokenizer.from_pretrained("bert-base-uncased", use_fast=True)
tokenizer.pad_token = tokenizer.eos_token
df = pd.read_parquet("data/train.parquet").sort_values(key_column)
df = df[(df["label"] >= 0) & (df["n_tokens"] < max_tokens)]
enc = tokenizer(
    list(df["text"]), truncation=True, max_length=max_tokens, padding="max_length"
)
X = np.asarray(enc["input_ids"], dtype=np.int32)
y = df["label"].to_numpy()
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=42)
model = LogisticRegression(**params).fit(X_train, y_train)
auc = roc_auc_score(y_test, model.predict_proba(X_test)[:, 1])
for key, value in sorted(params.items(), key=lambda kv: kv[0]):
    print(f"{key:>12} = {value}")
stats = {"num_tokens": int(X.size), "pad_token_id": tokenizer.pad_token_id, "keys": list(params)}
print(f"AUC = {auc:.4f}; tokens/s = {stats['num_tokens'] / 3.2:.1f}", stats)
"""


def test_ordinary_ml_cell_is_untouched() -> None:
    assert redact_text(ORDINARY_CELL) == ORDINARY_CELL
    assert redact_text(ORDINARY_CELL) is ORDINARY_CELL


def test_ordinary_ml_cell_with_one_secret_changes_only_that_literal() -> None:
    cell = ORDINARY_CELL.replace(
        "use_cls_token = True\n", 'use_cls_token = True\nWANDB_API_KEY = "0123456789abcdef"\n'
    )
    expected = ORDINARY_CELL.replace(
        "use_cls_token = True\n", f'use_cls_token = True\nWANDB_API_KEY = "{REDACTED}"\n'
    )
    assert redact_text(cell) == expected


def test_ordinary_cell_is_fast() -> None:
    cell = (ORDINARY_CELL * 2)[:2048]
    assert redact_text(cell) == cell
    runs = 200
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(runs):
            redact_text(cell)
        best = min(best, (time.perf_counter() - start) / runs)
    # ~40 us on a slow shared CI core; the bound only catches regressions such
    # as an unanchored regex (which costs ~600 us here).
    assert best < 300e-6, f"{best * 1e6:.0f} us per 2 KB cell"


# ---------------------------------------------------------------------------
# Known secret values
# ---------------------------------------------------------------------------


def test_known_secrets_redacted_anywhere() -> None:
    secret = "Tr0ub4dor&3"
    text = (
        f"Traceback (most recent call last):\n  ...\nAuthError: login failed for bob/{secret}\n"
        f"{{'conn': 'db', 'extra': ['{secret}']}}\nprefix{secret}suffix"
    )
    redacted = redact_text(text, known_secrets={secret})
    assert secret not in redacted
    assert redacted.count(REDACTED) == 3
    assert "prefix" + REDACTED + "suffix" in redacted


def test_known_secrets_longest_first_and_short_ignored() -> None:
    text = "abcdef abcdefghij abc"
    redacted = redact_text(text, known_secrets=["abcdef", "abcdefghij", "abc"])
    assert redacted == f"{REDACTED} {REDACTED} abc"


def test_known_secrets_accept_any_collection() -> None:
    for secrets in (["s3cr3tvalue"], ("s3cr3tvalue",), {"s3cr3tvalue"}, frozenset({"s3cr3tvalue"})):
        assert redact_text("x s3cr3tvalue y", secrets) == f"x {REDACTED} y"


def test_known_secret_that_overlaps_the_marker_is_stable() -> None:
    text = "value ACTED] here"
    once = redact_text(text, ["ACTED]"])
    assert once == f"value {REDACTED} here"
    assert redact_text(once, ["ACTED]"]) == once


# ---------------------------------------------------------------------------
# Structured values
# ---------------------------------------------------------------------------


def test_redact_value_secret_name_hides_whole_value() -> None:
    assert redact_value("api_key", "abc") == REDACTED
    assert redact_value("password", 123456) == REDACTED
    assert redact_value("credentials", {"user": "bob", "pw": "x"}) == REDACTED
    assert redact_value("api_keys", ["a", "b"]) == REDACTED
    # None and bools carry no secret and say something useful.
    assert redact_value("api_key", None) is None
    assert redact_value("use_auth_token", True) is True


def test_redact_value_scalars_and_plain_names() -> None:
    assert redact_value("learning_rate", 0.01) == 0.01
    assert redact_value("max_tokens", 512) == 512
    assert redact_value(None, "connect to postgres://u:pw1234@h/db") == (
        f"connect to postgres://u:{REDACTED}@h/db"
    )
    assert redact_value("note", f"key {HF_TOKEN}") == f"key {REDACTED}"
    assert redact_value("note", "s3cr3tvalue!", known_secrets={"s3cr3tvalue!"}) == REDACTED


def test_redact_value_nested_structures() -> None:
    value: dict[str | int, Any] = {
        "model": {"name": "bert", "max_tokens": 512, "hf_token": "abc"},
        "optimizers": [{"name": "adam", "lr": 1e-3}, {"name": "sgd", "password": "x"}],
        "urls": ("https://u:pw@host/x", "https://host/y"),
        "notes": [f"remember {AWS_KEY_ID}", None, True, 3],
        "db": {"dsn": "postgresql://bob:hunter2@db/x", "pool": 5},
        7: "non-str key",
    }
    original = copy.deepcopy(value)
    redacted = redact_value(None, value)
    assert value == original  # never mutated
    assert redacted == {
        "model": {"name": "bert", "max_tokens": 512, "hf_token": REDACTED},
        "optimizers": [{"name": "adam", "lr": 1e-3}, {"name": "sgd", "password": REDACTED}],
        "urls": (f"https://u:{REDACTED}@host/x", "https://host/y"),
        "notes": [f"remember {REDACTED}", None, True, 3],
        "db": {"dsn": REDACTED, "pool": 5},
        7: "non-str key",
    }
    # Unchanged branches are shared, changed ones are new objects.
    assert redacted["optimizers"][0] is value["optimizers"][0]
    assert redacted["model"] is not value["model"]


def test_redact_value_returns_same_object_when_clean() -> None:
    value = {"a": [1, 2, {"b": "text"}], "c": ("x", "y")}
    assert redact_value(None, value) is value


def test_redact_value_other_mappings() -> None:
    proxy = MappingProxyType({"token": "abc", "n": 1})
    assert redact_value(None, proxy) == {"token": REDACTED, "n": 1}
    ordered = OrderedDict([("password", "x"), ("n", 1)])
    assert redact_value(None, ordered) == {"password": REDACTED, "n": 1}


def test_redact_value_secret_in_key() -> None:
    assert redact_value(None, {f"run-{HF_TOKEN}": 1}) == {f"run-{REDACTED}": 1}


def test_redact_mapping() -> None:
    params = {
        "lr": 0.01,
        "OPENAI_API_KEY": OPENAI_KEY,
        "AWS_ACCESS_KEY_ID": AWS_KEY_ID,
        "db_url": "postgresql://bob:hunter2@db/x",
        "tokenizer": "bert-base-uncased",
        "max_tokens": 512,
        "log": "password printed: s3cr3t-pw",
    }
    original = dict(params)
    redacted = redact_mapping(params, known_secrets={"s3cr3t-pw"})
    assert params == original
    assert redacted == {
        "lr": 0.01,
        "OPENAI_API_KEY": REDACTED,
        "AWS_ACCESS_KEY_ID": REDACTED,  # not a secret name, but a known key format
        "db_url": f"postgresql://bob:{REDACTED}@db/x",
        "tokenizer": "bert-base-uncased",
        "max_tokens": 512,
        "log": f"password printed: {REDACTED}",
    }
    clean = {"a": 1}
    copy_of_clean = redact_mapping(clean)
    assert copy_of_clean == clean
    assert copy_of_clean is not clean


# ---------------------------------------------------------------------------
# collect_secret_values
# ---------------------------------------------------------------------------


def test_collect_secret_values_from_namespace_and_environ() -> None:
    namespace: dict[str, object] = {
        "HF_TOKEN": HF_TOKEN,
        "api_key": "plain-value-123",
        "password": "short",  # below MIN_SECRET_LENGTH
        "secret_count": 12,
        "db_password": "  padded-pw  ",
        "max_tokens": "512512512",
        "tokenizer": object(),
        "credentials": {"user": "bob"},
        "_i3": "API_KEY = 'abc'",
    }
    environ = {"WANDB_API_KEY": "0123456789abcdef", "PWD": "/home/bob/project", "HOME": "/home/bob"}
    found = collect_secret_values(namespace, environ)
    assert isinstance(found, frozenset)
    assert found == {
        HF_TOKEN,
        "plain-value-123",
        "  padded-pw  ",
        "padded-pw",
        "0123456789abcdef",
    }


def test_collect_secret_values_defaults_to_process_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NBMODELBOOK_TEST_TOKEN", "env-secret-value")
    assert "env-secret-value" in collect_secret_values({})
    assert "env-secret-value" not in collect_secret_values({}, {})


def test_printed_secret_is_redacted_by_value() -> None:
    namespace = {"wandb_key": "0123456789abcdef0123"}
    output = "logged in with 0123456789abcdef0123\n"
    known = collect_secret_values(namespace, {})
    assert redact_text(output, known) == f"logged in with {REDACTED}\n"


def test_collect_secret_values_is_cheap_for_a_large_namespace() -> None:
    namespace: dict[str, object] = {f"var_{i}": i for i in range(300)}
    namespace.update({f"label_{i}": f"value number {i}" for i in range(100)})
    namespace["OPENAI_API_KEY"] = OPENAI_KEY
    start = time.perf_counter()
    for _ in range(50):
        found = collect_secret_values(namespace, {})
    elapsed = (time.perf_counter() - start) / 50
    assert found == {OPENAI_KEY}
    assert elapsed < 2e-3, f"{elapsed * 1e6:.0f} us"


# ---------------------------------------------------------------------------
# Properties
# ---------------------------------------------------------------------------

SNIPPETS = [
    *KEY_FORMATS.values(),
    PEM_BLOCK,
    "postgresql://bob:hunter2@db/x",
    "https://x.example/a?token=abc&page=2",
    'API_KEY = "abc"',
    "password='x'",
    '{"token": "abc"}',
    "os.environ['HF_TOKEN'] = '''abc'''",
    "%env HF_TOKEN=abc",
    "--api-key abc",
    "Authorization: Bearer abc123def456ghi",
    'token = f"{x}"',
    'auth=("bob", ',
    '{"credentials": {"user": ',
    "secrets = [",
    "# don't",
    "(",
    ")",
    "]",
    "}",
    REDACTED,
    "[REDACTED",
    "max_tokens = 512",
    "\n",
    " ",
    '"',
    "'",
    "=",
    ":",
    "@",
    "\\",
]

secret_rich_text = st.lists(
    st.one_of(st.sampled_from(SNIPPETS), st.text(max_size=12)), max_size=12
).map("".join)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(max_size=300), secret_rich_text))
@example('token = "abc"\'')
@example("sk-" + "a1" * 12 + "AKIA" + "A" * 16)
@example("AKIA" + "B" * 16 + "sk-" + "1" * 24)
def test_redact_text_never_raises_and_is_idempotent(text: str) -> None:
    once = redact_text(text)
    assert isinstance(once, str)
    assert redact_text(once) == once


@settings(max_examples=200)
@given(
    st.one_of(st.text(max_size=200), secret_rich_text),
    st.lists(st.text(min_size=1, max_size=10), max_size=4),
)
def test_known_secret_redaction_is_idempotent(text: str, secrets: list[str]) -> None:
    once = redact_text(text, secrets)
    assert redact_text(once, secrets) == once


@settings(max_examples=200)
@given(
    st.text(max_size=80),
    st.text(alphabet=string.ascii_letters + string.digits, min_size=MIN_SECRET_LENGTH, max_size=20),
    st.text(max_size=80),
)
def test_known_secret_never_survives(before: str, secret: str, after: str) -> None:
    assume(secret not in REDACTED)  # "REDACT" is in every marker by definition
    redacted = redact_text(before + secret + after, {secret})
    assert secret not in redacted


@settings(max_examples=300)
@given(st.text(max_size=300))
def test_text_without_candidates_is_unchanged(text: str) -> None:
    assume(not might_contain_secret(text))
    assert redact_text(text) is text


@settings(max_examples=300)
@given(secret_rich_text)
def test_precheck_is_sound(text: str) -> None:
    # If the pre-check says "nothing here", redaction must agree.
    if redact_text(text) != text:
        assert might_contain_secret(text)


@pytest.mark.parametrize(
    "text",
    [
        "token = (" * 5000,
        '{"auth": [' * 5000,
        'auth=("a", ' * 3000,
        'token = """' * 2000,
        "token = " * 5000,
        "x-api-key:" * 3000,
        "http://a:b" * 3000,
        "sk-" * 8000,
    ],
    ids=lambda text: repr(text[:12]),
)
def test_adversarial_input_stays_linear(text: str) -> None:
    start = time.perf_counter()
    redacted = redact_text(text)
    # Tens of ms when linear; a quadratic scan takes seconds.
    assert time.perf_counter() - start < 1.5
    assert redact_text(redacted) == redacted


# Code-like text whose letters cannot spell any name fragment or key prefix.
_NO_CANDIDATE_ALPHABET = "abfgijlmnquvwxyz0123456789_ =()[],.+*\n\"'#"


@settings(max_examples=300)
@given(st.text(alphabet=_NO_CANDIDATE_ALPHABET, max_size=300))
def test_code_like_text_without_candidates_is_unchanged(text: str) -> None:
    assert redact_text(text) == text
    assert not might_contain_secret(text)


@settings(max_examples=200)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
        lambda children: (
            st.lists(children, max_size=4)
            | st.dictionaries(
                st.sampled_from(["a", "token", "lr", "api_key", "x"]), children, max_size=4
            )
        ),
        max_leaves=12,
    )
)
def test_redact_value_never_mutates_and_is_idempotent(value: Any) -> None:
    original = copy.deepcopy(value)
    once = redact_value(None, value)
    assert value == original
    assert redact_value(None, once) == once


# --- locations: store, tracking and git remote URLs ---


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://user:tok@host/x", "https://host/x"),
        ("https://ghp_tokenonly@github.com/org/x.git", "https://github.com/org/x.git"),
        ("https://host/x.git", "https://host/x.git"),
        ("ssh://git@host:2222/org/x.git", "ssh://host:2222/org/x.git"),
        ("https://u:p@[::1]:8443/x", "https://[::1]:8443/x"),
        ("https://u:p%40x@Host.Example/x", "https://Host.Example/x"),
        ("git@github.com:org/x.git", "git@github.com:org/x.git"),
        ("/srv/git/x.git", "/srv/git/x.git"),
        ("https://u:p@ss@host/x", "https://host/x"),
        ("https://host/@scope/pkg", "https://host/@scope/pkg"),
        ("sqlite:///runs.sqlite", "sqlite:///runs.sqlite"),
        # Credentials in the query string go; every other parameter stays, verbatim.
        ("postgresql://h/db?password=pw", "postgresql://h/db"),
        ("postgresql://h/db?sslmode=require&Password=pw", "postgresql://h/db?sslmode=require"),
        ("https://h/x?a=1&token=t&b=%20two#top", "https://h/x?a=1&b=%20two#top"),
        ("https://h/x?PASSWD=1&pwd=2&Secret=3&api_key=4&apikey=5", "https://h/x"),
        ("https://h/x?access_token=6&api-key=7&sslpassword=8&limit=9", "https://h/x?limit=9"),
        ("https://h/x?pass%77ord=10#frag", "https://h/x#frag"),
        ("https://u:p@h/x?token=t&page=2", "https://h/x?page=2"),
        ("https://h/x?tokens=1&password_hint=2", "https://h/x?tokens=1&password_hint=2"),
    ],
)
def test_redact_url(url: str, expected: str) -> None:
    assert redact_url(url) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "API request to http://alice:s3cret@127.0.0.1:9/api/2.0/mlflow/runs/search failed",
            "API request to http://127.0.0.1:9/api/2.0/mlflow/runs/search failed",
        ),
        (
            "Invalid URL 'https://bob:pw@h/x?token=abc': no host. See http://docs/x?page=2.",
            "Invalid URL 'https://h/x': no host. See http://docs/x?page=2.",
        ),
        (
            "(\"http://h/a\", 'postgresql://u:p@db/x?password=pw&sslmode=require')",
            "(\"http://h/a\", 'postgresql://db/x?sslmode=require')",
        ),
        ("two: s3://k:s@b/x, https://h/y?api_key=k.", "two: s3://b/x, https://h/y."),
        ("no URL here: user@example.com", "no URL here: user@example.com"),
        ("http://host/@scope/pkg and git@github.com:org/x.git", None),
    ],
)
def test_redact_urls_in_free_text(text: str, expected: str | None) -> None:
    assert redact_urls(text) == (text if expected is None else expected)


# --- values held in containers -----------------------------------------------------------


def test_values_under_secret_keys_are_found_at_any_depth() -> None:
    namespace = {
        "db": {"prod": {"password": "hunter2-prod", "host": "db.internal"}},
        "configs": [{"name": "a", "api_key": "key-value-123"}],
        "API_TOKEN": b"bytes-token-456",
        "credentials": ("bob", "pw-in-a-tuple"),
        "features": ["age", "income"],
        "X": list(range(10_000)),
    }
    found = collect_secret_values(namespace, {})
    assert found == {"hunter2-prod", "key-value-123", "bytes-token-456", "pw-in-a-tuple"}


CREDENTIAL_PARAMS = ["auth_token", "token", "password", "api-key", "sig", "PGPASSWORD", "key"]
ORDINARY_PARAMS = ["page", "limit", "sslmode", "tokens", "password_hint", "max_tokens", "sort_key"]


@pytest.mark.parametrize("name", CREDENTIAL_PARAMS + ORDINARY_PARAMS)
def test_one_rule_for_query_parameters_in_urls_and_in_text(name: str) -> None:
    """Locations and free text agree on which query parameters hold a credential."""
    url = f"https://h.example.com/x?{name}=VALUE123&a=1"
    hidden_in_location = "VALUE123" not in redact_url(url)
    hidden_in_text = "VALUE123" not in redact_text(f"see {url}")
    assert hidden_in_location == hidden_in_text == (name in CREDENTIAL_PARAMS)


def test_the_process_environment_is_read_again_when_it_changes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    before = collect_secret_values({})
    monkeypatch.setenv("SERVICE_API_TOKEN", "env-token-4242")
    assert collect_secret_values({}) == before | {"env-token-4242"}
    monkeypatch.setenv("SERVICE_API_TOKEN", "env-token-5353")
    assert "env-token-5353" in collect_secret_values({})
    assert "env-token-4242" not in collect_secret_values({})
    monkeypatch.delenv("SERVICE_API_TOKEN")
    assert collect_secret_values({}) == before


# ---------------------------------------------------------------------------
# The evidence behind metrics: its text is redacted, its arrays are data
# ---------------------------------------------------------------------------


class _Untouchable(np.ndarray):  # type: ignore[type-arg]
    """An array that fails the test if anything walks over it or copies its values."""

    def __iter__(self) -> Any:
        raise AssertionError("redaction iterated over an array")

    def tolist(self) -> Any:
        raise AssertionError("redaction read an array's values")


def _untouchable(values: Any) -> Any:
    return np.asarray(values).view(_Untouchable)


def _evidence_record(secret: str) -> Any:
    from nbmodelbook.record import Candidate, Evaluation, RunRecord, SegmentLabels

    labels = _untouchable(np.array([secret, "ok", secret], dtype=object))
    evaluation = Evaluation(
        function=f"scorer {secret}",
        metric=f"auc {secret}",
        value=0.8,
        y_true=labels,
        y_score=_untouchable([0.1, 0.9, 0.4]),
        y_pred=_untouchable([secret, "ok", "ok"]),
        sample_weight=_untouchable([1.0, 2.0, 1.0]),
        options={
            "pos_label": secret,
            secret: 1,
            "password": "plain-value-77",
            "average": None,
            "labels": _untouchable([secret, "ok"]),
        },
        segments={
            f"region {secret}": SegmentLabels(
                _untouchable([0, 1, 0]), [f"north {secret}", "south"], "declared"
            ),
            "income": SegmentLabels(_untouchable([1, 0, 1]), ["low", "high"]),
        },
        n_total=3,
        rows_fingerprint="fingerprint-1",
    )
    candidate = Candidate(
        source=f"GridSearchCV {secret}",
        group=0,
        index=0,
        params={"C": 1.0, "api_key": secret, secret: "x", "url": f"https://u:{secret}@h/x"},
        scorer=f"make_scorer({secret})",
        fold_scores=[0.7, 0.8],
        chosen=True,
        mean_score=0.75,
    )
    return RunRecord(
        run_id="0" * 32,
        name="rf",
        started_at=0.0,
        code="x",
        code_hash="h",
        evaluations=[evaluation],
        candidates=[candidate],
    )


def test_the_text_of_evaluations_and_candidates_is_redacted() -> None:
    from nbmodelbook.redaction import redact_record

    record = _evidence_record(OPENAI_KEY)
    before = repr((record.evaluations[0].options, record.candidates[0].params))
    redacted = redact_record(record)
    [evaluation], [candidate] = redacted.evaluations, redacted.candidates
    text = repr(
        (
            evaluation.function,
            evaluation.metric,
            {key: value for key, value in evaluation.options.items() if key != "labels"},
            {name: (labels.levels, labels.source) for name, labels in evaluation.segments.items()},
            candidate.source,
            candidate.scorer,
            candidate.params,
        )
    )
    assert OPENAI_KEY not in text and "plain-value-77" not in text
    assert evaluation.options["average"] is None and len(evaluation.options) == 5
    assert evaluation.segments["income"].levels == ["low", "high"]
    assert candidate.params["C"] == 1.0 and len(candidate.params) == 4
    assert (candidate.fold_scores, candidate.chosen, candidate.mean_score) == (
        [0.7, 0.8],
        True,
        0.75,
    )
    assert evaluation.rows_fingerprint == "fingerprint-1"  # a hash, not typed text
    assert redact_record(redacted) == redacted  # idempotent
    # The record given is not changed.
    assert repr((record.evaluations[0].options, record.candidates[0].params)) == before
    assert record.evaluations[0].metric == f"auc {OPENAI_KEY}"


def test_arrays_of_the_evidence_are_passed_on_untouched() -> None:
    """Arrays are data: they are never walked (a secret that is a class label stays)."""
    from nbmodelbook.redaction import redact_record

    record = _evidence_record(OPENAI_KEY)
    [evaluation] = redact_record(record).evaluations
    [original] = record.evaluations
    for name in ("y_true", "y_score", "y_pred", "sample_weight"):
        assert getattr(evaluation, name) is getattr(original, name)
    assert evaluation.options["labels"] is original.options["labels"]
    for name, labels in zip(evaluation.segments.values(), original.segments.values(), strict=True):
        assert name.codes is labels.codes


def test_the_redaction_policy_does_not_know_numpy() -> None:
    import ast
    from pathlib import Path

    import nbmodelbook.redaction

    tree = ast.parse(Path(nbmodelbook.redaction.__file__).read_text(encoding="utf-8"))
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {
        (node.module or "").split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
    }
    assert "numpy" not in imported and "pandas" not in imported
