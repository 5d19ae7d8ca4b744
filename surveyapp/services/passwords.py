"""What makes a new password too easy to guess, beyond its length (NIST SP 800-63B
§5.1.1.2: compare it with breached and common passwords, repetitive or sequential
characters, and context-specific words such as the user name and the service name).

`weakness(password, login)` returns a Japanese msgid saying why a password is refused,
or None. Checks, on the password in lower case:

- it contains the login name (3 characters or more) or the name of this tool;
- it is one character run or one short stretch repeated (`aaaaaaaaaaaa`,
  `abcabcabcabc`, `passwordpassword`), or has a run of 5 or more equal characters;
- it is a simple sequence: most steps from one character to the next go up or down
  the alphabet, the digits or a keyboard row (`123456789012`, `abcdefghijkl`,
  `qwertyuiop12`, `1qaz2wsx3edc`);
- it is on the shipped list of common passwords (`data/common-passwords.txt.gz`, see
  `data/README.md`), or is one of them with digits and symbols added at either end
  (`password2024!`).

Everything is local: no list is fetched from anywhere.
"""

from __future__ import annotations

import functools
import gzip
import itertools
import re
from importlib import resources

from surveyapp.model import N_

SERVICE_NAMES = ("surveyapp",)
MIN_CONTEXT_LENGTH = 3  # a login of one or two letters is in too many passwords
LONGEST_RUN = 4  # equal characters in a row; one more is refused
SEQUENTIAL_SHARE = 0.75  # of the steps between neighbouring characters
# Rows and columns of a keyboard, the alphabet and the digits (0 follows 9 as on a
# keyboard's top row); a step along one of them, either way, is a sequential step.
SEQUENCES = ("abcdefghijklmnopqrstuvwxyz", "01234567890", "qwertyuiop", "asdfghjkl",
             "zxcvbnm", "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p")
TRIMMED = re.compile(r"^[\W\d_]+|[\W\d_]+$")
REPEATED = re.compile(r"(.+?)\1+", re.DOTALL)
MIN_COMMON_CORE = 4

CONTAINS_NAME = N_("パスワードにログイン名やこのツールの名前を含めないでください。")
REPEATS = N_("同じ文字や同じ並びを繰り返したパスワードは使えません"
             "（同じ文字は%(max)d文字まで続けられます）。")
SEQUENCE = N_("「123456」「abcdef」「qwerty」のような単純な並びのパスワードは使えません。")
COMMON = N_("よく使われているパスワード（漏えいしたパスワードの一覧にあるもの）は使えません。"
            "推測されにくい別のものにしてください。")


def weakness(password: str, login: str = "") -> tuple[str, dict] | None:
    """(msgid, params) of the first reason to refuse `password`, or None."""
    lowered = password.lower()
    if contains_context(lowered, login):
        return CONTAINS_NAME, {}
    if is_repetitive(lowered):
        return REPEATS, {"max": LONGEST_RUN}
    if is_sequential(lowered):
        return SEQUENCE, {}
    if is_common(lowered):
        return COMMON, {}
    return None


def contains_context(lowered: str, login: str) -> bool:
    names = [login.strip().lower(), *SERVICE_NAMES]
    return any(len(name) >= MIN_CONTEXT_LENGTH and name in lowered for name in names)


def is_repetitive(lowered: str) -> bool:
    return bool(REPEATED.fullmatch(lowered)) or \
        re.search(rf"(.)\1{{{LONGEST_RUN},}}", lowered, re.DOTALL) is not None


@functools.cache
def sequential_steps() -> frozenset[tuple[str, str]]:
    steps = set()
    for sequence in SEQUENCES:
        for first, second in itertools.pairwise(sequence):
            steps |= {(first, second), (second, first)}
    return frozenset(steps)


def is_sequential(lowered: str) -> bool:
    pairs = list(itertools.pairwise(lowered))
    steps = sequential_steps()
    sequential = sum(pair in steps or pair[0] == pair[1] for pair in pairs)
    return bool(pairs) and sequential / len(pairs) >= SEQUENTIAL_SHARE


@functools.cache
def common_passwords() -> frozenset[str]:
    data = resources.files(__package__).joinpath("data", "common-passwords.txt.gz")
    return frozenset(gzip.decompress(data.read_bytes()).decode("utf-8").split())


def is_common(lowered: str) -> bool:
    common = common_passwords()
    core = TRIMMED.sub("", lowered)
    return lowered in common or (len(core) >= MIN_COMMON_CORE and core in common)
