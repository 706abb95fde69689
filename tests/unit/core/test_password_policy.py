"""Which passwords staff may choose, and which return address the login form follows."""

from __future__ import annotations

import pytest

from logistics.domain.errors import InvalidInput
from logistics.service.password_policy import TOO_COMMON, check_password
from logistics.web.console.guard import local_target


@pytest.mark.parametrize(
    "password",
    ["password123", "Password123", "qwertyuiop", "1qaz2wsx3edc", "iloveyou1", "12345678", "woaini1314",
     "88888888", "12121212", "admin1234", "a123456789"],
)  # fmt: skip
def test_the_commonest_passwords_are_refused(password):
    with pytest.raises(InvalidInput) as e:
        check_password(password)
    assert e.value.errors == [("password", TOO_COMMON)]


@pytest.mark.parametrize("password", ["hall-desk-2026", "correct-horse", "安福县证照寄递2026", "x7#Lq9!vR2"])
def test_uncommon_passwords_of_eight_or_more_are_accepted(password):
    assert check_password(password) == password


def test_too_short_too_long_and_the_users_own_name_are_refused():
    for password, reason in (("abc", "至少 8 位"), ("x" * 257, "最多 256 位"), ("Zhangwei88", "用户名")):
        with pytest.raises(InvalidInput) as e:
            check_password(password, "password", name="zhangwei88")
        assert reason in e.value.errors[0][1]


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/console/pickup?q=%E5%BC%A0", "/console/pickup?q=%E5%BC%A0"),
        ("/console/", "/console/"),
        ("/console/\r\nSet-Cookie: a=b", "/console/"),
        ("/console/\n", "/console/"),
        ("//evil.example/console/", "/console/"),
        ("https://evil.example/console/", "/console/"),
        ("/console/\\evil", "/console/"),
        ("/console/张三", "/console/"),
        ("/api/v1/dispatches", "/console/"),
        ("", "/console/"),
        (None, "/console/"),
    ],
)
def test_only_console_paths_are_followed_after_sign_in(target, expected):
    assert local_target(target) == expected
